"""Citizens are told that voting has opened (ХУРААЛТ), through the real router and a real
database: once per citizen and round, never to those who said STOP or wait for approval,
in each person's language; by SMS only as the bag's governor (МЭДЭГДЭЛ SMS) or the
setting says, with the cost shown to the governor either way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Sanal
from bot.core.clock import UB, ManualClock
from bot.core.grammar import Kind, parse
from bot.core.sms_segments import count_segments
from bot.core.texts import render
from bot.web import build_web_app
from handlers.context import Text
from handlers.delivery import compose
from scheduler.sweeps import run_once
from storage import audit, identities, people, rounds
from storage.times import to_db
from tests.catalog import assert_has, assert_lines, assert_reply
from tests.conftest import (
    GOVERNOR,
    START,
    ZAG_BAG_1,
    ZAG_BAG_2,
    Phone,
    make_official,
    make_settings,
)
from tests.scheduler.world import local

UNTIL = "2027-04-01 18:00"
OPENED = Text("voting.ok", {"count": 2, "until": UNTIL})
NOTICE = Text("notice.voting", {"until": UNTIL, "example": "1 3"})
NOTICE_MN = compose([NOTICE], "mn")
NOTICE_LATN = compose([NOTICE], "mn_latn")
NOTICE_EN = compose([NOTICE], "en")


@dataclass(frozen=True)
class Row:
    address: str
    channel: str
    text: str
    status: str
    next_attempt_at: str


async def notices(sanal: Sanal) -> dict[str, Row]:
    """The voting notices in the outbox, by address; fails on a second one to an address."""
    rows = await sanal.db.fetchall(
        "SELECT address, channel, text, status, next_attempt_at FROM outbox "
        "WHERE dedupe_key LIKE 'voting-open:%' ORDER BY id"
    )
    found: dict[str, Row] = {}
    for r in rows:
        assert r["address"] not in found, f"two notices to {r['address']}"
        found[r["address"]] = Row(*r)
    return found


async def telegram_citizen(sanal: Sanal, phone: str, telegram_id: int, last: str) -> None:
    """A citizen of bag 1 linked in Telegram, who last wrote from ``last``."""
    now = sanal.clock.now()
    async with sanal.db.write() as conn:
        person = await people.get_or_create_by_phone(conn, phone, now=now, lang="mn")
        await identities.link(conn, person.id, "telegram", str(telegram_id), sanal.clock.now())
        await people.set_channel(conn, person.id, last)
        await people.set_bag(conn, person.id, ZAG_BAG_1, "approved", now)


@dataclass
class Bag:
    gov: Phone
    cyrillic: list[Phone]
    latin: Phone
    english: Phone
    stopped: Phone
    pending: Phone
    elsewhere: Phone


async def bag_with_round(sanal: Sanal, client: TestClient[Any, Any]) -> Bag:
    """Bag 1 with a governor, citizens who joined by SMS (three in Cyrillic, one in Latin,
    one in English, one who said STOP, one awaiting approval), one citizen of bag 2, and a
    round collecting proposals with two accepted."""
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = Phone(client, GOVERNOR)
    bag = Bag(
        gov=gov,
        cyrillic=[Phone(client, f"9911000{i}") for i in range(3)],
        latin=Phone(client, "99110010"),
        english=Phone(client, "99110011"),
        stopped=Phone(client, "99110012"),
        pending=Phone(client, "99110013"),
        elsewhere=Phone(client, "99110014"),
    )
    for p in bag.cyrillic:
        await p.say(f"НЭГДЭХ {ZAG_BAG_1}")
    await bag.latin.say(f"negdeh {ZAG_BAG_1}")  # answered, and told, in Latin letters
    await bag.english.say(f"НЭГДЭХ {ZAG_BAG_1}")
    await bag.english.say("LANG EN")
    await bag.stopped.say(f"НЭГДЭХ {ZAG_BAG_1}")
    assert await bag.stopped.say("ЗОГС") == render("stop.ok", "mn")
    await bag.elsewhere.say(f"НЭГДЭХ {ZAG_BAG_2}")
    assert_reply(await gov.say("НЭЭХ 2027-03-20 2027-04-01"), "round.opened")
    await gov.say("БОДЛОГО ЗӨВШӨӨРӨЛ")
    await bag.pending.say(f"НЭГДЭХ {ZAG_BAG_1}")  # waits for the governor: not a citizen yet
    await bag.cyrillic[0].say("САНАЛ Малын худаг гаргах, 40 өрх")
    await bag.cyrillic[1].say("САНАЛ Гудамжны гэрэлтүүлэг 80 өрх")
    assert_reply(await gov.say("ЗӨВ 1 2"), "accept.ok", numbers="1 2")
    return bag


def address(phone: Phone) -> str:
    return f"tel:+976{phone.number}"


async def test_every_citizen_is_told_once_in_their_language(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    bag = await bag_with_round(sanal, client)
    await telegram_citizen(sanal, "+97699110020", 7001, "telegram")

    reply = await bag.gov.say("ХУРААЛТ 2027-04-01 18:00")
    # Five by SMS (the simulator is this test's SMS provider), one segment each at 20 ₮.
    assert_lines(reply, OPENED, Text("notice.queued", {"telegram": 1, "sms": 5, "cost": 100}))
    told = await notices(sanal)
    assert {a: r.text for a, r in told.items()} == {
        **{address(p): NOTICE_MN for p in bag.cyrillic},
        address(bag.latin): NOTICE_LATN,
        address(bag.english): NOTICE_EN,
        "telegram:7001": NOTICE_MN,
    }
    # Not the governor (the reply is theirs), nor STOP, nor pending, nor another bag.
    for nobody in (bag.gov, bag.stopped, bag.pending, bag.elsewhere):
        assert address(nobody) not in told
    assert told["telegram:7001"].channel == "telegram"
    assert count_segments(NOTICE_MN).segments == 1  # 70 UCS-2 characters
    assert count_segments(NOTICE_LATN).encoding == "GSM-7"

    # A second ХУРААЛТ is refused and tells nobody again; neither does a restart.
    refused = render("round.wrong_state", "mn", status=render("report.state.voting", "mn"))
    assert await bag.gov.say("ХУРААЛТ 2027-04-02") == refused
    clock.advance(timedelta(minutes=5))
    again = Sanal(sanal.settings, clock)
    await again.open()
    try:
        await run_once(again.db, again.settings, clock.now())
    finally:
        await again.stop()
    assert await notices(sanal) == told
    await sanal.drain_outbox()
    assert {r.status for a, r in (await notices(sanal)).items() if a.startswith("tel:")} == {"sent"}


async def test_sms_off_by_the_governor_telegram_only_with_what_sms_would_cost(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    bag = await bag_with_round(sanal, client)
    await telegram_citizen(sanal, "+97699110020", 7001, "telegram")
    # Linked in Telegram but last wrote by SMS: gets it by Telegram, free, when SMS is off.
    await telegram_citizen(sanal, "+97699110021", 7002, "sim")

    assert_reply(await bag.gov.say("МЭДЭГДЭЛ SMS"), "notice.status_on", sms=6, cost=120)
    assert_reply(await bag.gov.say("medegdel sms ugui"), "notice.set_off", cost=120)
    assert_reply(await bag.gov.say("МЭДЭГДЭЛ SMS"), "notice.status_off", sms=6, cost=120)
    reply = await bag.gov.say("ХУРААЛТ 2027-04-01 18:00")
    assert_lines(
        reply,
        OPENED,
        Text("notice.telegram_only", {"telegram": 2}),
        Text("notice.sms_off", {"sms": 5, "cost": 100}),
    )
    told = await notices(sanal)
    assert set(told) == {"telegram:7001", "telegram:7002"}
    assert {r.channel for r in told.values()} == {"telegram"}

    # Changed by the governor's word while voting is open: the SMS notices go now, to
    # those not told yet, and who has voted meanwhile is not told how to vote.
    assert_reply(await bag.cyrillic[2].say("СОНГО 1"), "vote.ok", numbers="1")
    reply = await bag.gov.say("МЭДЭГДЭЛ SMS ТИЙМ")
    assert_lines(
        reply,
        Text("notice.set_on", {"sms": 6, "cost": 120}),
        Text("notice.sent_now", {"sms": 4, "cost": 80}),
    )
    told = await notices(sanal)
    assert set(told) == {
        "telegram:7001",
        "telegram:7002",
        *(address(p) for p in (*bag.cyrillic[:2], bag.latin, bag.english)),
    }
    assert_reply(await bag.gov.say("МЭДЭГДЭЛ SMS ТИЙМ"), "notice.set_on", sms=6, cost=120)
    assert await notices(sanal) == told  # nobody twice
    async with sanal.db.write() as conn:
        changes = await audit.entries(conn, "bag.voting_notice_sms")
    # Each choice is audited, with the bag: ҮГҮЙ, ТИЙМ, ТИЙМ.
    assert [json.loads(r["detail"])["sms"] for r in changes] == [False, True, True]
    assert {r["unit_code"] for r in changes} == {ZAG_BAG_1}


async def test_sms_off_by_default_and_on_for_one_bag(tmp_path: Path) -> None:
    """SANAL_VOTING_NOTICE_SMS=false: a soum that wants Telegram only; one bag's governor
    chooses SMS anyway and the choice is the bag's."""
    settings = make_settings(tmp_path, voting_notice_sms=False, sms_segment_price=15)
    app = Sanal(settings, ManualClock(START))
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            bag = await bag_with_round(app, client)
            reply = await bag.gov.say("ХУРААЛТ 2027-04-01 18:00")
            *_, last = reply.split("\n")
            assert_reply(last, "notice.sms_off", sms=5, cost=75)
            assert await notices(app) == {}
            turned_on = await bag.gov.say("МЭДЭГДЭЛ SMS ТИЙМ")
            assert_has(turned_on, "notice.set_on", sms=5, cost=75)
            assert len(await notices(app)) == 5
            assert_reply(await bag.gov.say("МЭДЭГДЭЛ SMS"), "notice.status_on")
    finally:
        await app.stop()


