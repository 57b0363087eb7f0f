"""STOP and START through the real router and a real database: the corpus lines with an
``effect`` (tests/grammar/corpus.jsonl) change a citizen's opt-out as the person meant.

Effects: ``opt_out`` (opted out, told so), ``opt_in`` (after STOP, back in), ``ask`` (one
yes/no question, nothing changed, and a following "тийм" opts out), ``yes_after_ask`` /
``no_after_ask`` (the line answers that question), ``stays_out`` (a bare yes is not START),
``none`` (a look-alike: nothing changes and no question is asked).
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.texts import render
from storage import people
from tests.conftest import ZAG_BAG_1, Phone
from tests.grammar.test_corpus import LINES

EFFECT_LINES = [line for line in LINES if "effect" in line]
HERDER = "99112233"


async def _person(sanal: Sanal) -> people.Person:
    async with sanal.db.write() as conn:
        found = await people.by_phone(conn, "+976" + HERDER)
    assert found is not None
    return found


@pytest.mark.parametrize(
    "line", EFFECT_LINES, ids=[f"{line['effect']}:{line['text'][:30]!r}" for line in EFFECT_LINES]
)
async def test_opt_out_line_through_the_router(
    sanal: Sanal, client: TestClient[Any, Any], line: dict[str, Any]
) -> None:
    herder = Phone(client, HERDER)
    await herder.say(f"НЭГДЭХ {ZAG_BAG_1}")  # a registered citizen, answered in Cyrillic
    effect, text = line["effect"], line["text"]
    ask = render("optout.ask", "mn")
    if effect in ("opt_in", "stays_out"):
        await herder.say("ЗОГС")
        assert (await _person(sanal)).opted_out
    if effect in ("yes_after_ask", "no_after_ask"):
        assert await herder.say("Мессеж их ирээд байна") == ask
    reply = await herder.say(text)
    opted_out = (await _person(sanal)).opted_out
    if effect in ("opt_out", "yes_after_ask"):
        assert opted_out and reply == render("stop.ok", "mn")
    elif effect == "opt_in":
        assert not opted_out and reply == render("start.ok", "mn")
    elif effect == "ask":
        assert not opted_out and reply == ask
        assert await herder.say("тийм") == render("stop.ok", "mn")  # the yes opts out
        assert (await _person(sanal)).opted_out
    elif effect == "no_after_ask":
        assert not opted_out and reply == render("optout.kept", "mn")
    elif effect == "stays_out":
        assert opted_out and reply and reply != render("start.ok", "mn")
    else:
        assert effect == "none"
        assert not opted_out and reply not in ("", ask, render("stop.ok", "mn"))


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


def test_the_corpus_has_every_opt_out_kind_in_both_scripts() -> None:
    def cyrillic(text: str) -> bool:
        return any("\u0400" <= ch <= "\u04ff" for ch in text)

    assert len(EFFECT_LINES) >= 60
    for effect in ("opt_out", "opt_in", "ask", "yes_after_ask", "no_after_ask", "none"):
        texts = [line["text"] for line in EFFECT_LINES if line["effect"] == effect]
        assert any(map(cyrillic, texts)) and not all(map(cyrillic, texts)), effect
