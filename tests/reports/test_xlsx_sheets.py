"""The soum XLSX a working group opens: every column its own name, the three rules side
by side with their totals labelled and explained, each rule's decisions in the order it
took them (equal shares: what the supporters bought, in the order bought, with the money
left before each), the rule in force marked.

The database is made once for the module by driving three bags' rounds and the soum's
scoring through the simulator (tests/soum/scenario.py); the workbooks are read back with
openpyxl and checked against the soum plan computed from the same database.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.app import Sanal
from bot.cli import main
from bot.core.clock import ManualClock
from bot.core.texts import render
from bot.database import database
from bot.web import build_web_app
from handlers.allocation import RULES
from handlers.reports.data import SoumReport, find_round, round_report, soum_report
from handlers.reports.xlsx import EXPLAIN_WIDTH, round_workbook, score_sheet, soum_workbook
from handlers.soum_plan import project_id
from tests import suite_backend
from tests.conftest import START, ZAG_BAG_1, make_settings
from tests.soum.scenario import PLAN_YEAR, ZAG, scored_and_chosen

Rows = list[list[Any]]


async def _build(folder: Path) -> None:
    app = Sanal(make_settings(folder), ManualClock(START))
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            await scored_and_chosen(app, client)  # the standard rule chosen
    finally:
        await app.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sheets-db")
    asyncio.run(_build(folder))
    return folder


def _reports(folder: Path) -> tuple[SoumReport, Any]:
    async def go() -> tuple[SoumReport, Any]:
        async with database(make_settings(folder), needs_key=False) as db:
            srep = await soum_report(db.reader, ZAG, PLAN_YEAR)
            rnd = await find_round(db.reader, ZAG_BAG_1)
            return srep, await round_report(db.reader, rnd)

    return asyncio.run(go())


def _rows(ws: Worksheet) -> Rows:
    return [[c.value for c in row] for row in ws.iter_rows()]


def _table_headers(rows: Rows, first: str) -> list[list[Any]]:
    return [[v for v in r if v is not None] for r in rows if r and r[0] == first]


@pytest.mark.parametrize("lang", ["mn", "en"])
def test_every_table_names_each_column_once(built: Path, lang: str) -> None:
    srep, rrep = _reports(built)
    proposal, votes = render("report.col.proposal", lang), render("report.col.votes", lang)
    assert proposal != votes
    sheets = [
        (round_workbook(rrep, lang).worksheets[0], render("report.col.rank", lang)),
        (soum_workbook(srep, lang).worksheets[0], render("report.col.rank", lang)),
        (score_sheet(srep.plan, lang).worksheets[0], render("report.col.soum_number", lang)),
    ]
    for ws, first in sheets:
        (header,) = _table_headers(_rows(ws), first)
        assert len(header) == len(set(header)), header
        assert proposal in header, header
        assert votes in header, header
    for ws in soum_workbook(srep, lang).worksheets:
        for header in _table_headers(_rows(ws), render("report.alloc.position", lang)):
            assert len(header) == len(set(header)), header
    if lang == "mn":
        assert (proposal, votes) == ("Саналын агуулга", "Дэмжсэн иргэд")


def _summary(rows: Rows) -> dict[str, list[Any]]:
    """The three rules' row of the summary table, by rule name."""
    start = next(i for i, r in enumerate(rows) if r[0] == "Дүрэм")
    assert rows[start][:7] == ["Дүрэм", "Мөрдөж буй", "Дүрмийн тайлбар",
                               "Санхүүжих саналын тоо", "Зарцуулсан, ₮", "Үлдэгдэл, ₮",
                               "ОНХС-ийн хязгаар, ₮"]  # fmt: skip
    return {r[0]: r for r in rows[start + 1 : start + 1 + len(RULES)]}


def _block(rows: Rows, rule_name: str) -> tuple[list[list[Any]], list[list[Any]]]:
    """A rule's decisions (rows under its heading) and its labelled totals."""
    start = next(i for i, r in enumerate(rows) if str(r[0]).startswith(f"{rule_name}: "))
    assert rows[start + 1][0] == "Дараалал"
    lines, totals = [], []
    for r in rows[start + 2 :]:
        if all(v is None for v in r):
            break
        (totals if r[0] is None and r[1] is None else lines).append(r)
    return lines, totals


