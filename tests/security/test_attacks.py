"""Attacks over SMS: forged and replayed webhooks, citizens using officials' words, a
governor reaching into another bag, voting outside one's bag, a flood of registrations.

Each is refused, written to the audit log, and changes nothing: every table is compared
before and after (the inbox, outbox and audit log aside, where refusals belong; for
forged webhooks the inbox and outbox too, as nothing of theirs may be stored).

Two bags of Заг сум: bag 1 votes (two proposals on the ballot), bag 2 collects proposals
(four of them) and admits newcomers by approval.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.channels.android_sms import signature as android_signature
from bot.core.grammar import parse
from handlers.dispatch import GOVERNOR, SOUM
from storage import ballots, people, proposals, rounds, units
from storage.ballots import BallotKey
from storage.db import fetchall, table_names
from tests.channels.conftest import (
    SIGNING_KEY,
    TOKEN,
    SmsWorld,
    fake_gateway,
    fake_twilio,
    world,
)
from tests.conftest import ZAG_BAG_1, ZAG_BAG_2, make_official
from tests.fakes.twilio_api import FakeTwilio

GOV_1 = "+97699000000"  # the world's governor of bag 1
GOV_2 = "+97699000002"
VOTERS = ["+97699200001", "+97699200002", "+97699200003"]  # bag 1
BAG_2 = ["+97699300001", "+97699300002", "+97699300003", "+97699300004"]
NEWCOMER = "+97699300009"  # asked to join bag 2, waits for approval
NOBODY = "+97699400001"  # never registered
ATTACKER = "+97699500001"  # a citizen of bag 1


class Bags:
    """The two bags, and helpers to talk to the app as their people."""

    def __init__(self, world: SmsWorld, fake: FakeTwilio) -> None:
        self.world = world
        self.fake = fake

    async def say(self, phone: str, text: str) -> str:
        """One SMS through Twilio, handled; returns the reply Twilio was asked to send.
        People type slowly: the clock moves on, so no one trips the flood guard here."""
        before = len(self.fake.creates())
        await self.world.text(phone, text)
        await self.world.handle()
        self.world.clock.advance(timedelta(seconds=7))
        mine = [c["Body"] for c in self.fake.creates()[before:] if c["To"] == phone]
        assert len(mine) == 1, (text, mine)
        return mine[0]

    async def setup(self) -> None:
        await make_official(self.world.sanal, GOV_2, "governor", ZAG_BAG_2)
        await self.say(GOV_1, "НЭЭХ")
        await self.say(GOV_2, "НЭЭХ")
        for phone in [*VOTERS, ATTACKER]:
            assert "Баянбулаг" in await self.say(phone, f"НЭГДЭХ {ZAG_BAG_1}")
        for i, phone in enumerate(BAG_2):
            await self.say(phone, f"НЭГДЭХ {ZAG_BAG_2}")
            assert f"№{i + 1}" in await self.say(phone, f"САНАЛ Төсөл {i + 1}, 30 өрх")
        assert "№1" in await self.say(VOTERS[0], "САНАЛ Худаг, 40 өрх")
        assert "№2" in await self.say(VOTERS[1], "САНАЛ Гүүр, 60 өрх")
        await self.say(GOV_1, "ЗӨВ 1 2")
        await self.say(GOV_1, "ХУРААЛТ")
        assert "Баярлалаа" in await self.say(VOTERS[0], "СОНГО 1")
        async with self.world.sanal.db.write() as conn:
            await units.set_registration(conn, ZAG_BAG_2, "approval")
        await self.say(NEWCOMER, f"НЭГДЭХ {ZAG_BAG_2}")
        await self.say(NOBODY, "ТУСЛАМЖ")  # known to the app, in no bag

    async def snapshot(self, skip: tuple[str, ...] = ("inbox", "outbox", "audit_log")) -> Any:
        db = self.world.sanal.db.reader
        out = {}
        for t in await table_names(db):
            if t not in skip:
                out[t] = [tuple(r) for r in await fetchall(db, f"SELECT * FROM {t} ORDER BY 1")]
        return out

    async def audits(self, action: str) -> list[dict[str, Any]]:
        rows = await fetchall(
            self.world.sanal.db.reader,
            "SELECT * FROM audit_log WHERE action = ? ORDER BY id",
            (action,),
        )
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


def _diff(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        t: (sorted(set(before[t]) - set(after[t])), sorted(set(after[t]) - set(before[t])))
        for t in before
        if before[t] != after[t]
    }


async def test_forged_webhooks_are_refused_audited_and_store_nothing(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    bags = Bags(world, fake_twilio)
    await bags.setup()
    before = await bags.snapshot(skip=("audit_log",))
    ballot = {"MessageSid": "SM" + "f" * 32, "From": VOTERS[1], "Body": "СОНГО 1"}
    from twilio.request_validator import RequestValidator

    other_token = RequestValidator("not-" + TOKEN)
    url = "https://sanal.example.mn/sms/twilio"
    forgeries: list[tuple[dict[str, str], str | None]] = [
        (ballot, None),  # unsigned
        (ballot, "bm90IGEgc2lnbmF0dXJl"),
        (ballot, other_token.compute_signature(url, ballot)),  # another account's token
        (ballot, world.validator.compute_signature("https://evil.example/sms/twilio", ballot)),
        (
            {**ballot, "Body": "СОНГО 1"},
            world.validator.compute_signature(url, {**ballot, "Body": "1"}),
        ),
    ]
    for params, sig in forgeries:
        resp = await world.twilio_post(params, sign=sig)
        assert resp.status == 403
    event = {"event": "sms:received", "payload": {"message": "СОНГО 1", "phoneNumber": VOTERS[2]}}
    assert (await world.android_post(event, key=None)).status == 403
    assert (await world.android_post(event, key="not-" + SIGNING_KEY)).status == 403
    await world.handle()
    assert await bags.snapshot(skip=("audit_log",)) == before
    refused = await bags.audits("refused.webhook")
    assert {(r["channel"], r["detail"]["reason"]) for r in refused} == {
        ("twilio", "unsigned"),
        ("twilio", "bad signature"),
        ("android", "unsigned"),
        ("android", "bad signature"),
    }
    # A flood of forgeries cannot fill the audit log: one row a minute per reason, which
    # counts the refusals since the last one.
    for _ in range(200):
        assert (await world.twilio_post(ballot, sign="forged")).status == 403
    assert len(await bags.audits("refused.webhook")) == len(refused)
    world.clock.advance(timedelta(minutes=1))
    assert (await world.twilio_post(ballot, sign="forged")).status == 403
    last = (await bags.audits("refused.webhook"))[-1]["detail"]
    # Three bad signatures above after the first (which had its row), 200, and this one.
    assert last["reason"] == "bad signature"
    assert last["refused"] == 3 + 200 + 1
    assert await bags.snapshot(skip=("audit_log",)) == before


async def test_replayed_webhooks_have_one_effect_or_are_refused(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    bags = Bags(world, fake_twilio)
    await bags.setup()
    voter = VOTERS[1]
    # A voter's ballot is captured (signature and all); then they change their mind.
    first = {"MessageSid": "SM" + "1" * 32, "From": voter, "To": "+15005550006"}
    first["Body"] = "СОНГО 1"
    assert (await world.twilio_post(first)).status == 200
    await world.handle()
    assert "2" in await bags.say(voter, "СОНГО 2")
    before = await bags.snapshot(skip=("audit_log",))
    # Replaying the old ballot, exactly as captured, hours and days later, would undo the
    # change: it is the same MessageSid, so it has no effect at all.
    for hours in (1, 5, 30):
        world.clock.advance(timedelta(hours=hours))
        assert (await world.twilio_post(first)).status == 200
        await world.handle()
    assert await bags.snapshot(skip=("audit_log",)) == before
    async with world.sanal.db.write() as conn:  # the ballot that counts is still the new one
        rnd = await rounds.current(conn, ZAG_BAG_1)
        person = await people.by_phone(conn, voter)
        assert rnd is not None
        assert person is not None
        key = BallotKey(world.sanal.settings.ballot_secret())
        chosen = await ballots.choices_of(conn, key, rnd.id, person.id)
        assert [(await proposals.get(conn, i)).number for i in chosen] == [2]  # type: ignore[union-attr]
    # The gateway's webhooks carry a signed timestamp: a captured one replayed later is
    # refused as stale, and audited.
    event = {"event": "sms:received", "payload": {"message": "СОНГО 1", "phoneNumber": VOTERS[2]}}
    body = json.dumps(event, ensure_ascii=False).encode()
    stamp = str(int(world.clock.now().timestamp()))
    headers = {"X-Timestamp": stamp, "X-Signature": android_signature(SIGNING_KEY, body, stamp)}
    assert (await world.client.post("/sms/android", data=body, headers=headers)).status == 204
    await world.handle()
    before = await bags.snapshot(skip=("audit_log",))
    world.clock.advance(timedelta(minutes=10))
    assert (await world.client.post("/sms/android", data=body, headers=headers)).status == 403
    await world.handle()
    assert await bags.snapshot(skip=("audit_log",)) == before
    [stale] = [r for r in await bags.audits("refused.webhook") if r["channel"] == "android"]
    assert stale["detail"]["reason"] == "stale timestamp"


GOVERNOR_WORDS = [
    "НЭЭХ",
    "ШИНЭ",
    "ЗӨВ 1",
    "ТАТГАЛЗ 1 давхардсан",
    "НЭГТГЭХ 2 1",
    "ТЭМДЭГ 1",
    "ХУРААЛТ",
    "ХУРАЛ 2027-04-10 14:00 төв",
    "ХААХ",
    "БАТЛАХ 12",
    f"БҮРТГЭ {NEWCOMER}",
    "БОДЛОГО ЗӨВШӨӨРӨЛ",
    "ЗАРДАЛ",
    "МЭДЭГДЭЛ SMS ҮГҮЙ",
]
SOUM_WORDS = ["ОНОО 1 5 5 5", "ХЯЗГААР 150 сая", "ЖИН 40 30 30", "ХУВААРИЛАХ"]


async def test_a_citizen_using_governor_and_soum_words_is_refused(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    bags = Bags(world, fake_twilio)
    await bags.setup()
    assert {parse(w).kind for w in GOVERNOR_WORDS} == set(GOVERNOR)  # every governor word
    # ДҮН is everyone's word since issue 12, but while a round is open it shows no counts,
    # only how many have voted; a stranger is asked to join first.
    assert "НЭГДЭХ" in await bags.say(NOBODY, "ДҮН")
    for citizen in (ATTACKER, BAG_2[0]):
        assert "санал өгсөн" in await bags.say(citizen, "ДҮН")
    assert {parse(w).kind for w in SOUM_WORDS} == set(SOUM)
    before = await bags.snapshot()
    for attacker in (ATTACKER, NOBODY, BAG_2[0]):
        for word in GOVERNOR_WORDS:
            assert "зөвхөн багийн Засаг дарга хэрэглэнэ" in await bags.say(attacker, word), word
        for word in SOUM_WORDS:
            assert "ажлын хэсгийн гишүүн хийнэ" in await bags.say(attacker, word), word
    assert await bags.snapshot() == before
    gov = await bags.audits("refused.governor_word")
    soum = await bags.audits("refused.soum_word")
    assert len(gov) == 3 * len(GOVERNOR_WORDS)
    assert len(soum) == 3 * len(SOUM_WORDS)
    assert {r["actor"] for r in gov} == {f"tel:{p}" for p in (ATTACKER, NOBODY, BAG_2[0])}


async def test_a_governor_cannot_act_on_another_bag(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    """Bag 1's governor types bag 2's proposal numbers and its newcomer's number: the
    numbers mean bag 1's proposals or nothing at all, and bag 2 is untouched."""
    bags = Bags(world, fake_twilio)
    await bags.setup()
    before = await bags.snapshot()
    for word in ("ЗӨВ 3 4", "ТАТГАЛЗ 3 муу", "ТЭМДЭГ 4"):
        assert "санал алга" in await bags.say(GOV_1, word)  # "№3 санал алга"
    assert "Одоо болохгүй" in await bags.say(GOV_1, "НЭГТГЭХ 4 3")  # bag 1 votes: no merging
    assert "хүсэлт ирээгүй" in await bags.say(GOV_1, f"БҮРТГЭ {NEWCOMER}")
    assert await bags.snapshot() == before
    unknown = await bags.audits("refused.unknown_proposal")
    assert [r["detail"]["number"] for r in unknown] == [3, 3, 4]
    assert {r["unit_code"] for r in unknown} == {ZAG_BAG_1}
    assert len(await bags.audits("refused.admit")) == 1
    # The one number both bags have means bag 1's proposal: only bag 1 changes.
    assert "1" in await bags.say(GOV_1, "ТЭМДЭГ 1 60.3")
    changed = _diff(before, await bags.snapshot())
    assert list(changed) == ["proposals"]
    gone, added = changed["proposals"]
    assert len(gone) == len(added) == 1
    assert gone[0][0] == added[0][0]
    async with world.sanal.db.write() as conn:
        rnd_1 = await rounds.current(conn, ZAG_BAG_1)
        mine = await proposals.get(conn, added[0][0])
        assert rnd_1 is not None
        assert mine is not None
        assert mine.round_id == rnd_1.id


