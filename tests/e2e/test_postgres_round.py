"""A small bag round on PostgreSQL, the app built as `serve` builds it (SANAL_DB=URL).

The same steps as tests/e2e/test_bag_round.py on fewer citizens: join, propose, vote,
change a vote, close. Counts and the secrecy of ballots must come out the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.settings import Settings
from storage import ballots, proposals, rounds
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official, make_settings

CITIZENS = [f"+9769920{i:04d}" for i in range(6)]


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Settings:
    return make_settings(tmp_path, db=pg_url)


async def test_a_round_on_postgresql(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    assert sanal.db.writer.dialect == "postgresql"
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = Phone(client, GOVERNOR)
    people = [Phone(client, n) for n in CITIZENS]
    assert "эхэллээ" in await gov.say("НЭЭХ 2027-03-20 2027-04-01")
    for p in people:
        assert "Баянбулаг" in await p.say(f"НЭГДЭХ {ZAG_BAG_1}")
    assert "№1" in await people[0].say("САНАЛ Малын худаг гаргах, 40 өрх, 25 сая")
    await people[1].say("САНАЛ Сургуулийн дотуур байрны засвар, 120 өрх")
    assert "1 2" in await gov.say("ЗӨВ 1 2")
    assert "эхэллээ" in await gov.say("ХУРААЛТ")
    for i, p in enumerate(people):
        assert "Баярлалаа" in await p.say("СОНГО 1" if i < 4 else "СОНГО 2")
    assert "саналаа өөрчиллөө" in await people[0].say("2")
    closing = await gov.say("ХААХ")
    assert "6/7" in closing.splitlines()[1], closing

    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        assert rnd.status == "closed"
        votes = await ballots.votes_per_proposal(conn, rnd.id)
        by_number = {p.number: p.id for p in await proposals.of_round(conn, rnd.id)}
        assert {n: votes.get(by_number[n], 0) for n in (1, 2)} == {1: 3, 2: 3}
        assert await ballots.count_ballots(conn, rnd.id) == 6
        # Secrecy: ballots are filed under keyed voter keys, never a person's id.
        keys = await conn.execute_fetchall("SELECT DISTINCT voter_key FROM ballot_choices")
        people_ids = await conn.execute_fetchall("SELECT person_id FROM participation")
    assert len(keys) == 6
    assert {str(r[0]) for r in people_ids}.isdisjoint({r[0] for r in keys})
    await sanal.drain_outbox()
    sealed = [m["text"] for m in await people[0].inbox()]
    assert sealed, "the voter's replies were sent"
