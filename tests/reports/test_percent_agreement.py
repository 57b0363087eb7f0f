"""The same share reads the same in the text reply (ДҮН), the round XLSX and the chart.

A round of 2,500 voters among 2,505 registered: proposals chosen by 2,495 (99.8%), by
all 2,500 (100%) and by one (0.04%), turnout 99.8%. Each place is read as its reader sees
it: the reply as composed for the phone, the XLSX cell's value (shown as is by a
spreadsheet's default format), the chart's texts as drawn on the figure.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from matplotlib.text import Text as DrawnText

from handlers.closing import Results, results_parts
from handlers.delivery import compose
from handlers.percent import percent, percent_value
from handlers.reports.chart import results_figure
from handlers.reports.data import RoundLine, RoundReport
from handlers.reports.xlsx import round_workbook
from handlers.tally import Participation, Ranked
from storage.proposals import Proposal
from storage.rounds import Round
from storage.units import Unit

VOTERS, REGISTERED = 2500, 2505
VOTES = {1: 2495, 2: 2500, 3: 1}  # proposal number -> votes
EXPECTED = {1: "99.8%", 2: "100%", 3: "0.1%"}
WHEN = datetime(2027, 4, 10, 6, tzinfo=UTC)


def _round() -> Round:
    return Round(7, "644651", 2028, "closed", 3, True, WHEN, WHEN, WHEN, WHEN, 40, REGISTERED)


def _proposal(n: int) -> Proposal:
    return Proposal(n, 7, n, None, f"Санал {n}, 40 өрх", 40, 10_000_000, "accepted", None,
                    None, None, WHEN)  # fmt: skip


def _ranked() -> list[Ranked]:
    order = sorted(VOTES, key=lambda n: -VOTES[n])
    return [Ranked(_proposal(n), VOTES[n], i, VOTES[n] / VOTERS) for i, n in enumerate(order, 1)]


def _participation() -> Participation:
    return Participation(REGISTERED, VOTERS, {"sms": VOTERS})


def _report() -> RoundReport:
    lines = [
        RoundLine(
            r.rank, r.proposal.number, r.proposal.text, 40, 10_000_000, r.votes, r.share, None
        )
        for r in _ranked()
    ]
    bag = Unit("644651", "bag", "1-р баг, Баянбулаг", "6446", "Asia/Ulaanbaatar")
    return RoundReport(_round(), bag, None, None, lines, [], _participation(), None, None,
                       None, None, len(lines))  # fmt: skip


def test_the_edge_values() -> None:
    assert [percent(v / VOTERS) for v in VOTES.values()] == list(EXPECTED.values())
    assert percent(VOTERS / REGISTERED) == "99.8%"


@pytest.mark.parametrize("lang", ["mn", "en"])
def test_reply_xlsx_and_chart_agree(lang: str) -> None:
    # The text reply, as the phone shows it.
    reply = compose(results_parts(Results(_round(), _ranked(), _participation()), "Баянбулаг"),
                    lang)  # fmt: skip
    assert f"{VOTERS}/{REGISTERED} (99.8%)" in reply, reply
    for n, shown in EXPECTED.items():
        assert f"{n} {_proposal(n).text}: {VOTES[n]} ({shown})" in reply, reply

    # The XLSX: the turnout and each proposal's share, as numbers a spreadsheet shows.
    ws = round_workbook(_report(), lang).worksheets[0]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    facts = {r[0]: r[1] for r in cells if r[0] is not None}
    turnout_label = "Оролцоо, %" if lang == "mn" else "Turnout, %"
    assert facts[turnout_label] == 99.8
    header = next(i for i, r in enumerate(cells) if r[1] == "№")
    share = cells[header].index("Хувь, %" if lang == "mn" else "Share, %")
    by_number = {r[1]: r[share] for r in cells[header + 1 :] if r[1] is not None}
    assert {n: f"{v:g}%" for n, v in by_number.items()} == EXPECTED
    assert by_number == {n: percent_value(VOTES[n] / VOTERS) for n in VOTES}

    # The chart, as drawn.
    drawn = {t.get_text().strip() for t in results_figure(_report(), lang).findobj(DrawnText)}
    for n, shown in EXPECTED.items():
        assert f"{VOTES[n]} ({shown})" in drawn, drawn
    assert any(t.endswith(f"{VOTERS} / {REGISTERED} (99.8%)") for t in drawn) or any(
        t.endswith(f"{VOTERS} of {REGISTERED} (99.8%)") for t in drawn
    ), drawn
