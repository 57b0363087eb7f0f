"""XLSX reports (openpyxl): a round, a soum, participation, and the score sheet members fill.

A score sheet exported here can be filled in Excel or LibreOffice and read back with
:func:`read_score_sheet`; its hidden "sanal" sheet says which soum, year and criteria its
columns are.

Every text goes into its cell as text (:func:`_put`), exactly as written: openpyxl stores a
string that starts with ``=`` as a formula, so a proposal ``=HYPERLINK("http://x","y")``
became a live link in every official's spreadsheet (and ``#N/A`` an error value). Reading
a score sheet back evaluates nothing: formulas are refused, not computed.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell as XlCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.reports.data import (
    ParticipationRow,
    RoundReport,
    SoumReport,
    bag_counts_hidden,
    by_label,
    public_text,
)
from bot.reports.labels import criterion, label, reason, rule, status
from handlers.closing import DEFAULT_MIN_VOTERS
from handlers.soum_plan import SoumPlan
from storage.soum import Criterion

Cell = str | int | float | None
BOLD = Font(bold=True)
META_SHEET = "sanal"
HIDDEN = "—"  # a bag's votes when too few voted to show them (ballot secrecy)
# A soum's score sheet is tens of kilobytes unpacked; a zip bomb is gigabytes.
MAX_SHEET_BYTES = 50 * 1024 * 1024
MAX_SHEET_ENTRIES = 500


def _put(ws: Worksheet, row: int, column: int, value: Cell) -> XlCell:
    """Write one cell; a text stays text whatever it starts with (``=``, ``+``, ``@``...).

    Characters XML cannot hold (control characters other than tab and newlines) would
    make openpyxl refuse the whole report: each becomes U+FFFD."""
    if not isinstance(value, str):
        return ws.cell(row=row, column=column, value=value)
    cell = ws.cell(row=row, column=column, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    cell.data_type = "s"  # openpyxl made it "f" (formula) for "=...", "e" for "#N/A"
    return cell


def _sheet(wb: Workbook, title: str, first: bool = False) -> Worksheet:
    ws = wb.active if first else wb.create_sheet()
    assert ws is not None
    ws.title = title[:31]
    return ws


def _table(
    ws: Worksheet, headers: Sequence[str], rows: Iterable[Sequence[Cell]], start: int = 1
) -> None:
    for col, h in enumerate(headers, start=1):
        _put(ws, start, col, h).font = BOLD
    widths = [len(h) for h in headers]
    r = start
    for r, row in enumerate(rows, start=start + 1):
        for col, value in enumerate(row, start=1):
            _put(ws, r, col, value)
            widths[col - 1] = max(widths[col - 1], len(str(value)) if value is not None else 0)
    for col, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = min(max(w + 2, 6), 60)
    ws.freeze_panes = ws.cell(row=start + 1, column=1)


def _pairs(ws: Worksheet, pairs: Sequence[tuple[str, Cell]]) -> int:
    """Key-value lines at the top of a sheet; returns the next free row."""
    for i, (k, v) in enumerate(pairs, start=1):
        _put(ws, i, 1, k).font = BOLD
        _put(ws, i, 2, v)
    ws.column_dimensions["A"].width = 28
    return len(pairs) + 2


def _pct(x: float) -> float:
    return round(x * 100, 1)


def save(wb: Workbook, path: Path | None = None) -> bytes:
    """The workbook's bytes, also written to ``path`` when given."""
    buf = BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data


# --- a bag round --------------------------------------------------------------------------


