"""The one rounding of a share into a percentage (handlers/percent.py)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from handlers.percent import percent, percent_number, percent_value
from handlers.tally import percent as tally_percent


@pytest.mark.parametrize(
    ("part", "value", "text"),
    [
        (0.998, 99.8, "99.8%"),  # the case: not "100%"
        (Fraction(998, 1000), 99.8, "99.8%"),
        (0.9996, 99.9, "99.9%"),  # would round to 100.0: not everyone voted
        (Fraction(2999, 3000), 99.9, "99.9%"),
        (1.0, 100.0, "100%"),
        (Fraction(1), 100.0, "100%"),
        (0.0004, 0.1, "0.1%"),  # 0.04%: someone voted, never "0%"
        (Fraction(1, 3000), 0.1, "0.1%"),
        (0.0, 0.0, "0%"),
        (0.45, 45.0, "45%"),  # no trailing ".0", as a spreadsheet shows 45
        (30 / 52, 57.7, "57.7%"),
        (12 / 18, 66.7, "66.7%"),
        (0.0005, 0.1, "0.1%"),  # half up, on the decimal people read
        (0.1235, 12.4, "12.4%"),
        (0.12345, 12.3, "12.3%"),
        (Fraction(1, 8), 12.5, "12.5%"),
        (1.05, 105.0, "105%"),  # more voted than the close's register: said as it is
    ],
)
def test_edge_values(part: float | Fraction, value: float, text: str) -> None:
    assert percent_value(part) == value
    assert percent(part) == text
    assert percent_number(part) + "%" == text


def test_within_a_tenth_of_the_truth_and_never_a_false_0_or_100() -> None:
    for n in range(1, 400):
        for k in range(n + 1):
            shown = percent_value(Fraction(k, n))
            assert abs(shown - 100 * k / n) <= 0.1 + 1e-9, (k, n)
            assert (shown == 100) == (k == n), (k, n)
            assert (shown == 0) == (k == 0), (k, n)
            assert percent_value(k / n) == shown, (k, n)  # a float share reads the same


def test_the_text_replies_use_it() -> None:
    assert tally_percent is percent
