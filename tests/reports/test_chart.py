"""The results chart marks what the soum funds by its rule in force (bar colour, legend
naming the rule), and reads back as a PNG of the promised size."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle
from PIL import Image

from handlers.reports.chart import (
    FUNDED,
    NOT_FUNDED,
    PLAIN,
    UNDECIDED,
    legend,
    png_size,
    results_figure,
    results_png,
)
from handlers.reports.data import RoundLine, RoundReport
from handlers.tally import Participation
from storage.rounds import Round
from storage.units import Unit

WHEN = datetime(2027, 4, 10, 6, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class WithRule(RoundReport):
    """A round report that carries the soum's rule in force (issue 13's "one truth")."""

    rule_in_force: str | None = None


def _report(funded: list[bool | None]) -> RoundReport:
    lines = [
        RoundLine(i, i, f"Санал {i}", 40, 10_000_000, 10 - i, (10 - i) / 10, None, i, f)
        for i, f in enumerate(funded, start=1)
    ]
    rnd = Round(7, "644651", 2028, "submitted", 3, True, WHEN, WHEN, WHEN, WHEN, 40, 12)
    bag = Unit("644651", "bag", "1-р баг, Баянбулаг", "6446", "Asia/Ulaanbaatar")
    return RoundReport(rnd, bag, None, None, lines, [], Participation(12, 10, {"sms": 10}),
                       None, None, None, None, len(lines))  # fmt: skip


def _bars(rep: RoundReport) -> list[str]:
    """The bars' colours, best (top) first."""
    fig = results_figure(rep)
    ax = fig.axes[0]
    bars = sorted((p for p in ax.patches if isinstance(p, Rectangle)), key=lambda p: -p.get_y())
    return [to_hex(p.get_facecolor()) for p in bars]


def _legend(rep: RoundReport, lang: str = "mn") -> list[str]:
    fig = results_figure(rep, lang)
    return [t.get_text() for lg in fig.legends for t in lg.get_texts()]


def test_bars_say_what_the_soum_funds() -> None:
    rep = _report([True, False, True, None])
    assert _bars(rep) == [FUNDED, NOT_FUNDED, FUNDED, UNDECIDED]
    assert len({FUNDED, NOT_FUNDED, UNDECIDED, PLAIN}) == 4
    # The rule is named once the report carries it.
    values = {f: getattr(rep, f) for f in RoundReport.__dataclass_fields__}
    with_rule = WithRule(**{**values, "rule_in_force": "mes"})
    assert _legend(with_rule) == [
        "санхүүжинэ (тэгш хуваалт)",
        "санхүүжихгүй (тэгш хуваалт)",
        "сумын шийдвэр гараагүй",
    ]
    assert _legend(with_rule, "en")[0] == "funded (Method of Equal Shares)"
    # Without it, the legend still says funded or not, by the soum's chosen rule.
    assert _legend(rep)[:2] == [
        "санхүүжинэ (сумын сонгосон дүрэм)",
        "санхүүжихгүй (сумын сонгосон дүрэм)",
    ]


def test_before_the_soum_decides_every_bar_is_the_same_and_no_legend() -> None:
    rep = _report([None, None, None])
    assert _bars(rep) == [PLAIN] * 3
    assert _legend(rep) == []
    assert legend(rep.lines, "greedy") == []


def test_only_the_kinds_shown_are_in_the_legend() -> None:
    rep = _report([True, True])
    assert legend(rep.lines, "greedy") == [(FUNDED, "санхүүжинэ (эрэмбээр, багтахгүйг алгасах)")]


def test_the_png_reads_back_at_its_size() -> None:
    for funded in ([True, False, None], [None] * 25, [True] * 30):
        rep = _report(funded)
        with Image.open(io.BytesIO(results_png(rep))) as img:
            img.load()
            assert img.format == "PNG"
            assert img.size == png_size(len(funded))
    empty = replace(_report([]), lines=[])
    with Image.open(io.BytesIO(results_png(empty))) as img:
        assert img.size == png_size(0)
