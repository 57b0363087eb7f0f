"""Participation of a soum or an aimag as a map-like PNG: every bag a tile, coloured by
turnout, grouped by soum, for a soum officer's slide.

There are no bag boundaries to draw a real map from, so the chart is a tile map: the
soums of an aimag in code order, each a block of its bags' tiles with the soum's turnout
over it; on each tile the bag's name, its turnout and voters/registered. Turnout falls in
five classes of 20 points, told by colour and a legend; a bag that held no vote that year
is grey.

:func:`layout` is pure (the rows in, every block and tile with its place in pixels out) so
that tests can count tiles and check sizes without drawing; :func:`participation_png`
draws it in DejaVu Sans (matplotlib ships it, with Cyrillic), as the results chart.
Sizes are fixed in pixels and never shrink: an aimag with many soums gets a taller image,
not smaller letters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch, Rectangle

from handlers.percent import percent, percent_number, percent_value
from handlers.reports.data import ParticipationRow
from handlers.reports.labels import label

DPI = 100
FONT = "DejaVu Sans"
MAX_WIDTH = 2000  # px: blocks wrap to the next row past this
MIN_WIDTH = 1000  # px: room for the title and the legend
MARGIN = 30
HEADER = 110  # title and the unit's total
FOOTER = 80  # the legend
TILE_W, TILE_H, GAP = 150, 84, 6
BLOCK_HEAD = 30  # the soum's name and turnout over its tiles
BLOCK_GAP_X, BLOCK_GAP_Y = 28, 22
PAD = 5  # inside a tile, around its text
NAME_PT, PCT_PT, COUNT_PT, BLOCK_PT = 9.0, 12.0, 8.0, 10.5
NAME_LINES = 2
# Turnout classes: lower bounds in percent, and their colours (ColorBrewer YlGnBu, 5
# classes: light to dark, readable in grey print), with the text colour on each.
CLASSES = (0, 20, 40, 60, 80)
COLOURS = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
INKS = ("#1a202c", "#1a202c", "#1a202c", "#ffffff", "#ffffff")
NO_ROUND, NO_ROUND_INK = "#e2e8f0", "#4a5568"


@dataclass(frozen=True, slots=True)
class Tile:
    """One bag: where it is drawn (pixels from the image's top left) and what it says."""

    code: str
    name_lines: tuple[str, ...]  # the bag's name, wrapped (and shortened) to fit the tile
    turnout: float | None  # 0..1, None when the bag held no vote that year
    voted: int
    registered: int
    x: int
    y: int
    w: int = TILE_W
    h: int = TILE_H

    @property
    def turnout_class(self) -> int | None:
        """Index into CLASSES, by the percentage shown on the tile (so the colour and the
        number never disagree at a boundary)."""
        return turnout_class(self.turnout)


@dataclass(frozen=True, slots=True)
class Block:
    """One soum: its heading over its bags' tiles."""

    code: str
    title: str
    x: int
    y: int
    w: int
    h: int
    tiles: tuple[Tile, ...]


@dataclass(frozen=True, slots=True)
class MapLayout:
    width: int
    height: int
    title: str
    subtitle: str
    blocks: tuple[Block, ...]
    columns: int  # tiles across one block

    @property
    def tiles(self) -> tuple[Tile, ...]:
        return tuple(t for b in self.blocks for t in b.tiles)


def turnout_class(turnout: float | None) -> int | None:
    if turnout is None:
        return None
    shown = percent_value(turnout)
    return max(i for i, low in enumerate(CLASSES) if shown >= low)


@cache
def _renderer() -> RendererAgg:
    return RendererAgg(10, 10, DPI)  # type: ignore[no-untyped-call]


@cache
def _width_px(text: str, points: float, bold: bool = False) -> float:
    """How wide ``text`` is drawn, in pixels: measured by the renderer that draws the PNG
    (the font's outline metrics alone came out up to 5% narrower than what was drawn)."""
    prop = FontProperties(family=FONT, size=points, weight="bold" if bold else "normal")
    measure = _renderer().get_text_width_height_descent
    width, _, _ = measure(text, prop, ismath=False)  # type: ignore[no-untyped-call]
    return float(width)


def fit_lines(
    text: str, width: float, points: float, lines: int = NAME_LINES, bold: bool = False
) -> tuple[str, ...]:
    """``text`` in at most ``lines`` lines each at most ``width`` pixels wide: broken
    between words (inside a word too long for a line), the last line shortened with "…"
    when the text does not fit."""
    words = text.split()
    out: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if _width_px(candidate, points, bold) <= width:
            current = candidate
            continue
        if current:
            out.append(current)
        current = word
        while _width_px(current, points, bold) > width:  # a word wider than the tile
            cut = len(current)
            while cut > 1 and _width_px(current[:cut], points, bold) > width:
                cut -= 1
            out.append(current[:cut])
            current = current[cut:]
    if current:
        out.append(current)
    if len(out) <= lines:
        return tuple(out)
    last = " ".join(out[lines - 1 :])
    while last and _width_px(last + "…", points, bold) > width:
        last = last[:-1].rstrip()
    return (*out[: lines - 1], last + "…")


Group = tuple[ParticipationRow, list[ParticipationRow]]  # a soum's total row, its bags


def _groups(rows: Sequence[ParticipationRow]) -> list[Group]:
    """(soum total, its bags) in the order handlers/reports/data.participation gives them: each
    soum's bags, then the soum's row (the aimag's total last, not a group)."""
    out: list[Group] = []
    bags: list[ParticipationRow] = []
    for r in rows:
        if r.level == "bag":
            bags.append(r)
        elif r.level == "soum":
            out.append((r, bags))
            bags = []
    return out


def _total(rows: Sequence[ParticipationRow]) -> ParticipationRow | None:
    return rows[-1] if rows and rows[-1].level != "bag" else None


def _turnout(row: ParticipationRow) -> float | None:
    return None if row.round_status == "-" else row.turnout


def _heading(soum: ParticipationRow, bags: Sequence[ParticipationRow], lang: str) -> str:
    if all(_turnout(b) is None for b in bags):
        return label("map.block_no_round", lang, name=soum.name)
    return label(
        "map.block",
        lang,
        name=soum.name,
        voted=soum.voted,
        registered=soum.registered,
        turnout=percent_number(soum.turnout),
    )


def layout(rows: Sequence[ParticipationRow], lang: str = "mn") -> MapLayout:
    """Where every soum block and bag tile goes (pure: no drawing)."""
    groups = _groups(rows)
    total = _total(rows)
    most = max((len(bags) for _, bags in groups), default=1)
    if len(groups) <= 1:  # one soum: its bags in rows of up to six
        columns = max(1, min(most, 6))
    else:  # an aimag: square-ish blocks, 3 to 6 tiles across
        columns = min(6, max(3, math.ceil(math.sqrt(most))))
    block_w = columns * TILE_W + (columns - 1) * GAP
    across = max(1, (MAX_WIDTH - 2 * MARGIN + BLOCK_GAP_X) // (block_w + BLOCK_GAP_X))
    across = min(across, max(1, len(groups)))
    content_w = across * block_w + (across - 1) * BLOCK_GAP_X
    width = max(MIN_WIDTH, content_w + 2 * MARGIN)
    left = (width - content_w) // 2
    blocks: list[Block] = []
    y = HEADER
    for start in range(0, len(groups), across):
        shelf = groups[start : start + across]
        shelf_h = 0
        for i, (soum, bags) in enumerate(shelf):
            bx = left + i * (block_w + BLOCK_GAP_X)
            tile_rows = max(1, math.ceil(len(bags) / columns))
            bh = BLOCK_HEAD + tile_rows * TILE_H + (tile_rows - 1) * GAP
            tiles = tuple(
                Tile(
                    bag.code,
                    fit_lines(bag.name, TILE_W - 2 * PAD, NAME_PT),
                    _turnout(bag),
                    bag.voted,
                    bag.registered,
                    bx + (k % columns) * (TILE_W + GAP),
                    y + BLOCK_HEAD + (k // columns) * (TILE_H + GAP),
                )
                for k, bag in enumerate(bags)
            )
            # The heading may run over the gap to the next block, or to the margin.
            room = (block_w + BLOCK_GAP_X // 2) if i + 1 < len(shelf) else width - MARGIN - bx
            title = fit_lines(_heading(soum, bags, lang), room, BLOCK_PT, 1, bold=True)[0]
            blocks.append(Block(soum.code, title, bx, y, block_w, bh, tiles))
            shelf_h = max(shelf_h, bh)
        y += shelf_h + BLOCK_GAP_Y
    height = y - BLOCK_GAP_Y + FOOTER if blocks else HEADER + FOOTER
    name = total.name if total else (groups[0][0].name if groups else "-")
    year = rows[0].year if rows else 0
    subtitle = ""
    if total is not None:
        subtitle = label(
            "chart.turnout",
            lang,
            voted=total.voted,
            registered=total.registered,
            turnout=percent_number(total.turnout),
        )
    return MapLayout(
        width,
        height,
        label("map.title", lang, name=name, year=year),
        subtitle,
        tuple(blocks),
        columns,
    )


def legend_items(lang: str = "mn") -> list[tuple[str, str]]:
    """(colour, text) of each turnout class, then of "no vote held"."""
    items = []
    for i, low in enumerate(CLASSES):
        high = CLASSES[i + 1] if i + 1 < len(CLASSES) else 100
        items.append((COLOURS[i], f"{low}–{high}%"))
    items.append((NO_ROUND, label("map.no_round", lang)))
    return items


def figure(plan: MapLayout, lang: str = "mn") -> Figure:
    """The drawing of a layout. Every tile's texts carry the tile's code as their gid."""
    w, h = plan.width, plan.height
    fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI)
    FigureCanvasAgg(fig)

    def fx(x: float) -> float:  # pixels from the left -> figure fraction
        return x / w

    def fy(y: float) -> float:  # pixels from the top -> figure fraction from the bottom
        return 1 - y / h

    fig.text(
        0.5, fy(22), plan.title, ha="center", va="top", fontsize=16, family=FONT, fontweight="bold"
    )
    fig.text(0.5, fy(62), plan.subtitle, ha="center", va="top", fontsize=11, family=FONT)
    for block in plan.blocks:
        fig.text(
            fx(block.x),
            fy(block.y + 4),
            block.title,
            ha="left",
            va="top",
            fontsize=BLOCK_PT,
            family=FONT,
            fontweight="bold",
            gid=f"block:{block.code}",
        )
        for t in block.tiles:
            cls = t.turnout_class
            face = NO_ROUND if cls is None else COLOURS[cls]
            ink = NO_ROUND_INK if cls is None else INKS[cls]
            fig.add_artist(
                Rectangle(
                    (fx(t.x), fy(t.y + t.h)),
                    fx(t.w),
                    t.h / h,
                    facecolor=face,
                    edgecolor="#ffffff",
                    linewidth=1,
                    transform=fig.transFigure,
                    gid=f"tile:{t.code}",
                )
            )
            gid = f"text:{t.code}"
            fig.text(
                fx(t.x + PAD),
                fy(t.y + PAD),
                "\n".join(t.name_lines),
                ha="left",
                va="top",
                fontsize=NAME_PT,
                family=FONT,
                color=ink,
                linespacing=1.15,
                gid=gid,
            )
            shown = "—" if t.turnout is None else percent(t.turnout)
            fig.text(
                fx(t.x + PAD),
                fy(t.y + t.h - PAD),
                shown,
                ha="left",
                va="bottom",
                fontsize=PCT_PT,
                family=FONT,
                fontweight="bold",
                color=ink,
                gid=gid,
            )
            if t.turnout is not None:
                fig.text(
                    fx(t.x + t.w - PAD),
                    fy(t.y + t.h - PAD),
                    f"{t.voted}/{t.registered}",
                    ha="right",
                    va="bottom",
                    fontsize=COUNT_PT,
                    family=FONT,
                    color=ink,
                    gid=gid,
                )
    handles = [
        Patch(facecolor=c, edgecolor="#a0aec0", label=text) for c, text in legend_items(lang)
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 12 / h),
        ncols=len(handles),
        fontsize=10,
        title=label("turnout", lang),
        title_fontsize=10,
        frameon=False,
    )
    return fig


def participation_png(
    rows: Sequence[ParticipationRow], path: Path | None = None, lang: str = "mn"
) -> bytes:
    """The PNG of :func:`layout`, written to ``path`` when given."""
    plan = layout(rows, lang)
    buf = BytesIO()
    figure(plan, lang).savefig(buf, format="png", dpi=DPI, metadata={"Software": "Sanal"})
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data
