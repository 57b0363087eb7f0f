"""The soum working group's tables: ceiling, criteria, the soum list, scores, allocations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, Row, fetchall, fetchone, insert
from storage.times import from_db, to_db


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    source: str  # member | beneficiaries | votes
    position: int
    weight: int


# The defaults when a soum has set none (docs/soum.md): members score importance and fit
# with the soum's development policy 1-5; beneficiaries and the citizens' vote share come
# from the bags' data. Importance and fit weigh 3, beneficiaries and votes 2.
DEFAULT_CRITERIA = (
    Criterion("importance", "member", 1, 3),
    Criterion("fit", "member", 2, 3),
    Criterion("beneficiaries", "beneficiaries", 3, 2),
    Criterion("votes", "votes", 4, 2),
)


@dataclass(frozen=True, slots=True)
class ListItem:
    """A proposal on the soum's list, with what its bag decided."""

    soum_code: str
    year: int
    number: int
    proposal_id: int
    round_id: int
    bag_code: str
    bag_rank: int
    votes: int
    voters: int
    text: str
    beneficiaries: int | None
    cost_mnt: int | None
    flag: str | None
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class Score:
    proposal_id: int
    person_id: int
    criterion: str
    value: int
    via: str


async def set_ceiling(
    conn: Conn, soum_code: str, year: int, amount_mnt: int, person_id: int | None, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO soum_ceilings (soum_code, year, amount_mnt, set_by, set_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (soum_code, year) DO UPDATE SET "
        "amount_mnt = excluded.amount_mnt, set_by = excluded.set_by, set_at = excluded.set_at",
        (soum_code, year, amount_mnt, person_id, to_db(now)),
    )


async def ceiling(conn: Conn, soum_code: str, year: int) -> int | None:
    row = await fetchone(
        conn,
        "SELECT amount_mnt FROM soum_ceilings WHERE soum_code = ? AND year = ?",
        (soum_code, year),
    )
    return int(row["amount_mnt"]) if row else None


async def criteria(conn: Conn, soum_code: str, year: int) -> tuple[Criterion, ...]:
    """The soum's criteria for the year, in order; the defaults when none were set."""
    rows = await fetchall(
        conn,
        "SELECT criterion, source, position, weight FROM soum_criteria "
        "WHERE soum_code = ? AND year = ? ORDER BY position, criterion",
        (soum_code, year),
    )
    if not rows:
        return DEFAULT_CRITERIA
    return tuple(Criterion(r["criterion"], r["source"], r["position"], r["weight"]) for r in rows)


async def set_criteria(conn: Conn, soum_code: str, year: int, items: Sequence[Criterion]) -> None:
    await conn.execute(
        "DELETE FROM soum_criteria WHERE soum_code = ? AND year = ?", (soum_code, year)
    )
    await conn.executemany(
        "INSERT INTO soum_criteria (soum_code, year, criterion, source, position, weight) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(soum_code, year, c.name, c.source, c.position, c.weight) for c in items],
    )


async def add_to_list(
    conn: Conn,
    *,
    soum_code: str,
    year: int,
    proposal_id: int,
    round_id: int,
    bag_rank: int,
    votes: int,
    voters: int,
    now: datetime,
) -> int:
    """Append a proposal to the soum list; returns its number (the old one if already in)."""
    row = await fetchone(conn, "SELECT number FROM soum_list WHERE proposal_id = ?", (proposal_id,))
    if row is not None:
        return int(row["number"])
    row = await fetchone(
        conn,
        "SELECT coalesce(max(number), 0) + 1 AS n FROM soum_list WHERE soum_code = ? AND year = ?",
        (soum_code, year),
    )
    number = int(row["n"]) if row else 1
    await conn.execute(
        "INSERT INTO soum_list (soum_code, year, number, proposal_id, round_id, bag_rank, "
        "votes, voters, submitted_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (soum_code, year, number, proposal_id, round_id, bag_rank, votes, voters, to_db(now)),
    )
    return number


_LIST_SQL = (
    "SELECT s.*, r.bag_code, p.text, p.beneficiaries, p.cost_mnt, p.flag FROM soum_list s "
    "JOIN rounds r ON r.id = s.round_id JOIN proposals p ON p.id = s.proposal_id "
)


def _item(r: Row) -> ListItem:
    return ListItem(
        r["soum_code"],
        r["year"],
        r["number"],
        r["proposal_id"],
        r["round_id"],
        r["bag_code"],
        r["bag_rank"],
        r["votes"],
        r["voters"],
        r["text"],
        r["beneficiaries"],
        r["cost_mnt"],
        r["flag"],
        from_db(r["submitted_at"]),
    )


async def soum_list(conn: Conn, soum_code: str, year: int) -> list[ListItem]:
    rows = await fetchall(
        conn,
        _LIST_SQL + "WHERE s.soum_code = ? AND s.year = ? ORDER BY s.number",
        (soum_code, year),
    )
    return [_item(r) for r in rows]


async def list_item(conn: Conn, soum_code: str, year: int, number: int) -> ListItem | None:
    row = await fetchone(
        conn,
        _LIST_SQL + "WHERE s.soum_code = ? AND s.year = ? AND s.number = ?",
        (soum_code, year, number),
    )
    return _item(row) if row else None


async def list_of_round(conn: Conn, round_id: int) -> tuple[str, int] | None:
    """The soum list (soum code, year) that holds proposals of this round, if any."""
    row = await fetchone(
        conn, "SELECT soum_code, year FROM soum_list WHERE round_id = ? LIMIT 1", (round_id,)
    )
    return (str(row["soum_code"]), int(row["year"])) if row else None


async def latest_year(conn: Conn, soum_code: str) -> int | None:
    """The newest planning year the soum has a list (or a ceiling) for."""
    row = await fetchone(
        conn,
        "SELECT max(year) AS y FROM (SELECT year FROM soum_list WHERE soum_code = ? "
        "UNION ALL SELECT year FROM soum_ceilings WHERE soum_code = ?) AS years",
        (soum_code, soum_code),
    )
    return int(row["y"]) if row and row["y"] is not None else None


async def set_score(
    conn: Conn,
    *,
    proposal_id: int,
    person_id: int,
    criterion: str,
    value: int,
    via: str,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO soum_scores (proposal_id, person_id, criterion, value, via, at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (proposal_id, person_id, criterion) DO UPDATE "
        "SET value = excluded.value, via = excluded.via, at = excluded.at",
        (proposal_id, person_id, criterion, value, via, to_db(now)),
    )


async def scores(conn: Conn, soum_code: str, year: int) -> list[Score]:
    """Every member's scores of the soum's list for the year."""
    rows = await fetchall(
        conn,
        "SELECT sc.* FROM soum_scores sc JOIN soum_list s ON s.proposal_id = sc.proposal_id "
        "WHERE s.soum_code = ? AND s.year = ? ORDER BY sc.proposal_id, sc.person_id, sc.criterion",
        (soum_code, year),
    )
    return [
        Score(r["proposal_id"], r["person_id"], r["criterion"], r["value"], r["via"]) for r in rows
    ]


@dataclass(frozen=True, slots=True)
class AllocationItem:
    rule: str
    proposal_id: int
    position: int
    funded: bool
    reason: str
    money_left: str | None
    score: str | None


@dataclass(frozen=True, slots=True)
class AllocationRun:
    id: int
    soum_code: str
    year: int
    ceiling_mnt: int
    run_at: datetime  # when this allocation was computed
    chosen_rule: str | None  # the rule in force from this run on (None: a look only)
    items: tuple[AllocationItem, ...]
    chosen_at: datetime | None = None  # when the working group chose the rule
    inputs: str | None = None  # fingerprint of the inputs (None before migration 0013)
    cause: str | None = None  # why it ran: view | chosen | list | scores | weights | ceiling

    def funded(self, rule: str | None = None) -> frozenset[int]:
        """Proposal ids the run funds under ``rule`` (default: the rule chosen)."""
        rule = rule or self.chosen_rule
        return frozenset(i.proposal_id for i in self.items if i.rule == rule and i.funded)


async def record_allocation(
    conn: Conn,
    *,
    soum_code: str,
    year: int,
    ceiling_mnt: int,
    now: datetime,
    actor: str,
    actor_id: int | None,
    items: Sequence[AllocationItem],
    chosen_rule: str | None = None,
    chosen_at: datetime | None = None,
    inputs: str | None = None,
    cause: str | None = None,
) -> int:
    """Record a run. A run recomputed under the rule in force keeps the time the rule was
    chosen (``chosen_at``); a rule chosen now is chosen ``now``."""
    if chosen_rule and chosen_at is None:
        chosen_at = now
    run_id = await insert(
        conn,
        "INSERT INTO soum_allocations (soum_code, year, ceiling_mnt, run_at, actor, actor_id, "
        "chosen_rule, chosen_at, inputs, cause) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            soum_code,
            year,
            ceiling_mnt,
            to_db(now),
            actor,
            actor_id,
            chosen_rule,
            to_db(chosen_at) if chosen_rule and chosen_at else None,
            inputs,
            cause,
        ),
    )
    await conn.executemany(
        "INSERT INTO soum_allocation_items (allocation_id, rule, proposal_id, position, funded, "
        "reason, money_left, score) VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                run_id,
                i.rule,
                i.proposal_id,
                i.position,
                int(i.funded),
                i.reason,
                i.money_left,
                i.score,
            )
            for i in items
        ],
    )
    return run_id


