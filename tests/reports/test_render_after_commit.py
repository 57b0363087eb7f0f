"""Reports are rendered after the message's transaction: the writer is free meanwhile,
the reply waits for its documents, and a crash in between loses and doubles nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.settings import Settings
from bot.core.texts import render
from bot.router import Router
from handlers import report_request
from storage import held_replies, identities, outbox, people
from storage.db import Conn
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone
from tests.minutes.khural import closed_round, telegram_say

TELEGRAM = 8880011
LEASE = timedelta(seconds=60)


async def _governor_in_telegram(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    await closed_round(sanal, client, ZAG_BAG_1)
    async with sanal.db.write() as conn:
        person = await people.by_phone(conn, GOVERNOR)
        assert person is not None
        await identities.link(conn, person.id, "telegram", str(TELEGRAM), sanal.clock.now())


async def _replies(sanal: Sanal) -> list[outbox.OutboxRow]:
    rows = await sanal.db.fetchall(
        "SELECT inbox_id FROM outbox WHERE address = ? AND kind = 'reply' ORDER BY id DESC",
        (f"telegram:{TELEGRAM}",),
    )
    return await outbox.for_inbox(sanal.db.reader, int(rows[0]["inbox_id"]))


def _size(path: str) -> int:
    return Path(path).stat().st_size


async def test_the_writer_is_free_while_a_report_renders(
    sanal: Sanal, client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await _governor_in_telegram(sanal, client)
    rendering, finish = asyncio.Event(), asyncio.Event()
    real = report_request.render

    async def slow(conn: Conn, settings: Settings, spec: dict[str, Any]) -> list[dict[str, str]]:
        rendering.set()
        await finish.wait()
        return await real(conn, settings, spec)

    monkeypatch.setattr(report_request, "render", slow)
    asked = asyncio.create_task(telegram_say(sanal, TELEGRAM, "ТАЙЛАН"))
    await asyncio.wait_for(rendering.wait(), 30)
    # The report's transaction has committed: its reply is queued, held, not yet sendable.
    [held] = await held_replies.held(sanal.db.reader)
    assert held.render[0]["doc"] == "round"
    # Meanwhile another person's message is handled and answered, and a write goes through.
    assert await Phone(client, "+97699300099").say("ТУСЛАМЖ")
    async with asyncio.timeout(5), sanal.db.write() as conn:
        await conn.execute("SELECT 1")
    assert not asked.done()
    finish.set()
    text, extra = await asyncio.wait_for(asked, 60)
    assert "minutes-" in text
    names = sorted(d["filename"] for d in extra["documents"])
    assert [n.split("-")[0] for n in names] == ["minutes", "minutes", "results", "round"]
    assert "render" not in extra
    assert all(_size(d["path"]) > 0 for d in extra["documents"])
    assert await held_replies.held(sanal.db.reader) == []


async def test_a_crash_before_the_release_is_made_good_at_the_next_start(
    sanal: Sanal, client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await _governor_in_telegram(sanal, client)

    async def crashed(self: Router, inbox_ids: Any = None) -> int:
        return 0  # the process died after the commit, before rendering

    with monkeypatch.context() as m:
        m.setattr(Router, "release_held", crashed)
        await telegram_say(sanal, TELEGRAM, "ТАЙЛАН")
    [row] = await _replies(sanal)
    assert "documents" not in row.extra
    assert row.extra["render"]
    # Never due while held: no sender takes it.
    async with sanal.db.write() as conn:
        assert await outbox.claim_due(conn, "telegram", sanal.clock.now(), 100, LEASE) == []
    # The next start renders and releases it: the same row, once, with its documents.
    again = Sanal(sanal.settings, sanal.clock)
    await again.open()
    await again.start()
    try:
        [row] = await _replies(again)
        assert "render" not in row.extra
        assert len(row.extra["documents"]) == 4
        async with again.db.write() as conn:
            [due] = await outbox.claim_due(conn, "telegram", again.clock.now(), 100, LEASE)
        assert due.id == row.id
    finally:
        await again.stop()


async def test_a_render_that_fails_releases_an_apology(
    sanal: Sanal, client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await _governor_in_telegram(sanal, client)

    async def broken(conn: Conn, settings: Settings, spec: dict[str, Any]) -> list[Any]:
        raise OSError("disk full")

    monkeypatch.setattr(report_request, "render", broken)
    text, extra = await telegram_say(sanal, TELEGRAM, "ТАЙЛАН")
    assert render("error.internal", "mn") in text
    assert "documents" not in extra
    assert "render" not in extra
    assert await held_replies.held(sanal.db.reader) == []
