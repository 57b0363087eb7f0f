"""A round's results as a PNG bar chart (the governor gets it with the results in Telegram).

Drawn with matplotlib's object API (no pyplot state, safe in a worker thread) in DejaVu
Sans, which matplotlib ships and which has Cyrillic.

Once the soum has allocated, each bar says whether the soum funds the proposal by the rule
in force (its colour, and a legend naming the rule); percentages are the ones every report
shows (handlers/percent.py).
"""

from __future__ import annotations

import textwrap
from io import BytesIO
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from handlers.percent import percent, percent_number
from handlers.reports.data import RoundLine, RoundReport
from handlers.reports.labels import label, round_rule, rule

DPI = 100
WIDTH_PX = 1000
MAX_BARS = 25  # a longer list shows its top 25
# Characters of a bar's label that fit the left 36% of the chart at 10 pt DejaVu Sans
# (44 ran past the image's left edge).
LABEL = 40
# Bar colours. Before the soum decides anything, every bar is the same blue. After: funded
# by the rule in force (dark green), not funded (light grey), not decided (not on the soum
# list: pale, outlined). Dark against light reads in any colour blindness and in grey
# print; the legend says it in words too.
PLAIN = "#2b6cb0"
FUNDED, NOT_FUNDED, UNDECIDED = "#2f855a", "#cbd5e0", "#f7fafc"
EDGE = "#718096"


def png_size(bars: int) -> tuple[int, int]:
    """(width, height) in pixels of the chart of ``bars`` proposals."""
    shown = max(1, min(bars, MAX_BARS))
    return WIDTH_PX, 200 + 40 * shown


def bar_text(line: RoundLine) -> str:
    """What a bar says at its end: its votes and their share, "31 (64.6%)"."""
    return f"{line.votes} ({percent(line.share)})"


def bar_colour(line: RoundLine, decided: bool = True) -> str:
    """A bar's colour; ``decided``: whether the soum has decided on any bar of the chart."""
    if not decided:
        return PLAIN
    if line.soum_funded is None:
        return UNDECIDED
    return FUNDED if line.soum_funded else NOT_FUNDED


def legend(lines: list[RoundLine], code: str | None, lang: str = "mn") -> list[tuple[str, str]]:
    """(colour, text) of each kind of bar the chart shows; nothing while the soum has
    decided nothing (every bar is then the same)."""
    decided = {ln.soum_funded for ln in lines}
    if decided <= {None}:
        return []
    name = rule(code, lang) if code else label("chart.rule_unknown", lang)
    out = []
    if True in decided:
        out.append((FUNDED, label("chart.funded", lang, rule=name)))
    if False in decided:
        out.append((NOT_FUNDED, label("chart.not_funded", lang, rule=name)))
    if None in decided:
        out.append((UNDECIDED, label("chart.undecided", lang)))
    return out


def results_png(rep: RoundReport, path: Path | None = None, lang: str = "mn") -> bytes:
    """The ranked proposals as horizontal bars of votes, best on top."""
    buf = BytesIO()
    results_figure(rep, lang).savefig(buf, format="png", dpi=DPI, metadata={"Software": "Sanal"})
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data


def results_figure(rep: RoundReport, lang: str = "mn") -> Figure:
    """The drawing :func:`results_png` saves."""
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
    decided = any(ln.soum_funded is not None for ln in lines)
    colours = [bar_colour(ln, decided) for ln in lines]
    ax.barh(positions, votes, color=colours, edgecolor=EDGE if decided else PLAIN, height=0.6)
    ax.set_yticks(positions, names, fontsize=10)
    ax.set_xlabel(label("col.votes", lang), fontsize=10)
    ax.set_xlim(0, max([*votes, 1]) * 1.2)
    for y, v, ln in zip(positions, votes, lines, strict=True):
        ax.text(v, y, f" {bar_text(ln)}", va="center", fontsize=9)
    handles = [
        Patch(facecolor=colour, edgecolor=EDGE, label=text)
        for colour, text in legend(lines, round_rule(rep), lang)
    ]
    if handles:
        # Under the axis, beside its label: no bar is ever hidden behind it.
        fig.legend(
            handles=handles,
            loc="lower right",
            bbox_to_anchor=(0.99, 4 / height),
            ncols=len(handles),
            fontsize=9,
            frameon=False,
        )
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
            turnout=percent_number(p.turnout),
        ),
        ha="center",
        fontsize=10,
    )
    if not lines:
        ax.text(0.5, 0.5, label("chart.empty", lang), transform=ax.transAxes, ha="center")
    return fig
