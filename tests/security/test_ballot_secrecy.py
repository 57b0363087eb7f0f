"""Ballot secrecy against a copy of the database (issue 11, part 2).

A whole round is run over every channel, voters change their ballots and ask МИНИЙ/MY;
then the database is copied while the server runs (SQLite's backup API) and again after
it stops (the file as it lies on disk, WAL and all). Without the key, nothing in either
copy may link a voter to a choice: every table and column is read (whatever tables exist,
found in sqlite_master), and the raw bytes of each file are searched for the texts that
would give a ballot away (the confirmations, the ballot buttons, the votes as typed).

SMS goes through Twilio (signed webhooks, the real client against the fake API) and the
Android gateway; Telegram through its fake Bot API with the button ballot. The simulator
runs on its own training database, as it must (it is refused beside real channels).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.texts import LANGS, render
from bot.web import build_web_app
from bot.wiring import build
from storage import inbox, people
from storage.db import Database, fetchall, migrate
from tests.channels.conftest import SmsWorld, fake_gateway, fake_twilio, sms_settings
from tests.conftest import GOVERNOR, ZAG_BAG_1, ZAG_BAG_2, Phone, make_official, make_settings
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram.conftest import TOKEN as TG_TOKEN
from tests.telegram.conftest import TgUser, TgWorld, fake_tg

__all__ = ["fake_gateway", "fake_tg", "fake_twilio"]

PROPOSERS = [f"+9768800{i:04d}" for i in range(4)]  # never vote: proposing is public
SMS_VOTERS = ["+97699110001", "+97699110002"]  # Twilio
ANDROID_VOTER = "+97699110003"
TG_VOTERS = {7123456781: "+97699110004", 7123456782: "+97699110005"}
BOTH = 7123456782  # votes in Telegram, then changes the ballot by SMS (Twilio)


# What gives a ballot away, as text: the confirmations and МИНИЙ's answer (every
# language), the Telegram ballot's ticks and button data, and the votes as typed here
# (chosen unlike the catalogs' examples, "СОНГО 1 3", which any help text may hold).
def _confirmation_words() -> tuple[str, ...]:
    """The fixed words of the vote confirmations and МИНИЙ's answer in every language, read
    from the catalogs, so that a reworded confirmation is still looked for."""
    words = set()
    for key in ("vote.ok", "vote.changed", "my.ballot"):
        for lang in LANGS:
            pieces = render(key, lang, numbers="\x00").split("\x00")
            words.add(max((p.strip(" :!.") for p in pieces), key=len))
    return tuple(sorted(words))


# And the wordings of earlier versions: a database they wrote must hold none either.
CONFIRMATIONS = (
    *_confirmation_words(),
    *("Таны сонголт", "Сонголт шинэчлэгдлээ", "Tany songolt", "Your choice"),
)
BALLOT_MARKS = (*CONFIRMATIONS, "✅", "tg:v:", "tg:s:")
TYPED_VOTES = ("СОНГО 2 4", "sonGo 3", "/vote 2 3", "VOTE 1 4", "СОНГО 4 2")
BARE_VOTES = ("1 4", "4 3")  # compared whole: "1 4" is inside many ordinary texts
ASKED_MINE = ("МИНИЙ", "MY", "/my")


@dataclass
class Voters:
    """Who voted, as a copy of the database could name them."""

    phones: list[str]
    telegram_ids: list[int] = field(default_factory=list)
    person_ids: set[int] = field(default_factory=set)

    def identifiers(self) -> list[str]:
        out = [*self.phones, *(p.removeprefix("+976") for p in self.phones)]
        out += [str(t) for t in self.telegram_ids]
        return out


Table = tuple[str, list[dict[str, Any]]]


def sqlite_tables(path: Path) -> list[Table]:
    """Every table of a SQLite file with all its rows (whatever tables exist)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            str(r[0])
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(r[0]).startswith("sqlite_")
        ]
        out = []
        for table in names:
            cur = con.execute(f'SELECT * FROM "{table}"')  # names from sqlite_master
            columns = [d[0] for d in cur.description]
            out.append((table, [dict(zip(columns, row, strict=True)) for row in cur]))
        return out
    finally:
        con.close()