async def test_sms_notices_not_sent_yet_are_cancelled_when_turned_off(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    bag = await bag_with_round(sanal, client)
    await telegram_citizen(sanal, "+97699110020", 7001, "telegram")
    # 23:00 in Ulaanbaatar: quiet hours, so the notices wait for 08:00.
    clock.set(local(UB, "2027-03-02 23:00"))
    opened = await bag.gov.say("ХУРААЛТ 2027-04-01 18:00")
    assert_has(opened, "notice.queued", sms=5, cost=100)
    held = await notices(sanal)
    assert {r.next_attempt_at for r in held.values()} == {to_db(local(UB, "2027-03-03 08:00"))}
    reply = await bag.gov.say("МЭДЭГДЭЛ SMS ҮГҮЙ")
    assert_lines(
        reply,
        Text("notice.set_off", {"cost": 100}),
        Text("notice.cancelled", {"count": 5}),
    )
    after = await notices(sanal)
    assert {a: r.status for a, r in after.items()} == {
        **{a: "cancelled" for a in held if a.startswith("tel:")},
        "telegram:7001": "queued",  # Telegram costs nothing: it stays
    }


async def test_closing_before_the_morning_cancels_the_held_notices(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    bag = await bag_with_round(sanal, client)
    clock.set(local(UB, "2027-03-02 23:00"))
    await bag.gov.say("ХУРААЛТ 2027-04-01 18:00")
    clock.set(local(UB, "2027-03-02 23:30"))
    await bag.gov.say("ХААХ")
    assert {r.status for r in (await notices(sanal)).values()} == {"cancelled"}
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
    assert rnd is not None
    assert rnd.status == "closed"


async def test_a_citizen_cannot_set_the_notice(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    bag = await bag_with_round(sanal, client)
    reply = await bag.cyrillic[0].say("МЭДЭГДЭЛ SMS ҮГҮЙ")
    assert reply == render("governor.not_allowed", "mn")
    async with sanal.db.write() as conn:
        refused = await audit.entries(conn, "refused.governor_word")
    assert [json.loads(r["detail"])["intent"] for r in refused] == ["notice"]
    still_on = await bag.gov.say("ХУРААЛТ 2027-04-01 18:00")
    assert_has(still_on, "notice.queued", sms=5)


@pytest.mark.parametrize(
    "text",
    ["мэдэгдэл sms ирсэнгүй", "Мэдэгдэл ирсэн үү", "мэдэгдэл", "Мэдэгдэл sms тийм гэж юу вэ"],
)
def test_sentences_about_notices_are_not_the_governor_word(text: str) -> None:
    assert parse(text).kind is not Kind.NOTICE


def test_the_words_the_replies_teach_are_understood() -> None:
    for lang in ("mn", "mn_latn", "en"):
        for key, value in (("status_on", "off"), ("status_off", "on"), ("sms_off", "on")):
            text = render(f"notice.{key}", lang, sms=1, cost="20")
            word = text.rsplit(": ", 1)[1]
            assert parse(word).kind is Kind.NOTICE, (lang, word)
            assert parse(word).text == value, (lang, word)
