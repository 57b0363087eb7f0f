"""Participation statistics for the Annual Performance Assessment: per bag and soum,
registered, voted, turnout, proposals, by channel, as CSV and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from handlers.percent import percent_number
from handlers.reports.data import ParticipationRow
from handlers.reports.labels import label
from handlers.reports.xlsx import participation_workbook, save

FIELDS = ("code", "name", "level", "year", "round_status", "registered", "voted", "turnout",
          "proposals", "accepted")  # fmt: skip


# A CSV cell has no type: a spreadsheet opening the file runs one that starts like a
# formula. Unit names come from an imported file; such a cell gets a leading apostrophe
# (OWASP's advice), which spreadsheets show as text. A lone "-" is no formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if len(value) > 1 and value.startswith(_FORMULA_START) else value


def channels_of(rows: Sequence[ParticipationRow]) -> list[str]:
    return sorted({ch for r in rows for ch in r.by_channel}) or ["SMS", "Telegram"]


def participation_csv(rows: Sequence[ParticipationRow]) -> str:
    """Machine-readable CSV: English column names, one row per bag, soum (and aimag)."""
    channels = channels_of(rows)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([*FIELDS, *(f"voted_{c.lower()}" for c in channels)])
    for r in rows:
        w.writerow(
            [
                _cell(r.code),
                _cell(r.name),
                r.level,
                r.year,
                _cell(r.round_status),
                r.registered,
                r.voted,
                f"{r.turnout:.4f}",
                r.proposals,
                r.accepted,
                *(r.by_channel.get(c, 0) for c in channels),
            ]
        )
    return out.getvalue()


def participation_xlsx(rows: Sequence[ParticipationRow], lang: str = "mn") -> bytes:
    return save(participation_workbook(rows, lang))


def summary(rows: Sequence[ParticipationRow], lang: str = "mn") -> str:
    """One line for the terminal: the last (total) row."""
    if not rows:
        return label("participation.none", lang)
    t = rows[-1]
    return label(
        "participation.summary",
        lang,
        name=t.name,
        voted=t.voted,
        registered=t.registered,
        turnout=percent_number(t.turnout),
    )
