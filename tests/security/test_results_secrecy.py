"""Results that cannot give a ballot away, and one ballot per person per planning year
(issue 11, parts 2 and 6), through the simulator's JSON API on a real database.

With one or two voters, counts per proposal are their ballots (participation, who voted,
is no secret): below SANAL_MIN_VOTERS_FOR_COUNTS (3) every result says so instead of
counts: the governor's ДҮН and close reply, the notices to the chair and the voters, the
Telegram chart, and the report files (XLSX, minutes, chart, pabulib).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from bot.app import Sanal
from bot.cli import main
from bot.core.clock import ManualClock
from bot.web import build_web_app
from handlers.reports.data import CountsHidden, round_report, soum_report
from handlers.reports.pabulib import round_pb
from handlers.reports.xlsx import HIDDEN, score_sheet, soum_workbook
from storage import audit, ballots, rounds
from tests.conftest import GOVERNOR, ZAG_BAG_1, ZAG_BAG_2, Phone, make_official, make_settings

CHAIR = "+97699000009"
GOVERNOR_2 = "+97699000002"
VOTERS = ["+97699120001", "+97699120002", "+97699120003"]
PROPOSER = "+97688100001"


async def voting_in(sanal: Sanal, client: TestClient[Any, Any], bag: str, governor: str) -> None:
    """A round of the bag in voting, with two proposals on the ballot."""
    gov = Phone(client, governor)
    assert "эхэллээ" in await gov.say("НЭЭХ")
    proposer = Phone(client, PROPOSER)
    await proposer.say(f"НЭГДЭХ {bag}")
    await proposer.say("САНАЛ Малын худаг гаргах, 40 өрх")
    await proposer.say("САНАЛ Гудамжны гэрэл, 80 өрх")
    await gov.say("ЗӨВ 1 2")
    assert "эхэллээ" in await gov.say("ХУРААЛТ")


async def current(sanal: Sanal, bag: str) -> rounds.Round:
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, bag)
    assert rnd is not None
    return rnd


async def test_two_ballots_are_not_shown_as_counts_anywhere(
    sanal: Sanal, client: TestClient[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await make_official(sanal, CHAIR, "chair", ZAG_BAG_1)
    await voting_in(sanal, client, ZAG_BAG_1, GOVERNOR)
    a, b = Phone(client, VOTERS[0]), Phone(client, VOTERS[1])
    for voter, choice in ((a, "СОНГО 1"), (b, "СОНГО 1 2")):
        await voter.say(f"НЭГДЭХ {ZAG_BAG_1}")
        assert "Баярлалаа" in await voter.say(choice)
    gov = Phone(client, GOVERNOR)

    closing = await gov.say("ХААХ")
    assert "Оролцоо 2/" in closing  # who voted is no secret: how many is said
    assert "Цөөн хүн санал өгсөн (2; дор хаяж 3)" in closing
    assert "Малын худаг" not in closing
    assert "(50%)" not in closing
    results = await gov.say("ДҮН")
    assert "Цөөн хүн санал өгсөн (2" in results
    assert "Малын худаг" not in results
    await sanal.drain_outbox()
    for phone in (CHAIR, VOTERS[0], VOTERS[1]):
        told = [m["text"] for m in await Phone(client, phone).inbox() if "Цөөн хүн" in m["text"]]
        assert len(told) == 1, phone
        assert "Малын худаг" not in told[0]
        assert "Гудамж" not in told[0]
    # The chair and the voters may read ДҮН after the close (issue 12): no counts either.
    for phone in (Phone(client, CHAIR), a, b):
        theirs = await phone.say("ДҮН")
        assert "Цөөн хүн санал өгсөн (2" in theirs, theirs
        assert "Малын худаг" not in theirs
        assert "Гудамж" not in theirs

    # Reports: refused with one line saying why, not written.
    rnd = await current(sanal, ZAG_BAG_1)
    async with sanal.db.write() as conn:
        with pytest.raises(CountsHidden, match="only 2 voted, fewer than 3"):
            await round_report(conn, rnd)
        with pytest.raises(CountsHidden):
            await round_pb(conn, rnd)
        # With the setting lowered (an operator's choice), the same round has its counts.
        rep = await round_report(conn, rnd, min_voters=2)
        assert [(ln.number, ln.votes) for ln in rep.lines] == [(1, 2), (2, 1)]
    monkeypatch.chdir(tmp_path)
    db = str(sanal.settings.db)
    for command in ("round", "minutes", "chart", "pabulib"):
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["report", command, ZAG_BAG_1, "--db", db]
        )
        assert result.exit_code != 0, command
        assert "only 2 voted, fewer than 3" in result.output
        assert "Traceback" not in result.output
    assert not await asyncio.to_thread(lambda: list(tmp_path.glob("*-644651-*")))

    # The khural confirms; the list goes to the soum, whose sheets show no votes for it.
    assert "ИНХ жагсаалтыг баталлаа" in await gov.say("БАТЛАХ 5")
    async with sanal.db.write() as conn:
        srep = await soum_report(conn, ZAG_BAG_1[:4], rnd.year)
    sheets = [soum_workbook(srep).worksheets[0], score_sheet(srep.plan).worksheets[0]]
    for ws in sheets:
        rows = [[c.value for c in row] for row in ws.iter_rows()]
        header = next(i for i, r in enumerate(rows) if "Дэмжсэн иргэд" in r)
        votes = rows[header].index("Дэмжсэн иргэд")  # the votes column
        listed = [r for r in rows[header + 1 :] if any(r)]
        assert len(listed) == 2, rows
        assert {r[votes] for r in listed} == {HIDDEN}, rows


@pytest.fixture
async def lenient(
    tmp_path: Path, clock: ManualClock
) -> AsyncIterator[tuple[Sanal, TestClient[Any, Any]]]:
    """An app whose operator lets results show counts from two voters on."""
    app = Sanal(make_settings(tmp_path, min_voters_for_counts=2), clock)
    await app.open()
    async with TestClient(TestServer(build_web_app(app))) as client:
        yield app, client
    await app.stop()


async def test_the_threshold_is_a_setting(
    lenient: tuple[Sanal, TestClient[Any, Any]],
) -> None:
    sanal, client = lenient
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await voting_in(sanal, client, ZAG_BAG_1, GOVERNOR)
    for phone, choice in zip(VOTERS[:2], ("СОНГО 1", "СОНГО 1 2"), strict=True):
        voter = Phone(client, phone)
        await voter.say(f"НЭГДЭХ {ZAG_BAG_1}")
        await voter.say(choice)
    closing = await Phone(client, GOVERNOR).say("ХААХ")
    assert "1. №1 Малын худаг гаргах, 40 өрх: 2 (100%)" in closing
    assert "Цөөн хүн" not in closing


async def test_one_ballot_per_person_per_planning_year(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    """Join 644651, vote, close; join 644653 and vote again: refused, kindly, once."""
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await make_official(sanal, GOVERNOR_2, "governor", ZAG_BAG_2)
    await voting_in(sanal, client, ZAG_BAG_1, GOVERNOR)
    await voting_in(sanal, client, ZAG_BAG_2, GOVERNOR_2)
    herder = Phone(client, VOTERS[0])
    await herder.say(f"НЭГДЭХ {ZAG_BAG_1}")
    assert "Баярлалаа" in await herder.say("СОНГО 1 2")
    await Phone(client, GOVERNOR).say("ХААХ")
    first = await current(sanal, ZAG_BAG_1)
    second = await current(sanal, ZAG_BAG_2)
    assert first.year == second.year
    assert first.status == "closed"

    assert "2-р баг" in await herder.say(f"НЭГДЭХ {ZAG_BAG_2}")
    refused = await herder.say("СОНГО 1")
    assert refused == "Та 1-р баг, Баянбулагт санал өгсөн. Жилд нэг л удаа өгнө"
    assert refused in await herder.say("2")  # bare numbers too
    assert "Та санал өгөөгүй байна" in await herder.say("МИНИЙ")
    async with sanal.db.write() as conn:
        assert await ballots.count_ballots(conn, second.id) == 0
        assert await ballots.votes_per_proposal(conn, second.id) == {}
        assert await ballots.count_ballots(conn, first.id) == 1
        refusals = [
            r for r in await audit.entries(conn, "refused.vote") if "other_bag" in r["detail"]
        ]
    assert len(refusals) == 2
    assert all(r["round_id"] == second.id for r in refusals)
    # Someone who has not voted this year votes in the second bag as usual.
    other = Phone(client, VOTERS[1])
    await other.say(f"НЭГДЭХ {ZAG_BAG_2}")
    assert "Баярлалаа" in await other.say("СОНГО 1")
