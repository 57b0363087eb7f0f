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

import textwrap
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell as XlCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from handlers.allocation import RULES
from handlers.closing import DEFAULT_MIN_VOTERS
from handlers.percent import percent_value
from handlers.reports.data import (
    ParticipationRow,
    RoundReport,
    SoumReport,
    bag_counts_hidden,
    by_label,
    public_text,
)
from handlers.reports.labels import (
    criterion,
    explain,
    label,
    reason,
    round_rule,
    rule,
    rule_in_force,
    status,
)
from handlers.soum_plan import SCORE_MAX, SCORE_MIN, SoumPlan, project_id
from storage.soum import Criterion

Cell = str | int | float | None
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
RIGHT = Alignment(horizontal="right")
MONEY = "#,##0"  # 80,000,000: tens of millions of tögrög read at a glance
MONEY_COLUMNS = (6, 7, 9)  # cost, money left before it, most a supporter paid
EXPLAIN_WIDTH = 60  # characters: a rule's two sentences wrap in four or five lines
META_SHEET = "sanal"
SCORES = f"{SCORE_MIN}-{SCORE_MAX}"  # as a score sheet's headers and errors write the range
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


def _pct(x: float | Fraction) -> float:
    """A share as the percentage every report shows (handlers/percent.py)."""
    return percent_value(x)


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
            _funded_header(round_rule(rep), lang),
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


