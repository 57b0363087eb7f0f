"""Numbers, other words and other orders (tests/grammar/corpus_numbers.jsonl) through the
real router and a real database: a join by names registers the right bag, a vote in words
records the ballot it says and is sealed like any ballot, and a proposal with amounts is
stored as a proposal, never counted as a vote."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.grammar import Kind, parse
from bot.core.grammar.joining import aimag_named
from bot.core.texts import render
from bot.core.translit import skeleton
from handlers.registration import bag_number
from handlers.secrecy import bears_ballot
from storage import ballots, inbox, people, proposals, rounds, units
from tests.conftest import GOVERNOR, ZAG_BAG_1, ZAG_BAG_2, Phone, make_official

CORPUS = Path(__file__).parent / "corpus_numbers.jsonl"
LINES: list[dict[str, Any]] = [
    json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()
]
JOINS = [line for line in LINES if line["kind"] == "join" and "error" not in line]
HERDER = "99112233"


async def _person(sanal: Sanal, phone: str = "+976" + HERDER) -> people.Person:
    async with sanal.db.write() as conn:
        found = await people.by_phone(conn, phone)
    assert found is not None
    return found


async def _place_of(sanal: Sanal, bag_code: str) -> tuple[units.Unit, units.Unit, units.Unit]:
    async with sanal.db.write() as conn:
        bag = await units.get(conn, bag_code)
        assert bag is not None
        soum = await units.get(conn, bag.parent_code or "")
        assert soum is not None
        aimag = await units.get(conn, soum.parent_code or "")
        assert aimag is not None
    return aimag, soum, bag


@pytest.mark.parametrize("line", JOINS, ids=[repr(line["text"][:40]) for line in JOINS])
async def test_a_join_in_other_words_registers_the_bag_it_names(
    sanal: Sanal, client: TestClient[Any, Any], line: dict[str, Any]
) -> None:
    reply = await Phone(client, HERDER).say(line["text"])
    person = await _person(sanal)
    assert person.bag_code is not None, reply
    assert person.status == "approved", reply
    aimag, soum, bag = await _place_of(sanal, person.bag_code)
    if "bag_code" in line:
        assert person.bag_code == line["bag_code"]
    else:
        assert skeleton(soum.name) == skeleton(line["soum_query"]), reply
        wanted = line["bag_query"]
        assert (
            bag_number(bag) == wanted
            if wanted.isdigit()
            else skeleton(wanted) in skeleton(bag.name)
        )
        if "aimag_query" in line:
            assert aimag.name == aimag_named(line["aimag_query"])


async def test_an_aimag_tells_two_soums_of_one_name_apart(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    """Six soums are called Жаргалант: without the aimag Sanal asks which one."""
    herder = Phone(client, HERDER)
    asked = await herder.say("НЭГДЭХ Жаргалант 1")
    assert asked.startswith(render("join.which_soum", "mn"))
    assert "Архангай" in asked
    assert (await _person(sanal)).bag_code is None
    await herder.say("Архангай Жаргалант 1")
    aimag, soum, bag = await _place_of(sanal, (await _person(sanal)).bag_code or "")
    assert (aimag.name, soum.name, bag_number(bag)) == ("Архангай", "Жаргалант", "1")
    other = Phone(client, "88112233")
    await other.say("Ховд аймгийн Жаргалант сумын 2-р баг")
    moved = await _person(sanal, "+97688112233")
    aimag, soum, bag = await _place_of(sanal, moved.bag_code or "")
    assert (aimag.name, soum.name, bag_number(bag)) == ("Ховд", "Жаргалант", "2")


async def test_a_join_by_aimag_soum_and_ordinal_bag(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    herder = Phone(client, HERDER)
    reply = await herder.say("Баянхонгор аймгийн Заг сумын хоёрдугаар баг")
    assert "Баян-Улаан" in reply
    assert (await _person(sanal)).bag_code == ZAG_BAG_2
    await herder.say("bayanhongor aimag zag sum 1 bag")
    assert (await _person(sanal)).bag_code == ZAG_BAG_1


async def _voting_round_with(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock, count: int
) -> int:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov, proposer = Phone(client, GOVERNOR), Phone(client, "95110000")
    await gov.say("НЭЭХ")
    await proposer.say(f"НЭГДЭХ {ZAG_BAG_1}")
    for i in range(1, count + 1):
        await proposer.say(f"САНАЛ Худаг гаргах {i}, {10 * i} өрх")
        clock.advance(timedelta(seconds=10))  # one person's proposals, not a flood
    await gov.say("ЗӨВ " + " ".join(str(i) for i in range(1, count + 1)))
    await gov.say("ХУРААЛТ")
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
    assert rnd is not None
    assert rnd.status == "voting"
    return rnd.id


async def _choices(sanal: Sanal, round_id: int, person_id: int) -> list[int]:
    async with sanal.db.write() as conn:
        chosen = set(await ballots.choices_of(conn, sanal.router.key, round_id, person_id))
        on_ballot = await proposals.of_round(conn, round_id)
    return sorted(p.number for p in on_ballot if p.id in chosen)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Би 4-р саналыг дэмжиж байна", [4]),
        ("3, 5-г дэмжинэ", [3, 5]),
        ("Миний сонголт 2 4", [2, 4]),
        ("хоёр, тав", [2, 5]),
        ("13, 14 хоёрыг", [13, 14]),
        ("sanal ugnu 1 3", [1, 3]),
        ("I vote for 2 and 14", [2, 14]),
        ("3-р төслийг дэмжье", [3]),
    ],
)
async def test_a_vote_in_words_records_its_ballot_and_is_sealed(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock, text: str, numbers: list[int]
) -> None:
    round_id = await _voting_round_with(sanal, client, clock, 14)
    herder = Phone(client, HERDER)
    await herder.say(f"НЭГДЭХ {ZAG_BAG_1}")
    reply = await herder.say(text)
    assert reply == render("vote.ok", "mn", numbers=" ".join(map(str, numbers)))
    person = await _person(sanal)
    assert await _choices(sanal, round_id, person.id) == numbers
    assert bears_ballot(text, parse(text).kind)
    async with sanal.db.write() as conn:
        rows = await conn.execute_fetchall(
            "SELECT text FROM inbox WHERE address = ? ORDER BY id", ("tel:+976" + HERDER,)
        )
    assert [r[0] for r in rows] == [f"НЭГДЭХ {ZAG_BAG_1}", inbox.SEALED]


async def test_amounts_in_a_proposal_are_not_a_ballot(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await Phone(client, GOVERNOR).say("НЭЭХ")
    herder = Phone(client, HERDER)
    await herder.say(f"НЭГДЭХ {ZAG_BAG_1}")
    await herder.say("САНАЛ 2 худаг 40 өрх")
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        (stored,) = await proposals.of_round(conn, rnd.id)
    assert (stored.text, stored.beneficiaries) == ("2 худаг 40 өрх", 40)


def test_every_vote_of_the_corpus_is_sealed_and_no_look_alike_is() -> None:
    for line in LINES:
        sealed = bears_ballot(line["text"], parse(line["text"]).kind)
        assert sealed == (line["kind"] == "vote"), line["text"]


def test_the_corpus_covers_its_families_in_both_scripts() -> None:
    def cyrillic(text: str) -> bool:
        return any("\u0400" <= ch <= "\u04ff" for ch in text)

    assert len(LINES) >= 150
    for family in ("vote_words", "synonym_order", "join_names", "rsvp_lang"):
        texts = [line["text"] for line in LINES if line["family"] == family]
        assert any(map(cyrillic, texts)), family
        assert not all(map(cyrillic, texts)), family
    look_alikes = [x for x in LINES if x["family"] == "vote_words" and x["kind"] != "vote"]
    assert len(look_alikes) >= 20
    assert parse("yes").kind is Kind.ANSWER  # "yes" alone is never START
