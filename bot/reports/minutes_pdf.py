"""The bag khural's minutes (протокол), as a PDF draft in Mongolian Cyrillic.

Date, place, chair, attendance, each proposal's votes and rank, and lines for signatures.
matplotlib's PdfPages with DejaVu Sans embedded as a TrueType font (``pdf.fonttype`` 42),
so the Cyrillic text stays text: searchable, copyable, printable anywhere.
"""

from __future__ import annotations

import textwrap
from io import BytesIO
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from bot.clock import local_text
from bot.reports.data import RoundReport
from bot.reports.labels import label

A4 = (8.27, 11.69)  # inches
TOP, BOTTOM, LEFT = 0.94, 0.07, 0.08
LINE = 0.021  # one line of 10 pt text, as a fraction of the page height
BLANK = "________________"


class _Pages:
    """Writes lines down A4 pages, starting a new page when one is full."""

    def __init__(self, pdf: PdfPages) -> None:
        self.pdf = pdf
        self.fig: Figure | None = None
        self.y = TOP

    def _new(self) -> Figure:
        if self.fig is not None:
            self.pdf.savefig(self.fig)  # type: ignore[no-untyped-call]
        self.fig = Figure(figsize=A4)
        self.y = TOP
        return self.fig

    def need(self, lines: float) -> Figure:
        if self.fig is None or self.y - lines * LINE < BOTTOM:
            return self._new()
        return self.fig

    def text(
        self, text: str, *, size: float = 10, bold: bool = False, x: float = LEFT, gap: float = 1
    ) -> None:
        fig = self.need(gap)
        fig.text(x, self.y, text, fontsize=size, fontweight="bold" if bold else "normal",
                 va="top")  # fmt: skip
        self.y -= LINE * gap * size / 10

    def row(self, cells: list[tuple[float, str]], *, bold: bool = False, lines: int = 1) -> None:
        fig = self.need(lines)
        for x, text in cells:
            fig.text(x, self.y, text, fontsize=9, fontweight="bold" if bold else "normal",
                     va="top")  # fmt: skip
        self.y -= LINE * max(lines, 1) * 0.95

    def skip(self, lines: float = 1) -> None:
        self.y -= LINE * lines

    def close(self) -> None:
        if self.fig is not None:
            self.pdf.savefig(self.fig)  # type: ignore[no-untyped-call]


COLUMNS = (0.08, 0.15, 0.22, 0.62, 0.72, 0.84)  # rank, №, proposal, households, cost, votes
WRAP = 40


def minutes_pdf(rep: RoundReport, path: Path | None = None, lang: str = "mn") -> bytes:
    """The minutes draft of the round's khural; the bytes (also written to ``path``)."""
    buf = BytesIO()
    title = label("minutes.title", lang, bag=rep.bag.name)
    with (
        matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}),
        PdfPages(buf, metadata={"Title": title, "Creator": "Sanal"}) as pdf,
    ):
        out = _Pages(pdf)
        out.text(title, size=14, bold=True, gap=1.6)
        out.text(label("minutes.draft", lang), size=9, gap=1.6)
        when = local_text(rep.meeting_at, rep.bag.tz) if rep.meeting_at else BLANK
        place_parts = [rep.aimag.name if rep.aimag else "", rep.soum.name if rep.soum else "",
                       rep.bag.name]  # fmt: skip
        for key, value in (
            ("minutes.place_unit", ", ".join(p for p in place_parts if p)),
            ("minutes.date", when),
            ("minutes.place", rep.meeting_place or BLANK),
            ("minutes.chair", rep.chair or BLANK),
            ("minutes.secretary", BLANK),
            ("minutes.attendance", str(rep.attendance) if rep.attendance is not None else BLANK),
            ("minutes.year", str(rep.round.year)),
        ):
            out.text(f"{label(key, lang)}: {value}", gap=1.3)
        p = rep.participation
        out.skip(0.5)
        out.text(
            label(
                "minutes.turnout",
                lang,
                voted=p.voted,
                registered=p.registered,
                turnout=round(p.turnout * 100),
            ),
            gap=1.6,
        )
        out.text(label("minutes.agenda", lang), bold=True, gap=1.5)
        heads = ["col.rank", "col.number", "col.proposal", "col.households", "col.cost",
                 "col.votes"]  # fmt: skip
        out.row([(x, label(h, lang)) for x, h in zip(COLUMNS, heads, strict=True)], bold=True)
        for ln in rep.lines:
            # The proposal column is 40% of A4 at 9 pt DejaVu Sans: about 40 characters
            # before the text runs into the households column.
            wrapped = textwrap.wrap(ln.text, width=WRAP) or [""]
            out.row(
                [
                    (COLUMNS[0], str(ln.rank)),
                    (COLUMNS[1], str(ln.number)),
                    (COLUMNS[2], "\n".join(wrapped[:3])),
                    (COLUMNS[3], str(ln.beneficiaries) if ln.beneficiaries is not None else "-"),
                    (COLUMNS[4], f"{ln.cost_mnt:,}" if ln.cost_mnt is not None else "-"),
                    (COLUMNS[5], f"{ln.votes} ({round(ln.share * 100)}%)"),
                ],
                lines=min(len(wrapped), 3),
            )
        if not rep.lines:
            out.text(label("minutes.no_proposals", lang))
        out.skip(1)
        out.text(label("minutes.decision", lang, count=len(rep.lines)), gap=1.5)
        out.skip(1.5)
        for key, name in (
            ("minutes.sign_chair", rep.chair),
            ("minutes.sign_secretary", None),
            ("minutes.sign_governor", rep.governor),
        ):
            out.need(3)
            out.text(f"{label(key, lang)}: ____________________  /{name or BLANK}/", gap=2.6)
        out.close()
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data
