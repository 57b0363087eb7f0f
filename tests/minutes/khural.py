"""A closed bag round through the simulator, ready for the governor's БАТЛАХ.

Five people are registered in the bag (the governor and four citizens), so Sanal's quorum
(half of the registered, handlers/khural.quorum) is 3.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.message import Channel, Inbound
from storage import outbox, rounds
from storage.db import fetchall
from storage.rounds import Round
from tests.conftest import GOVERNOR, Phone, make_official

CITIZENS = [f"+9769930{i:04d}" for i in range(1, 5)]
QUORUM = 3  # ceil(5 registered * 0.5)
# The khural meets on 10 April 2027, 14:00 in Ulaanbaatar (06:00 UTC).
MEETING_WORDS = "ХУРАЛ 2027-04-10 14:00 Багийн соёлын төв"
_UPDATES = itertools.count(1)


async def closed_round(
    sanal: Sanal, client: TestClient[Any, Any], bag: str, *, meeting: bool = False
) -> Phone:
    """The bag's round, voted and closed (with the khural scheduled if ``meeting``); the
    governor's phone."""
    await make_official(sanal, GOVERNOR, "governor", bag)
    gov = Phone(client, GOVERNOR)
    assert "эхэллээ" in await gov.say("НЭЭХ")
    citizens = [Phone(client, n) for n in CITIZENS]
    for c in citizens:
        await c.say(f"НЭГДЭХ {bag}")
    await citizens[0].say("САНАЛ Малын худаг гаргах, 40 өрх, 25 сая")
    await citizens[1].say("САНАЛ Гудамжны гэрэлтүүлэг, 80 өрх, 18 сая")
    await gov.say("ЗӨВ 1 2")
    if meeting:
        assert "Хурлыг товлолоо" in await gov.say(MEETING_WORDS)
    assert "эхэллээ" in await gov.say("ХУРААЛТ")
    for i, c in enumerate(citizens):
        await c.say("СОНГО 1 2" if i % 2 else "СОНГО 1")
    await gov.say("ХААХ")
    return gov


async def current(sanal: Sanal, bag: str) -> Round:
    rnd = await rounds.current(sanal.db.reader, bag)
    assert rnd is not None
    return rnd


async def state(sanal: Sanal, bag: str) -> tuple[Any, ...]:
    """What БАТЛАХ may change: the round, its confirmation, the soum list."""
    rnd = await current(sanal, bag)
    out = []
    for sql in (
        "SELECT * FROM rounds WHERE id = ?",
        "SELECT * FROM khural_confirmations WHERE round_id = ?",
        "SELECT * FROM soum_list WHERE round_id = ?",
    ):
        out.append([tuple(r) for r in await fetchall(sanal.db.reader, sql, (rnd.id,))])
    return tuple(map(tuple, out))


async def audits(sanal: Sanal, action: str) -> list[dict[str, Any]]:
    rows = await fetchall(
        sanal.db.reader, "SELECT detail FROM audit_log WHERE action = ? ORDER BY id", (action,)
    )
    return [json.loads(r["detail"]) for r in rows]


async def telegram_say(sanal: Sanal, telegram_id: int, text: str) -> tuple[str, dict[str, Any]]:
    """A Telegram message through the same intake and router as a webhook's: the reply
    and its extra (buttons, documents). No Telegram API is called."""
    clock = sanal.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(seconds=7))
    msg = Inbound(
        Channel.TELEGRAM,
        f"update-m{next(_UPDATES)}",
        f"telegram:{telegram_id}",
        text,
        clock.now(),
        telegram_id=telegram_id,
    )
    inbox_id = await sanal.intake.receive_and_wait(msg)
    rows = [r for r in await outbox.for_inbox(sanal.db.reader, inbox_id) if r.kind == "reply"]
    assert len(rows) == 1, rows
    return rows[0].text, dict(rows[0].extra)
