"""The soum's allocation as CSV and JSON, and the soum's .pb, from the command line: written
by `sanal report allocation`, `report soum-pb` and `report all`, read back with the csv and
json modules and pabutools' parser, and checked against the soum's plan."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result
from pabutools.election import parse_pabulib

from bot.app import Sanal
from bot.cli import main
from bot.core.clock import ManualClock
from bot.database import database
from bot.web import build_web_app
from handlers.allocation import RULES
from handlers.reports.allocation_export import COLUMNS
from handlers.reports.data import soum_report
from handlers.soum_plan import SoumPlan
from tests import suite_backend
from tests.conftest import START, make_settings
from tests.soum.scenario import BAGS, PLAN_YEAR, ZAG, scored_and_chosen

CHOSEN_AT: list[datetime] = []


async def _build(folder: Path) -> None:
    app = Sanal(make_settings(folder), ManualClock(START))
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            await scored_and_chosen(app, client)  # ЭРЭМБЭ chosen by the working group
            CHOSEN_AT.append(app.clock.now())
    finally:
        await app.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("soum-db")
    asyncio.run(_build(folder))
    return folder / "sanal.db"


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path | str:
    monkeypatch.chdir(tmp_path)
    return suite_backend.copy(built, tmp_path / "sanal.db")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["report", *args], catch_exceptions=False)


def the_plan(folder: Path) -> SoumPlan:
    async def go() -> SoumPlan:
        async with database(make_settings(folder), needs_key=False) as d:
            return (await soum_report(d.reader, ZAG, PLAN_YEAR)).plan

    return asyncio.run(go())


def test_csv_and_json_read_back_as_the_plan(db: Path | str, tmp_path: Path) -> None:
    for fmt in ("csv", "json"):
        result = run("allocation", "--soum", ZAG, "--format", fmt, "--db", str(db))
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == f"allocation-{ZAG}-{PLAN_YEAR}.{fmt}"
    plan = the_plan(tmp_path)
    rows = list(
        csv.DictReader(io.StringIO((tmp_path / f"allocation-{ZAG}-{PLAN_YEAR}.csv").read_text()))
    )
    doc = json.loads((tmp_path / f"allocation-{ZAG}-{PLAN_YEAR}.json").read_text())

    assert list(rows[0]) == COLUMNS
    assert [int(r["soum_number"]) for r in rows] == [ln.item.number for ln in plan.lines]
    assert [r["soum_number"] for r in doc["proposals"]] == [ln.item.number for ln in plan.lines]
    computed = CHOSEN_AT[0]
    for row, item, line in zip(rows, doc["proposals"], plan.lines, strict=True):
        assert int(row["cost_mnt"]) == item["cost_mnt"] == line.item.cost_mnt
        assert int(row["votes"]) == item["votes"] == line.item.votes
        assert float(row["combined_score"]) == item["combined_score"]
        assert abs(Fraction(row["combined_score"]) - (line.combined.score or 0) * 100) < Fraction(
            1, 100
        )
        assert row["bag"] == item["bag"] == line.bag_name
        for rule in RULES:
            d = line.decision(rule)
            assert row[f"{rule}_funded"] == str(int(bool(d and d.funded)))
            assert item[f"{rule}_funded"] is bool(d and d.funded)
            assert row[f"{rule}_reason"] == item[f"{rule}_reason"] == line.reason(rule)
        assert row["funded"] == row["greedy_funded"]
        assert item["funded"] == item["greedy_funded"]
        assert row["rule_in_force"] == item["rule_in_force"] == "greedy"
        # When the allocation in force was computed: ISO 8601 in the soum's time (UTC+8).
        assert row["computed_at"] == item["computed_at"]
        assert row["computed_at"].endswith("+08:00")
        assert datetime.fromisoformat(row["computed_at"]) == computed
        assert int(row["ceiling_mnt"]) == item["ceiling_mnt"] == 80_000_000

    assert doc["soum"] == "Заг"
    assert doc["year"] == PLAN_YEAR
    assert doc["ceiling_mnt"] == 80_000_000
    assert doc["rule_in_force"] == "greedy"
    assert doc["stale"] is False
    assert doc["funded"] == [ln.item.number for ln in plan.funded("greedy")]
    assert doc["voters"] == sum(len(b["ballots"]) for b in BAGS.values())
    for rule in RULES:
        alloc = plan.allocation(rule)
        assert alloc is not None
        assert doc["rules"][rule]["funded"] == [ln.item.number for ln in plan.funded(rule)]
        assert doc["rules"][rule]["spent_mnt"] == alloc.spent
        assert doc["rules"][rule]["spent_mnt"] <= doc["ceiling_mnt"]
    assert doc["rules"]["mes"]["pabulib_rule"] == "equalshares/add1"
    # Counts and texts only: no phone number, no voter.
    text = (tmp_path / f"allocation-{ZAG}-{PLAN_YEAR}.json").read_text()
    assert "+976" not in text
    assert "9911 0003" not in text
    assert "••••" in text


def test_the_soum_pb_command(db: Path | str, tmp_path: Path) -> None:
    result = run("soum-pb", ZAG, "--db", str(db))
    assert result.exit_code == 0, result.output
    path = tmp_path / f"sanal-{ZAG}-{PLAN_YEAR}.pb"
    inst, prof = parse_pabulib(str(path))
    plan = the_plan(tmp_path)
    assert inst.meta["rule"] == "greedy-custom"
    assert inst.budget_limit == 80_000_000
    assert {p.name for p in inst if inst.project_meta[p]["selected"] == "1"} == {
        f"{ln.item.number:04d}" for ln in plan.funded("greedy")
    }
    assert prof.num_ballots() == plan.voters
    for args, message in {
        ("soum-pb", "6449"): "soum 6449 has no list or ceiling yet",
        ("allocation", "--soum", "644651"): "no soum with code 644651",
    }.items():
        result = run(*args, "--db", str(db))
        assert result.exit_code == 1, result.output
        assert message in result.output, result.output
