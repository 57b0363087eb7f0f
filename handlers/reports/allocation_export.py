"""The soum's allocation as machine-readable data, CSV and JSON, beside the XLSX.

One row per proposal of the soum list, in the working group's ranking: its list number,
bag, text (phone-like numbers masked), cost, votes, combined score, and for each rule
whether it is funded and why (handlers.allocation.Reason codes, or not_scored / no_cost);
then the rule in force, when that allocation was computed (ISO 8601 with the soum's zone
offset) and the ceiling. Counts only, as every report: a bag round with fewer voters than
the minimum shows no votes. Column names are stable identifiers, in English, for scripts;
the XLSX is the one for people.
"""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from typing import Any

from handlers.allocation import RULES
from handlers.reports.data import SoumReport, bag_counts_hidden, public_text
from handlers.reports.pabulib import local_iso, pb_rule
from handlers.soum_plan import PlanLine

COLUMNS = [
    "soum_number",
    "rank",
    "bag_code",
    "bag",
    "proposal",
    "cost_mnt",
    "votes",
    "voters",
    "combined_score",
    *(f"{rule}_{what}" for rule in RULES for what in ("funded", "reason")),
    "funded",
    "rule_in_force",
    "computed_at",
    "ceiling_mnt",
]


def _money(value: Fraction) -> int | str:
    """Whole tögrögs as a number; a fraction (equal shares' money left) as a decimal."""
    return value.numerator if value.denominator == 1 else f"{float(value):.2f}"


def _computed_at(rep: SoumReport) -> str | None:
    plan = rep.plan
    return local_iso(plan.computed_at, rep.tz) if plan.computed_at else None


def _row(rep: SoumReport, line: PlanLine) -> dict[str, Any]:
    plan = rep.plan
    hidden = bag_counts_hidden(line, rep.min_voters)
    score = line.combined.score
    row: dict[str, Any] = {
        "soum_number": line.item.number,
        "rank": line.rank,
        "bag_code": line.item.bag_code,
        "bag": line.bag_name,
        "proposal": public_text(line.item.text),
        "cost_mnt": line.item.cost_mnt,
        "votes": None if hidden else line.item.votes,
        "voters": None if hidden else line.item.voters,
        "combined_score": round(float(score * 100), 2) if score is not None else None,
    }
    for rule in RULES:
        decision = line.decision(rule)
        row[f"{rule}_funded"] = None if plan.ceiling is None else bool(decision and decision.funded)
        row[f"{rule}_reason"] = line.reason(rule) or None
    rule_in_force = plan.rule_in_force
    row["funded"] = row[f"{rule_in_force}_funded"] if rule_in_force else None
    row["rule_in_force"] = rule_in_force
    row["computed_at"] = _computed_at(rep)
    row["ceiling_mnt"] = plan.ceiling
    return row


def allocation_rows(rep: SoumReport) -> list[dict[str, Any]]:
    """Every proposal's row, in the soum ranking (None: empty, not applicable)."""
    return [_row(rep, line) for line in rep.plan.lines]


def allocation_csv(rep: SoumReport) -> str:
    """The rows as CSV (comma-separated, UTF-8); booleans 1/0, nothing as an empty cell."""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in allocation_rows(rep):
        w.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    return value


def allocation_json(rep: SoumReport) -> str:
    """The soum, the ceiling, the rule in force and each rule's totals, then the rows."""
    plan = rep.plan
    rules: dict[str, Any] = {}
    for rule in RULES:
        alloc = plan.allocation(rule)
        rules[rule] = {
            "pabulib_rule": pb_rule(rule),
            "funded": [line.item.number for line in plan.funded(rule)],
            "spent_mnt": _money(alloc.spent) if alloc else None,
            "left_mnt": _money(alloc.left) if alloc else None,
        }
    doc = {
        "soum_code": plan.soum_code,
        "soum": plan.soum_name,
        "aimag": rep.aimag.name if rep.aimag else None,
        "year": plan.year,
        "ceiling_mnt": plan.ceiling,
        "rule_in_force": plan.rule_in_force,
        "computed_at": _computed_at(rep),
        "chosen_at": local_iso(plan.chosen_at, rep.tz) if plan.chosen_at else None,
        # The recorded run no longer matches the inputs (recomputed at the next change or
        # ХУВААРИЛАХ); the rows are computed from today's inputs either way.
        "stale": plan.stale,
        "funded": [line.item.number for line in plan.funded_in_force() or []],
        "voters": plan.voters,
        "rules": rules,
        "proposals": allocation_rows(rep),
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
