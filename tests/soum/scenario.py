"""Three bags of Заг сум through whole rounds in the simulator, up to the soum's list.

Shared by the soum tests: everything goes through the simulator's JSON API (the same path
as a herder's SMS), so the soum list, the ballots and the reports come from real rounds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.message import Channel, Inbound
from handlers.soum import import_scores
from storage import identities, outbox, people, roles
from tests.catalog import assert_has, assert_reply, explain, keys_of
from tests.conftest import ZAG_BAG_1, ZAG_BAG_2, Phone, make_official

ZAG = "6446"
ZAG_BAG_3 = "644655"  # 3-р баг, Чандмань-Овоо
OTHER_SOUM = "6449"  # Богд  # another soum of the same aimag, with its own working group

# Each bag: its governor, its citizens' proposals (text with households and cost) and the
# ballots cast (proposal numbers of the bag). A citizen's own number appears inside one
# proposal (a contact the proposer typed): reports must mask it.
BAGS: dict[str, dict[str, Any]] = {
    ZAG_BAG_1: {
        "governor": "+97699000001",
        "proposals": [
            "Малын худаг гаргах, 40 өрх, 25 сая",
            "Сургуулийн дотуур байрны засвар, 120 өрх, 40 сая",
            "Гудамжны гэрэлтүүлэг, холбоо 9911 0003, 80 өрх, 15 сая",
        ],
        "ballots": [[1], [1, 3], [2, 3], [1, 2], [1, 2, 3], [3], [1], [2]],
        "attendance": 41,
        "place": "Багийн соёлын төв",
    },
    ZAG_BAG_2: {
        "governor": "+97699000002",
        "proposals": [
            "Эмнэлгийн тоног төхөөрөмж, 200 өрх, 30 сая",
            "Хүүхдийн тоглоомын талбай, 60 өрх, 10 сая",
        ],
        "ballots": [[1], [1, 2], [2], [1], [1, 2], [2]],
        "attendance": 33,
        "place": "Сургуулийн заал",
    },
    ZAG_BAG_3: {
        "governor": "+97699000003",
        "proposals": [
            "Гүүр засах, 90 өрх, 20 сая",
            "Цэцэрлэгийн хашаа, 50 өрх, 8 сая",
        ],
        "ballots": [[1], [1], [2], [1, 2], [2], [1, 2]],
        "attendance": 27,
        "place": "Багийн төв",
    },
}
MEMBERS = {  # the soum working group: phone -> name (officials' names go in reports)
    "+97699100001": "Батбаяр",
    "+97699100002": "Оюунчимэг",
    "+97699100003": "Ганзориг",
}
OTHER_MEMBER = "+97699100009"  # a working-group member of another soum
TELEGRAM_VOTER = (ZAG_BAG_2, 5)  # the last citizen of the second bag votes in Telegram
TELEGRAM_ID = 5550001


class Person(Phone):
    """A phone typed by a person: a few seconds pass between two messages, so a member
    scoring a long list stays under the router's flood guard (10 messages a minute)."""

    def __init__(self, sanal: Sanal, client: TestClient[Any, Any], number: str) -> None:
        super().__init__(client, number)
        self.sanal = sanal

    async def say(self, text: str) -> str:
        clock = self.sanal.clock
        assert isinstance(clock, ManualClock)
        clock.advance(timedelta(seconds=7))
        return await super().say(text)


_UPDATE_IDS = itertools.count(1)


async def telegram_say(sanal: Sanal, telegram_id: int, text: str) -> str:
    """A message from a Telegram account, through the same intake and router as a
    webhook's; returns the reply queued for it (no Telegram API is called)."""
    clock = sanal.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(seconds=7))  # a person typing, as Person.say
    msg = Inbound(
        Channel.TELEGRAM,
        f"update-{next(_UPDATE_IDS)}",  # Telegram's update_id: unique per update
        f"telegram:{telegram_id}",
        text,
        sanal.clock.now(),
        telegram_id=telegram_id,
    )
    inbox_id = await sanal.intake.receive_and_wait(msg)
    rows = await outbox.for_inbox(sanal.db.reader, inbox_id)
    return "\n".join(r.text for r in rows if r.kind == "reply")


def citizens_of(bag: str, count: int | None = None) -> list[str]:
    index = list(BAGS).index(bag) + 1
    count = len(BAGS[bag]["ballots"]) if count is None else count
    return [f"+976991{index}{i:04d}" for i in range(1, count + 1)]


def all_citizens() -> list[str]:
    return [c for bag in BAGS for c in citizens_of(bag)]


@dataclass
class Soum:
    sanal: Sanal
    client: TestClient[Any, Any]
    members: list[Person] = field(default_factory=list)
    governors: dict[str, Person] = field(default_factory=dict)
    member_ids: list[int] = field(default_factory=list)
    confirm_replies: dict[str, str] = field(default_factory=dict)
    meeting_replies: dict[str, str] = field(default_factory=dict)


