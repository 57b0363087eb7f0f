"""Deadlines as governors type them: a date, and perhaps a time of day.

"2027-04-01 18:00", "04-01 18 цаг", "2027-04-01 18:00 цагт", "4/1 оройн 6 цаг",
"2027.04.01 18.00". Each time belongs to the date written before it (or, typed first, to
the first date). A time alone ("ХУРААЛТ 18:00") means today, which only the handler knows:
it comes back with no date. "24:00" is the end of the day, the same as no time.
Dates typed without a year come back with year 1, as everywhere in the grammar.
"""

from __future__ import annotations

import re
from datetime import date, time

Deadline = tuple[date | None, time | None]

_FULL_DATE = re.compile(r"(?<!\d)(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?!\d)")
# "03-20", "3/20", "03.20", and "03-20-нд"; a dot pair may also be a time ("18.00").
_SHORT = re.compile(r"(?<![\d:.\-/])(\d{1,2})([-/.])(\d{1,2})(?![\d:])(?:\s*-?\s*(?:нд|ны|nd))?")
# "3 сарын 25", "2027 оны 3 сарын 25-нд": a month written as a word, the way people say it.
_MONTH_WORDS = re.compile(
    r"(?<!\d)(?:(\d{4})\s*(?:оны|ony|oni)\s*)?(\d{1,2})\s*(?:сарын|сар|sariin|sarin|sar)\s*"
    r"(\d{1,2})(?!\d)(?:\s*-?\s*(?:нд|ны|ний|nd|ny))?",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"(?<![\d\-/.:])(\d{1,2}):(\d{2})(?!\d)")
_HOUR_WORD = r"(?:цагт|цаг|ц|tsagt|tsag|tsgt|cagt|cag)(?!\w)"
_HOUR = re.compile(r"(?<![\d\-/.:])(\d{1,2})\s*-?\s*" + _HOUR_WORD, re.IGNORECASE)
_AMPM = re.compile(r"(?<![\d\-/.:])(\d{1,2})\s*(am|pm)(?!\w)", re.IGNORECASE)
# "оройн 6" (evening 6) is 18:00; "өглөө 9" (morning 9) stays 09:00.
_EVENING = re.compile(r"(?:орой|оройн|oroi|oroin|oroj|orojn)\s*$", re.IGNORECASE)
# "өдрийн 2 цаг" (2 in the day) is 14:00: afternoon hours are said on a 12-hour clock.
_AFTERNOON = re.compile(r"(?:өдрийн|өдөр|udriin|udur)\s*$", re.IGNORECASE)


def _clock(hour: int, minute: int) -> time | None:
    if hour == 24 and minute == 0:
        return None  # the end of the day, as a date alone means
    if hour < 24 and minute < 60:
        return time(hour, minute)
    return None


def deadlines(text: str) -> list[Deadline]:
    """The deadlines written in ``text``, in order: (date, time) pairs."""
    days: list[tuple[int, int, date, bool]] = []  # start, end, day, typed with a year
    times: list[tuple[int, time | None]] = []
    masked = list(text)

    def mask(m: re.Match[str]) -> None:
        masked[m.start() : m.end()] = " " * (m.end() - m.start())

    for m in _FULL_DATE.finditer(text):
        try:
            days.append((m.start(), m.end(), date(*(int(g) for g in m.groups())), True))
        except ValueError:
            continue
        mask(m)
    for m in _MONTH_WORDS.finditer("".join(masked)):
        year = int(m.group(1)) if m.group(1) else 1
        try:
            days.append((m.start(), m.end(), date(year, int(m.group(2)), int(m.group(3))), True))
        except ValueError:
            continue
        mask(m)
    for pattern in (_CLOCK, _HOUR, _AMPM):
        for m in pattern.finditer("".join(masked)):
            hour = int(m.group(1))
            minute = int(m.group(2)) if pattern is _CLOCK else 0
            if pattern is _AMPM:
                if not 1 <= hour <= 12:
                    continue
                hour = hour % 12 + (12 if m.group(2).lower() == "pm" else 0)
            said = text[: m.start()]
            if (hour < 12 and _EVENING.search(said)) or (hour < 7 and _AFTERNOON.search(said)):
                hour += 12
            if hour <= 24:
                times.append((m.start(), _clock(hour, minute)))
                mask(m)
    for m in _SHORT.finditer("".join(masked)):
        first, sep, second = int(m.group(1)), m.group(2), int(m.group(3))
        try:
            day: date | None = date(1, first, second)
        except ValueError:
            day = None
        after = [d for d in days if not text[d[1] : m.start()].strip()]
        # "2027-04-01 18.00": a dot pair right after a date is its time when it cannot be
        # a date, or when the date before it was typed with a year (this one has none).
        if sep == "." and after and (day is None or after[-1][3]) and second < 60:
            times.append((m.start(), _clock(first, second)))
        elif day is not None:
            days.append((m.start(), m.end(), day, False))
        days.sort(key=lambda d: d[0])
    days.sort(key=lambda d: d[0])
    if not days:
        return [(None, times[0][1])] if times and times[0][1] else []
    paired: dict[int, time | None] = {}
    for at, clock in sorted(times, key=lambda t: t[0]):
        before = [i for i, d in enumerate(days) if d[0] < at]
        owner = before[-1] if before else 0
        paired.setdefault(owner, clock)
    return [(d[2], paired.get(i)) for i, d in enumerate(days)]
