"""The web server's own routes: health, the simulator API and its refusals."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from tests.conftest import Phone


async def test_healthz(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/healthz")
    body = await resp.json()
    assert resp.status == 200 and body["ok"] is True and body["problems"] == []


async def test_healthz_when_the_database_is_gone(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await sanal.db.close()
    resp = await client.get("/healthz")
    body = await resp.json()
    assert resp.status == 503 and body["ok"] is False
    assert "database not writable: database is not open" in body["problems"]


async def test_the_page_is_served(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/")
    assert resp.status == 200 and "Санал" in await resp.text()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("not json", "body must be JSON"),
        ("[1, 2]", "JSON object"),
        ('{"phone": 99112233, "text": "hi"}', "must be strings"),
        ('{"phone": "99112233"}', "must be strings"),
        ('{"phone": "123", "text": "hi"}', "not a valid number"),
        ('{"phone": "99112233", "text": "' + "a" * 5001 + '"}', "longer than"),
        ('{"phone": "99112233", "text": "hi", "id": 5}', "id must be a string"),
    ],
)
async def test_bad_simulator_requests_are_refused_and_store_nothing(
    sanal: Sanal, client: TestClient[Any, Any], body: str, error: str
) -> None:
    resp = await client.post(
        "/api/sim/messages", data=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert error in (await resp.json())["error"]
    assert await sanal.db.fetchall("SELECT * FROM inbox") == []


async def test_the_same_simulated_message_twice_is_one_effect(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    body = {"phone": "99112233", "text": "НЭГДЭХ 644651", "id": "m-1"}
    first = await (await client.post("/api/sim/messages", json=body)).json()
    second = await (await client.post("/api/sim/messages", json=body)).json()
    assert first["inbox_id"] == second["inbox_id"]
    assert first["replies"] == second["replies"] and len(first["replies"]) == 1
    rows = await sanal.db.fetchall("SELECT * FROM outbox")
    assert len(rows) == 1


async def test_conversation_reads_back_in_order(client: TestClient[Any, Any]) -> None:
    phone = Phone(client, "+976 9911 2233")
    await phone.say("ТУСЛАМЖ")
    await phone.say("НЭГДЭХ 644651")
    directions = [(m["direction"], m["text"][:6]) for m in await phone.inbox()]
    assert [d for d, _ in directions] == ["in", "out", "in", "out"]
    assert directions[0][1] == "ТУСЛАМ" and directions[2][1] == "НЭГДЭХ"
    resp = await client.get("/api/sim/messages", params={"phone": "nope"})
    assert resp.status == 400
