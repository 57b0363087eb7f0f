"""Turnout is the close's turnout in every report: citizens who join the bag after its
round closed did not miss the vote, so the results (ДҮН), the round report behind the XLSX,
the minutes and the chart, the participation rows (CSV/XLSX, the soum's report) all keep
the number of citizens registered when voting closed (rounds.registered_at_close)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from handlers.reports.data import participation, round_report, soum_report
from storage import people, rounds
from tests.conftest import ZAG_BAG_1
from tests.soum.scenario import BAGS, PLAN_YEAR, ZAG, Person, run_bag, working_group


async def test_late_joiners_change_no_turnout(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    s = await working_group(sanal, client)
    await run_bag(s, ZAG_BAG_1)
    voted = len(BAGS[ZAG_BAG_1]["ballots"])
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        assert rnd.registered_at_close is not None
        at_close = rnd.registered_at_close

    # Five neighbours join after the close: the bag has more citizens today.
    for i in range(5):
        late = Person(sanal, client, f"+9769977{i:04d}")
        assert "Бүртгэгдлээ" in await late.say(f"НЭГДЭХ {ZAG_BAG_1}")
    async with sanal.db.write() as conn:
        today = await people.count_registered(conn, ZAG_BAG_1)
        assert today == at_close + 5

        rep = await round_report(conn, rnd)  # the round XLSX, the minutes, the chart
        assert (rep.participation.registered, rep.participation.voted) == (at_close, voted)
        rows = {r.code: r for r in await participation(conn, ZAG, PLAN_YEAR)}
        bag_row = rows[ZAG_BAG_1]
        assert (bag_row.registered, bag_row.voted) == (at_close, voted)
        assert bag_row.turnout == rep.participation.turnout == voted / at_close
        # The soum's total adds the close's figure of a bag that voted.
        soum_row = rows[ZAG]
        others = sum(r.registered for code, r in rows.items() if code not in (ZAG, ZAG_BAG_1))
        assert soum_row.registered == at_close + others
        srep = await soum_report(conn, ZAG, PLAN_YEAR)
        assert {r.code: r.registered for r in srep.participation}[ZAG_BAG_1] == at_close

    # The governor's ДҮН says the same figure.
    results = await s.governors[ZAG_BAG_1].say("ДҮН")
    assert f"Оролцоо {voted}/{at_close} (" in results, results
