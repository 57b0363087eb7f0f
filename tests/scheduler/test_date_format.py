"""One date format: every date and time a person reads, in a whole round and in every
language (governor replies, the voting notice, reminders, the meeting notices, results),
is "2027-04-01 18:00" in the bag's time, written by bot.clock alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import HOVD, UB, ManualClock, day_text, deadline_text, local_text
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official
from tests.scheduler.world import local, sweep

# What looks like a date or a time: 2027.04.01, 2027-04-01, 04-01 (the old reminders'
# form), 18:00. ("1/4" is a turnout, "1-р" a bag.)
LOOSE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|(?<![\d-])\d{2}-\d{2}(?![\d-])|\d{1,2}:\d{2}")
ONE_FORM = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


def test_one_function_one_form() -> None:
    moment = datetime(2027, 4, 1, 10, 0, tzinfo=UTC)
    assert local_text(moment, UB) == local_text(moment, "Asia/Ulaanbaatar") == "2027-04-01 18:00"
    assert local_text(moment, HOVD) == "2027-04-01 17:00"  # an hour behind, in the west
    assert deadline_text(datetime(2027, 4, 2, tzinfo=UB), UB) == "2027-04-01 23:59"
    assert deadline_text(moment, "Asia/Hovd") == "2027-04-01 17:00"
    assert deadline_text(None, UB) == "-"
    assert day_text(moment, UB) == "2027-04-01"


def _dates_in(text: str) -> list[str]:
    """The date-like pieces of a text that are not in the one form (should be none)."""
    inside = [m.span() for m in ONE_FORM.finditer(text)]
    return [
        m.group()
        for m in LOOSE.finditer(text)
        if not any(a <= m.start() and m.end() <= b for a, b in inside)
    ]


async def test_every_text_of_a_round_writes_dates_one_way(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = Phone(client, GOVERNOR)
    cyrillic, latin, english = (Phone(client, f"9912000{i}") for i in range(3))
    for p in (cyrillic, english):
        await p.say(f"НЭГДЭХ {ZAG_BAG_1}")
    await latin.say(f"negdeh {ZAG_BAG_1}")
    await english.say("LANG EN")

    replies = [await gov.say("НЭЭХ 2027-03-20 2027-04-01")]
    replies.append(await gov.say("ХУРАЛ 2027-04-10 14:00 Багийн төв"))
    await cyrillic.say("САНАЛ Малын худаг гаргах, 40 өрх")
    await latin.say("SANAL Gudamjnii gerel 80 ail")
    await gov.say("ЗӨВ 1 2")
    replies.append(await latin.say("irne"))
    replies.append(await english.say("COMING"))
    await sweep(sanal, clock, local(UB, "2027-03-21 09:00"))  # voting: the notice
    await cyrillic.say("СОНГО 1")
    await sweep(sanal, clock, local(UB, "2027-04-01 08:00"))  # the vote reminder
    await sweep(sanal, clock, local(UB, "2027-04-02 08:00"))  # closed: results
    await sweep(sanal, clock, local(UB, "2027-04-07 14:00"))  # khural reminder, 3 days
    replies.append(await gov.say("ХУРАЛ 2027-04-12 14:00 Багийн төв"))  # moved: told
    await sanal.drain_outbox()

    rows = await sanal.db.fetchall("SELECT kind, dedupe_key, text FROM outbox ORDER BY id")
    assert {r["kind"] for r in rows} >= {"reply", "notice", "reminder", "result"}
    assert [(r["dedupe_key"], _dates_in(r["text"])) for r in rows if _dates_in(r["text"])] == []
    texts = "\n".join(r["text"] for r in rows)
    for expected in (
        "2027-03-20 23:59",  # НЭЭХ: proposals until the end of the day
        "Хурлыг товлолоо: 2027-04-10 14:00, Багийн төв",  # ХУРАЛ, to the governor
        "Bayarlalaa, huleej baina! Hural 2027-04-10 14:00",  # ИРНЭ, in Latin
        "Thank you! Khural 2027-04-10 14:00",  # and in English
        "Санал өгч болно 2027-04-01 23:59 хүртэл",  # the voting notice
        "Sanal ogch bolno 2027-04-01 23:59 hurtel",
        "Voting is open until 2027-04-01 23:59",
        "2027-04-01 23:59 hurtel sanal ogno uu",  # the vote reminder (Latin: not voted)
        "Иргэдийн Нийтийн Хурал болно: 2027-04-10 14:00, Багийн төв",  # the khural reminder
        "Хурал шилжлээ: 2027-04-12 14:00, Багийн төв",  # the meeting moved
    ):
        assert expected in texts, expected
    assert all(not _dates_in(r) for r in replies)
