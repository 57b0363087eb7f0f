"""Every corpus line through the real router and a real database: what it DID, not only how
it parsed (tests/grammar/router_world.py says what each effect checks).

One world (one SQLite file, one running app) serves the module; each line is said by a
fresh phone number, and a governor's or soum member's line gets a bag or soum of its own,
so the lines cannot see each other. Lines of tests/grammar/drafts/ are not run here: they
wait for the parser and handlers of issue 12 (`python -m tests.grammar.rates --drafts`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.core.grammar.intents import Kind
from tests.grammar.corpus_lines import (
    FAMILIES,
    PHASES,
    SCRIPTS,
    WHO,
    corpus_files,
    draft_files,
    effect_of,
    label,
    load,
)
from tests.grammar.rates import Result, understood
from tests.grammar.router_world import ALLOWED, World, open_world

LINES = load(corpus_files())
# A line whose parse is right but whose effect main gets wrong carries "known_failure" (the
# reason): it must fail until fixed, then the strict xfail says to drop the field.
PARAMS = [
    pytest.param(
        line,
        id=label(line),
        marks=[pytest.mark.xfail(reason=line["known_failure"], strict=True)]
        if line.get("known_failure")
        else [],
    )
    for line in LINES
]
# What the lines did, for the rates table at the end of the run (tests/grammar/conftest.py).
RESULTS: list[Result] = []


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder: Path = tmp_path_factory.mktemp("corpus-world")
    async with open_world(folder) as w:
        yield w


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("line", PARAMS)
async def test_line_has_its_effect(world: World, line: dict[str, Any]) -> None:
    outcome = await world.run(line)
    parsed, why = understood(line)
    RESULTS.append(Result(line, parsed, outcome.ok, why or (outcome.failure or "")))
    assert outcome.ok, outcome.failure


def test_every_line_says_its_family_and_a_known_effect() -> None:
    """Drafts included: a line the lead switches on must already be runnable."""
    for line in load(corpus_files() + draft_files()):
        where = label(line)
        assert line.get("family") in FAMILIES, where
        assert Kind(line["kind"]), where
        assert line.get("script", "cyrl") in SCRIPTS, where
        assert line.get("who", "citizen") in WHO, where
        assert line.get("phase", "none") in PHASES, where
        for effect in (effect_of(line), line.get("then_effect", "nothing")):
            assert effect.partition(":")[0] in ALLOWED, (where, effect)
        assert isinstance(line.get("before", []), list), where