async def test_no_one_votes_outside_their_bag(world: SmsWorld, fake_twilio: FakeTwilio) -> None:
    bags = Bags(world, fake_twilio)
    await bags.setup()
    before = await bags.snapshot()
    # A citizen of bag 2 (collecting), someone in no bag, someone waiting for approval:
    # bag 1's ballot is not theirs, whatever they type.
    for phone, answer in (
        (BAG_2[1], "эхлээгүй"),
        (NOBODY, "бүртгүүлнэ"),
        (NEWCOMER, "зөвшөөрөөгүй"),
    ):
        for ballot in ("СОНГО 1", "1", "songo 1 2"):
            assert answer in await bags.say(phone, ballot), (phone, ballot)
    assert await bags.snapshot() == before
    refused = await bags.audits("refused.vote")
    assert len(refused) == 9
    assert all("numbers" not in r["detail"] for r in refused)  # ballots stay secret
    # A voter of bag 1 cannot move to bag 2 and vote there too while bag 1 votes.
    voter = VOTERS[0]
    assert "солих боломжгүй" in await bags.say(voter, f"НЭГДЭХ {ZAG_BAG_2}")
    assert await bags.snapshot() == before
    assert len(await bags.audits("refused.join_locked")) == 1
    async with world.sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        assert await ballots.count_ballots(conn, rnd.id) == 1
        person = await people.by_phone(conn, voter)
        assert person is not None
        assert person.bag_code == ZAG_BAG_1
        key = BallotKey(world.sanal.settings.ballot_secret())
        assert len(await ballots.choices_of(conn, key, rnd.id, person.id)) == 1