def pg_tables(url: str) -> list[Table]:
    """Every table of a PostgreSQL database with all its rows, read as anyone with the
    server's credentials (or its dump) could: straight through asyncpg, not storage."""

    async def read() -> list[Table]:
        conn = await asyncpg.connect(url)
        try:
            names = [
                str(r[0])
                for r in await conn.fetch(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                )
            ]
            return [
                (table, [dict(r) for r in await conn.fetch(f'SELECT * FROM "{table}"')])
                for table in names  # names from the catalog
            ]
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:  # its own loop: callers are inside the test's
        return pool.submit(lambda: asyncio.run(read())).result()


def leaks(where: Path | str, voters: Voters) -> list[str]:
    """Rows of a database (a SQLite copy, or the PostgreSQL database itself) that hold a
    voter's identity and anything of a ballot."""
    tables = sqlite_tables(where) if isinstance(where, Path) else pg_tables(where)
    assert {"inbox", "outbox", "audit_log", "participation", "ballot_choices"} <= {
        t for t, _ in tables
    }
    found: list[str] = []
    for table, rows in tables:
        for values in rows:
            row = list(values.values())
            text = " ".join(str(v) for v in row if v is not None)
            who = any(i in text for i in voters.identifiers()) or any(
                values.get(c) in voters.person_ids
                for c in ("person_id", "actor_id", "id" if table == "people" else "")
            )
            what = (
                any(m in text for m in (*BALLOT_MARKS, *TYPED_VOTES))
                or any(str(v).strip() in (*BARE_VOTES, *ASKED_MINE) for v in row)
                or any(values.get(c) is not None for c in ("proposal_id", "voter_key"))
            )
            if who and what:
                found.append(f"{table}: {values}")
    return found


def raw_leaks(path: Path) -> list[str]:
    """Ballot texts anywhere in the file's bytes (free pages, old cells) or its WAL."""
    found = []
    for file in (path, path.with_name(path.name + "-wal")):
        if not file.exists():
            continue
        data = file.read_bytes()
        for mark in (*CONFIRMATIONS, "✅", "tg:v:", "tg:s:", *TYPED_VOTES):
            if mark.encode() in data:
                found.append(f"{file.name}: {mark}")
    return found


def backup_copy(source: str, dest: Path) -> Path:
    """A consistent copy of a live database with SQLite's online backup API."""
    src, dst = sqlite3.connect(source), sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return dest


def copy_files(folder: Path, dest: Path) -> Path:
    """The database file as it lies on disk, with its WAL if one is left (not the key)."""
    dest.mkdir()
    for f in folder.glob("sanal.db*"):
        if f.is_file() and not f.name.endswith(".key"):  # not the senders' lock folder
            shutil.copy(f, dest / f.name)
    return dest / "sanal.db"


async def voter_ids(sanal: Sanal, voters: Voters) -> None:
    async with sanal.db.write() as conn:
        for phone in voters.phones:
            person = await people.by_phone(conn, phone)
            assert person is not None
            voters.person_ids.add(person.id)
        for tg in voters.telegram_ids:
            rows = await fetchall(
                conn,
                "SELECT person_id AS id FROM identities WHERE kind = 'telegram' AND address = ?",
                (str(tg),),
            )
            voters.person_ids.update(int(r["id"]) for r in rows)
            # The account's first, phone-less record (before it shared its contact).
            rows = await fetchall(
                conn,
                "SELECT DISTINCT person_id FROM outbox WHERE address = ? AND person_id > 0",
                (f"telegram:{tg}",),
            )
            voters.person_ids.update(int(r["person_id"]) for r in rows)


# ------------------------------------------------------------------ SMS and Telegram


@pytest.fixture
async def both(
    tmp_path: Path,
    clock: ManualClock,
    fake_twilio: FakeTwilio,
    fake_gateway: FakeGateway,
    fake_tg: FakeTelegram,
) -> AsyncIterator[tuple[SmsWorld, TgWorld]]:
    settings = sms_settings(
        tmp_path,
        fake_twilio,
        fake_gateway,
        telegram_bot_token=TG_TOKEN,
        telegram_api_url=fake_tg.url,
        telegram_rate_per_second=1000.0,
        telegram_per_chat_per_second=1000.0,
        telegram_poll_timeout=0,
        telegram_timeout_seconds=5.0,
    )
    sanal = build(settings, clock)
    await sanal.open()
    for plugin in sanal.plugins:
        await plugin.start(sanal)
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    async with TestClient(TestServer(build_web_app(sanal))) as client:
        sms = SmsWorld(sanal, client, clock)
        sms.fake_twilio = fake_twilio  # type: ignore[attr-defined]
        yield sms, TgWorld(sanal, fake_tg, client, clock, fake_twilio)
    await sanal.stop()


