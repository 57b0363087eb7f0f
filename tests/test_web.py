"""The web server's own routes: health, the simulator API and its refusals."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.web import refusal_body
from tests.conftest import Phone


async def test_healthz(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/healthz")
    body = await resp.json()
    assert resp.status == 200
    assert body["ok"] is True
    assert body["problems"] == []


async def test_healthz_when_the_database_is_gone(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await sanal.db.close()
    resp = await client.get("/healthz")
    body = await resp.json()
    assert resp.status == 503
    assert body["ok"] is False
    assert "database not writable: database is not open" in body["problems"]


async def test_the_page_is_served(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    assert "Санал" in await resp.text()


BAD_REQUESTS = [
    ("not json", "bad_body", "Хүсэлтийг уншиж чадсангүй", "could not be read"),
    ("[1, 2]", "bad_body", "Хүсэлтийг уншиж чадсангүй", "JSON object"),
    ('{"phone": 99112233, "text": "hi"}', "fields", "Утасны дугаар", "must be strings"),
    ('{"phone": "99112233"}', "fields", "Утасны дугаар", "must be strings"),
    ('{"phone": "123", "text": "hi"}', "phone_invalid", "буруу байна: 123", "Not a phone number"),
    ('{"phone": "", "text": "hi"}', "phone_empty", "дугаараа бичнэ үү", "Write a phone"),
    ('{"phone": "99112233", "text": "' + "a" * 5001 + '"}', "too_long", "5000", "5000"),
    ('{"phone": "99112233", "text": "hi", "id": 5}', "id", "дугаар буруу", "id must be"),
]


@pytest.mark.parametrize(("body", "code", "mongolian", "english"), BAD_REQUESTS)
async def test_bad_simulator_requests_are_refused_and_store_nothing(
    sanal: Sanal, client: TestClient[Any, Any], body: str, code: str, mongolian: str, english: str
) -> None:
    """The page is Mongolian: its refusals are too (issue 12: "not a phone number" in
    English on a Mongolian page); ?lang=en (or the browser's language) gives English."""
    headers = {"Content-Type": "application/json"}
    resp = await client.post("/api/sim/messages", data=body, headers=headers)
    assert resp.status == 400
    answer = await resp.json()
    assert answer["code"] == code, answer
    assert mongolian in answer["error"], answer
    assert not any(ch.isascii() and ch.isalpha() for ch in answer["error"]), answer
    for query, accept in (("?lang=en", ""), ("", "en-GB,en;q=0.9")):
        resp = await client.post(
            "/api/sim/messages" + query, data=body, headers={**headers, "Accept-Language": accept}
        )
        answer = await resp.json()
        assert answer["code"] == code, answer
        assert english in answer["error"], answer
    assert await sanal.db.fetchall("SELECT * FROM inbox") == []


async def test_the_same_simulated_message_twice_is_one_effect(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    body = {"phone": "99112233", "text": "НЭГДЭХ 644651", "id": "m-1"}
    first = await (await client.post("/api/sim/messages", json=body)).json()
    second = await (await client.post("/api/sim/messages", json=body)).json()
    assert first["inbox_id"] == second["inbox_id"]
    assert first["replies"] == second["replies"]
    assert len(first["replies"]) == 1
    rows = await sanal.db.fetchall("SELECT * FROM outbox")
    assert len(rows) == 1


async def test_conversation_reads_back_in_order(client: TestClient[Any, Any]) -> None:
    phone = Phone(client, "+976 9911 2233")
    await phone.say("ТУСЛАМЖ")
    await phone.say("НЭГДЭХ 644651")
    directions = [(m["direction"], m["text"][:6]) for m in await phone.inbox()]
    assert [d for d, _ in directions] == ["in", "out", "in", "out"]
    assert directions[0][1] == "ТУСЛАМ"
    assert directions[2][1] == "НЭГДЭХ"
    resp = await client.get("/api/sim/messages", params={"phone": "nope"})
    assert resp.status == 400
    assert await resp.json() == refusal_body("phone_invalid", "mn", phone="nope")
