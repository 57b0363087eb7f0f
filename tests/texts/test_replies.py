"""Replies through the real router: what the catalog test cannot see from the texts alone
(a parameter that would leak a database word, a value that picks a case ending)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.sms_segments import count_segments, is_gsm7
from bot.core.texts import render
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official


async def test_a_round_already_open_is_named_in_words_not_database_states(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = Phone(client, GOVERNOR)
    assert "санал авч эхэллээ" in await gov.say("НЭЭХ")
    again = await gov.say("НЭЭХ")
    assert again == "Энэ жилийн санал нээлттэй байна: санал авч байна"
    await gov.say("LANG EN")
    english = await gov.say("OPEN")
    assert english == "This year's round is open: proposals are being collected"
    assert "collecting" not in again + english


async def test_merging_and_rejecting_read_as_mongolian(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    """№6 is read "зургаа": "№6-г", not "№6-ийг"; a rejection without a reason says so."""
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov, herder = Phone(client, GOVERNOR), Phone(client, "99112233")
    await gov.say("НЭЭХ")
    await herder.say(f"НЭГДЭХ {ZAG_BAG_1}")
    for n in range(1, 7):
        assert f"№{n}" in await herder.say(f"САНАЛ Худаг гаргах {n}, 40 өрх")
    assert await gov.say("НЭГТГЭХ 6 4") == "№6-г №4-т нэгтгэлээ"
    assert await gov.say("НЭГТГЭХ 1 2") == "№1-ийг №2-т нэгтгэлээ"
    assert "татгалзлаа" in await gov.say("ТАТГАЛЗ 3")
    await sanal.drain_outbox()
    told = [m["text"] for m in await herder.inbox() if m["direction"] == "out"]
    assert "Засаг дарга таны №3 саналаас татгалзлаа: шалтгаан бичээгүй" in told
    assert "Санал №6 нь №4 саналтай нэгтгэгдлээ: Худаг гаргах 4, 40 өрх" in told


async def test_a_herder_writing_in_latin_is_answered_as_herders_type(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    herder = Phone(client, "99112234")
    help_ = await herder.say("tuslamj")
    assert (
        help_
        == render("help.new", "mn_latn")
        == ("Burtguuleh bol bichne uu: NEGDEH 644651 esvel NEGDEH Zag 1")
    )
    joined = await herder.say("negdeh zag 1")
    assert joined == "Burtgegdlee: Zag sum, 1-r bag, Bayanbulag"
    for reply in (help_, joined):
        assert is_gsm7(reply)
        assert count_segments(reply).segments == 1
        assert not any(ch in reply for ch in "öüÖÜ")
        assert "kh" not in reply.lower()
