"""The soum working group's whole path through the simulator, and its refusals.

Three bags' rounds are confirmed by their khurals and land on the soum list; the members
are told; three members score (Cyrillic words, Latin words and a filled XLSX score sheet);
a member sets the ceiling and the weights; both allocation rules are shown side by side,
each within the ceiling and each equal to an independent computation (the standard rule
from the combined scores computed here, equal shares from pabutools on the same ballots);
the rule chosen is recorded and audited; the reports are written and open.
"""

from __future__ import annotations

import itertools
import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance
from pabutools.election import Project as PbProject
from pabutools.rules import (
    completion_by_rule_combination,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

from bot.app import Sanal
from bot.core.sms_segments import count_segments
from handlers.reports.xlsx import read_score_sheet, save, score_sheet
from handlers.soum import import_scores
from handlers.soum_plan import build
from storage import audit, outbox, people, proposals, rounds, soum
from storage.soum import ListItem
from tests.catalog import assert_has, assert_reply, matches
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official
from tests.soum.scenario import (
    BAGS,
    MEMBERS,
    OTHER_MEMBER,
    OTHER_SOUM,
    ZAG,
    Person,
    citizens_of,
    three_bags,
    working_group,
)

YEAR = 2028  # rounds opened in March 2027 plan for the next year
CEILING = 80_000_000
WEIGHTS = (4, 3, 2, 1)  # importance, fit, beneficiaries, votes
# Each member's (importance, fit) per soum list number.
SCORES_A = {1: (5, 4), 2: (4, 5), 3: (2, 2), 4: (5, 5), 5: (3, 2), 6: (4, 4), 7: (1, 2)}
SCORES_B = {1: (4, 4), 2: (5, 5), 3: (2, 3), 4: (4, 5), 5: (2, 2), 6: (3, 4), 7: (2, 1)}
SCORES_C = {1: (5, 5), 2: (3, 4), 3: (1, 2), 4: (5, 4), 5: (3, 3), 6: (4, 3), 7: (2, 2)}

SOUM_TABLES = (
    "soum_ceilings",
    "soum_criteria",
    "soum_list",
    "soum_scores",
    "soum_allocations",
    "soum_allocation_items",
)


async def soum_state(sanal: Sanal) -> tuple[Any, ...]:
    async with sanal.db.write() as conn:
        out = []
        for table in SOUM_TABLES:
            rows = await conn.execute_fetchall(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
            out.append(tuple(tuple(r) for r in rows))
        return tuple(out)


async def buttons_of_last_reply(sanal: Sanal, phone: str) -> list[str]:
    async with sanal.db.write() as conn:
        rows = await conn.execute_fetchall(
            "SELECT extra FROM outbox WHERE address = ? AND kind = 'reply' ORDER BY id DESC "
            "LIMIT 1",
            (f"tel:{phone}",),
        )
    extra = json.loads(rows[0][0])
    return [b["data"] for row in extra.get("buttons", []) for b in row]


def expected_votes() -> dict[tuple[str, int], int]:
    """(bag, bag proposal number) -> votes, counted from the scenario's ballots."""
    out: dict[tuple[str, int], int] = {}
    for bag, spec in BAGS.items():
        for n in range(1, len(spec["proposals"]) + 1):
            out[(bag, n)] = sum(1 for b in spec["ballots"] if n in b)
    return out


async def list_by_number(sanal: Sanal) -> tuple[dict[int, ListItem], dict[int, tuple[str, int]]]:
    """The soum list, and each list number's (bag, bag proposal number)."""
    async with sanal.db.write() as conn:
        items = {i.number: i for i in await soum.soum_list(conn, ZAG, YEAR)}
        origin: dict[int, tuple[str, int]] = {}
        for i in items.values():
            rnd = await rounds.get(conn, i.round_id)
            assert rnd is not None
            p = await proposals.get(conn, i.proposal_id)
            assert p is not None
            origin[i.number] = (rnd.bag_code, p.number)
    return items, origin


def combined(items: dict[int, ListItem]) -> dict[int, Fraction]:
    """The documented combined score, computed here from first principles."""
    most = max(i.beneficiaries or 0 for i in items.values())
    out = {}
    for n, item in items.items():
        given = [SCORES_A[n], SCORES_B[n], SCORES_C[n]]
        importance = Fraction(sum(s[0] - 1 for s in given), 4 * len(given))
        fit = Fraction(sum(s[1] - 1 for s in given), 4 * len(given))
        beneficiaries = Fraction(item.beneficiaries or 0, most)
        votes = Fraction(item.votes, item.voters)
        w = WEIGHTS
        out[n] = (w[0] * importance + w[1] * fit + w[2] * beneficiaries + w[3] * votes) / sum(w)
    return out


def funded_in(reply_line: str) -> list[int]:
    return [int(n) for n in re.findall(r"№(\d+)", reply_line)]


async def test_three_bags_scored_allocated_and_reported(
    sanal: Sanal, client: TestClient[Any, Any], tmp_path: Path
) -> None:
    s = await three_bags(sanal, client)
    a, b, c = s.members

    # --- the khurals' lists reach the soum, and every member is told ----------------------
    sizes = {bag: len(spec["proposals"]) for bag, spec in BAGS.items()}
    for bag, reply in s.confirm_replies.items():
        assert f"{BAGS[bag]['attendance']} хүн" in reply
        assert_has(reply, "soum.submitted", count=sizes[bag], members=3)
    items, origin = await list_by_number(sanal)
    assert sorted(items) == list(range(1, 8))
    votes = expected_votes()
    for n, item in items.items():
        bag, number = origin[n]
        assert item.votes == votes[(bag, number)]
        assert item.voters == len(BAGS[bag]["ballots"])
    async with sanal.db.write() as conn:
        for bag in BAGS:
            rnd = await rounds.current(conn, bag)
            assert rnd is not None
            assert rnd.status == "submitted"
            assert rnd.attendance == BAGS[bag]["attendance"]
        submits = await audit.entries(conn, "round.submit")
    assert [json.loads(r["detail"])["members_told"] for r in submits] == [3, 3, 3]
    for member in s.members:
        inbox = await member.inbox()
        notices = [m["text"] for m in inbox if matches(m["text"], "soum.submitted_notice")]
        assert len(notices) == 3, notices
        for notice, (first_n, last_n) in zip(notices, [(1, 3), (4, 5), (6, 7)], strict=True):
            assert_reply(notice, "soum.submitted_notice", first=first_n, last=last_n)
        # The bag, "from" (ablative): "1-р баг, Баянбулагаас".
        assert_reply(notices[0], "soum.submitted_notice", bag="1-р баг, Баянбулаг")
    other_inbox = await Phone(client, OTHER_MEMBER).inbox()
    assert not [m for m in other_inbox if matches(m["text"], "soum.submitted_notice")]

    # --- the ceiling and the weights ---------------------------------------------------------
    assert_reply(await a.say("ХУВААРИЛАХ"), "alloc.no_ceiling")
    ceiling = await a.say("ХЯЗГААР 80 сая")
    assert_reply(ceiling, "ceiling.ok", soum="Заг", year=2028, amount="80 сая")
    reply = await b.say("weights 4 3 2 1")  # member B writes in Latin letters
    assert "ach holbogdol: 4" in reply, reply
    assert "irgediin sanal: 1" in reply, reply
    async with sanal.db.write() as conn:
        assert await soum.ceiling(conn, ZAG, YEAR) == CEILING
        assert tuple(c.weight for c in await soum.criteria(conn, ZAG, YEAR)) == WEIGHTS

    # --- member A scores in Cyrillic, the first one step by step as Telegram's buttons do ----
    first = await a.say("ОНОО")
    assert first.startswith("№1 ")
    assert "ач холбогдол 1-5?" in first
    assert await buttons_of_last_reply(sanal, a.number) == [f"SCORE 1 {v}" for v in range(1, 6)]
    step = await a.say(f"SCORE 1 {SCORES_A[1][0]}")  # the button pressed
    assert "бодлогод нийцэх 1-5?" in step
    assert await buttons_of_last_reply(sanal, a.number) == [
        f"SCORE 1 {SCORES_A[1][0]} {v}" for v in range(1, 6)
    ]
    async with sanal.db.write() as conn:
        assert await soum.scores(conn, ZAG, YEAR) == []  # half a score is not stored
    done = await a.say("SCORE 1 {} {}".format(*SCORES_A[1]))
    assert_has(done, "score.ok", n=1, given="5 4", members=1)
    assert "ОНОО 2" in done  # the next one to score, by the word that scores it
    for n, (imp, fit) in SCORES_A.items():
        if n > 1:
            scored = await a.say(f"ОНОО {n} {imp} {fit}")
            assert_has(scored, "score.ok", n=n, given=f"{imp} {fit}")
    assert_reply(await a.say("ОНОО"), "score.all_done")

    # --- member B in Latin letters ------------------------------------------------------------
    for n, (imp, fit) in SCORES_B.items():
        reply = await b.say(f"score {n} {imp} {fit}")
        assert f"No{n} sanald {imp} {fit} onoo ogloo" in reply, reply
        assert "(2 gishuun)" in reply, reply

    # --- member C fills the exported score sheet, as in Excel, and it is read back ----------
    async with sanal.db.write() as conn:
        plan = await build(conn, ZAG, YEAR)
    sheet_path = tmp_path / "scores.xlsx"
    save(score_sheet(plan), sheet_path)
    wb = load_workbook(sheet_path)
    ws = wb.worksheets[0]
    header = [cell.value for cell in ws[1]]
    imp_col = header.index("ач холбогдол (1-5)") + 1
    fit_col = header.index("бодлогод нийцэх (1-5)") + 1
    for row in range(2, ws.max_row + 1):
        n = ws.cell(row=row, column=1).value
        ws.cell(row=row, column=imp_col, value=SCORES_C[n][0])
        ws.cell(row=row, column=fit_col, value=SCORES_C[n][1])
    wb.save(sheet_path)
    filled = read_score_sheet(sheet_path)
    assert (filled.soum_code, filled.year) == (ZAG, YEAR)
    assert filled.scores == {n: {"importance": i, "fit": f} for n, (i, f) in SCORES_C.items()}
    async with sanal.db.write() as conn:
        stored = await import_scores(
            conn,
            sanal.settings,
            ZAG,
            YEAR,
            s.member_ids[2],
            filled.scores,
            sanal.clock.now(),
            actor="test",
            channel="cli",
        )
        assert stored == 14
        kept = await soum.scores(conn, ZAG, YEAR)
    # Every member's own scores are kept: 3 members x 7 proposals x 2 criteria.
    assert len(kept) == 42
    assert {(k.person_id, k.via) for k in kept} == {
        (s.member_ids[0], "message"),
        (s.member_ids[1], "message"),
        (s.member_ids[2], "xlsx"),
    }

    # --- the combined score is the documented weighted mean ---------------------------------
    want = combined(items)
    async with sanal.db.write() as conn:
        plan = await build(conn, ZAG, YEAR)
    assert {line.item.number: line.combined.score for line in plan.lines} == want
    assert all(line.combined.members == 3 for line in plan.lines)
    ranked = sorted(
        items,
        key=lambda n: (-want[n], -(items[n].beneficiaries or 0), -items[n].votes, n),
    )
    assert [line.item.number for line in plan.lines] == ranked

    # --- both rules, side by side --------------------------------------------------------------
    reply = await c.say("ХУВААРИЛАХ")
    lines = reply.splitlines()
    assert lines[0] == "Заг, 2028: хязгаар 80 сая; үнэлээгүй 0"
    assert lines[1].startswith("1) Эрэмбээр:")
    assert lines[2].startswith("2) Тэгш хуваалт:")

    # The standard rule: rank order, skipping what no longer fits.
    left, want_greedy, skipped_then_funded = CEILING, [], False
    for n in ranked:
        cost = items[n].cost_mnt or 0
        if cost <= left:
            left -= cost
            want_greedy.append(n)
            # Fewer funded than its place in the ranking: something before it was skipped.
            skipped_then_funded |= len(want_greedy) < ranked.index(n) + 1
    assert skipped_then_funded, "the scenario should skip one and fund a cheaper later one"
    assert funded_in(lines[1]) == sorted(want_greedy, key=ranked.index)

    # Equal shares over every citizen's ballot of the three bags, by pabutools.
    number_of = {origin[n]: n for n in items}
    inst = Instance([PbProject(f"{n:04d}", items[n].cost_mnt) for n in items], budget_limit=CEILING)
    ballots = [
        ApprovalBallot([inst.get_project(f"{number_of[(bag, p)]:04d}") for p in ballot])
        for bag, spec in BAGS.items()
        for ballot in spec["ballots"]
    ]
    mes = completion_by_rule_combination(
        inst,
        ApprovalProfile(ballots),
        [method_of_equal_shares, greedy_utilitarian_welfare],
        [{"sat_class": Cost_Sat}, {"sat_class": Cost_Sat}],
    )
    want_mes = {int(p.name) for p in mes}
    assert set(funded_in(lines[2])) == want_mes
    assert set(want_greedy) != want_mes  # the two rules really differ here
    for line, funded in ((lines[1], want_greedy), (lines[2], want_mes)):
        spent = sum(items[n].cost_mnt or 0 for n in funded)
        assert spent <= CEILING
        assert f"({spent // 1_000_000} сая)" in line

    # Every project has its reason under each rule, in the recorded run.
    async with sanal.db.write() as conn:
        run = await soum.latest_allocation(conn, ZAG, YEAR)
    assert run is not None
    assert run.chosen_rule is None
    assert run.ceiling_mnt == CEILING
    number_of_pid = {i.proposal_id: n for n, i in items.items()}
    for item in run.items:
        n = number_of_pid[item.proposal_id]
        funded = want_greedy if item.rule == "greedy" else want_mes
        assert item.funded == (n in funded)
        if item.rule == "greedy":
            assert item.reason == ("funded" if item.funded else "over_budget")
        else:
            assert item.reason in (
                ("funded_mes", "funded_completion") if item.funded else ("over_budget",)
            )
        if not item.funded:  # out because its cost was more than the money left at its turn
            assert Fraction(item.money_left or "0") < (items[n].cost_mnt or 0)

    # --- the rule chosen is recorded and audited ----------------------------------------------
    chosen = await a.say("ХУВААРИЛАХ ТЭГШ")
    assert chosen.startswith("Сонгосон: тэгш хуваалт. Санхүүжих:")
    assert set(funded_in(chosen)) == want_mes
    async with sanal.db.write() as conn:
        run = await soum.latest_allocation(conn, ZAG, YEAR, chosen_only=True)
        log = await audit.entries(conn, "soum.allocate.choose")
        member_a = await people.by_phone(conn, a.number)
    assert run is not None
    assert run.chosen_rule == "mes"
    assert len(log) == 1
    assert log[0]["actor_id"] == (member_a.id if member_a else None)
    detail = json.loads(log[0]["detail"])
    assert detail["rule"] == "mes"
    assert set(detail["mes"]) == want_mes
    assert sorted(detail["greedy"]) == sorted(want_greedy)

    # --- the reports are written and open with their readers ---------------------------------
    await write_and_open_reports(sanal, tmp_path / "reports", want_mes, items)


async def write_and_open_reports(
    sanal: Sanal, folder: Path, funded: set[int], items: dict[int, ListItem]
) -> None:
    from handlers.reports.data import round_report, soum_report

    async with sanal.db.write() as conn:
        srep = await soum_report(conn, ZAG, YEAR)
        reps = [await round_report(conn, r) for b in BAGS if (r := await rounds.current(conn, b))]
    open_reports(srep, reps, folder, funded, items)


def open_reports(
    srep: Any, reps: list[Any], folder: Path, funded: set[int], items: dict[int, ListItem]
) -> None:
    from pypdf import PdfReader

    from handlers.reports.chart import png_size, results_png
    from handlers.reports.minutes_pdf import minutes_pdf
    from handlers.reports.xlsx import round_workbook, soum_workbook

    folder.mkdir()
    save(soum_workbook(srep), folder / "soum.xlsx")
    ws = load_workbook(folder / "soum.xlsx")["Хуваарилалт"]
    rows = list(ws.iter_rows(values_only=True))
    # Equal shares' decisions: the rows under its heading, up to its labelled totals.
    start = next(i for i, r in enumerate(rows) if str(r[0]).startswith("тэгш хуваалт: "))
    block = itertools.takewhile(lambda r: r[1] is not None, rows[start + 2 :])
    mes_rows = {r[1]: r for r in block}
    assert {n for n, r in mes_rows.items() if r[3] == "тийм"} == funded
    assert sorted(mes_rows) == sorted(items)
    for rep in reps:
        stem = rep.bag.code
        save(round_workbook(rep), folder / f"round-{stem}.xlsx")
        minutes_pdf(rep, folder / f"minutes-{stem}.pdf")
        results_png(rep, folder / f"results-{stem}.png")
        wb = load_workbook(folder / f"round-{stem}.xlsx")
        table = list(wb["Дүн"].iter_rows(values_only=True))
        on_list = {r[7]: r[8] for r in table if isinstance(r[7], int)}
        # The bag's XLSX says which of its proposals the soum's chosen rule funds.
        assert on_list == {n: ("тийм" if n in funded else "үгүй") for n in on_list}
        text = "".join(p.extract_text() for p in PdfReader(folder / f"minutes-{stem}.pdf").pages)
        assert rep.bag.name in text
        assert "Хурлын дарга" in text
        png = (folder / f"results-{stem}.png").read_bytes()
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height) == png_size(len(rep.lines))


async def test_refusals_and_bad_scores_change_nothing(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    s = await three_bags(sanal, client)
    a = s.members[0]
    citizen = Person(sanal, client, citizens_of(ZAG_BAG_1)[0])
    governor = s.governors[ZAG_BAG_1]
    other = Person(sanal, client, OTHER_MEMBER)
    operator = Person(sanal, client, "+97699200001")
    await make_official(sanal, operator.number, "operator", ZAG_BAG_1)
    assert_reply(await a.say("ХЯЗГААР 80 сая"), "ceiling.ok", amount="80 сая")
    before = await soum_state(sanal)

    # Citizens, governors and a bag's operator are not the soum's working group.
    for who in (citizen, governor, operator):
        for text in ("ОНОО 1 4 5", "SCORE 1 4 5", "ХЯЗГААР 500 сая", "ЖИН 1 1 1 1",
                     "ХУВААРИЛАХ ТЭГШ"):  # fmt: skip
            assert_reply(await who.say(text), "soum.not_allowed")
    async with sanal.db.write() as conn:
        refused = await audit.entries(conn, "refused.soum_word")
        ids = {
            (await people.by_phone(conn, p.number)).id  # type: ignore[union-attr]
            for p in (citizen, governor, operator)
        }
    assert len(refused) == 15
    assert {r["actor_id"] for r in refused} == ids
    assert {json.loads(r["detail"])["intent"] for r in refused} == {
        "score",
        "ceiling",
        "weights",
        "allocate",
    }

    # A member of another soum reaches only their own soum's list: Заг's №1 is not theirs.
    assert_reply(await other.say("ОНОО 1 4 5"), "score.unknown", n=1)
    assert_reply(await other.say("ХУВААРИЛАХ"), "soum.no_list")

    # Bad scores and bad words: one clear reply each, nothing stored.
    cases = {
        "ОНОО 1 0 4": "Оноо 1-ээс 5 хүртэл байна. Жишээ: ОНОО 1 1-5 1-5",
        "ОНОО 1 6 4": "Оноо 1-ээс 5 хүртэл байна",
        "ОНОО 1 4 5 3": "Ихдээ 2 оноо",
        "ОНОО 99 4 5": "№99 санал сумын жагсаалтад алга",
        "ОНОО 1 4": "бодлогод нийцэх 1-5? ОНОО 1 4 4",  # a score missing: asked, not stored
        "ОНОО 1": "ач холбогдол 1-5?",
        "ХЯЗГААР": "Жишээ: ХЯЗГААР 150 сая",
        "ХЯЗГААР хоёр": "Жишээ: ХЯЗГААР 150 сая",
        "ЖИН 1 2": "4 жин бичнэ үү",
        "ЖИН 0 0 0 0": "4 жин бичнэ үү",
        "ХУВААРИЛАХ юу": "ХУВААРИЛАХ ЭРЭМБЭ эсвэл ХУВААРИЛАХ ТЭГШ",
    }
    for text, expect in cases.items():
        reply = await a.say(text)
        assert expect in reply, (text, reply)
    assert await soum_state(sanal) == before

    # Each of those messages got exactly one reply (the router's outbox dedupe).
    async with sanal.db.write() as conn:
        member = await people.by_phone(conn, a.number)
        assert member is not None
        rows = await conn.execute_fetchall(
            "SELECT inbox_id, count(*) FROM outbox WHERE person_id = ? AND kind = 'reply' "
            "GROUP BY inbox_id",
            (member.id,),
        )
        assert rows
        assert all(n == 1 for _, n in rows)
        assert await outbox.for_inbox(conn, rows[-1][0])

    # An operator of the soum itself may act for it.
    soum_operator = "+97699200002"
    await make_official(sanal, soum_operator, "operator", ZAG)
    by_operator = await Phone(client, soum_operator).say("ХЯЗГААР 90 сая")
    assert_reply(by_operator, "ceiling.ok", soum="Заг", year=2028, amount="90 сая")
    assert OTHER_SOUM != ZAG
    assert MEMBERS


async def test_a_long_allocation_still_fits_an_sms(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    # Eighteen small proposals in one bag, all funded: eighteen numbers per rule do not fit
    # three SMS segments, so the reply gives how many and where the list is.
    s = await working_group(sanal, client)
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = Person(sanal, client, GOVERNOR)
    herders = [Person(sanal, client, f"+976994400{i:02d}") for i in range(18)]
    assert_reply(await gov.say("НЭЭХ"), "round.opened_no_date")
    for i, h in enumerate(herders):
        assert_reply(await h.say(f"НЭГДЭХ {ZAG_BAG_1}"), "join.ok")
        assert_reply(await h.say(f"САНАЛ Засвар {i + 1}, 10 өрх, 2 сая"), "propose.ok", n=i + 1)
    await gov.say("ЗӨВ " + " ".join(str(i + 1) for i in range(18)))
    await gov.say("ХУРААЛТ")
    for i, h in enumerate(herders):
        await h.say(f"СОНГО {i + 1} {(i + 1) % 18 + 1}")
    await gov.say("ХААХ")
    assert_has(await gov.say("БАТЛАХ 30"), "soum.submitted", count=18)
    async with sanal.db.write() as conn:
        for pid in s.member_ids:
            sheet = {n: {"importance": 3, "fit": 4} for n in range(1, 19)}
            await import_scores(
                conn,
                sanal.settings,
                ZAG,
                YEAR,
                pid,
                sheet,
                sanal.clock.now(),
                actor="test",
                channel="cli",
            )
    a = s.members[0]
    await a.say("ХЯЗГААР 100 сая")
    reply = await a.say("ХУВААРИЛАХ")
    assert count_segments(reply).segments <= 3, reply
    assert "…" not in reply, reply
    assert "1) Эрэмбээр: 18 санал (36 сая)" in reply
    assert "2) Тэгш хуваалт: 18 санал (36 сая)" in reply
    assert "Жагсаалт: ТАЙЛАН" in reply
    assert "Сонгох:" in reply
    chosen = await a.say("ХУВААРИЛАХ ЭРЭМБЭ")
    # One rule alone still has room for every number.
    assert chosen.startswith("Сонгосон: эрэмбээр, багтахгүйг алгасах. Санхүүжих: №1 №2 ")
    assert chosen.endswith("№18 (36 сая)")
    assert count_segments(chosen).segments <= 3