async def working_group(sanal: Sanal, client: TestClient[Any, Any]) -> Soum:
    """The soum's three members (named), and a member of another soum."""
    soum = Soum(sanal, client)
    for phone, name in MEMBERS.items():
        pid = await make_official(sanal, phone, "soum", ZAG)
        async with sanal.db.write() as conn:
            await people.set_name(conn, pid, name)
        soum.members.append(Person(sanal, client, phone))
        soum.member_ids.append(pid)
    await make_official(sanal, OTHER_MEMBER, "soum", OTHER_SOUM)
    return soum


async def run_bag(soum: Soum, bag: str, spec: dict[str, Any] | None = None) -> None:
    """One bag's whole round: open, join, propose, accept, vote, close, confirm (``spec``:
    another bag's proposals and ballots than the scenario's, in the form of BAGS)."""
    spec = spec or BAGS[bag]
    sanal, client = soum.sanal, soum.client
    await make_official(sanal, spec["governor"], "governor", bag)
    async with sanal.db.write() as conn:
        gov_id = (await people.by_phone(conn, spec["governor"])).id  # type: ignore[union-attr]
        await people.set_name(conn, gov_id, f"Засаг {bag[-1]}")
        await roles.grant(conn, gov_id, "chair", bag, sanal.clock.now())
    gov = Person(sanal, client, spec["governor"])
    soum.governors[bag] = gov
    assert_reply(await gov.say("НЭЭХ"), "round.opened_no_date")
    phones = [Person(sanal, client, n) for n in citizens_of(bag, len(spec["ballots"]))]
    for p in phones:
        assert_reply(await p.say(f"НЭГДЭХ {bag}"), "join.ok")
    for i, text in enumerate(spec["proposals"]):
        assert_reply(await phones[i].say(f"САНАЛ {text}"), "propose.ok", n=i + 1)
    numbers = " ".join(str(i + 1) for i in range(len(spec["proposals"])))
    await gov.say(f"ЗӨВ {numbers}")
    assert_has(await gov.say("ХУРААЛТ"), "voting.ok", count=len(spec["proposals"]))
    soum.meeting_replies[bag] = await gov.say(f"ХУРАЛ 2027-04-10 14:00 {spec['place']}")
    for i, (p, ballot) in enumerate(zip(phones, spec["ballots"], strict=True)):
        vote = "СОНГО " + " ".join(map(str, ballot))
        if bag == TELEGRAM_VOTER[0] and i == TELEGRAM_VOTER[1]:
            # This citizen votes in Telegram (the account linked to their phone).
            async with sanal.db.write() as conn:
                person = await people.by_phone(conn, p.number)
                assert person is not None
                now = sanal.clock.now()
                await identities.link(conn, person.id, "telegram", str(TELEGRAM_ID), now)
            assert_has(await telegram_say(sanal, TELEGRAM_ID, vote), "vote.ok")
        else:
            assert_reply(await p.say(vote), "vote.ok")
    await gov.say("ХААХ")
    # Confirmed before the khural's date (10 April): explicitly, as БАТЛАХ asks (issue 13).
    soum.confirm_replies[bag] = await gov.say(f"БАТЛАХ {spec['attendance']} ТИЙМ")


async def three_bags(sanal: Sanal, client: TestClient[Any, Any]) -> Soum:
    soum = await working_group(sanal, client)
    for bag in BAGS:
        await run_bag(soum, bag)
    await sanal.drain_outbox()
    return soum


# Every member's (importance, fit) per soum list number, for tests that need a scored list.
SCORES = {n: {"importance": 1 + n % 5, "fit": 5 - n % 4} for n in range(1, 8)}
PLAN_YEAR = 2028  # rounds opened in March 2027 plan for the next year


async def scored_and_chosen(sanal: Sanal, client: TestClient[Any, Any]) -> Soum:
    """The three bags' lists, scored by every member, an 80 сая ceiling, the standard rule
    chosen by the working group."""
    s = await three_bags(sanal, client)
    async with sanal.db.write() as conn:
        for pid in s.member_ids:
            await import_scores(
                conn,
                sanal.settings,
                ZAG,
                PLAN_YEAR,
                pid,
                SCORES,
                sanal.clock.now(),
                actor="test",
                channel="cli",
            )
    ceiling = await s.members[0].say("ХЯЗГААР 80 сая")
    assert_reply(ceiling, "ceiling.ok", soum="Заг", year=PLAN_YEAR, amount="80 сая")
    chosen = await s.members[1].say("ХУВААРИЛАХ ЭРЭМБЭ")
    assert keys_of(chosen)[0] in ("alloc.chosen", "alloc.chosen_count"), explain(chosen)
    return s