async def test_a_flood_of_registrations_from_one_sender(
    world: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    """One phone sends 60 joins in a minute, to bag 1 and bag 2 (which approves newcomers,
    so each join there would tell its governor): its replies and the notices it causes
    stay bounded, it is in one bag, it is audited, and nobody else is affected."""
    bags = Bags(world, fake_twilio)
    await bags.setup()
    flooder = "+97699600001"
    before = await bags.snapshot()
    sent = len(fake_twilio.creates())
    for i in range(60):
        await world.text(flooder, f"НЭГДЭХ {ZAG_BAG_1 if i % 2 else ZAG_BAG_2}")
        world.clock.advance(timedelta(milliseconds=500))
    await world.handle()
    caused = fake_twilio.creates()[sent:]
    threshold = world.sanal.settings.flood_threshold
    to_flooder = [c for c in caused if c["To"] == flooder]
    to_others = [c for c in caused if c["To"] != flooder]
    assert len(to_flooder) <= threshold + 1
    assert len(to_others) <= threshold, [c["To"] for c in to_others]
    rows = await fetchall(
        world.sanal.db.reader, "SELECT bag_code FROM people WHERE phone = ?", (flooder,)
    )
    assert [r["bag_code"] in (ZAG_BAG_1, ZAG_BAG_2) for r in rows] == [True]  # one person, one bag
    floods = await bags.audits("refused.flood")
    assert 1 <= len(floods) <= 2
    assert {r["actor"] for r in floods} == {f"tel:{flooder}"}
    # Nobody else changed: only the flooder's own row is new in people.
    changed = _diff(before, await bags.snapshot())
    assert set(changed) == {"people"}
    gone, added = changed["people"]
    assert gone == []
    assert [r[1] for r in added] == [flooder]


__all__ = ["fake_gateway", "fake_twilio", "world"]
