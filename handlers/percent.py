"""The one way a share is shown as a percentage: SMS and Telegram replies (ДҮН), the XLSX
cells, the results chart and the participation map all call these, so they agree.

One decimal, rounded half up on the exact value (57.69% is 57.7), written without a
trailing ".0" (45%, 99.8%): what a spreadsheet shows for the XLSX number in its default
format. 0 and 100 are said only when exact: a share of 998/1000 reads 99.9%, never "100%"
beside a count that says not everyone voted, and one vote in 3,000 reads 0.1%, never "0%"
beside a count of 1. The value shown is always within one tenth of a point of the truth.
"""

from __future__ import annotations

from fractions import Fraction
from math import floor

STEP = 10  # tenths of a percentage point


def _exact(part: float | Fraction) -> Fraction:
    if isinstance(part, Fraction):
        return part
    # The shortest decimal that is this float (0.998, not 0.99799999999999999822...):
    # a share typed or computed as 0.9995 rounds as the 0.9995 people read.
    return Fraction(repr(float(part)))


def percent_value(part: float | Fraction) -> float:
    """The share ``part`` (0..1) as a percentage with one decimal: 0.998 -> 99.8."""
    exact = _exact(part)
    tenths = floor(exact * 100 * STEP + Fraction(1, 2))
    if tenths >= 100 * STEP and exact < 1:
        tenths = 100 * STEP - 1  # not everyone: never "100"
    if tenths <= 0 < exact:
        tenths = 1  # someone: never "0"
    return tenths / STEP


def percent_number(part: float | Fraction) -> str:
    """The percentage as text without the sign: "99.8", "100", "0.1"."""
    value = percent_value(part)
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def percent(part: float | Fraction) -> str:
    """The percentage as text with the sign: "99.8%"."""
    return f"{percent_number(part)}%"
