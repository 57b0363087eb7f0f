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

import pytest
import pytest_asyncio

from tests.grammar.corpus_lines import corpus_files, label, load
from tests.grammar.router_world import World, open_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder: Path = tmp_path_factory.mktemp("corpus-world")
    async with open_world(folder) as w:
        yield w


@pytest.mark.parametrize("line", PARAMS)
async def test_line_has_its_effect(world: World, line: dict[str, object]) -> None:
    outcome = await world.run(line)
    assert outcome.ok, outcome.failure
