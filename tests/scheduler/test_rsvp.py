"""People answer that they will come; the governor sees how many against the quorum."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.texts import render
from storage import meetings, rounds
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official
from tests.scheduler.world import UB, local, open_voting_round, sent_to, sweep

CHAIR = "+97699000009"


async def _count(sanal: Sanal) -> int:
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        meeting = await meetings.current(conn, rnd.id)
        assert meeting is not None
        return await meetings.rsvp_count(conn, meeting.id)


async def test_rsvp_counting_against_the_quorum(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    await make_official(sanal, CHAIR, "chair", ZAG_BAG_1)
    numbers = await open_voting_round(
        sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR, count=5
    )
    phones = [Phone(client, n) for n in numbers]
    gov = Phone(client, GOVERNOR)
    assert "алга" in await phones[0].say("ИРНЭ")  # no meeting yet
    assert "2027-04-10 14:00" in await gov.say("ХУРАЛ 2027-04-10 14:00 Багийн төв")
    # 5 citizens, the governor and the chair: quorum is half of 7, rounded up.
    assert await gov.say("ХУРАЛ") == ("Хурал 2027-04-10 14:00, Багийн төв: 0 хүн ирнэ, 4 хэрэгтэй")

    # One word in each script; saying it twice counts once.
    assert await phones[0].say("ИРНЭ") == (
        "Баярлалаа, хүлээж байна! Хурал 2027-04-10 14:00, Багийн төв"
    )
    assert "Баярлалаа" in await phones[0].say("ирнэ")
    # A Latin writer is answered in Latin letters; an English reader in English.
    assert "English" in await phones[2].say("english")
    assert await phones[4].say("irne") == (
        "Bayarlalaa, huleej baina! Hural 2027-04-10 14:00, Bagiin tov"
    )
    assert await phones[2].say("COMING") == "Thank you! Khural 2027-04-10 14:00, Багийн төв"
    assert await _count(sanal) == 3
    # Someone not registered in the bag is not counted.
    stranger = Phone(client, "+97688123456")
    assert (await stranger.say("ИРНЭ")).startswith("Эхлээд бүртгүүлнэ үү")
    assert await _count(sanal) == 3
    # A citizen who said STOP may still say they will come (and gets no reminders).
    assert "ЭХЛЭХ" in await phones[3].say("ЗОГС")
    assert "Баярлалаа" in await phones[3].say("ИРНЭ")
    assert await _count(sanal) == 4

    # The answer that reaches the quorum tells the governor and the chair, once.
    await sanal.drain_outbox()
    for official in (GOVERNOR, CHAIR):
        told = [
            m["text"] for m in await Phone(client, official).inbox() if "ирц бүрдлээ" in m["text"]
        ]
        assert told == ["Хурал 2027-04-10 14:00: 4 хүн ирнэ, ирц бүрдлээ (4)"]
    assert "Баярлалаа" in await phones[1].say("ИРНЭ")
    await sanal.drain_outbox()
    told = [m for m in await Phone(client, GOVERNOR).inbox() if "ирц бүрдлээ" in m["text"]]
    assert len(told) == 1
    assert "5 хүн ирнэ, 4 хэрэгтэй" in await gov.say("ХУРАЛ")

    # The reminders: the count goes to the governor and chair; citizens who answered are
    # not asked again; the one who said STOP gets none.
    await sweep(sanal, clock, local(UB, "2027-04-07 14:00"))
    for official in (GOVERNOR, CHAIR):
        summary = [s.text for s in await sent_to(sanal, official) if s.kind == "reminder"]
        assert summary == ["Хурал 2027-04-10 14:00, Багийн төв: 5 хүн ирнэ, 4 хэрэгтэй"]
    reminded = await sent_to(sanal, numbers[0])
    assert len(reminded) == 1
    assert "ИРНЭ" not in reminded[0].text
    assert await sent_to(sanal, numbers[3]) == []

    # After the meeting has started, nobody can answer for it any more.
    clock.set(local(UB, "2027-04-10 14:00"))
    assert "алга" in await phones[1].say("ИРНЭ")


async def test_meeting_word_alone_is_the_status_and_a_half_typed_one_the_usage(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    await open_voting_round(sanal, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR, count=2)
    gov = Phone(client, GOVERNOR)
    assert (await gov.say("ХУРАЛ")).startswith(
        render("meeting.usage", "mn")
    )  # nothing scheduled yet
    assert (await gov.say("ХУРАЛ 2027-04-10")).startswith(render("meeting.usage", "mn"))
    assert (await gov.say("ХУРАЛ 2027-04-10 14:00")).startswith(
        render("meeting.usage", "mn")
    )  # no place
    await gov.say("khural 2027-04-10 14:00 Bagiin tov")
    assert await gov.say("khural") == "Хурал 2027-04-10 14:00, Bagiin tov: 0 хүн ирнэ, 2 хэрэгтэй"
    # A citizen using the governor's word is refused, and nothing changes.
    assert "Засаг дарга" in await Phone(client, "+97699651000").say("ХУРАЛ")
