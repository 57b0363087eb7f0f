"""Text people typed reaches spreadsheets as text, never as a formula.

Citizens propose ``=HYPERLINK("http://x","y")``, ``+1+1``, ``@SUM(A1)``, ``-2+3``,
``#N/A`` and a text with control characters through the simulator; a governor rejects one
with a formula as the reason; a working-group member is named with a DDE formula; a bag
is renamed to a formula by `sanal units import`. Every report is then exported with
`sanal report` and read back as XML: no cell holds a formula (``<f>``) or an error value,
each of those texts is a string cell (``t="inlineStr"``) with the text as written. The
participation CSV quotes cells that a spreadsheet would run. A score sheet with a formula
in a score cell is refused (nothing computed, nothing stored), and one that unpacks to
gigabytes is refused before it is unpacked.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from bot.app import Sanal
from bot.cli import main
from bot.core.clock import ManualClock
from bot.web import build_web_app
from handlers.soum import import_scores
from storage import people
from tests import suite_backend
from tests.conftest import START, ZAG_BAG_1, Phone, make_official, make_settings

ZAG = "6446"
GOVERNOR = "+97699000001"
MEMBER = "+97699100001"
MEMBER_NAME = "=cmd|' /C calc'!A0"  # the classic DDE payload, as an official's name
BAG_NAME = '=HYPERLINK("http://evil.example","1-р баг")'
REASON = '=HYPERLINK("http://evil.example","дэлгэрэнгүй")'
# What each citizen types after САНАЛ, and the text reports show (the parser takes a
# leading "-" for punctuation; reports drop control characters).
PROPOSALS = {
    '=HYPERLINK("http://x","y")': '=HYPERLINK("http://x","y")',
    "+1+1": "+1+1",
    "@SUM(A1)": "@SUM(A1)",
    "-2+3": "2+3",
    "#N/A": "#N/A",
    "=1+1, 40 өрх, 25 сая": "=1+1, 40 өрх, 25 сая",
    "Худаг\x01\x1b засах": "Худаг засах",
    "Гүүр засах, 90 өрх, 20 сая": "Гүүр засах, 90 өрх, 20 сая",  # rejected below
}
REJECTED = len(PROPOSALS)
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


async def _build(folder: Path) -> None:
    app = Sanal(make_settings(folder), ManualClock(START))
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            await _round(app, client)
    finally:
        await app.stop()


async def _round(app: Sanal, client: TestClient[Any, Any]) -> None:
    await make_official(app, GOVERNOR, "governor", ZAG_BAG_1)
    member_id = await make_official(app, MEMBER, "soum", ZAG)
    async with app.db.write() as conn:
        await people.set_name(conn, member_id, MEMBER_NAME)
    gov = Phone(client, GOVERNOR)
    assert "эхэллээ" in await gov.say("НЭЭХ")
    citizens = [Phone(client, f"+9769920{i:04d}") for i in range(1, len(PROPOSALS) + 1)]
    for n, (citizen, typed) in enumerate(zip(citizens, PROPOSALS, strict=True), start=1):
        assert "Бүртгэгдлээ" in await citizen.say(f"НЭГДЭХ {ZAG_BAG_1}")
        assert f"№{n}" in await citizen.say(f"САНАЛ {typed}")
    await gov.say("ЗӨВ " + " ".join(str(n) for n in range(1, REJECTED)))
    assert "татгалзлаа" in await gov.say(f"ТАТГАЛЗАХ {REJECTED} {REASON}")
    assert "эхэллээ" in await gov.say("ХУРААЛТ")
    await gov.say('ХУРАЛ 2027-04-10 14:00 =HYPERLINK("http://evil.example","төв")')
    for i, citizen in enumerate(citizens):
        assert "Баярлалаа" in await citizen.say(f"СОНГО {1 + i % (REJECTED - 1)} 2")
    await gov.say("ХААХ")
    await gov.say("БАТЛАХ 30 ТИЙМ")  # before the khural's date: explicitly (issue 13)
    async with app.db.write() as conn:  # the member's scores: the members sheet has rows
        scores = {n: {"importance": 3, "fit": 4} for n in range(1, REJECTED)}
        year = START.year + 1
        await import_scores(
            conn,
            app.settings,
            ZAG,
            year,
            member_id,
            scores,
            app.clock.now(),
            actor="test",
            channel="cli",
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("text-cells")
    asyncio.run(_build(folder))
    return folder / "sanal.db"


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path | str:
    monkeypatch.chdir(tmp_path)
    # `units import` writes: it needs the key the database was made with (storage/keyguard).
    monkeypatch.setenv("SANAL_BALLOT_KEY", "test-ballot-key")
    return suite_backend.copy(built, tmp_path / "sanal.db")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _rename_bag(db: Path | str, tmp_path: Path) -> None:
    """`sanal units import` of the aimag, the soum and the bag, named as an attacker."""
    [(aimag,)] = suite_backend.rows(db, "SELECT parent_code FROM units WHERE code = ?", ZAG)
    sql = "SELECT code, name FROM units WHERE code IN (?, ?)"
    names = dict(suite_backend.rows(db, sql, aimag, ZAG))
    units = tmp_path / "units.csv"
    with units.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["level", "code", "name", "parent_code"])
        w.writerow(["aimag", aimag, names[aimag], ""])
        w.writerow(["soum", ZAG, names[ZAG], aimag])
        w.writerow(["bag", ZAG_BAG_1, BAG_NAME, ZAG])
    result = run("units", "import", "--db", str(db), str(units))
    assert result.exit_code == 0, result.output


def _cells(path: Path) -> Iterator[tuple[str, str, str | None, bool, str]]:
    """(sheet file, cell ref, type, has a formula, text) for every cell of every sheet."""
    with zipfile.ZipFile(path) as z:
        shared: list[str] = []
        if "xl/sharedStrings.xml" in z.namelist():
            root = ElementTree.fromstring(z.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root]
        for name in z.namelist():
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            root = ElementTree.fromstring(z.read(name))
            for c in root.iterfind(".//m:c", NS):
                kind = c.get("t")
                formula = c.find("m:f", NS) is not None
                if kind == "inlineStr":
                    text = "".join(t.text or "" for t in c.iterfind(".//m:t", NS))
                elif kind == "s":
                    text = shared[int(c.findtext("m:v", "", NS))]
                else:
                    text = c.findtext("m:v", "", NS)
                yield name, c.get("r", ""), kind, formula, text


def _check_workbook(path: Path, expected: set[str]) -> set[str]:
    """No formula and no error value anywhere; returns which expected texts it holds,
    each in a string cell, whole and as written."""
    found: set[str] = set()
    for sheet, ref, kind, formula, text in _cells(path):
        where = f"{path.name} {sheet} {ref}: {text!r}"
        assert not formula, where
        assert kind != "e", where
        for wanted in expected:
            if wanted in text:
                assert kind in ("inlineStr", "s"), where
                found.add(wanted)
    return found


def test_every_report_writes_typed_text_as_text(db: Path | str, tmp_path: Path) -> None:
    _rename_bag(db, tmp_path)
    out = tmp_path / "out"
    result = run("report", "all", ZAG, "--db", str(db), "--out", str(out))
    assert result.exit_code == 0, result.output
    for args, name in (
        (["scores", ZAG], "scores.xlsx"),
        (["round", ZAG_BAG_1], "round.xlsx"),
        (["participation", ZAG, "--format", "xlsx"], "participation.xlsx"),
        (["participation", ZAG], "participation.csv"),
    ):
        result = run("report", *args, "--db", str(db), "-o", str(out / name))
        assert result.exit_code == 0, (args, result.output)

    kept = set(PROPOSALS.values()) - {PROPOSALS["Гүүр засах, 90 өрх, 20 сая"]}
    dangerous = {*kept, REASON, MEMBER_NAME, BAG_NAME}
    books = sorted(out.glob("*.xlsx"))
    # `report all`: the round, the soum, participation; then scores, round, participation.
    assert len(books) == 6, books
    for book in books:
        found = _check_workbook(book, dangerous)
        if book.name.startswith("round"):
            assert found >= {*kept, REASON, BAG_NAME}, (book.name, found)
        elif book.name.startswith("soum"):
            assert found >= {*kept, MEMBER_NAME, BAG_NAME}, (book.name, found)
        elif book.name.startswith("scores"):
            assert found >= {*kept, BAG_NAME}, (book.name, found)
        else:
            assert BAG_NAME in found, (book.name, found)

    # Read back as a spreadsheet program would: the values are the texts, not results.
    wb = load_workbook(out / "round.xlsx")
    values = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
    assert {*kept, REASON} <= values
    assert all(
        c.data_type == "s"
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str)
    )

    # CSV has no cell types: a cell a spreadsheet would run gets a leading apostrophe.
    rows = list(csv.reader(io.StringIO((out / "participation.csv").read_text())))
    names = [r[1] for r in rows[1:]]
    assert "'" + BAG_NAME in names
    for cell in (c for r in rows for c in r):
        assert not (len(cell) > 1 and cell[0] in "=+-@\t\r"), cell


def _filled_sheet(db: Path | str, tmp_path: Path) -> tuple[Path, Any]:
    sheet = tmp_path / "sheet.xlsx"
    assert run("report", "scores", ZAG, "--db", str(db), "-o", str(sheet)).exit_code == 0
    wb = load_workbook(sheet)
    ws = wb.worksheets[0]
    for row in range(2, ws.max_row + 1):
        ws.cell(row=row, column=7, value=5)
        ws.cell(row=row, column=8, value=2)
    return sheet, wb


def _stored(db: Path | str) -> int:
    [(n,)] = suite_backend.rows(db, "SELECT count(*) FROM soum_scores")
    return int(n)


def test_a_score_sheet_with_typed_text_imports(db: Path | str, tmp_path: Path) -> None:
    """The formula-like proposal texts go out as text and come back harmless."""
    sheet, wb = _filled_sheet(db, tmp_path)
    wb.save(sheet)
    result = run("report", "import-scores", str(sheet), "--db", str(db), "--phone", MEMBER)
    assert result.exit_code == 0, result.output
    assert f"{2 * (REJECTED - 1)} scores of {REJECTED - 1} proposals stored" in result.output


@pytest.mark.parametrize("formula", ["=2+3", '=WEBSERVICE("http://evil.example/x")'])
def test_a_formula_in_a_score_cell_is_refused_not_computed(
    db: Path | str, tmp_path: Path, formula: str
) -> None:
    sheet, wb = _filled_sheet(db, tmp_path)
    wb.worksheets[0].cell(row=3, column=7, value=formula)  # openpyxl stores it as a formula
    wb.save(sheet)
    before = _stored(db)
    result = run("report", "import-scores", str(sheet), "--db", str(db), "--phone", MEMBER)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "row 3:" in line, line
    assert "is a formula" in line, line
    assert "nothing imported" in line, line
    assert "Traceback" not in result.output
    assert _stored(db) == before


def test_a_score_sheet_that_unpacks_to_gigabytes_is_refused(db: Path | str, tmp_path: Path) -> None:
    sheet, wb = _filled_sheet(db, tmp_path)
    wb.save(sheet)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(sheet) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        with dst.open("xl/media/padding.bin", "w", force_zip64=True) as pad:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(60):  # 60 MB of zeros: a few kilobytes in the zip
                pad.write(chunk)
    assert bomb.stat().st_size < 1024 * 1024
    before = _stored(db)
    result = run("report", "import-scores", str(bomb), "--db", str(db), "--phone", MEMBER)
    assert result.exit_code == 1
    assert "too large to be a score sheet" in result.output
    assert _stored(db) == before
