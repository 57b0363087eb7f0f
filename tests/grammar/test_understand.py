"""Messages wrapped in politeness, questions, greetings and described projects
(bot.grammar.understand): ballots stay sealed, officials' words asked as questions are not
refused, and reading them stays fast and bounded on any text.

The expected parse of each realistic message is in tests/grammar/corpus_understand.jsonl
(test_corpus.py); here are the effects through the real router and the limits.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.grammar import Kind, parse
from handlers.secrecy import bears_ballot
from storage import ballots, inbox, rounds
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official
from tests.grammar.test_corpus import LINES

HERDER = "99112233"


async def _round_in_voting(sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock) -> Phone:
    """A bag with two accepted proposals in voting, and a registered herder."""
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov, herder = Phone(client, GOVERNOR), Phone(client, HERDER)
    await gov.say("НЭЭХ")
    await herder.say(f"НЭГДЭХ {ZAG_BAG_1}")
    await herder.say("САНАЛ Худаг гаргах 40 өрх")
    clock.advance(timedelta(seconds=10))
    await herder.say("САНАЛ Гүүр засах 120 айл")
    await gov.say("ЗӨВ 1 2")
    await gov.say("ХУРААЛТ")
    return herder


async def _inbox_of(sanal: Sanal, text_sent: int) -> list[tuple[str, str]]:
    rows = await sanal.db.fetchall(
        "SELECT text, intent FROM inbox WHERE phone = ? ORDER BY id DESC LIMIT ?",
        ("+976" + HERDER, text_sent),
    )
    return [(r["text"], r["intent"]) for r in reversed(rows)]


async def test_wrapped_votes_count_and_are_sealed(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    herder = await _round_in_voting(sanal, client, clock)
    for text in ("Сайн байна уу, СОНГО 2 баярлалаа", "СОНГО 1 2 уу?", "Сайн уу? 1"):
        clock.advance(timedelta(seconds=10))
        reply = await herder.say(text)  # vote.ok, then vote.changed: counted each time
        assert "санал өгсөн" in reply or "өөрчиллөө" in reply, (text, reply)
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        assert await ballots.has_voted(conn, rnd.id, 2)
    assert await _inbox_of(sanal, 3) == [(inbox.SEALED, "vote")] * 3


async def test_a_vote_word_with_a_description_is_sealed_like_any_vote(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """While voting, "санал өгөх гэсэн юм. …" is a vote word without numbers: the message
    says nothing of a choice, but it is read as a vote, so it is sealed with the ballots."""
    herder = await _round_in_voting(sanal, client, clock)
    text = "санал өгөх гэсэн юм. Манай багт худаг гаргамаар байна"
    assert parse(text).kind is Kind.VOTE
    assert bears_ballot(text, parse(text).kind)
    clock.advance(timedelta(seconds=10))
    assert await herder.say(text)
    assert await _inbox_of(sanal, 1) == [(inbox.SEALED, "vote")]


async def test_questions_and_wishes_with_officials_words_are_not_refused(
    sanal: Sanal, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    herder = await _round_in_voting(sanal, client, clock)
    asked = ("Хурал хэзээ болох вэ?", "Шинэ жилийн мэнд", "Хураалт хэзээ дуусах вэ", "Нээх үү?")
    for text in asked:
        clock.advance(timedelta(seconds=10))
        reply = await herder.say(text)
        assert reply, text
        assert "зөвхөн багийн Засаг даргад" not in reply, text
    rows = await sanal.db.fetchall(
        "SELECT count(*) AS n FROM audit_log WHERE action = 'refused.governor_word'"
    )
    assert rows[0]["n"] == 0


def test_every_vote_of_the_corpus_is_sealed() -> None:
    for line in LINES:
        intent = parse(line["text"])
        if intent.kind is Kind.VOTE:
            assert bears_ballot(line["text"], intent.kind), line["text"]


def test_a_question_is_never_stored_or_counted() -> None:
    """No question of the corpus comes back as a proposal, a vote or a join."""
    for line in LINES:
        if line.get("family") == "question" and line["kind"] == "question":
            assert parse(line["text"]).kind not in (Kind.PROPOSE, Kind.VOTE, Kind.JOIN)


@pytest.mark.parametrize(
    "unit",
    [
        "Сайн байна уу? ",
        "баярлалаа ",
        "уу ",
        "хэзээ хаана яаж ",
        "худаг засвар 40 өрх ",
        "санал өгөх гэсэн юм. ",
        "Миний нэр Бат. ",
        "Би малчин Дорж ",
        "Шинэ жилийн мэнд ",
        "? ",
        "1 ",
    ],
)
def test_long_messages_are_read_in_linear_time(unit: str) -> None:
    """A 2,000-character message costs about four times a 500-character one, not sixteen:
    every reader walks the words a bounded number of times. Counted in function calls
    (the same on a busy machine), and timed loosely for work done inside C."""

    def text(n: int) -> str:
        return (unit * (n // len(unit) + 1))[:n]

    def calls(n: int) -> int:
        parse(text(n))  # remembered skeletons: count the steady state
        count = 0

        def profile(frame: Any, event: str, arg: Any) -> None:
            nonlocal count
            count += event in ("call", "c_call")

        sys.setprofile(profile)
        try:
            parse(text(n))
        finally:
            sys.setprofile(None)
        return count

    def seconds(n: int) -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            parse(text(n))
            best = min(best, time.perf_counter() - start)
        return best

    assert calls(2000) < 6 * calls(500), unit
    assert seconds(2000) < 20 * seconds(500) + 0.05, unit
    assert len(parse(text(2000)).text) <= 500


def test_a_described_project_is_cut_like_a_proposal() -> None:
    text = "Сургуулийн дотуур байрны засвар, 200 өрх. " * 60
    intent = parse(text)
    assert intent.kind is Kind.DESCRIBED
    assert len(intent.text) <= 500
    assert intent.beneficiaries == 200
    wrapped = parse("Сайн байна уу? Санал: " + text)
    assert wrapped.kind is Kind.PROPOSE
    assert wrapped.text.startswith("Сургуулийн")
