"""A round's results as a PNG bar chart (the governor gets it with the results in Telegram).

Drawn with matplotlib's object API (no pyplot state, safe in a worker thread) in DejaVu
Sans, which matplotlib ships and which has Cyrillic.
"""

from __future__ import annotations

import textwrap
from io import BytesIO
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.reports.data import RoundReport
from bot.reports.labels import label

DPI = 100
WIDTH_PX = 1000
MAX_BARS = 25  # a longer list shows its top 25
# Characters of a bar's label that fit the left 36% of the chart at 10 pt DejaVu Sans
# (44 ran past the image's left edge).
LABEL = 40


def png_size(bars: int) -> tuple[int, int]:
    """(width, height) in pixels of the chart of ``bars`` proposals."""
    shown = max(1, min(bars, MAX_BARS))
    return WIDTH_PX, 200 + 40 * shown


def results_png(rep: RoundReport, path: Path | None = None, lang: str = "mn") -> bytes:
    """The ranked proposals as horizontal bars of votes, best on top."""
    lines = rep.lines[:MAX_BARS]
    width, height = png_size(len(lines))
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.36, 100 / height, 0.58, 1 - 170 / height))
    names = [
        textwrap.shorten(f"{ln.rank}. №{ln.number} {ln.text}", width=LABEL, placeholder="…")
        for ln in lines
    ]
    votes = [ln.votes for ln in lines]
    positions = list(range(len(lines)))[::-1]
    ax.barh(positions, votes, color="#2b6cb0", height=0.6)
    ax.set_yticks(positions, names, fontsize=10)
    ax.set_xlabel(label("col.votes", lang), fontsize=10)
    ax.set_xlim(0, max([*votes, 1]) * 1.15)
    for y, v, ln in zip(positions, votes, lines, strict=True):
        ax.text(v, y, f" {v} ({round(ln.share * 100)}%)", va="center", fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    p = rep.participation
    fig.suptitle(label("chart.title", lang, bag=rep.bag.name, year=rep.round.year), fontsize=14)
    fig.text(
        0.5,
        1 - 60 / height,
        label(
            "chart.turnout",
            lang,
            voted=p.voted,
            registered=p.registered,
            turnout=round(p.turnout * 100),
        ),
        ha="center",
        fontsize=10,
    )
    if not lines:
        ax.text(0.5, 0.5, label("chart.empty", lang), transform=ax.transAxes, ha="center")
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": "Sanal"})
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data
