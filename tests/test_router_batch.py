"""The router's batch: one transaction, one savepoint per message (storage.db.Tx.savepoint).

A failing message is undone alone and answered with an apology after the batch; the
others in the batch keep what they did. A savepoint that itself fails leaves the batch's
transaction in doubt: then nothing of the batch is kept, and every message stays pending.
"""

from __future__ import annotations

import pytest

from bot.app import Sanal
from bot.channels import simulator
from bot.core.grammar.intents import Kind
from handlers import dispatch
from handlers.context import Context
from storage import inbox, people
from storage.db import SavepointError

PHONES = ("99112201", "99112202", "99112203")


async def _store_helps(sanal: Sanal) -> list[int]:
    msgs = [
        simulator.inbound(phone, "ТУСЛАМЖ", sanal.clock.now(), f"help-{i}")
        for i, phone in enumerate(PHONES)
    ]
    async with sanal.db.write() as tx:
        return [inbox_id for inbox_id, _ in await inbox.store_many(tx, msgs)]


async def test_a_failing_message_is_undone_alone_and_the_batch_keeps_the_rest(
    sanal: Sanal, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def help_in_english(ctx: Context) -> None:
        await people.set_lang(ctx.conn, ctx.person.id, "en")  # kept, or rolled back
        if ctx.person.phone == f"+976{PHONES[1]}":
            raise ZeroDivisionError("the second one fails")
        ctx.reply("help.general")

    monkeypatch.setitem(dispatch.CITIZEN, Kind.HELP, help_in_english)
    ids = await _store_helps(sanal)
    handled = await sanal.router.handle_many(ids)
    assert [h.intent if h else None for h in handled] == ["help", "error", "help"]
    statuses = await sanal.db.fetchall("SELECT status FROM inbox ORDER BY id")
    assert [r["status"] for r in statuses] == ["handled", "failed", "handled"]
    langs = await sanal.db.fetchall("SELECT phone, lang FROM people ORDER BY phone")
    assert [r["lang"] for r in langs] == ["en", "mn", "en"]
    replies = await sanal.db.fetchall("SELECT inbox_id FROM outbox ORDER BY inbox_id")
    assert [r["inbox_id"] for r in replies] == ids  # one each, the apology included


async def test_a_savepoint_that_fails_itself_keeps_nothing_of_the_batch(
    sanal: Sanal, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def help_that_breaks_the_savepoint(ctx: Context) -> None:
        ctx.reply("help.general")
        if ctx.person.phone == f"+976{PHONES[1]}":
            await ctx.conn.execute("RELEASE message")  # its RELEASE then finds none

    monkeypatch.setitem(dispatch.CITIZEN, Kind.HELP, help_that_breaks_the_savepoint)
    ids = await _store_helps(sanal)
    with pytest.raises(SavepointError, match="RELEASE message"):
        await sanal.router.handle_many(ids)
    statuses = await sanal.db.fetchall("SELECT status FROM inbox ORDER BY id")
    assert [r["status"] for r in statuses] == ["pending"] * 3
    assert await sanal.db.fetchall("SELECT * FROM outbox") == []