def round_workbook(rep: RoundReport, lang: str = "mn") -> Workbook:
    wb = Workbook()
    ws = _sheet(wb, label("sheet.results", lang), first=True)
    p = rep.participation
    top = _pairs(
        ws,
        [
            (label("aimag", lang), rep.aimag.name if rep.aimag else "-"),
            (label("soum", lang), rep.soum.name if rep.soum else "-"),
            (label("bag", lang), f"{rep.bag.name} ({rep.bag.code})"),
            (label("year", lang), rep.round.year),
            (label("status", lang), status(rep.round.status, lang)),
            (label("registered", lang), p.registered),
            (label("voted", lang), p.voted),
            (label("turnout", lang), _pct(p.turnout)),
            (label("attendance", lang), rep.attendance if rep.attendance is not None else "-"),
        ],
    )
    _table(
        ws,
        [
            label("col.rank", lang),
            label("col.number", lang),
            label("col.proposal", lang),
            label("col.households", lang),
            label("col.cost", lang),
            label("col.votes", lang),
            label("col.share", lang),
            label("col.soum_number", lang),
            label("col.soum_funded", lang),
        ],
        (
            [
                ln.rank,
                ln.number,
                ln.text,
                ln.beneficiaries,
                ln.cost_mnt,
                ln.votes,
                _pct(ln.share),
                ln.soum_number,
                "-" if ln.soum_funded is None else label("yes" if ln.soum_funded else "no", lang),
            ]
            for ln in rep.lines
        ),
        start=top,
    )
    _participation_sheet(wb, [], lang, single=rep)
    if rep.others:
        ws3 = _sheet(wb, label("sheet.others", lang))
        _table(
            ws3,
            [label("col.number", lang), label("col.proposal", lang), label("status", lang),
             label("col.note", lang)],
            ([o.number, o.text, status(o.status, lang), o.note] for o in rep.others),
        )  # fmt: skip
    return wb


def _participation_sheet(
    wb: Workbook, rows: Sequence[ParticipationRow], lang: str, single: RoundReport | None = None
) -> None:
    ws = _sheet(wb, label("sheet.participation", lang))
    if single is not None:
        p = single.participation
        by = by_label(dict(p.by_channel))
        table: list[list[Cell]] = [[c, by[c]] for c in sorted(by)]
        table.append([label("total", lang), p.voted])
        _table(ws, [label("col.channel", lang), label("voted", lang)], table)
        return
    _participation_table(ws, rows, lang)


def _participation_table(ws: Worksheet, rows: Sequence[ParticipationRow], lang: str) -> None:
    channels = sorted({ch for r in rows for ch in r.by_channel}) or ["SMS", "Telegram"]
    _table(
        ws,
        [
            label("col.code", lang),
            label("col.unit", lang),
            label("col.level", lang),
            label("year", lang),
            label("status", lang),
            label("registered", lang),
            label("voted", lang),
            label("turnout", lang),
            label("col.proposals", lang),
            label("col.accepted", lang),
            *channels,
        ],
        (
            [
                r.code,
                r.name,
                label(f"level.{r.level}", lang),
                r.year,
                status(r.round_status, lang) if r.round_status != "-" else "-",
                r.registered,
                r.voted,
                _pct(r.turnout),
                r.proposals,
                r.accepted,
                *(r.by_channel.get(c, 0) for c in channels),
            ]
            for r in rows
        ),
    )


def participation_workbook(rows: Sequence[ParticipationRow], lang: str = "mn") -> Workbook:
    wb = Workbook()
    ws = _sheet(wb, label("sheet.participation", lang), first=True)
    _participation_table(ws, rows, lang)
    return wb


# --- the soum -----------------------------------------------------------------------------


