"""БАТЛАХ below the quorum or before the meeting's date: one short warning, nothing
changed, until the governor confirms explicitly (БАТЛАХ N ТИЙМ, "тийм" as the next
message, or the Telegram button); then the round is confirmed and its minutes say how.
At or over the quorum, on or after the date: accepted at once, as before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.grammar import Kind, parse
from handlers.reports.data import round_report
from handlers.reports.minutes import Minutes, khural_facts, minutes_of
from storage import confirmations, identities, people
from tests.conftest import GOVERNOR, ZAG_BAG_1
from tests.minutes.khural import (
    QUORUM,
    audits,
    closed_round,
    current,
    state,
    telegram_say,
)

# 1-р баг, Алагтолгой of Khovd's Жаргалант soum: Asia/Hovd, an hour behind Ulaanbaatar.
HOVD_BAG = "840151"


async def minutes(sanal: Sanal, bag: str, lang: str = "mn") -> Minutes:
    conn = sanal.db.reader
    rep = await round_report(conn, await current(sanal, bag), min_voters=1)
    return minutes_of(rep, await khural_facts(conn, rep, sanal.settings), lang)


def test_the_confirmation_word_is_read_in_both_scripts() -> None:
    for text in ("БАТЛАХ 64 ТИЙМ", "batlah 64 tiim", "BATLAH 64 TIIM", "Батлах 64, тийм ээ",
                 "CONFIRM 64 YES", "БАТЛАХ ТИЙМ 64", "батлах 64 тиймээ"):  # fmt: skip
        intent = parse(text)
        assert (intent.kind, intent.numbers, intent.text) == (Kind.CONFIRM, (64,), "yes"), text
    for text in ("БАТЛАХ 64", "batlah 64 hun", "БАТЛАХ 64 за", "БАТЛАХ 120 хүн ирсэн"):
        intent = parse(text)
        assert intent.kind is Kind.CONFIRM, text
        assert intent.text == "", text
    assert parse("БАТЛАХ ТИЙМ").error == "confirm_usage"  # the attendance is still needed
    assert parse("Тийм").kind is Kind.ANSWER


async def test_below_quorum_is_warned_and_changes_nothing_until_confirmed(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    gov = await closed_round(sanal, client, ZAG_BAG_1)
    before = await state(sanal, ZAG_BAG_1)

    reply = await gov.say("БАТЛАХ 2")
    assert reply == "Ирц хүрээгүй: 2/3. Тэгсэн ч батлах бол: БАТЛАХ 2 ТИЙМ"
    assert await state(sanal, ZAG_BAG_1) == before
    rnd = await current(sanal, ZAG_BAG_1)
    assert rnd.status == "closed"
    assert rnd.attendance is None
    [warned] = await audits(sanal, "round.confirm_warned")
    assert (warned["attendance"], warned["quorum"], warned["registered"]) == (2, QUORUM, 5)
    assert warned["below_quorum"] is True
    assert warned["before_meeting"] is False
    # The draft minutes show the quorum БАТЛАХ checks, and no decision yet.
    draft = await minutes(sanal, ZAG_BAG_1)
    assert (draft.present, draft.required, draft.confirmed) == (None, QUORUM, False)

    assert "ИНХ жагсаалтыг баталлаа, 2 хүн ирсэн" in await gov.say("БАТЛАХ 2 ТИЙМ")
    rnd = await current(sanal, ZAG_BAG_1)
    assert rnd.status == "submitted"
    assert rnd.attendance == 2
    conf = await confirmations.get(sanal.db.reader, rnd.id)
    assert conf is not None
    assert (conf.attendance, conf.quorum, conf.registered) == (2, QUORUM, 5)
    assert conf.below_quorum
    assert not conf.before_meeting
    assert conf.meeting_at is None
    assert conf.decision == f"{rnd.year}/{ZAG_BAG_1}-01"
    [done] = await audits(sanal, "round.confirm")
    assert done["below_quorum"] is True
    assert done["decision"] == conf.decision

    made = await minutes(sanal, ZAG_BAG_1)
    texts = [b.text for b in made.attendance]
    assert "Ирц хүрээгүй: 2/3, Засаг дарга баталгаажуулсан." in texts
    assert "Ирц бүрдэхэд бүртгэлтэй 5 иргэнээс 3 хүн оролцох шаардлагатай." in texts
    assert made.decision_number == conf.decision
    assert made.below_quorum
    english = await minutes(sanal, ZAG_BAG_1, "en")
    assert "Quorum not reached: 2/3, confirmed by the governor." in [
        b.text for b in english.attendance
    ]
    # Confirmed once: a second БАТЛАХ finds nothing to confirm.
    assert "Одоо болохгүй" in await gov.say("БАТЛАХ 5")


async def test_before_the_meeting_a_bare_yes_confirms(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    gov = await closed_round(sanal, client, ZAG_BAG_1, meeting=True)
    before = await state(sanal, ZAG_BAG_1)
    reply = await gov.say("БАТЛАХ 4")  # over the quorum, but the khural meets on 10 April
    assert reply == "Хурал 2027-04-10 болно. Тэгсэн ч батлах бол: БАТЛАХ 4 ТИЙМ"
    assert await state(sanal, ZAG_BAG_1) == before

    assert "ИНХ жагсаалтыг баталлаа, 4 хүн ирсэн" in await gov.say("тийм")
    rnd = await current(sanal, ZAG_BAG_1)
    conf = await confirmations.get(sanal.db.reader, rnd.id)
    assert rnd.status == "submitted"
    assert conf is not None
    assert conf.before_meeting
    assert not conf.below_quorum
    assert conf.meeting_at == datetime(2027, 4, 10, 6, 0, tzinfo=UTC)
    made = await minutes(sanal, ZAG_BAG_1)
    decision = [b.text for b in made.decision]
    assert "Хурлын өдрөөс (2027-04-10) өмнө баталсан, Засаг дарга баталгаажуулсан." in decision
    assert "Ирц бүрдсэн: 4/3." in [b.text for b in made.attendance]


async def test_both_at_once_and_a_no_changes_nothing(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    gov = await closed_round(sanal, client, ZAG_BAG_1, meeting=True)
    before = await state(sanal, ZAG_BAG_1)
    reply = await gov.say("БАТЛАХ 1")
    assert reply == "Ирц 1/3, хурал 2027-04-10 болно. Батлах бол: БАТЛАХ 1 ТИЙМ"
    assert await gov.say("үгүй") == "Батлаагүй: жагсаалт өөрчлөгдсөнгүй"
    assert await state(sanal, ZAG_BAG_1) == before
    # The question was answered: a later yes answers nothing, and confirms nothing.
    assert "баталлаа" not in await gov.say("тийм")
    assert await state(sanal, ZAG_BAG_1) == before
    # A yes right after another message (not the warning) confirms nothing either.
    await gov.say("БАТЛАХ 1")
    await gov.say("ДҮН")
    await gov.say("тийм")
    assert await state(sanal, ZAG_BAG_1) == before
    assert len(await audits(sanal, "round.confirm_warned")) == 2
    assert await audits(sanal, "round.confirm") == []


async def test_at_quorum_on_the_meeting_day_is_accepted_at_once(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    gov = await closed_round(sanal, client, ZAG_BAG_1, meeting=True)
    # 00:30 on 10 April in Ulaanbaatar: the meeting's date has come (its hour has not).
    clock.set(datetime(2027, 4, 9, 16, 30, tzinfo=UTC))
    assert "ИНХ жагсаалтыг баталлаа, 3 хүн ирсэн" in await gov.say(f"БАТЛАХ {QUORUM}")
    rnd = await current(sanal, ZAG_BAG_1)
    conf = await confirmations.get(sanal.db.reader, rnd.id)
    assert rnd.status == "submitted"
    assert conf is not None
    assert not conf.below_quorum
    assert not conf.before_meeting
    assert await audits(sanal, "round.confirm_warned") == []
    made = await minutes(sanal, ZAG_BAG_1)
    assert "Ирц бүрдсэн: 3/3." in [b.text for b in made.attendance]
    assert not any("өмнө баталсан" in b.text for b in made.decision)


async def test_without_a_meeting_at_quorum_is_accepted_at_once(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    gov = await closed_round(sanal, client, ZAG_BAG_1)
    assert "ИНХ жагсаалтыг баталлаа, 5 хүн ирсэн" in await gov.say("БАТЛАХ 5")
    assert (await current(sanal, ZAG_BAG_1)).status == "submitted"


async def test_the_meeting_date_is_the_bags_own(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """At 00:30 Ulaanbaatar time on the meeting's day it is still the day before in Khovd
    (Asia/Hovd): a Khovd governor is warned, one in Ulaanbaatar's zone is not (above)."""
    gov = await closed_round(sanal, client, HOVD_BAG, meeting=True)
    clock.set(datetime(2027, 4, 9, 16, 30, tzinfo=UTC))  # 23:30 on 9 April in Khovd
    assert "хурал" in (await gov.say("БАТЛАХ 5")).lower()
    assert (await current(sanal, HOVD_BAG)).status == "closed"
    clock.set(datetime(2027, 4, 9, 17, 30, tzinfo=UTC))  # 00:30 on 10 April in Khovd
    assert "ИНХ жагсаалтыг баталлаа" in await gov.say("БАТЛАХ 5")


