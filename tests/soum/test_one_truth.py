"""The rule in force is one fact: every report shows the same funded set, the same rule and
the same time it was computed, after every kind of change of the allocation's inputs.

The reports read here are the ones a soum and its bags get: the soum's report data (what
its XLSX shows), each bag's round report (its XLSX, minutes and chart), each bag's .pb, the
soum's .pb, the allocation CSV and JSON, and the run recorded in the database.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from handlers.reports.allocation_export import allocation_csv, allocation_json
from handlers.reports.data import round_report, soum_report
from handlers.reports.pabulib import read_pb, round_pb, soum_pb
from handlers.soum import import_scores
from storage import audit, rounds, soum
from tests.soum.scenario import (
    BAGS,
    MEMBERS,
    PLAN_YEAR,
    ZAG,
    ZAG_BAG_3,
    Person,
    run_bag,
    scored_and_chosen,
    working_group,
)

PB_RULE = {"greedy": "greedy-custom", "mes": "equalshares/add1", "mes_plain": "equalshares"}


@dataclass(frozen=True)
class Shown:
    """What one report says: the rule in force, when computed, and the funded list numbers."""

    rule: str | None
    computed_at: datetime | str | None
    funded: frozenset[int]


async def every_report(sanal: Sanal) -> dict[str, Shown]:
    """Each report's account of the soum's allocation, read as its reader would."""
    out: dict[str, Shown] = {}
    async with sanal.db.write() as conn:
        srep = await soum_report(conn, ZAG, PLAN_YEAR)
        plan = srep.plan
        out["soum report"] = Shown(
            srep.chosen_rule,
            plan.computed_at,
            frozenset(ln.item.number for ln in plan.funded_in_force() or []),
        )
        # Each bag's round report, and its .pb, in soum list numbers.
        bag_funded: set[int] = set()
        pb_funded: set[int] = set()
        rules, times, pb_rules = set(), set(), set()
        for bag in BAGS:
            rnd = await rounds.current(conn, bag)
            if rnd is None or rnd.status != "submitted":
                continue
            rep = await round_report(conn, rnd)
            rules.add(rep.rule_in_force)
            times.add(rep.computed_at)
            soum_number = {ln.number: ln.soum_number for ln in rep.lines}
            for ln in rep.lines:
                assert ln.soum_number is not None, (bag, ln.number)
                # A rule in force decides every line of every bag: none shows "-".
                assert (ln.soum_funded is None) == (rep.rule_in_force is None), (bag, ln)
                if ln.soum_funded:
                    bag_funded.add(ln.soum_number)
            pb = read_pb(await round_pb(conn, rnd))
            pb_rules.add(pb.meta["rule"])
            for row in pb.projects:
                if row.get("selected") == "1":
                    pb_funded.add(soum_number[int(row["project_id"])])
            selected_cost = sum(int(r["cost"]) for r in pb.projects if r.get("selected") == "1")
            if rep.rule_in_force:  # the bag's budget is what the soum gives its projects
                assert int(pb.meta["budget"]) == selected_cost
        assert len(rules) == len(times) == len(pb_rules) == 1, (rules, times, pb_rules)
        rule = rules.pop()
        out["round reports"] = Shown(rule, times.pop(), frozenset(bag_funded))
        bag_pb_rule = pb_rules.pop()
        assert bag_pb_rule == (PB_RULE[rule] if rule else "unknown")
        out["bag .pb"] = Shown(rule, None, frozenset(pb_funded))

        whole = read_pb(await soum_pb(conn, ZAG, PLAN_YEAR))
        assert whole.meta["rule"] == bag_pb_rule
        assert int(whole.meta["budget"]) == plan.ceiling
        out["soum .pb"] = Shown(
            rule,
            None,
            frozenset(int(r["project_id"]) for r in whole.projects if r.get("selected") == "1"),
        )

        doc = json.loads(allocation_json(srep))
        out["allocation json"] = Shown(
            doc["rule_in_force"], doc["computed_at"], frozenset(doc["funded"])
        )
        rows = list(csv.DictReader(io.StringIO(allocation_csv(srep))))
        assert len({(r["rule_in_force"], r["computed_at"]) for r in rows}) == 1
        out["allocation csv"] = Shown(
            rows[0]["rule_in_force"] or None,
            rows[0]["computed_at"] or None,
            frozenset(int(r["soum_number"]) for r in rows if r["funded"] == "1"),
        )
        run = await soum.in_force(conn, ZAG, PLAN_YEAR)
        number_of = {ln.item.proposal_id: ln.item.number for ln in plan.lines}
        out["recorded run"] = Shown(
            run.chosen_rule if run else None,
            run.run_at if run else None,
            frozenset(number_of[p] for p in run.funded()) if run else frozenset(),
        )
        assert not plan.stale
    return out


def agree(shown: dict[str, Shown]) -> Shown:
    """Every report shows the same rule, funded set and time (ISO texts in the soum's zone);
    returns that."""
    first = shown["soum report"]
    for name, s in shown.items():
        assert s.rule == first.rule, (name, s.rule, first.rule)
        assert s.funded == first.funded, (name, sorted(s.funded), sorted(first.funded))
        if isinstance(s.computed_at, str):
            assert first.computed_at is not None
            assert datetime.fromisoformat(s.computed_at) == first.computed_at, name
            assert s.computed_at.endswith("+08:00"), s.computed_at  # Заг is in Ulaanbaatar time
        elif s.computed_at is not None or name in ("round reports", "recorded run"):
            assert s.computed_at == first.computed_at, (name, s.computed_at, first.computed_at)
    return first


async def recomputations(sanal: Sanal) -> list[dict[str, Any]]:
    async with sanal.db.write() as conn:
        return [
            json.loads(r["detail"]) for r in await audit.entries(conn, "soum.allocate.recompute")
        ]


async def notices(member: Person) -> list[str]:
    return [m["text"] for m in await member.inbox() if "хуваарилалтыг дахин тооцлоо" in m["text"]]


async def test_a_third_bag_joins_while_equal_shares_is_in_force(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    s = await working_group(sanal, client)
    bags = list(BAGS)
    for bag in bags[:2]:
        await run_bag(s, bag)
    a = s.members[0]
    assert "80 сая" in await a.say("ХЯЗГААР 80 сая")
    chosen = await a.say("ХУВААРИЛАХ ТЭГШ")
    assert chosen.startswith("Сонгосон: тэгш хуваалт. Санхүүжих:")
    chose_at = sanal.clock.now()
    before = agree(await every_report(sanal))
    assert before.rule == "mes"
    assert before.computed_at == chose_at
    assert max(before.funded) <= 5  # two bags: list numbers 1-5

    # The third bag's khural confirms its list: the soum list grows to 7 and the allocation
    # in force is recomputed with it, under the same rule.
    await run_bag(s, ZAG_BAG_3)
    confirmed_at = sanal.clock.now()
    after = agree(await every_report(sanal))
    assert after.rule == "mes"
    assert after.computed_at == confirmed_at
    async with sanal.db.write() as conn:
        plan = (await soum_report(conn, ZAG, PLAN_YEAR)).plan
        run = await soum.in_force(conn, ZAG, PLAN_YEAR)
    assert [ln.item.number for ln in plan.lines if ln.bag_name.startswith("3-р баг")] == [6, 7]
    assert run is not None
    assert run.cause == "list"
    assert run.chosen_at == chose_at
    assert run.run_at == confirmed_at
    (detail,) = await recomputations(sanal)
    assert detail["cause"] == "list"
    assert detail["rule"] == "mes"
    assert set(detail["before"]) == before.funded
    assert set(detail["funded"]) == after.funded
    # Six more voters share the ceiling: equal shares funds another set, and every member
    # of the working group is told what it funds now.
    assert after.funded != before.funded
    assert detail["changed"] is True
    assert detail["members_told"] == len(MEMBERS)
    for member in s.members:
        (notice,) = await notices(member)
        assert notice.startswith("Шинэ жагсаалт ирсэн тул хуваарилалтыг дахин тооцлоо")
        assert "Дүрэм: тэгш хуваалт" in notice
        assert {
            int(n) for n in notice.split("Санхүүжих: ")[1].split(" (")[0].split("№") if n.strip()
        } == after.funded


async def test_every_kind_of_change_under_the_standard_rule(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    s = await scored_and_chosen(sanal, client)  # three bags scored, 80 сая, ЭРЭМБЭ chosen
    a, b = s.members[0], s.members[1]
    first = agree(await every_report(sanal))
    assert first.rule == "greedy"

    async def changed_by(say: Any, cause: str) -> Shown:
        runs = len(await recomputations(sanal))
        await say()
        now = sanal.clock.now()
        shown = agree(await every_report(sanal))
        assert shown.rule == "greedy", cause
        assert shown.computed_at == now, cause
        log = await recomputations(sanal)
        assert len(log) == runs + 1, log[-1]
        assert log[-1]["cause"] == cause, log[-1]
        return shown

    # A member scores a funded proposal down: the standard rule's ranking moves.
    top = min(first.funded)
    shown = await changed_by(lambda: b.say(f"ОНОО {top} 1 1"), "scores")
    # The weights: votes and households now count most.
    shown = await changed_by(lambda: a.say("ЖИН 1 1 4 4"), "weights")
    # The ceiling: less money.
    shown = await changed_by(lambda: a.say("ХЯЗГААР 45 сая"), "ceiling")
    assert sum(1 for _ in shown.funded) < len(first.funded)

    # A filled score sheet, imported for the third member.
    async def import_sheet() -> None:
        async with sanal.db.write() as conn:
            sheet = {n: {"importance": 5 if n == top else 1, "fit": 5} for n in range(1, 8)}
            await import_scores(
                conn, sanal.settings, ZAG, PLAN_YEAR, s.member_ids[2], sheet,
                sanal.clock.now(), actor="test", channel="cli",
            )  # fmt: skip

    await changed_by(import_sheet, "scores")
    # Each recomputation that changed the funded set told the members; one that did not
    # was recorded and audited, and told nobody (SMS costs).
    log = await recomputations(sanal)
    assert {d["members_told"] for d in log if d["changed"]} == {len(MEMBERS)}
    assert all(d["members_told"] == 0 for d in log if not d["changed"])
    assert len(await notices(a)) == sum(1 for d in log if d["changed"])


async def test_no_rule_chosen_every_report_says_so(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    s = await working_group(sanal, client)
    for bag in BAGS:
        await run_bag(s, bag)
    assert "80 сая" in await s.members[0].say("ХЯЗГААР 80 сая")
    assert "Сонгох:" in await s.members[0].say("ХУВААРИЛАХ")  # a look chooses nothing
    shown = agree(await every_report(sanal))
    assert shown == Shown(None, None, frozenset())
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_3)
        assert rnd is not None
        pb = read_pb(await round_pb(conn, rnd))
        whole = read_pb(await soum_pb(conn, ZAG, PLAN_YEAR))
    # A bag's budget while no rule is chosen: its proposals' total; nothing selected.
    assert int(pb.meta["budget"]) == sum(int(r["cost"]) for r in pb.projects) == 28_000_000
    assert "no allocation rule chosen" in pb.meta["comment"]
    assert all("selected" not in r for r in [*pb.projects, *whole.projects])
    assert whole.meta["rule"] == "unknown"
    assert "no allocation rule chosen" in whole.meta["comment"]
    assert await recomputations(sanal) == []  # nothing in force, nothing recomputed


async def test_a_run_without_a_fingerprint_is_brought_up_to_date(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    # A run recorded before migration 0013 has no fingerprint of its inputs: the reports
    # call it stale, and the next ХУВААРИЛАХ records it again under the same rule.
    s = await scored_and_chosen(sanal, client)
    async with sanal.db.write() as conn:
        await conn.execute("UPDATE soum_allocations SET inputs = NULL, cause = NULL")
        plan = (await soum_report(conn, ZAG, PLAN_YEAR)).plan
    assert plan.rule_in_force == "greedy"
    assert plan.stale
    reply = await s.members[2].say("ХУВААРИЛАХ")
    assert "Мөрдөж буй дүрэм: эрэмбээр, багтахгүйг алгасах (" in reply, reply
    shown = agree(await every_report(sanal))
    assert shown.rule == "greedy"
    assert shown.computed_at == sanal.clock.now()
    (detail,) = await recomputations(sanal)
    # Nothing funded changed: recorded and audited, nobody's phone rings.
    assert detail["cause"] == "view"
    assert detail["changed"] is False
    assert detail["members_told"] == 0
    assert await notices(s.members[0]) == []