async def latest_allocation(
    conn: Conn, soum_code: str, year: int, *, chosen_only: bool = False
) -> AllocationRun | None:
    """The newest run; with ``chosen_only`` the newest run of the rule in force."""
    sql = "SELECT * FROM soum_allocations WHERE soum_code = ? AND year = ? "
    if chosen_only:
        sql += "AND chosen_rule IS NOT NULL "
    row = await fetchone(conn, sql + "ORDER BY id DESC LIMIT 1", (soum_code, year))
    if row is None:
        return None
    items = await fetchall(
        conn,
        "SELECT * FROM soum_allocation_items WHERE allocation_id = ? ORDER BY rule, position",
        (row["id"],),
    )
    return AllocationRun(
        row["id"],
        row["soum_code"],
        row["year"],
        row["ceiling_mnt"],
        from_db(row["run_at"]),
        row["chosen_rule"],
        tuple(
            AllocationItem(
                i["rule"],
                i["proposal_id"],
                i["position"],
                bool(i["funded"]),
                i["reason"],
                i["money_left"],
                i["score"],
            )
            for i in items
        ),
        from_db(row["chosen_at"]) if row["chosen_at"] else None,
        row["inputs"],
        row["cause"],
    )


async def in_force(conn: Conn, soum_code: str, year: int) -> AllocationRun | None:
    """The run that holds the rule in force (the newest run with a rule chosen), or None
    while the working group has chosen no rule."""
    return await latest_allocation(conn, soum_code, year, chosen_only=True)


async def soums_with_lists(conn: Conn) -> list[tuple[str, int]]:
    rows = await fetchall(
        conn, "SELECT DISTINCT soum_code, year FROM soum_list ORDER BY soum_code, year"
    )
    return [(r["soum_code"], int(r["year"])) for r in rows]
