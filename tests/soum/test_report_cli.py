"""`sanal report ...` run as a soum IT officer would: click's runner on a real database.

The database is made once for the module by driving three bags' rounds and the soum's
scoring through the simulator; each test works on its own copy of the file.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from pabutools.election import parse_pabulib
from PIL import Image
from pypdf import PdfReader

from bot.app import Sanal
from bot.cli import main
from bot.core.clock import ManualClock
from bot.web import build_web_app
from handlers.reports.chart import png_size
from handlers.reports.participation_map import BLOCK_HEAD, FOOTER, HEADER, MIN_WIDTH, TILE_H
from tests import suite_backend
from tests.conftest import START, ZAG_BAG_1, ZAG_BAG_2, make_settings
from tests.soum.scenario import BAGS, MEMBERS, PLAN_YEAR, ZAG, scored_and_chosen

YEAR = str(PLAN_YEAR)


async def _build(folder: Path) -> None:
    app = Sanal(make_settings(folder), ManualClock(START))
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            await scored_and_chosen(app, client)
    finally:
        await app.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("soum-db")
    asyncio.run(_build(folder))
    return folder / "sanal.db"


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path | str:
    monkeypatch.chdir(tmp_path)  # default output names land here; no stray .env is read
    return suite_backend.copy(built, tmp_path / "sanal.db")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["report", *args], catch_exceptions=False)


def test_each_report_to_its_file(db: Path | str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cases = {
        "round.xlsx": ["round", ZAG_BAG_1],
        "minutes.pdf": ["minutes", ZAG_BAG_1, "--year", YEAR],
        "chart.png": ["chart", ZAG_BAG_2],
        "round.pb": ["pabulib", ZAG_BAG_1],
        "soum.xlsx": ["soum", ZAG],
        "scores.xlsx": ["scores", ZAG, "--lang", "en"],
        "participation.csv": ["participation", ZAG],
        "participation.xlsx": ["participation", ZAG, "--format", "xlsx", "--year", YEAR],
        "participation.png": ["participation", ZAG, "--format", "png"],
    }
    for name, args in cases.items():
        result = run(*args, "--db", str(db), "-o", str(out / name))
        assert result.exit_code == 0, (name, result.output)
        assert str(out / name) in result.stdout.splitlines()

    wb = load_workbook(out / "round.xlsx")
    facts = {r[0]: r[1] for r in wb["Дүн"].iter_rows(max_row=9, values_only=True)}
    assert facts["Баг"] == f"1-р баг, Баянбулаг ({ZAG_BAG_1})"
    text = " ".join("".join(p.extract_text() for p in PdfReader(out / "minutes.pdf").pages).split())
    assert "1-р баг, Баянбулагийн Иргэдийн Нийтийн Хурлын тэмдэглэл" in text
    assert "Малын худаг гаргах" in text
    assert "Хуралд оролцогчдын тоо: 41" in text
    with Image.open(out / "chart.png") as img:
        assert img.size == png_size(len(BAGS[ZAG_BAG_2]["proposals"]))
    inst, prof = parse_pabulib(str(out / "round.pb"))
    assert prof.num_ballots() == len(BAGS[ZAG_BAG_1]["ballots"])
    assert len(inst) == 3
    soum = load_workbook(out / "soum.xlsx")
    members = {r[0] for r in soum["Гишүүдийн оноо"].iter_rows(min_row=2, values_only=True)}
    assert members == set(MEMBERS.values())
    scores = load_workbook(out / "scores.xlsx")
    assert scores.worksheets[0]["G1"].value == "importance (1-5)"
    rows = list(csv.DictReader(io.StringIO((out / "participation.csv").read_text())))
    assert rows[-1]["code"] == ZAG
    assert int(rows[-1]["voted"]) == sum(len(b["ballots"]) for b in BAGS.values())
    part = load_workbook(out / "participation.xlsx")["Оролцоо"]
    assert part.max_row == len(rows) + 1
    # The map: one tile per bag of Заг (four, one without a round), drawn at its size.
    bags = [r for r in rows if r["level"] == "bag"]
    with Image.open(out / "participation.png") as img:
        img.load()
        assert img.format == "PNG"
        assert img.size == (MIN_WIDTH, HEADER + BLOCK_HEAD + TILE_H + FOOTER)  # one row of 4
    assert len(bags) == 4


def test_default_names_in_the_current_folder(db: Path | str, tmp_path: Path) -> None:
    for args in (["round", ZAG_BAG_1], ["soum", ZAG], ["pabulib", ZAG_BAG_2]):
        result = run(*args, "--db", str(db))
        assert result.exit_code == 0, result.output
    for name in (f"round-{ZAG_BAG_1}-{YEAR}.xlsx", f"soum-{ZAG}-{YEAR}.xlsx",
                 f"sanal-{ZAG_BAG_2}-{YEAR}.pb"):  # fmt: skip
        assert (tmp_path / name).stat().st_size > 0, name


def test_everything_for_a_soum_with_a_progress_bar(db: Path | str, tmp_path: Path) -> None:
    result = run("all", ZAG, "--db", str(db), "--out", str(tmp_path / "all"))
    assert result.exit_code == 0, result.output
    written = [Path(line) for line in result.stdout.splitlines()]
    # Per round 5 files (the minutes as PDF and DOCX); the soum's XLSX, its allocation as
    # CSV and JSON and its .pb; participation as CSV, XLSX and the map-like PNG.
    assert len(written) == 5 * len(BAGS) + 4 + 3
    assert all(p.stat().st_size > 0 for p in written)
    assert sorted(p.suffix for p in written) == sorted(
        [".xlsx", ".pdf", ".docx", ".png", ".pb"] * len(BAGS)
        + [".xlsx", ".csv", ".json", ".pb"]
        + [".csv", ".xlsx", ".png"]
    )
    assert {p.name for p in written} >= {
        f"allocation-{ZAG}-{YEAR}.csv",
        f"allocation-{ZAG}-{YEAR}.json",
        f"sanal-{ZAG}-{YEAR}.pb",
        f"participation-{ZAG}-{YEAR}.png",
    }
    # tqdm's bars on stderr: rounds read, bags counted, files written, each to 100%.
    bars = result.stderr
    for desc, total in (("rounds", len(BAGS)), ("participation", 4), ("writing", 22)):
        assert f"{desc}: 100%" in bars, (desc, bars)
        assert f"{total}/{total}" in bars, (desc, bars)


def test_participation_of_an_aimag_counts_every_bag(db: Path | str, tmp_path: Path) -> None:
    [(bags,)] = suite_backend.rows(
        db, "SELECT count(*) FROM units WHERE level = 'bag' AND code LIKE '64%'"
    )
    [(soums,)] = suite_backend.rows(
        db, "SELECT count(*) FROM units WHERE level = 'soum' AND parent_code = '64'"
    )
    result = run("participation", "64", "--db", str(db), "-o", str(tmp_path / "p.csv"))
    assert result.exit_code == 0, result.output
    assert f"{bags}/{bags}" in result.stderr  # one step of the bar per bag
    rows = list(csv.DictReader(io.StringIO((tmp_path / "p.csv").read_text())))
    assert len(rows) == bags + soums + 1
    assert rows[-1]["level"] == "aimag"
    assert int(rows[-1]["voted"]) == 20
    assert "Баянхонгор: " in result.stdout  # the one-line summary


def test_import_a_filled_score_sheet(db: Path | str, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.xlsx"
    assert run("scores", ZAG, "--db", str(db), "-o", str(sheet)).exit_code == 0
    wb = load_workbook(sheet)
    ws = wb.worksheets[0]
    for row in range(2, ws.max_row + 1):
        ws.cell(row=row, column=7, value=5)
        ws.cell(row=row, column=8, value=1 + row % 5)
    wb.save(sheet)
    member = next(iter(MEMBERS))

    def stored() -> list[tuple[int, str, int, str]]:
        return suite_backend.rows(
            db,
            "SELECT s.proposal_id, s.criterion, s.value, s.via FROM soum_scores s "
            "JOIN people p ON p.id = s.person_id WHERE p.phone = ? ORDER BY 1, 2",
            member,
        )

    before = stored()
    # Someone outside the soum's working group: refused, nothing stored.
    governor = BAGS[ZAG_BAG_1]["governor"]
    result = run("import-scores", str(sheet), "--db", str(db), "--phone", governor)
    assert result.exit_code == 1
    assert "not on the working group of soum 6446" in result.output
    assert stored() == before

    result = run("import-scores", str(sheet), "--db", str(db), "--phone", member[4:])
    assert result.exit_code == 0, result.output
    assert f"14 scores of 7 proposals stored for {member}" in result.stdout
    after = stored()
    assert len(after) == 14
    assert {r[3] for r in after} == {"xlsx"}
    assert {r[2] for r in after if r[1] == "importance"} == {5}

    # A cell that is not a score 1-5: the whole sheet is refused.
    ws.cell(row=3, column=8, value=7)
    wb.save(sheet)
    result = run("import-scores", str(sheet), "--db", str(db), "--phone", member)
    assert result.exit_code == 1
    assert "row 3: 7 is not a score 1-5; nothing imported" in (result.output)
    assert stored() == after


def test_clear_errors(db: Path | str, tmp_path: Path) -> None:
    cases = {
        ("round", "999999"): "no bag with code 999999",
        ("round", "644657"): "has no round",  # Залаа-Овоо did not open one
        ("chart", ZAG_BAG_1, "--year", "2031"): "has no round for 2031",
        ("soum", "6449"): "soum 6449 has no list or ceiling yet",
        ("soum", ZAG_BAG_1): f"no soum with code {ZAG_BAG_1}",
        ("all", ZAG_BAG_1): f"no soum or aimag with code {ZAG_BAG_1}",
    }
    for args, message in cases.items():
        result = run(*args, "--db", str(db))
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
    missing = run("round", ZAG_BAG_1, "--db", str(tmp_path / "none.db"))
    assert missing.exit_code == 1
    assert "no database at" in missing.output
    assert not (tmp_path / "none.db").exists()