async def test_telegram_offers_a_button_that_confirms(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await closed_round(sanal, client, ZAG_BAG_1)
    async with sanal.db.write() as conn:
        person = await people.by_phone(conn, GOVERNOR)
        assert person is not None
        await identities.link(conn, person.id, "telegram", "8880001", sanal.clock.now())
    text, extra = await telegram_say(sanal, 8880001, "БАТЛАХ 2")
    assert text.startswith("Ирц хүрээгүй: 2/3")
    [[button]] = extra["buttons"]
    assert button == {"label": "Тийм, батлах", "data": "CONFIRM 2 YES"}
    assert len(button["data"].encode()) <= 64  # Telegram's callback_data limit
    assert (await current(sanal, ZAG_BAG_1)).status == "closed"
    text, _ = await telegram_say(sanal, 8880001, button["data"])  # the button pressed
    assert "ИНХ жагсаалтыг баталлаа, 2 хүн ирсэн" in text
    assert (await current(sanal, ZAG_BAG_1)).status == "submitted"


async def test_a_round_confirmed_before_the_numbers_were_stored(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    """A round confirmed before migration 0014 has no stored confirmation: its minutes give
    the number the same rule gives and the quorum of the citizens registered at the close,
    and say the attendance was short without claiming the governor was asked."""
    gov = await closed_round(sanal, client, ZAG_BAG_1)
    await gov.say("БАТЛАХ 2 ТИЙМ")
    rnd = await current(sanal, ZAG_BAG_1)
    async with sanal.db.write() as conn:
        await conn.execute("DELETE FROM khural_confirmations WHERE round_id = ?", (rnd.id,))
    made = await minutes(sanal, ZAG_BAG_1)
    assert made.decision_number == f"{rnd.year}/{ZAG_BAG_1}-01"
    assert (made.present, made.required, made.registered) == (2, QUORUM, 5)
    texts = [b.text for b in made.attendance]
    assert "Ирц хүрээгүй: 2/3." in texts
    assert not any("баталгаажуулсан" in t for t in texts)