def test_the_allocation_sheet(built: Path) -> None:
    srep, _ = _reports(built)
    plan = srep.plan
    assert plan.ceiling == 80_000_000
    ws = soum_workbook(srep)["Хуваарилалт"]
    rows = _rows(ws)
    facts = {r[0]: r[1] for r in rows[:5]}
    assert facts["Мөрдөж буй дүрэм"] == "эрэмбээр, багтахгүйг алгасах"  # ХУВААРИЛАХ ЭРЭМБЭ
    assert facts["Хуваарилалт тооцсон"] != "-"

    summary = _summary(rows)
    names = {code: render(f"alloc.rule.{code}", "mn") for code in RULES}
    assert list(summary) == list(names.values())
    for code, name in names.items():
        alloc = plan.allocation(code)
        assert alloc is not None
        _, in_force, explained, funded, spent, left, ceiling = summary[name][:7]
        assert in_force == ("тийм" if code == "greedy" else None)
        assert (funded, spent, left, ceiling) == (
            len(alloc.funded), alloc.spent, alloc.left, 80_000_000,
        )  # fmt: skip
        assert spent + left == ceiling
        # The rule in two sentences, wrapped in a column wide enough, the row tall enough.
        assert explained == render(f"alloc.explain.{code}", "mn")
        row = next(i for i, r in enumerate(rows, start=1) if r[0] == name)
        cell = ws.cell(row=row, column=3)
        assert cell.alignment.wrap_text
        width = ws.column_dimensions["C"].width
        assert width >= EXPLAIN_WIDTH
        needed = math.ceil(len(explained) / (width - 4))
        assert (ws.row_dimensions[row].height or 0) >= 15 * needed, (row, needed)

        # The rule's decisions, in the order it took them, each with the money left
        # before it: the ceiling less what was funded before.
        lines, totals = _block(rows, name)
        assert len(lines) == len(plan.lines)
        spent_before = 0
        for r in lines:
            position, number, _, funded_, reason, cost, before = r[:7]
            decision = alloc.decision(project_id(number))
            assert (position, before) == (decision.position, 80_000_000 - spent_before)
            assert funded_ == ("тийм" if decision.funded else "үгүй")
            assert reason == render(f"alloc.reason.{decision.reason.value}", "mn")
            if decision.funded:
                spent_before += cost
        assert [r[0] for r in lines] == list(range(1, len(lines) + 1))
        if code == "greedy":  # the working group's ranking
            assert [r[1] for r in lines] == [ln.item.number for ln in plan.lines]
        else:  # what the supporters bought, in the order bought, then the completion
            bought = [r for r in lines if r[7] is not None]
            assert bought == lines[: len(bought)]
            assert bought
            assert [r[7] for r in bought] == sorted(r[7] for r in bought)
            assert all(r[4] == "дэмжигчдийн тэгш хувиар санхүүжинэ" and r[8] > 0 for r in bought)
            assert all(r[8] <= r[5] for r in bought)  # a supporter paid at most the cost
        # The totals, each named with what it is and the rule.
        assert totals == [
            [None, None, None, None, f"Зарцуулсан, ₮ ({name})", spent_before, None, None, None],
            [None, None, None, None, f"Үлдэгдэл, ₮ ({name})", 80_000_000 - spent_before, None,
             None, None],
            [None, None, None, None, f"ОНХС-ийн хязгаар, ₮ ({name})", 80_000_000, None, None,
             None],
        ]  # fmt: skip
        assert spent_before == alloc.spent


def _in_force_marks(srep: SoumReport) -> tuple[str, list[str], list[str], list[Any]]:
    wb = soum_workbook(srep)
    rows = _rows(wb["Хуваарилалт"])
    soum_list = _rows(wb["Сумын жагсаалт"])
    header = next(r for r in soum_list if r[0] == "Эрэмбэ")
    marked = [h for h in header if h and "(мөрдөж буй)" in h]
    headings = [r[0] for r in rows if r[0] and "(мөрдөж буй)" in str(r[0])]
    in_force = [r[1] for r in _summary(rows).values()]
    facts = {r[0]: r[1] for r in rows[:5]}
    assert {r[0]: r[1] for r in soum_list[:6]}["Сонгосон дүрэм"] == facts["Мөрдөж буй дүрэм"]
    return facts["Мөрдөж буй дүрэм"], marked, headings, [in_force, facts["Хуваарилалт тооцсон"]]


def test_the_rule_in_force_is_marked_everywhere_or_said_not_chosen(built: Path) -> None:
    srep, _ = _reports(built)
    rule, marked, headings, (in_force, _) = _in_force_marks(srep)
    assert rule == "эрэмбээр, багтахгүйг алгасах"
    assert marked == ["Эрэмбээр (мөрдөж буй)"]
    assert headings == ["эрэмбээр, багтахгүйг алгасах: саналууд дүрмийн авч үзсэн дарааллаар "
                        "(мөрдөж буй)"]  # fmt: skip
    assert in_force == ["тийм", None, None]

    # Nothing chosen yet: said so, nothing marked.
    plan = replace(srep.plan, rule_in_force=None, computed_at=None)
    none = replace(srep, plan=plan, chosen_rule=None, chosen_at=None)
    rule, marked, headings, (in_force, at) = _in_force_marks(none)
    assert (rule, marked, headings, in_force, at) == ("сонгоогүй", [], [], [None] * 3, "-")

    # The plan carrying the rule in force (issue 13's "one truth") is what the sheets say,
    # with when it was computed, in the soum's local time.
    plan = replace(
        srep.plan, rule_in_force="mes", computed_at=datetime(2027, 5, 2, 3, 4, tzinfo=UTC)
    )
    rule, marked, headings, (in_force, at) = _in_force_marks(replace(srep, plan=plan))
    assert (rule, marked, in_force, at) == (
        "тэгш хуваалт", ["Тэгш хуваалт (мөрдөж буй)"], [None, "тийм", None], "2027-05-02 11:04",
    )  # fmt: skip
    assert headings[0].startswith("тэгш хуваалт: ")
    # A plan that says no rule is in force (computed, none chosen) is not overruled.
    plan = replace(srep.plan, rule_in_force=None, computed_at=datetime(2027, 5, 2, tzinfo=UTC))
    assert _in_force_marks(replace(srep, plan=plan))[0] == "сонгоогүй"
    # A recorded run whose inputs changed since (not recomputed yet) says so beside its time.
    plan = replace(
        srep.plan,
        rule_in_force="mes",
        computed_at=datetime(2027, 5, 2, 3, 4, tzinfo=UTC),
        stale=True,
    )
    assert _in_force_marks(replace(srep, plan=plan))[3][1] == (
        "2027-05-02 11:04 (өгөгдөл өөрчлөгдсөн, дахин тооцоогүй)"
    )


def test_the_cli_writes_it(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "soum.xlsx"
    db = suite_backend.db(built / "sanal.db")  # the module's database, read only
    args = ["report", "soum", ZAG, "--db", str(db), "-o", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = _rows(load_workbook(out)["Хуваарилалт"])
    assert len(_summary(rows)) == 3