def soum_workbook(rep: SoumReport, lang: str = "mn") -> Workbook:
    plan = rep.plan
    wb = Workbook()
    ws = _sheet(wb, label("sheet.soum_list", lang), first=True)
    top = _pairs(
        ws,
        [
            (label("aimag", lang), rep.aimag.name if rep.aimag else "-"),
            (label("soum", lang), f"{plan.soum_name} ({plan.soum_code})"),
            (label("year", lang), plan.year),
            (label("ceiling", lang), plan.ceiling if plan.ceiling is not None else "-"),
            (label("chosen_rule", lang), rule(rep.chosen_rule, lang)),
            (label("voted", lang), plan.voters),
        ],
    )
    crits = list(plan.criteria)
    _table(
        ws,
        [
            label("col.rank", lang),
            label("col.soum_number", lang),
            label("bag", lang),
            label("col.bag_rank", lang),
            label("col.proposal", lang),
            label("col.households", lang),
            label("col.cost", lang),
            label("col.votes", lang),
            label("col.share", lang),
            *(criterion(c.name, lang) for c in crits),
            label("col.combined", lang),
            label("col.members", lang),
            label("col.greedy", lang),
            label("col.mes", lang),
        ],
        (
            [
                line.rank,
                line.item.number,
                line.bag_name,
                HIDDEN if bag_counts_hidden(line, rep.min_voters) else line.item.bag_rank,
                _text(line.item.text),
                line.item.beneficiaries,
                line.item.cost_mnt,
                HIDDEN if bag_counts_hidden(line, rep.min_voters) else line.item.votes,
                HIDDEN if bag_counts_hidden(line, rep.min_voters) else _pct(float(line.share)),
                *(_score(line.combined.by_criterion.get(c.name)) for c in crits),
                _score(line.combined.score),
                line.combined.members,
                reason(line.greedy_reason, lang),
                reason(line.mes_reason, lang),
            ]
            for line in plan.lines
        ),
        start=top,
    )
    _allocation_sheet(wb, rep, lang)
    _members_sheet(wb, rep, crits, lang)
    _participation_sheet(wb, rep.participation, lang)
    ws5 = _sheet(wb, label("sheet.criteria", lang))
    _table(
        ws5,
        [label("col.criterion", lang), label("col.source", lang), label("col.weight", lang)],
        ([criterion(c.name, lang), label(f"source.{c.source}", lang), c.weight] for c in crits),
    )
    return wb


def _text(text: str) -> str:
    return public_text(text)


def _score(value: object) -> float | None:
    """A 0..1 fraction shown as 0-100 points."""
    if value is None:
        return None
    return round(float(value) * 100, 1)  # type: ignore[arg-type]


def _allocation_sheet(wb: Workbook, rep: SoumReport, lang: str) -> None:
    plan = rep.plan
    ws = _sheet(wb, label("sheet.allocation", lang))
    rows: list[list[Cell]] = []
    for rule_code, alloc in (("greedy", plan.greedy), ("mes", plan.mes)):
        if alloc is None:
            continue
        spent = float(alloc.spent)
        rows.append([rule(rule_code, lang), None, None, None, None, spent, float(alloc.left)])
        for line in plan.lines:
            d = line.greedy if rule_code == "greedy" else line.mes
            code = line.greedy_reason if rule_code == "greedy" else line.mes_reason
            rows.append(
                [
                    rule(rule_code, lang),
                    line.item.number,
                    _text(line.item.text),
                    label("yes" if d and d.funded else "no", lang),
                    reason(code, lang),
                    line.item.cost_mnt,
                    float(d.money_left) if d else None,
                ]
            )
    _table(
        ws,
        [
            label("col.rule", lang),
            label("col.soum_number", lang),
            label("col.proposal", lang),
            label("col.funded", lang),
            label("col.reason", lang),
            label("col.cost", lang),
            label("col.money_left", lang),
        ],
        rows,
    )


def _members_sheet(wb: Workbook, rep: SoumReport, crits: Sequence[Criterion], lang: str) -> None:
    ws = _sheet(wb, label("sheet.members", lang))
    scored = [c for c in crits if c.source == "member"]
    _table(
        ws,
        [label("col.member", lang), label("col.soum_number", lang),
         *(criterion(c.name, lang) for c in scored)],
        (
            [m.label, number, *(values.get(c.name) for c in scored)]
            for m in rep.members
            for number, values in sorted(m.scores.items())
        ),
    )  # fmt: skip


# --- the score sheet ----------------------------------------------------------------------


