"""The bag khural's minutes (handlers/reports/minutes.py) as an A4 PDF, in Mongolian Cyrillic.

matplotlib's PdfPages with DejaVu Sans embedded as a TrueType font (``pdf.fonttype`` 42),
so the Cyrillic text stays text: searchable, copyable, printable anywhere.

Layout is computed first, in points, then drawn: every line is measured with the font it
is drawn in (matplotlib's TextToPath) and wrapped to the width it has, so a long bag name
("3-р баг, Могой /Рэнчинжугнай/") or proposal never runs off the page; a table row moves
to the next page whole, under the table's header again; a heading stays with what
follows it; and the signatures move to a new page together rather than split. Nothing is
drawn in the margins but the page number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.textpath import TextToPath

from handlers.reports.data import RoundReport
from handlers.reports.labels import label
from handlers.reports.minutes import (
    SIGN_LINE,
    Heading,
    KhuralFacts,
    Minutes,
    Para,
    Signatures,
    Table,
    Title,
    minutes_of,
)

# A4 in points, and the margins of Mongolian official documents (MNS 5140: 2 cm top and
# bottom, wider on the left for filing).
PAGE_W, PAGE_H = 595.28, 841.89
LEFT, RIGHT, TOP, BOTTOM = 70.87, 42.52, 56.69, 56.69  # 2.5 cm, 1.5 cm, 2 cm, 2 cm
WIDTH = PAGE_W - LEFT - RIGHT
FOOTER = 28.35  # the page number's baseline, 1 cm above the bottom edge
FONT = "DejaVu Sans"
SIZES = {"title": 13.0, "heading": 11.0, "body": 10.0, "small": 8.5, "table": 9.0}
LEADING = 1.32  # line height over font size
PAD = 3.0  # inside a table cell
SAFETY = 0.98  # measured widths are TextToPath's; leave a little for the PDF's own metrics


@cache
def _font(size: float, bold: bool) -> FontProperties:
    return FontProperties(family=FONT, size=size, weight="bold" if bold else "normal")


@cache
def _width(text: str, size: float, bold: bool) -> float:
    w, _, _ = TextToPath().get_text_width_height_descent(text, _font(size, bold), ismath=False)
    return float(w)


def wrap(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """``text`` in lines no wider than ``width`` points; a word wider than a line is cut
    between letters (a long code or a web address), never left to run over."""
    limit = width * SAFETY
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if _width(candidate, size, bold) <= limit:
            line = candidate
            continue
        if line:
            lines.append(line)
        while _width(word, size, bold) > limit:
            cut = max(1, _fit(word, limit, size, bold))
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line or not lines:
        lines.append(line)
    return lines


def _fit(word: str, limit: float, size: float, bold: bool) -> int:
    """How many leading letters of ``word`` fit in ``limit`` points."""
    lo, hi = 0, len(word)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _width(word[:mid], size, bold) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _line_height(size: float) -> float:
    return size * LEADING


# --- layout: what goes where, page by page ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Text:
    x: float
    y: float  # the top of the line, from the top of the page
    text: str
    size: float
    bold: bool = False
    align: str = "left"


@dataclass(frozen=True, slots=True)
class _Rule:
    x0: float
    x1: float
    y: float
    width: float = 0.5


_Op = _Text | _Rule


class _Layout:
    def __init__(self) -> None:
        self.pages: list[list[_Op]] = [[]]
        self.y = TOP

    @property
    def room(self) -> float:
        return PAGE_H - BOTTOM - self.y

    def new_page(self) -> None:
        self.pages.append([])
        self.y = TOP

    def keep(self, height: float) -> None:
        """Start a new page unless ``height`` more points fit on this one."""
        if height > self.room and self.pages[-1]:
            self.new_page()

    def lines(
        self,
        lines: list[str],
        size: float,
        *,
        bold: bool = False,
        x: float = LEFT,
        align: str = "left",
        after: float = 0.0,
    ) -> None:
        for line in lines:
            self.keep(_line_height(size))
            self.pages[-1].append(_Text(x, self.y, line, size, bold, align))
            self.y += _line_height(size)
        self.y += after

    def text(self, text: str, size: float, *, bold: bool = False, after: float = 3.0) -> None:
        self.lines(wrap(text, WIDTH, size, bold), size, bold=bold, after=after)

    def table(self, table: Table) -> None:
        size = SIZES["table"]
        lh = _line_height(size)
        xs = [LEFT]
        for share in _column_widths(table, size):
            xs.append(xs[-1] + share)

        def cells(values: tuple[str, ...], bold: bool) -> list[list[str]]:
            return [wrap(v, xs[i + 1] - xs[i] - 2 * PAD, size, bold) for i, v in enumerate(values)]

        header = cells(table.columns, True)
        header_h = max(map(len, header)) * lh + 2 * PAD

        def draw(wrapped: list[list[str]], bold: bool, height: float) -> None:
            page = self.pages[-1]
            for i, lines in enumerate(wrapped):
                right = table.numeric[i]
                x, align = (xs[i + 1] - PAD, "right") if right else (xs[i] + PAD, "left")
                for k, line in enumerate(lines):
                    page.append(_Text(x, self.y + PAD + k * lh, line, size, bold, align))
            self.y += height
            page.append(_Rule(LEFT, LEFT + WIDTH, self.y, 0.8 if bold else 0.4))

        def head() -> None:
            self.pages[-1].append(_Rule(LEFT, LEFT + WIDTH, self.y, 0.8))
            draw(header, True, header_h)

        rows = [cells(r, False) for r in table.rows]
        first = max(map(len, rows[0])) * lh + 2 * PAD if rows else 0.0
        self.keep(header_h + first)  # never a header alone at the foot of a page
        head()
        for wrapped in rows:
            height = max(map(len, wrapped)) * lh + 2 * PAD
            if height > self.room:
                self.new_page()
                head()
            draw(wrapped, False, height)
        self.y += 6.0

    def signatures(self, block: Signatures) -> None:
        """The heading and every signature line on one page."""
        size = SIZES["body"]
        rows = [wrap(f"{s.role}: {SIGN_LINE} /{s.name}/", WIDTH, size) for s in block.rows]
        gap = 2.2 * _line_height(size)  # room to sign above the line
        body = sum(gap + len(r) * _line_height(size) for r in rows)
        height = _line_height(SIZES["heading"]) + 6 + body
        self.y += 8
        self.keep(height)
        self.text(block.heading, SIZES["heading"], bold=True, after=0)
        for lines in rows:
            self.y += gap
            self.lines(lines, size)


def _column_widths(table: Table, size: float) -> list[float]:
    """Points per column: a column that does not wrap (numbers) is as wide as its widest
    cell or header word; the wrapping column (the proposal) takes what is left."""
    widest = [
        max(
            [_width(w, size, True) for w in head.split()]
            + [_width(row[i], size, False) for row in table.rows]
        )
        / SAFETY
        + 2 * PAD
        + 1
        for i, head in enumerate(table.columns)
    ]
    flexible = [i for i, n in enumerate(table.numeric) if not n]
    fixed = sum(w for i, w in enumerate(widest) if i not in flexible)
    left = max(WIDTH - fixed, WIDTH * 0.3)
    widths = [left / len(flexible) if i in flexible else w for i, w in enumerate(widest)]
    scale = min(1.0, WIDTH / sum(widths))  # fixed columns wider than the page: all shrink
    return [w * scale for w in widths]


def _layout(minutes: Minutes) -> list[list[_Op]]:
    out = _Layout()
    blocks = minutes.blocks()
    for i, block in enumerate(blocks):
        if isinstance(block, Title):
            size = SIZES["title"]
            lines = wrap(block.text, WIDTH, size, True)
            out.lines(lines, size, bold=True, x=LEFT + WIDTH / 2, align="center", after=6)
        elif isinstance(block, Heading):
            size = SIZES["heading"]
            # A heading stays with the first lines of what it heads.
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            follow = 3 * _line_height(SIZES["body"]) if not isinstance(nxt, Signatures) else 0
            out.y += 6
            out.keep(_line_height(size) + follow)
            out.text(block.text, size, bold=True, after=2)
        elif isinstance(block, Para):
            size = SIZES["small"] if block.small else SIZES["body"]
            text = f"{block.label}: {block.text}" if block.label else block.text
            out.text(text, size, bold=block.bold, after=2)
        elif isinstance(block, Table):
            out.table(block)
        else:
            out.signatures(block)
    return out.pages


def _draw(fig: Figure, ops: list[_Op]) -> None:
    for op in ops:
        if isinstance(op, _Rule):
            fig.add_artist(
                Line2D(
                    [op.x0 / PAGE_W, op.x1 / PAGE_W],
                    [1 - op.y / PAGE_H, 1 - op.y / PAGE_H],
                    linewidth=op.width,
                    color="#777777",
                )
            )
        else:
            fig.text(
                op.x / PAGE_W,
                1 - op.y / PAGE_H,
                op.text,
                fontproperties=_font(op.size, op.bold),
                ha=op.align,
                va="top",
                parse_math=False,  # "$" in a proposal is a dollar, not mathematics
            )


def minutes_pdf(
    source: Minutes | RoundReport,
    path: Path | None = None,
    lang: str = "mn",
    facts: KhuralFacts | None = None,
) -> bytes:
    """The minutes as PDF bytes (also written to ``path``). ``source`` is the minutes, or a
    round's report with its ``facts`` (without them, the quorum figures are left blank)."""
    minutes = source if isinstance(source, Minutes) else minutes_of(source, facts, lang)
    pages = _layout(minutes)
    buf = BytesIO()
    with (
        matplotlib.rc_context({"pdf.fonttype": 42, "font.family": FONT}),
        PdfPages(buf, metadata={"Title": minutes.title, "Creator": "Sanal"}) as pdf,
    ):
        for number, ops in enumerate(pages, start=1):
            fig = Figure(figsize=(PAGE_W / 72, PAGE_H / 72))
            _draw(fig, ops)
            footer = label("minutes.page", minutes.lang, page=number, pages=len(pages))
            fig.text(
                (LEFT + WIDTH) / PAGE_W,
                FOOTER / PAGE_H,
                footer,
                fontproperties=_font(SIZES["small"], False),
                ha="right",
                va="baseline",
                color="#555555",
            )
            pdf.savefig(fig)
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data
