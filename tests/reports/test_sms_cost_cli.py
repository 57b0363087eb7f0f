"""`sanal sms-cost` for a unit or round that does not exist: one clear line, exit 1.

"0 messages" for a mistyped bag code would be a wrong answer given with confidence: the
operator would report that a bag's SMS cost nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.app import Sanal
from bot.cli import main
from tests.conftest import ZAG_BAG_1


def _run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["sms-cost", "--db", str(db), *args])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bag", "999"], "no bag with code 999"),
        (["--bag", "6446"], "no bag with code 6446"),  # a soum, not a bag
        (["--round", "999"], "no round with id 999"),
        (["--bag", ZAG_BAG_1, "--round", "999"], "no round with id 999"),
    ],
)
async def test_an_unknown_unit_or_round_is_one_line_and_exit_1(
    sanal: Sanal, args: list[str], message: str
) -> None:
    result = await asyncio.to_thread(_run, sanal.settings.db, *args)
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"  # one line, no traceback


async def test_a_known_bag_that_sent_nothing_costs_nothing(sanal: Sanal) -> None:
    result = await asyncio.to_thread(_run, sanal.settings.db, "--bag", ZAG_BAG_1)
    assert result.exit_code == 0, result.output
    assert result.output == "total: 0 messages, 0 segments\n"


def test_no_database_is_said_and_none_is_made(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    result = _run(missing, "--bag", "999")
    assert result.exit_code == 1
    assert result.output == f"Error: no database at {missing} (--db or SANAL_DB)\n"
    assert not missing.exists()
