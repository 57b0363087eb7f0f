"""The router's promises: one reply per message, never a stack trace, nothing half done."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.channels import simulator
from bot.core.grammar.intents import Kind
from handlers import dispatch
from handlers.context import Context
from storage import people
from tests.catalog import assert_reply
from tests.conftest import Phone


async def test_a_failing_handler_changes_nothing_and_apologises_once(
    sanal: Sanal, client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(ctx: Context) -> None:
        await people.set_lang(ctx.conn, ctx.person.id, "en")  # a change that must roll back
        raise ZeroDivisionError("secret internals")

    monkeypatch.setitem(dispatch.CITIZEN, Kind.HELP, broken)
    phone = Phone(client, "99112233")
    reply = await phone.say("ТУСЛАМЖ")
    assert_reply(reply, "error.internal")
    assert "ZeroDivision" not in reply
    assert "secret" not in reply
    row = await sanal.db.fetchone("SELECT status FROM inbox")
    assert row is not None
    assert row["status"] == "failed"
    person = await sanal.db.fetchone("SELECT lang FROM people")
    assert person is not None
    assert person["lang"] == "mn"
    assert len(await sanal.db.fetchall("SELECT * FROM outbox")) == 1


async def test_a_handler_that_forgets_to_reply_is_caught(
    sanal: Sanal, client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def silent(ctx: Context) -> None:
        return None

    monkeypatch.setitem(dispatch.CITIZEN, Kind.HELP, silent)
    assert_reply(await Phone(client, "99112233").say("ТУСЛАМЖ"), "error.internal")


async def test_pending_messages_are_handled_after_a_restart(sanal: Sanal) -> None:
    msg = simulator.inbound("99112233", "НЭГДЭХ 644651", sanal.clock.now(), "x-1")
    await sanal.intake.receive(msg)  # stored, then the process stops before handling
    await sanal.stop()
    again = Sanal(sanal.settings, sanal.clock)
    await again.open()
    try:
        await again.intake.receive(msg)  # the provider redelivers it too: still one row
        assert await again.intake.drain() == 1
        assert await again.intake.drain() == 0
        rows = await again.db.fetchall("SELECT text FROM outbox")
        assert len(rows) == 1
        assert_reply(rows[0]["text"], "join.ok", soum="Заг", bag="1-р баг, Баянбулаг")
        assert len(await again.db.fetchall("SELECT * FROM inbox")) == 1
    finally:
        await again.stop()