def _funded_header(code: str | None, lang: str) -> str:
    """The heading of the "funded" column: by the rule in force, named when known."""
    if code is None:
        return label("col.soum_funded", lang)
    return label("col.soum_funded_by", lang, rule=rule(code, lang))


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
    in_force, _ = _in_force(rep)
    wb = Workbook()
    ws = _sheet(wb, label("sheet.soum_list", lang), first=True)
    top = _pairs(
        ws,
        [
            (label("aimag", lang), rep.aimag.name if rep.aimag else "-"),
            (label("soum", lang), f"{plan.soum_name} ({plan.soum_code})"),
            (label("year", lang), plan.year),
            (label("ceiling", lang), plan.ceiling if plan.ceiling is not None else "-"),
            (label("chosen_rule", lang), rule_in_force(in_force, lang)),
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
            *(_rule_header(code, in_force, lang) for code in RULES),
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
                HIDDEN if bag_counts_hidden(line, rep.min_voters) else _pct(line.share),
                *(_score(line.combined.by_criterion.get(c.name)) for c in crits),
                _score(line.combined.score),
                line.combined.members,
                *(reason(line.reason(code), lang) for code in RULES),
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


def _rule_header(code: str, in_force: str | None, lang: str) -> str:
    """A rule's column on the soum list, marked when it is the rule in force."""
    text = label(f"col.{code}", lang)
    return label("alloc.marked", lang, text=text) if code == in_force else text


def _text(text: str) -> str:
    return public_text(text)


def _score(value: object) -> float | None:
    """A 0..1 fraction shown as 0-100 points."""
    if value is None:
        return None
    return round(float(value) * 100, 1)  # type: ignore[arg-type]


def _in_force(rep: SoumReport) -> tuple[str | None, datetime | None]:
    """The rule in force and when its allocation was computed (the plan's one truth)."""
    return rep.plan.rule_in_force, rep.plan.computed_at


def _when(at: datetime | None, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if at is not None else "-"


def _money(value: Fraction | int | None) -> int | float | None:
    """An exact amount as a cell: a whole number of tögrög stays an int."""
    if value is None:
        return None
    value = Fraction(value)
    return int(value) if value.denominator == 1 else float(value)


def _wrapped(ws: Worksheet, row: int, column: int, text: str, width: int) -> None:
    """A long text (a rule explained) wrapped in its cell, the row tall enough for it.

    Spreadsheets do not grow a row for wrapped text written by a program (Excel keeps the
    default height), so the height is set from the lines the text takes."""
    cell = _put(ws, row, column, text)
    cell.alignment = WRAP
    lines = len(textwrap.wrap(text, width=max(width - 4, 10))) or 1
    ws.row_dimensions[row].height = max(ws.row_dimensions[row].height or 0, 15 * lines + 3)


def _shown_width(value: Cell) -> int:
    if value is None:
        return 0
    return len(f"{value:,}") if isinstance(value, int | float) else len(value)


def _allocation_sheet(wb: Workbook, rep: SoumReport, lang: str) -> None:
    """The three rules side by side, then each rule's decisions in the order it took them.

    Summary: one row per rule, its totals labelled (funded proposals, spent, left,
    ceiling), the rule in force marked, the rule explained in two sentences. Then, per
    rule, every proposal in the order the rule considered it: equal shares list what their
    supporters bought in the order they bought it, each with the money the budget had left
    before it, then the completion; the standard rule the soum ranking. Proposals a rule
    did not consider (no cost, not scored) close its list."""
    plan = rep.plan
    ws = _sheet(wb, label("sheet.allocation", lang))
    in_force, computed_at = _in_force(rep)
    tz = rep.aimag.tz if rep.aimag else "Asia/Ulaanbaatar"
    row = _pairs(
        ws,
        [
            (label("soum", lang), f"{plan.soum_name} ({plan.soum_code})"),
            (label("year", lang), plan.year),
            (label("ceiling", lang), plan.ceiling if plan.ceiling is not None else "-"),
            (label("alloc.rule_in_force", lang), rule_in_force(in_force, lang)),
            (
                label("alloc.computed_at", lang),
                label("alloc.stale", lang, when=_when(computed_at, tz))
                if plan.stale
                else _when(computed_at, tz),
            ),
        ],
    )
    summary = [
        label("col.rule", lang),
        label("alloc.in_force", lang),
        label("alloc.explain", lang),
        label("alloc.funded_count", lang),
        label("alloc.spent", lang),
        label("alloc.left", lang),
        label("ceiling", lang),
    ]
    for col, h in enumerate(summary, start=1):
        _put(ws, row, col, h).font = BOLD
    for code in RULES:
        row += 1
        alloc = plan.allocation(code)
        _put(ws, row, 1, rule(code, lang)).font = BOLD
        _put(ws, row, 2, label("yes", lang) if code == in_force else None)
        _wrapped(ws, row, 3, explain(code, lang), EXPLAIN_WIDTH)
        _put(ws, row, 4, len(alloc.funded) if alloc else "-")
        amounts = (alloc.spent, alloc.left, alloc.budget) if alloc else (None, None, None)
        for col, amount in enumerate(amounts, start=5):
            _put(ws, row, col, "-" if amount is None else _money(amount)).number_format = MONEY
    headers = [
        label("alloc.position", lang),
        label("col.soum_number", lang),
        label("col.proposal", lang),
        label("col.funded", lang),
        label("col.reason", lang),
        label("col.cost", lang),
        label("alloc.money_before", lang),
        label("alloc.mes_round", lang),
        label("alloc.price", lang),
    ]
    # Wide enough for both tables' headings (column C, the explanations, is set below).
    widths = [
        max(len(h), len(t) if i != 2 else 0)
        for i, (h, t) in enumerate(zip(headers, [*summary, "", ""], strict=True))
    ]
    widths[0] = max(widths[0], *(len(rule(code, lang)) for code in RULES))  # the rule names
    by_id = {project_id(line.item.number): line for line in plan.lines}
    for code in RULES:
        alloc = plan.allocation(code)
        if alloc is None:
            continue
        row += 2
        title = rule(code, lang)
        heading = label("alloc.order", lang, rule=title)
        if code == in_force:
            heading = label("alloc.marked", lang, text=heading)
        _put(ws, row, 1, heading).font = BOLD
        row += 1
        for col, h in enumerate(headers, start=1):
            _put(ws, row, col, h).font = BOLD
        seen: set[str] = set()
        table: list[list[Cell]] = []
        for d in alloc.decisions:
            seen.add(d.project.id)
            line = by_id.get(d.project.id)
            table.append(
                [
                    d.position,
                    line.item.number if line else d.project.id,
                    _text(line.item.text) if line else None,
                    label("yes" if d.funded else "no", lang),
                    reason(line.reason(code) if line else d.reason.value, lang),
                    _money(d.project.cost),
                    _money(d.money_left),
                    d.mes_round,
                    _money(d.price),
                ]
            )
        for line in plan.lines:  # what the rule did not consider: no cost, not scored
            if project_id(line.item.number) in seen:
                continue
            table.append(
                [None, line.item.number, _text(line.item.text), label("no", lang),
                 reason(line.reason(code), lang), line.item.cost_mnt, None, None, None]
            )  # fmt: skip
        for values in table:
            row += 1
            for col, value in enumerate(values, start=1):
                cell = _put(ws, row, col, value)
                if col in MONEY_COLUMNS and value is not None:
                    cell.number_format = MONEY
                widths[col - 1] = max(widths[col - 1], _shown_width(value))
        for key, amount in (
            ("alloc.total_spent", alloc.spent),
            ("alloc.total_left", alloc.left),
            ("alloc.total_ceiling", alloc.budget),
        ):
            row += 1
            total = _put(ws, row, 5, label(key, lang, rule=title))  # beside the cost column
            total.font, total.alignment = BOLD, RIGHT
            amount_cell = _put(ws, row, 6, _money(amount))
            amount_cell.font, amount_cell.number_format = BOLD, MONEY
    for col, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = min(max(w + 2, 8), 60)
    # Column A holds the row labels at the top, column C the rules explained.
    ws.column_dimensions["A"].width = max(ws.column_dimensions["A"].width, 28)
    ws.column_dimensions["C"].width = max(ws.column_dimensions["C"].width, EXPLAIN_WIDTH)


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
        [*fixed, *(f"{criterion(c.name, lang)} ({SCORES})" for c in scored)],
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
    scores: dict[int, dict[str, int]]  # soum list number -> criterion -> score


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
    """Read a filled score sheet. Empty cells are skipped; anything else must be a score
    (SCORE_MIN to SCORE_MAX) typed as a number: a formula is refused, never computed."""
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
                    f"row {r}: {str(cell)[:40]!r} is a formula; type the score itself ({SCORES})"
                )
            try:
                value = int(float(str(cell).strip().replace(",", ".")))
            except ValueError:
                raise ScoreSheetError(f"row {r}: {cell!r} is not a score {SCORES}") from None
            exact = float(str(cell).strip().replace(",", ".")) == value
            if not SCORE_MIN <= value <= SCORE_MAX or not exact:
                raise ScoreSheetError(f"row {r}: {cell!r} is not a score {SCORES}")
            values[name] = value
        if values:
            scores[number] = values
    return ScoreSheet(soum_code, year, scores)
