"""Proposals as herders write them (issue 12): amounts and counts reach storage as meant,
and the Budget Law 60.3 check matches words, not substrings. Through the real router and a
real database; the governor's notice shows whether a proposal was flagged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from handlers.context import Text
from storage import proposals, rounds
from storage.proposals import Proposal
from tests.catalog import matches
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official


async def _proposals_of(sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock,
                        *texts: str) -> list[Proposal]:  # fmt: skip
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await Phone(client, GOVERNOR).say("НЭЭХ")
    herder = Phone(client, "99112233")
    await herder.say("НЭГДЭХ 644651")
    for n, text in enumerate(texts, start=1):
        reply = await herder.say(text)  # answered in the script it was written in
        accepted = ("propose.ok", {"n": n})
        assert matches(reply, accepted) or matches(reply, accepted, lang="mn_latn"), reply
        clock.advance(timedelta(seconds=20))  # a person typing, not a flood
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        return await proposals.of_round(conn, rnd.id)


AMOUNTS = [
    ("САНАЛ Худгийн насос. Нэг нь 3 сая, 9 ширхэг, нийт 27 сая", None, 27_000_000),
    ("САНАЛ Гүүр засах 6 сая 500 мянга, 120 өрх", 120, 6_500_000),
    ("САНАЛ Гүүр засах 6.5 сая", None, 6_500_000),
    ("САНАЛ Гүүр засах 6,5 сая", None, 6_500_000),
    ("САНАЛ Гүүр засах 6500 мянга", None, 6_500_000),
    ("САНАЛ Гүүр засах 6 500 000₮", None, 6_500_000),
    ("САНАЛ Бэлчээрийн худаг, 80 орчим өрх", 80, None),
    ("САНАЛ Бэлчээрийн худаг, 80 гаруй өрх, 12 сая", 80, 12_000_000),
    ("САНАЛ Бэлчээрийн худаг ойролцоогоор 80 өрх", 80, None),
    ("sanal Hudag 27 sai, 80 orchim ail", 80, 27_000_000),
    ("sanal Hashaa 500 myanga", None, 500_000),
    ("САНАЛ Сургуулийн дотуур байрны засвар. 200 өрх. 45 сая", 200, 45_000_000),
]


@pytest.mark.parametrize(("text", "households", "cost"), AMOUNTS, ids=[a[0] for a in AMOUNTS])
async def test_amounts_and_counts_reach_storage(
    sanal: Sanal,
    client: TestClient[Any, Any],
    clock: ManualClock,
    text: str,
    households: int | None,
    cost: int | None,
) -> None:
    (p,) = await _proposals_of(sanal, client, clock, text)
    assert (p.beneficiaries, p.cost_mnt) == (households, cost)


NOT_FLAGGED = [
    "САНАЛ Ойн зурвас байгуулах, 40 өрх",
    "САНАЛ Олон жилийн өвөлжөөний худгийг засах",
    "САНАЛ Олон жилийн ой мод хамгаалах хашаа",
    "САНАЛ Намаг газарт гүүр барих",
    "САНАЛ Нам дор газрын ус зайлуулах шуудуу",
    "САНАЛ Хийц сайтай хашаа",
    "sanal oin zurvas baiguulah",
]
FLAGGED = [
    ("САНАЛ Сумын 90 жилийн ойн баяр", "anniversary"),
    ("САНАЛ Хийдийн засвар", "religion"),
    ("sanal khiidiin zasvar", "religion"),
    ("САНАЛ Наадмын талбай", "festival"),
    ("САНАЛ Дурсгалын хөшөө босгох", "monument"),
]


@pytest.mark.parametrize("text", NOT_FLAGGED)
async def test_words_that_only_look_like_non_fundable_ones_are_not_flagged(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock, text: str
) -> None:
    (p,) = await _proposals_of(sanal, client, clock, text)
    assert p.flag is None
    await sanal.drain_outbox()
    told = [m["text"] for m in await Phone(client, GOVERNOR).inbox() if m["direction"] == "out"]
    assert any(matches(t, ("propose.governor_notice", {"n": 1})) for t in told)
    assert not any(matches(t, "propose.flagged_notice") for t in told)


@pytest.mark.parametrize(("text", "flag"), FLAGGED)
async def test_non_fundable_words_in_their_forms_are_flagged(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock, text: str, flag: str
) -> None:
    (p,) = await _proposals_of(sanal, client, clock, text)
    assert p.flag == flag
    await sanal.drain_outbox()
    told = [m["text"] for m in await Phone(client, GOVERNOR).inbox() if m["direction"] == "out"]
    flagged = ("propose.flagged_notice", {"n": 1, "flag": Text(f"flag_label.{flag}")})
    assert any(matches(t, flagged) for t in told)