def score_sheet(plan: SoumPlan, lang: str = "mn", min_voters: int = DEFAULT_MIN_VOTERS) -> Workbook:
    """The soum list for a member to score offline, one column per member criterion."""
    wb = Workbook()
    ws = _sheet(wb, label("sheet.scores", lang), first=True)
    scored = [c for c in plan.criteria if c.source == "member"]
    fixed = [
        label("col.soum_number", lang),
        label("bag", lang),
        label("col.proposal", lang),
        label("col.households", lang),
        label("col.cost", lang),
        label("col.votes", lang),
    ]
    _table(
        ws,
        [*fixed, *(f"{criterion(c.name, lang)} (1-5)" for c in scored)],
        (
            [
                line.item.number,
                line.bag_name,
                _text(line.item.text),
                line.item.beneficiaries,
                line.item.cost_mnt,
                HIDDEN if bag_counts_hidden(line, min_voters) else line.item.votes,
                *(None for _ in scored),
            ]
            for line in sorted(plan.lines, key=lambda x: x.item.number)
        ),
    )
    meta = wb.create_sheet(META_SHEET)
    meta.sheet_state = "hidden"
    rows: list[tuple[str, Cell]] = [
        ("soum", plan.soum_code),
        ("year", plan.year),
        ("first_score_column", len(fixed) + 1),
        ("criteria", ",".join(c.name for c in scored)),
    ]
    for r, (key, value) in enumerate(rows, start=1):
        _put(meta, r, 1, key)
        _put(meta, r, 2, value)
    return wb


@dataclass(frozen=True, slots=True)
class ScoreSheet:
    soum_code: str
    year: int
    scores: dict[int, dict[str, int]]  # soum list number -> criterion -> 1..5


class ScoreSheetError(ValueError):
    """A sheet that is not a Sanal score sheet, or a cell that is not a score."""


def _open_sheet(source: Path | bytes) -> Workbook:
    """The workbook, read as data: nothing in it is run, fetched or computed.

    An XLSX file is a zip: one of a few kilobytes can unpack to gigabytes, so the sizes
    its entries declare are checked first (zipfile stops at the declared size)."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ScoreSheetError(f"not an XLSX file: {exc}") from None
    if len(entries) > MAX_SHEET_ENTRIES or sum(e.file_size for e in entries) > MAX_SHEET_BYTES:
        raise ScoreSheetError("too large to be a score sheet")
    try:
        # data_only=False: a formula is read as its text and refused below. With True,
        # openpyxl took the value the last program to save the file had computed.
        # keep_links=False: links to other workbooks are not even read.
        return load_workbook(BytesIO(data), data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not XLSX
        raise ScoreSheetError(f"not an XLSX file: {exc}") from None


def _formula(value: object) -> bool:
    return (isinstance(value, str) and value.startswith("=")) or (
        value is not None and not isinstance(value, str | int | float)
    )


def read_score_sheet(source: Path | bytes) -> ScoreSheet:
    """Read a filled score sheet. Empty cells are skipped; anything else must be 1-5,
    typed as a number: a formula is refused, never computed."""
    wb = _open_sheet(source)
    if META_SHEET not in wb.sheetnames:
        raise ScoreSheetError("not a Sanal score sheet (no 'sanal' sheet)")
    meta = {str(r[0]): r[1] for r in wb[META_SHEET].iter_rows(values_only=True) if r and r[0]}
    try:
        soum_code = str(meta["soum"])
        year = int(str(meta["year"]))
        first = int(str(meta["first_score_column"]))
        names = [n for n in str(meta["criteria"]).split(",") if n]
    except (KeyError, ValueError):
        raise ScoreSheetError("the 'sanal' sheet is damaged") from None
    ws = wb.worksheets[0]
    scores: dict[int, dict[str, int]] = {}
    for r, row in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
        if not row or row[0] is None:
            continue
        try:
            number = int(str(row[0]))
        except ValueError:
            raise ScoreSheetError(f"row {r}: {row[0]!r} is not a list number") from None
        values: dict[str, int] = {}
        for i, name in enumerate(names):
            cell = row[first - 1 + i] if first - 1 + i < len(row) else None
            if cell is None or str(cell).strip() == "":
                continue
            if _formula(cell):
                raise ScoreSheetError(
                    f"row {r}: {str(cell)[:40]!r} is a formula; type the score itself (1-5)"
                )
            try:
                value = int(float(str(cell).strip().replace(",", ".")))
            except ValueError:
                raise ScoreSheetError(f"row {r}: {cell!r} is not a score 1-5") from None
            if not 1 <= value <= 5 or float(str(cell).strip().replace(",", ".")) != value:
                raise ScoreSheetError(f"row {r}: {cell!r} is not a score 1-5")
            values[name] = value
        if values:
            scores[number] = values
    return ScoreSheet(soum_code, year, scores)