async def texts(sms: SmsWorld, phone: str, body: str) -> str:
    """One SMS through Twilio, handled and answered; returns the reply Twilio was given."""
    sms.clock.advance(timedelta(seconds=7))  # people type slowly: no flood control
    fake: FakeTwilio = sms.fake_twilio  # type: ignore[attr-defined]
    before = len(fake.creates())
    await sms.text(phone, body)
    await sms.handle()
    told = [m["Body"] for m in fake.creates()[before:] if m["To"] == phone]
    return "\n".join(told)


async def test_no_copy_of_the_database_links_a_voter_to_a_choice(
    both: tuple[SmsWorld, TgWorld],
    fake_twilio: FakeTwilio,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # logs at every level: none may hold a ballot
    caplog.set_level(logging.DEBUG, logger="twilio")  # as `sanal -v` sets it
    sms, tg = both
    assert "эхэллээ" in await texts(sms, GOVERNOR, "НЭЭХ")
    for i, phone in enumerate(PROPOSERS):
        await texts(sms, phone, f"НЭГДЭХ {ZAG_BAG_1}")
        await texts(sms, phone, f"САНАЛ Төсөл {i + 1}: худаг, засвар")
    await texts(sms, GOVERNOR, "ЗӨВ 1 2 3 4")
    assert "эхэллээ" in await texts(sms, GOVERNOR, "ХУРААЛТ")

    # SMS by Twilio: a vote, a change by bare numbers, МИНИЙ; another in Latin, MY.
    a, b = SMS_VOTERS
    await texts(sms, a, f"НЭГДЭХ {ZAG_BAG_1}")
    assert render("vote.ok", "mn", numbers="2 4") in await texts(sms, a, "СОНГО 2 4")
    assert render("vote.changed", "mn", numbers="1 4") in await texts(sms, a, "1 4")
    await texts(sms, a, "МИНИЙ")
    await texts(sms, b, f"join {ZAG_BAG_1}")
    assert "3" in await texts(sms, b, "sonGo 3")
    await texts(sms, b, "MY")
    sent_bodies = [m["Body"] for m in fake_twilio.creates()]
    assert any(
        render("my.ballot", "mn", numbers="1 4") in body for body in sent_bodies
    )  # the voter was told

    # The Android gateway: a vote, and the gateway repeating it after it was sealed.
    sms.clock.advance(timedelta(seconds=7))
    stamp = sms.clock.now().isoformat()
    await sms.android_text(ANDROID_VOTER, f"НЭГДЭХ {ZAG_BAG_1}")
    await sms.handle()
    sms.clock.advance(timedelta(seconds=7))
    await sms.android_text(ANDROID_VOTER, "VOTE 1 4", received_at=stamp + "x")
    await sms.handle()
    sms.clock.advance(timedelta(seconds=5))
    await sms.android_text(ANDROID_VOTER, "VOTE 1 4")  # within the dedupe window
    await sms.handle()
    android_votes = await tg.rows(
        "SELECT id FROM inbox WHERE address = ? AND intent = 'vote'", f"tel:{ANDROID_VOTER}"
    )
    assert len(android_votes) == 1

    # Telegram: the button ballot, ticked, sent, reopened and changed; /my; a typed vote.
    users: dict[int, TgUser] = {}
    for tg_id, phone in TG_VOTERS.items():
        user = users[tg_id] = tg.user(tg_id)
        await user.link(phone)
        assert "Баянбулаг" in await user.say(f"/join {ZAG_BAG_1}")
    c = users[7123456781]
    await c.say("/vote")
    await c.press("1. Төсөл")
    await c.press("3. Төсөл")
    assert render("vote.ok", "mn", numbers="1 3") in await c.press("Илгээх (2)")
    assert "Сонгосон: 2" in await c.say("/vote")
    await c.press("3. Төсөл")
    await c.press("4. Төсөл")
    assert render("vote.changed", "mn", numbers="1 4") in await c.press("Илгээх (2)")
    assert render("my.ballot", "mn", numbers="1 4") in await c.say("/my")
    # A reply that quotes the confirmation: Telegram sends the quoted text along.
    answer = tg.fake.last(c.id)
    quoting = tg.fake.message_update(c.id, "Баярлалаа")
    quoting["message"]["reply_to_message"] = {
        "message_id": answer.message_id,
        "date": quoting["message"]["date"],
        "chat": quoting["message"]["chat"],
        "text": answer.text,
    }
    await c._send(quoting)
    d = users[BOTH]
    assert render("vote.ok", "mn", numbers="2 3") in await d.say("/vote 2 3")
    # The same person by SMS: the same ballot, changed.
    assert render("vote.changed", "mn", numbers="4 2") in await texts(
        sms, TG_VOTERS[BOTH], "СОНГО 4 2"
    )
    assert render("my.ballot", "mn", numbers="2 4") in await d.say("/my")

    # The governor closes; results go out; every outbox row is sent.
    await texts(sms, GOVERNOR, "ХААХ")
    await tg.step()
    unsent = await tg.rows("SELECT id FROM outbox WHERE status IN ('queued', 'sending')")
    assert unsent == []

    voters = Voters([a, b, ANDROID_VOTER, *TG_VOTERS.values()], list(TG_VOTERS))
    await voter_ids(sms.sanal, voters)
    # The round really happened, and the process holding the key still counts it right.
    participation = await tg.rows("SELECT person_id FROM participation")
    assert {r["person_id"] for r in participation} <= voters.person_ids
    assert len(participation) == 5

    if isinstance(sms.sanal.settings.db, str):  # PostgreSQL: its rows, running and stopped
        assert leaks(sms.sanal.settings.db, voters) == []
        await sms.sanal.stop()
        assert leaks(sms.sanal.settings.db, voters) == []
    else:  # SQLite: a copy of the file while it runs, and the files as they lie after
        live = backup_copy(sms.sanal.settings.db.as_posix(), tmp_path / "live-copy.db")
        await sms.sanal.stop()
        stopped = copy_files(tmp_path, tmp_path / "stopped")
        for copy in (live, stopped):
            assert leaks(copy, voters) == []
            assert raw_leaks(copy) == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "twilio" in {r.name.split(".")[0] for r in caplog.records}  # it did log
    assert [m for m in (*BALLOT_MARKS, *TYPED_VOTES) if m in logged] == []


# ------------------------------------------------------------------------ simulator


async def test_the_simulators_training_database_keeps_ballots_secret_too(
    sanal: Sanal, client: TestClient[Any, Any], tmp_path: Path
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    gov = Phone(client, GOVERNOR)
    await gov.say("НЭЭХ")
    for i, number in enumerate(PROPOSERS):
        proposer = Phone(client, number)
        await proposer.say(f"НЭГДЭХ {ZAG_BAG_1}")
        await proposer.say(f"САНАЛ Төсөл {i + 1}: худаг")
    await gov.say("ЗӨВ 1 2 3 4")
    await gov.say("ХУРААЛТ")
    a, b = Phone(client, SMS_VOTERS[0]), Phone(client, SMS_VOTERS[1])
    for voter in (a, b):
        sanal.clock.advance(timedelta(seconds=7))  # type: ignore[attr-defined]
        await voter.say(f"НЭГДЭХ {ZAG_BAG_1}")
    assert render("vote.ok", "mn", numbers="2 4") in await a.say("СОНГО 2 4")
    assert render("vote.changed", "mn", numbers="4 3") in await a.say("4 3")
    assert render("my.ballot", "mn", numbers="3 4") in await a.say("МИНИЙ")
    assert "3" in await b.say("sonGo 3")
    await b.say("MY")
    await gov.say("ХААХ")
    await sanal.drain_outbox()
    # The trainee's phone still shows the vote and its answer (kept in memory only)...
    mine = [m["text"] for m in await a.inbox()]
    assert "СОНГО 2 4" in mine
    assert render("vote.ok", "mn", numbers="2 4") in mine
    assert inbox.SEALED not in mine

    voters = Voters(SMS_VOTERS)
    await voter_ids(sanal, voters)
    live: Path | str = sanal.settings.db
    if isinstance(live, Path):
        live = backup_copy(live.as_posix(), tmp_path / "sim-copy.db")
        assert raw_leaks(live) == []
    assert leaks(live, voters) == []
    # ...and after a restart, on the copy (PostgreSQL: a second process on the same
    # database), the history shows that ballots went, not what.
    again = Sanal(make_settings(tmp_path, db=live), sanal.clock)
    await again.open()
    try:
        async with TestClient(TestServer(build_web_app(again))) as other:
            history = [m["text"] for m in await Phone(other, SMS_VOTERS[0]).inbox()]
    finally:
        await again.stop()
    assert history.count(inbox.SEALED) == 6  # three ballot messages and their answers
    assert not any("2 4" in t or "4 3" in t for t in history)


# --------------------------------------------------------------- the small pieces


async def test_a_sealed_row_keeps_its_dedupe_key_and_what_its_reply_needs(
    both: tuple[SmsWorld, TgWorld],
) -> None:
    """The inbox row of a vote keeps (channel, external_id), sender and intent; a Twilio
    retry of it is still one message; the Telegram press keeps the message to edit."""
    sms, tg = both
    await texts(sms, GOVERNOR, "НЭЭХ")
    await texts(sms, PROPOSERS[0], f"НЭГДЭХ {ZAG_BAG_1}")
    await texts(sms, PROPOSERS[0], "САНАЛ Төсөл 1: худаг")
    await texts(sms, GOVERNOR, "ЗӨВ 1")
    await texts(sms, GOVERNOR, "ХУРААЛТ")
    voter = SMS_VOTERS[0]
    await texts(sms, voter, f"НЭГДЭХ {ZAG_BAG_1}")
    sid = await sms.text(voter, "СОНГО 1")
    await sms.handle()
    [row] = await tg.rows("SELECT * FROM inbox WHERE external_id = ?", sid)
    assert (row["channel"], row["text"], row["intent"]) == ("twilio", inbox.SEALED, "vote")
    assert row["address"] == f"tel:{voter}"
    assert json.loads(row["extra"])["sealed"] == "1"
    await sms.text(voter, "СОНГО 1", sid=sid)  # Twilio's retry of the same message
    await sms.handle()
    assert len(await tg.rows("SELECT id FROM inbox WHERE external_id = ?", sid)) == 1
    assert len(await tg.rows("SELECT id FROM outbox WHERE inbox_id = ?", row["id"])) == 1

    user = tg.user(7123456781)
    await user.link(TG_VOTERS[7123456781])
    await user.say(f"/join {ZAG_BAG_1}")
    await user.say("/vote")
    ballot = user.keyboard()
    await user.press("1. Төсөл")
    [press] = await tg.rows("SELECT * FROM inbox WHERE text = ? ORDER BY id DESC LIMIT 1", "🔒")
    extra = json.loads(press["extra"])
    assert "raw" not in extra
    assert extra["callback_message_id"] == str(ballot.message_id)
    assert user.keyboard().message_id == ballot.message_id  # the ballot was edited in place
    # A reply still waiting to be sent keeps its text; sent, it is sealed by the database.
    [reply] = await tg.rows("SELECT * FROM outbox WHERE inbox_id = ?", press["id"])
    assert reply["status"] == "sent"
    assert reply["text"] == inbox.SEALED
    assert json.loads(reply["extra"]) == {"ballot": 1, "sealed": "1"}


async def test_upgrading_seals_what_older_versions_kept(tmp_path: Path) -> None:
    """Migration 0007 seals the votes, МИНИЙ and Telegram ballot presses an older version
    stored, and their sent replies; a reply still queued is flagged, to be sealed once
    sent. Other messages, and messages not handled yet, are left as they are."""
    async with Database(tmp_path / "old.db") as db:
        async with db.write() as conn:
            # As the database stood before 0007.
            await conn.execute("DROP TRIGGER outbox_seal_ballot")
            await conn.execute("DELETE FROM schema_migrations WHERE version = 7")
            raw = json.dumps({"raw": '{"callback_query":{"data":"tg:v:1:a:3"}}',
                              "callback_message_id": "77", "tg_lang": "mn"})  # fmt: skip
            rows = [  # id, channel, text, extra, status, intent
                (1, "twilio", "СОНГО 2 4", "{}", "handled", "vote"),
                (2, "telegram", "tg:v:1:a:3", raw, "handled", "unknown"),
                (3, "twilio", "МИНИЙ", "{}", "handled", "my"),
                (4, "twilio", f"НЭГДЭХ {ZAG_BAG_1}", "{}", "handled", "join"),
                (5, "twilio", "СОНГО 1", "{}", "pending", None),
                (6, "android", "VOTE 3", "{}", "handled", "vote"),
            ]
            for rid, channel, text, extra, status, intent in rows:
                await conn.execute(
                    "INSERT INTO inbox (id, channel, external_id, address, text, extra, "
                    "received_at, status, intent) VALUES (?,?,?,?,?,?,?,?,?)",
                    (rid, channel, f"x{rid}", "tel:+97699110001", text, extra, "t", status,
                     intent),
                )  # fmt: skip
            replies = [  # inbox id, text, status
                (1, "Баярлалаа! Таны сонголт: 2 4", "delivered"),
                (2, "Сонгосон: 2", "queued"),
                (3, "Таны сонголт: 2 4", "sent"),
                (4, "Бүртгэгдлээ", "sent"),
            ]
            for inbox_id, text, status in replies:
                await conn.execute(
                    "INSERT INTO outbox (dedupe_key, channel, address, inbox_id, text, extra, "
                    "status, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (f"reply:{inbox_id}", "twilio", "tel:+97699110001", inbox_id, text,
                     json.dumps({"buttons": [[{"label": "✅ 1", "data": "tg:v:1:2:1"}]]}),
                     status, "t", "t"),
                )  # fmt: skip
        assert await migrate(db.writer) == ["0007_ballot_secrecy.sql"]
        got = {r["id"]: dict(r) for r in await fetchall(db.reader, "SELECT * FROM inbox")}
        assert [got[i]["text"] for i in range(1, 6)] == [
            *[inbox.SEALED] * 3,
            f"НЭГДЭХ {ZAG_BAG_1}",
            "СОНГО 1",  # not handled yet: the router seals it when it handles it
        ]
        assert got[6]["external_id"] == "and-sealed-6"
        assert got[6]["text"] == inbox.SEALED
        assert [got[i]["external_id"] for i in range(1, 6)] == [f"x{i}" for i in range(1, 6)]
        assert json.loads(got[2]["extra"]) == {
            "sealed": "1",
            "callback": None,
            "callback_message_id": "77",
        }
        out = {r["inbox_id"]: dict(r) for r in await fetchall(db.reader, "SELECT * FROM outbox")}
        assert [out[i]["text"] for i in (1, 3, 4)] == [inbox.SEALED, inbox.SEALED, "Бүртгэгдлээ"]
        assert out[2]["text"] == "Сонгосон: 2"
        assert json.loads(out[2]["extra"])["ballot"] == 1
        async with db.write() as conn:  # the queued one is sent: sealed by the trigger
            await conn.execute("UPDATE outbox SET status = 'sent' WHERE inbox_id = 2")
        [sent] = await fetchall(db.reader, "SELECT text, extra FROM outbox WHERE inbox_id = 2")
        assert sent["text"] == inbox.SEALED
        assert "✅" not in sent["extra"]


async def test_telegram_ballot_refuses_a_second_bag_in_the_same_year(
    both: tuple[SmsWorld, TgWorld],
) -> None:
    """One ballot per planning year holds in Telegram too: no ballot buttons to tick."""
    sms, tg = both
    await make_official(sms.sanal, "+97699000002", "governor", ZAG_BAG_2)
    for bag, governor in ((ZAG_BAG_1, GOVERNOR), (ZAG_BAG_2, "+97699000002")):
        await texts(sms, governor, "НЭЭХ")
        await texts(sms, PROPOSERS[0], f"НЭГДЭХ {bag}")
        await texts(sms, PROPOSERS[0], "САНАЛ Төсөл 1: худаг")
        await texts(sms, governor, "ЗӨВ 1")
        await texts(sms, governor, "ХУРААЛТ")
    user = tg.user(7123456781)
    await user.link(TG_VOTERS[7123456781])
    await user.say(f"/join {ZAG_BAG_1}")
    await user.say("/vote")
    await user.press("1. Төсөл")
    assert "Баярлалаа" in await user.press("Илгээх (1)")
    await texts(sms, GOVERNOR, "ХААХ")  # bag 1 closes; moving bags is allowed again
    assert "2-р баг" in await user.say(f"/join {ZAG_BAG_2}")
    refused = await user.say("/vote")
    assert "Баянбулагт санал өгсөн" in refused
    assert "Жилд нэг л удаа" in refused
    assert tg.fake.last(user.id).buttons() == []  # no ballot to tick
    assert "Жилд нэг л удаа" in await user.say("/vote 1")
    rows = await tg.rows(
        "SELECT count(*) AS n FROM participation x JOIN rounds r ON r.id = x.round_id "
        "WHERE r.bag_code = ?",
        ZAG_BAG_2,
    )
    assert rows[0]["n"] == 0
