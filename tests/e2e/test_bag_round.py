"""A whole bag round through the simulator's JSON API: one governor and 50 citizens.

Counts, ranks and turnout are asserted exactly, and no reply tells anyone another
person's choice.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.sms_segments import is_gsm7
from storage import audit, ballots, outbox, proposals, rounds
from tests.conftest import GOVERNOR, ZAG_BAG_1, ZAG_BAG_2, Phone, make_official

CITIZENS = [f"+9769910{i:04d}" for i in range(50)]
CHAIR = "+97699000009"


async def test_a_whole_round(
    sanal: Sanal, client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await make_official(sanal, CHAIR, "chair", ZAG_BAG_1)
    gov = Phone(client, GOVERNOR)
    people = [Phone(client, n) for n in CITIZENS]

    # The governor opens the round; a citizen trying governor words is refused.
    assert "эхэллээ" in await gov.say("НЭЭХ 2027-03-20 2027-04-01")
    assert "Засаг дарга" in await people[0].say("ХААХ")

    # 50 citizens join: most in Cyrillic by code, the last eight in Latin by soum and bag
    # number, who are answered in Latin letters (GSM-7: cheap SMS).
    for i, p in enumerate(people):
        reply = await p.say("join zag 1" if i >= 42 else f"НЭГДЭХ {ZAG_BAG_1}")
        if i >= 42:
            assert "Bayanbulag" in reply, reply
            assert is_gsm7(reply), reply
        else:
            assert "Баянбулаг" in reply, reply

    # Proposals: two wells (a duplicate to merge), a school, street lights, a naadam.
    assert "№1" in await people[0].say("САНАЛ Малын худаг гаргах, 40 өрх, 25 сая")
    await people[1].say("sanal hudag gargah 35 urh")  # the same well, in Latin
    await people[2].say("САНАЛ Сургуулийн дотуур байрны засвар, 120 өрх")
    await people[3].say("САНАЛ Гудамжны гэрэлтүүлэг 80 өрх")
    await people[4].say("САНАЛ Сумын наадмын морины барилдаан")  # LDF may not fund

    pending = await gov.say("ШИНЭ")
    assert "5" in pending.splitlines()[-1]
    assert "!" in pending
    assert "№2-ыг №1-д нэгтгэлээ" in await gov.say("НЭГТГЭХ 2 1")
    assert "татгалзлаа" in await gov.say("ТАТГАЛЗ 5 ОНХС наадам санхүүжүүлэхгүй")
    assert "1 3 4" in await gov.say("ЗӨВ 1 3 4")
    assert "эхэллээ" in await gov.say("ХУРААЛТ")

    # Ballots: 30 vote; five change their mind; bad ballots change nothing.
    expected = {1: 0, 3: 0, 4: 0}
    final: dict[int, list[int]] = {}
    for i in range(30):
        choice = [[1], [1, 3], [3, 4], [1, 4], [1, 3, 4]][i % 5]
        reply = await people[i].say("СОНГО " + " ".join(map(str, choice)))
        assert "Баярлалаа" in reply, reply
        final[i] = choice
    for i in range(5):  # the last ballot counts
        assert "саналаа өөрчиллөө" in await people[i].say("4")
        final[i] = [4]
    assert "Ihdee 3" in await people[44].say("SONGO 1 3 4 2")
    assert "alga" in await people[41 + 2].say("songo 9")
    assert "Эхлээд бүртгүүлнэ" in await Phone(client, "+97688997766").say("СОНГО 1")
    for choice in final.values():
        for n in choice:
            expected[n] += 1

    # While open, the governor sees only how many have voted.
    assert "30 хүн" in await gov.say("ДҮН")
    closing = await gov.say("ХААХ")
    lines = closing.splitlines()
    assert "30/52 (57.7%)" in lines[1]  # the governor and chair live in the bag too
    households = {1: 40, 3: 120, 4: 80}  # ties go to more beneficiaries, then the earlier
    order = sorted(expected, key=lambda n: (-expected[n], -households[n], n))
    for rank, n in enumerate(order, start=1):
        assert re.search(rf"^{rank}\. №{n} .*: {expected[n]} \(", lines[1 + rank]), lines

    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        assert rnd.status == "closed"
        votes = await ballots.votes_per_proposal(conn, rnd.id)
        by_number = {p.number: p.id for p in await proposals.of_round(conn, rnd.id)}
        assert {n: votes.get(by_number[n], 0) for n in expected} == expected
        assert await ballots.count_ballots(conn, rnd.id) == 30
        log = await audit.entries(conn)
    assert any(r["action"] == "refused.governor_word" for r in log)

    # The chair got the ranked list; voters got a short result; nobody else did.
    await sanal.drain_outbox()
    chair_msgs = await Phone(client, CHAIR).inbox()
    assert any("30/52" in m["text"] for m in chair_msgs)
    voter_last = (await people[10].inbox())[-1]["text"]
    assert "30" in voter_last
    assert "дууслаа" in voter_last
    assert all("duuslaa" not in m["text"] for m in await people[45].inbox())

    # Secrecy: no message to anyone mentions another person's phone next to a choice, and
    # no message other than a voter's own reply repeats a ballot.
    async with sanal.db.write() as conn:
        rows = await conn.execute_fetchall("SELECT address, text, inbox_id FROM outbox")
    for address, text, _ in rows:
        for other in CITIZENS:
            if f"tel:{other}" != address:
                assert other not in text
                assert other[4:] not in text
    # Nor does any log line carry a voter's number (the test server's access log aside:
    # `sanal serve` runs without one).
    for record in caplog.records:
        if record.name == "aiohttp.access":
            continue
        line = record.getMessage()
        assert not any(c in line or c[4:] in line for c in CITIZENS), line
    audit_text = json.dumps([dict(r) for r in log], ensure_ascii=False)
    assert "СОНГО" not in audit_text
    assert "choices" not in audit_text


async def test_results_hidden_and_round_confirmed(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov, herder = Phone(client, GOVERNOR), Phone(client, "99112233")
    await gov.say("НЭЭХ")
    await herder.say("НЭГДЭХ 644651")
    await herder.say("САНАЛ Худаг 30 өрх")
    await gov.say("ЗӨВ 1")
    await gov.say("ХУРААЛТ")
    await herder.say("1")
    assert "1" in await herder.say("МИНИЙ")
    assert "БАТЛАХ" not in await gov.say("ДҮН")
    await gov.say("ХААХ")
    assert "64" in await gov.say("БАТЛАХ 64")
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        # Confirmed by the khural, and at once submitted to the soum (issue 6).
        assert rnd is not None
        assert rnd.status == "submitted"
        assert rnd.attendance == 64


async def test_bad_input_changes_nothing(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    other_gov = "+97699000001"
    await make_official(sanal, other_gov, "governor", ZAG_BAG_2)
    gov, herder, stranger = (
        Phone(client, GOVERNOR),
        Phone(client, "99112233"),
        Phone(client, "88112233"),
    )
    await gov.say("НЭЭХ")
    await herder.say("НЭГДЭХ 644651")
    await herder.say("САНАЛ Худаг 30 өрх")
    await gov.say("ЗӨВ 1")
    await gov.say("ХУРААЛТ")

    async def snapshot() -> tuple[Any, ...]:
        async with sanal.db.write() as conn:
            # People's last channel and guessed language are bookkeeping, not state.
            out = [
                await conn.execute_fetchall(
                    "SELECT id, phone, telegram_id, bag_code, status, opted_out FROM people "
                    "ORDER BY id"
                )
            ]
            for table in (
                "rounds",
                "proposals",
                "participation",
                "ballot_choices",
                "roles",
                "units",
            ):
                out.append(await conn.execute_fetchall(f"SELECT * FROM {table} ORDER BY 1"))
            return tuple(tuple(tuple(r) for r in rows) for rows in out)

    await stranger.say("ТУСЛАМЖ")  # creates the stranger's person row once
    before = await snapshot()
    cases = {
        "НЭГДЭХ 999999": "999999",  # unknown bag code
        "СОНГО 1": "бүртгүүлнэ",  # not registered
        "СОНГО 7": "бүртгүүлнэ",
        "ЗӨВ 1": "Засаг дарга",  # governor word from a citizen
        "": "хоосон",
        "🐑🐑🐑": "хоосон",
    }
    for text, expect in cases.items():
        assert expect in await stranger.say(text), text
    assert "алга" in await herder.say("СОНГО 7")  # proposal that does not exist
    # A governor of another bag cannot act on this one: ХААХ reaches only their own bag,
    # which has no round.
    assert "нээгдээгүй" in await Phone(client, other_gov).say("ХААХ")
    assert await snapshot() == before
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        assert rnd.status == "voting"
        assert await outbox.replied_since(conn, "tel:+97688112233", sanal.clock.now())
