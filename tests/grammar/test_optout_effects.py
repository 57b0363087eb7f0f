"""STOP and START through the real router: the corpus's opt-out lines (family "optout")
run in tests/grammar/test_corpus_router.py with the effects opted_out, opted_in, asked
(then "тийм" opts out), answered:optout.kept and nothing (a look-alike, or a yes when
nothing was asked). Here: what no single line shows, and that the corpus keeps every case
in both scripts.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.texts import render
from storage import people
from tests.conftest import ZAG_BAG_1, Phone
from tests.grammar.corpus_lines import before_of, corpus_files, effect_of, family_of, load

OPTOUT_LINES = [line for line in load(corpus_files()) if family_of(line) == "optout"]
HERDER = "99112233"


async def _person(sanal: Sanal) -> people.Person:
    async with sanal.db.write() as conn:
        found = await people.by_phone(conn, "+976" + HERDER)
    assert found is not None
    return found


async def test_a_yes_long_after_the_question_opts_nobody_out(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    """The question is asked once; only the very next message answers it."""
    herder = Phone(client, HERDER)
    await herder.say(f"НЭГДЭХ {ZAG_BAG_1}")
    assert await herder.say("zogs 2") == render("optout.ask", "mn")
    await herder.say("ЖАГСААЛТ")
    assert await herder.say("тийм") != render("stop.ok", "mn")
    assert not (await _person(sanal)).opted_out


def test_the_corpus_has_every_opt_out_case_in_both_scripts() -> None:
    def cyrillic(text: str) -> bool:
        return any("\u0400" <= ch <= "\u04ff" for ch in text)

    def case(line: dict[str, Any]) -> str:
        effect, before = effect_of(line), before_of(line)
        if effect == "asked" and line.get("then_effect") == "opted_out":
            return "asked, then yes"  # the yes opts out
        if effect == "nothing" and before == ["ЗОГС"]:
            return "stays_out"  # a bare yes after STOP is not START
        if before and effect in ("opted_out", "answered:optout.kept"):
            return f"answer:{effect}"  # the yes or no to the question
        return effect

    assert len(OPTOUT_LINES) >= 100
    cases: dict[str, list[str]] = {}
    for line in OPTOUT_LINES:
        cases.setdefault(case(line), []).append(line["text"])
    for wanted in (
        "opted_out",
        "opted_in",
        "asked, then yes",
        "answer:opted_out",
        "answer:answered:optout.kept",
        "nothing",
    ):
        texts = cases.get(wanted, [])
        assert any(map(cyrillic, texts)), wanted
        assert not all(map(cyrillic, texts)), wanted
