"""The simulator is a training tool, not a back door (issue 11).

On a server with a real channel (Twilio, the Android gateway, Telegram) and no training
token, the simulator's page and API are not there: a POST in a governor's name opens no
round, and every table is as it was. With the operator's training token, every request
must carry it, and the simulator acts only on numbers nobody uses: not a number that wrote
through a real channel, not an official's; and it never reads a real channel's messages.
`sanal serve` and `sanal chat` refuse, in one line, what would open the back door.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from bot.app import Sanal
from bot.channels import simulator
from bot.channels.simulator_gate import Mode, decide, off_notice, start_refusal
from bot.channels.telegram import TelegramChannel
from bot.cli import main
from bot.core.clock import ManualClock
from bot.core.message import Channel, Inbound
from bot.core.settings import Settings
from bot.core.texts import render
from bot.web import NUMBER_IN_USE, build_web_app, refusal_body
from bot.wiring import build
from handlers.delivery import route_for
from storage import inbox, people
from storage import simulator as sim_store
from storage.db import Database, fetchall, table_names
from storage.identities import Identity
from storage.people import Person
from tests.channels.conftest import (
    SmsWorld,
    fake_gateway,
    fake_twilio,
    sms_settings,
    sms_world,
)
from tests.conftest import ZAG_BAG_1, make_official, make_settings
from tests.fakes.android_gateway import FakeGateway
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram.conftest import TOKEN as TG_TOKEN
from tests.telegram.conftest import fake_tg, tg_settings

__all__ = ["fake_gateway", "fake_tg", "fake_twilio"]  # fixtures, imported for pytest

GOVERNOR = "+97699000000"  # the SMS world's governor of bag 1
CITIZEN = "+97699112233"  # texts through Twilio
ANDROID_CITIZEN = "+97699112244"  # texts through the Android gateway
TRAINEE = "+97688001122"  # nobody's number: the trainer's
TRAINING_TOKEN = "training-token-0123456789abcdef"
ROUTES = [("GET", "/"), ("POST", "/api/sim/messages"), ("GET", "/api/sim/messages")]


async def snapshot(sanal: Sanal, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but ``skip``, and ``health``, which /healthz rewrites)."""
    skip = (*skip, "health")
    db = sanal.db.reader
    return {
        t: [
            tuple(r)
            for r in await fetchall(db, f"SELECT * FROM {t} ORDER BY 1")
            # The scheduler's backup lease is the scheduler's work, not the simulator's.
            if not (t == "settings_kv" and str(r[0]).startswith("backup."))
        ]
        for t in await table_names(db)
        if t not in skip
    }


async def call(
    client: TestClient[Any, Any],
    method: str,
    path: str,
    phone: str,
    text: str = "ТУСЛАМЖ",
    headers: dict[str, str] | None = None,
) -> Any:
    if method == "POST":
        return await client.post(path, json={"phone": phone, "text": text}, headers=headers)
    return await client.get(path, params={"phone": phone}, headers=headers)


def real_settings(
    kind: str,
    tmp_path: Path,
    fake_twilio: FakeTwilio,
    fake_gateway: FakeGateway,
    fake_tg: FakeTelegram,
    **extra: Any,
) -> Settings:
    telegram = {
        "telegram_bot_token": TG_TOKEN,
        "telegram_api_url": fake_tg.url,
        "telegram_mode": "polling",
    }
    if kind == "telegram":
        return tg_settings(tmp_path, fake_tg, **extra)
    provider = {"twilio": "twilio", "android": "android", "all": "twilio,android"}[kind]
    more = telegram if kind == "all" else {}
    return sms_settings(tmp_path, fake_twilio, fake_gateway, sms_provider=provider, **more, **extra)


@asynccontextmanager
async def server(
    settings: Settings, clock: ManualClock
) -> AsyncIterator[tuple[Sanal, TestClient[Any, Any]]]:
    """`sanal serve` without --demo: the app from the settings, its channels started."""
    sanal = build(settings, clock)
    for plugin in sanal.plugins:
        if isinstance(plugin, TelegramChannel):
            plugin.background = False  # no poller task: nothing arrives in these tests
    await sanal.open()
    for plugin in sanal.plugins:
        await plugin.start(sanal)
    try:
        async with TestClient(TestServer(build_web_app(sanal))) as client:
            yield sanal, client
    finally:
        await sanal.stop()


@pytest.mark.parametrize("kind", ["twilio", "android", "telegram", "all"])
async def test_a_real_server_has_no_simulator(
    kind: str,
    tmp_path: Path,
    clock: ManualClock,
    fake_twilio: FakeTwilio,
    fake_gateway: FakeGateway,
    fake_tg: FakeTelegram,
) -> None:
    settings = real_settings(kind, tmp_path, fake_twilio, fake_gateway, fake_tg)
    async with server(settings, clock) as (sanal, client):
        await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
        before = await snapshot(sanal)
        for method, path in ROUTES:
            for headers in (None, {"X-Sanal-Simulator-Token": "guess-guess-guess-guess"}):
                for text in ("НЭЭХ", "СОНГО 1", f"НЭГДЭХ {ZAG_BAG_1}"):
                    resp = await call(client, method, path, GOVERNOR, text, headers)
                    assert resp.status == 404, (method, path, await resp.text())
        # The health check and the channels' own routes are still there.
        assert (await client.get("/healthz")).status == 200
        await sanal.intake.drain()
        await sanal.drain_outbox()
        assert await snapshot(sanal) == before
        assert await sanal.db.fetchall("SELECT id FROM rounds") == []


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"SANAL_SIMULATOR": "on"}, ["SANAL_SIMULATOR=on", "SANAL_SIMULATOR_TOKEN", "twilio"]),
        ({"SANAL_SIMULATOR": "auto", "DEMO": "1"}, ["--demo", "twilio", "SANAL_SMS_PROVIDER"]),
        (
            {"SANAL_SIMULATOR_TOKEN": TRAINING_TOKEN, "DEMO": "1"},
            ["--demo", "twilio", "TELEGRAM_BOT_TOKEN"],
        ),
    ],
)
def test_serve_with_a_real_channel_and_the_simulator_on_refuses_in_one_line(
    env: dict[str, str], words: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env from the repository
    twilio = {
        "SANAL_BALLOT_KEY": "cli-test",
        "SANAL_SMS_PROVIDER": "twilio",
        "SANAL_PUBLIC_URL": "https://sanal.example.mn",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "twilio-test-auth-token",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "SANAL_TWILIO_API_URL": "http://127.0.0.1:9",  # never called: it stops first
        "SANAL_PORT": "0",
    }
    demo = env.pop("DEMO", None)
    args = ["serve", "--db", str(tmp_path / "real.db"), *(["--demo"] if demo else [])]
    result = CliRunner().invoke(main, args, env={**twilio, **env})
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    assert all(w in lines[0] for w in words), lines[0]


def test_settings_refuse_a_guessable_training_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        make_settings(tmp_path, simulator_token="short")
    assert make_settings(tmp_path, simulator_token="  ").simulator_token is None


@pytest.fixture
async def guarded(
    tmp_path: Path, clock: ManualClock, fake_twilio: FakeTwilio, fake_gateway: FakeGateway
) -> AsyncIterator[SmsWorld]:
    """Twilio and Android on, and the operator's training token set."""
    settings = sms_settings(tmp_path, fake_twilio, fake_gateway, simulator_token=TRAINING_TOKEN)
    async with sms_world(settings, clock) as world:
        await world.text(GOVERNOR, "НЭЭХ")  # a round is open, by SMS
        await world.text(CITIZEN, f"НЭГДЭХ {ZAG_BAG_1}")
        assert (await world.android_text(ANDROID_CITIZEN, f"НЭГДЭХ {ZAG_BAG_1}")).status < 300
        await world.handle()
        yield world


async def refusals(sanal: Sanal) -> list[dict[str, Any]]:
    rows = await sanal.db.fetchall(
        "SELECT * FROM audit_log WHERE action = 'refused.simulator' ORDER BY id"
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


async def test_with_the_token_every_request_must_carry_it(guarded: SmsWorld) -> None:
    client, sanal = guarded.client, guarded.sanal
    before = await snapshot(sanal, skip=("audit_log",))
    for method, path in ROUTES[1:]:
        for headers in (
            None,
            {"X-Sanal-Simulator-Token": "wrong-token-0123456789abcdef"},
            {"Authorization": "Bearer wrong-token-0123456789abcdef"},
            {"Authorization": f"Basic {TRAINING_TOKEN}"},  # not a bearer token
            {"X-Sanal-Simulator-Token": TRAINING_TOKEN[:-1]},
        ):
            resp = await call(client, method, path, TRAINEE, headers=headers)
            assert resp.status == 401, (method, headers, await resp.text())
            assert await resp.json() == refusal_body("token", "mn")
    await guarded.handle()
    assert await snapshot(sanal, skip=("audit_log",)) == before
    # Refusals are audited on the simulator's channel, at most one row a minute.
    [row] = await refusals(sanal)
    assert row["channel"] == "sim"
    assert row["detail"]["reason"] == "token"
    # The page itself is static and asks for the token; it holds no data.
    page = await client.get("/")
    assert page.status == 200
    assert 'id="token"' in await page.text()


@pytest.mark.parametrize(
    "header",
    [
        {"X-Sanal-Simulator-Token": TRAINING_TOKEN},
        {"Authorization": f"Bearer {TRAINING_TOKEN}"},
    ],
)
async def test_with_the_token_real_peoples_numbers_are_refused(
    guarded: SmsWorld, header: dict[str, str]
) -> None:
    client, sanal = guarded.client, guarded.sanal
    before = await snapshot(sanal, skip=("audit_log",))
    for phone, text in (
        (CITIZEN, "СОНГО 1"),  # wrote through Twilio
        (CITIZEN, "МИНИЙ"),
        (ANDROID_CITIZEN, "ГАРАХ"),  # wrote through the Android gateway
        (GOVERNOR, "ХААХ"),  # an official: wrote through Twilio
    ):
        for method in ("POST", "GET"):
            resp = await call(client, method, "/api/sim/messages", phone, text, header)
            assert resp.status == 403, (phone, method, await resp.text())
            assert await resp.json() == refusal_body(NUMBER_IN_USE, "mn")
    await guarded.handle()
    # Nobody's reply channel moved to the simulator; no ballot, no reply, nothing else.
    assert await snapshot(sanal, skip=("audit_log",)) == before
    async with sanal.db.write() as conn:
        citizen = await people.by_phone(conn, CITIZEN)
    assert citizen is not None
    assert citizen.channel == "twilio"
    assert {r["detail"]["reason"] for r in await refusals(sanal)} == {
        "this number is used through a real channel"
    }


async def test_an_officials_number_is_refused_even_before_it_writes(guarded: SmsWorld) -> None:
    client, sanal = guarded.client, guarded.sanal
    official = "+97699000077"  # made governor by the operator; has not written yet
    await make_official(sanal, official, "governor", "644653")
    headers = {"X-Sanal-Simulator-Token": TRAINING_TOKEN}
    before = await snapshot(sanal, skip=("audit_log",))
    for method in ("POST", "GET"):
        resp = await call(client, method, "/api/sim/messages", official, "НЭЭХ", headers)
        assert resp.status == 403
        # The same answer as for any number in use: the page tells nobody who is an
        # official; the audit log says why.
        assert await resp.json() == refusal_body(NUMBER_IN_USE, "mn")
    await guarded.handle()
    assert await snapshot(sanal, skip=("audit_log",)) == before
    assert "official" in (await refusals(sanal))[0]["detail"]["reason"]


async def test_with_the_token_a_training_number_works_until_a_real_person_uses_it(
    guarded: SmsWorld, fake_twilio: FakeTwilio
) -> None:
    client, sanal = guarded.client, guarded.sanal
    headers = {"X-Sanal-Simulator-Token": TRAINING_TOKEN}
    resp = await call(client, "POST", "/api/sim/messages", TRAINEE, f"НЭГДЭХ {ZAG_BAG_1}", headers)
    assert resp.status == 200, await resp.text()
    assert "Баянбулаг" in (await resp.json())["replies"][0]
    history = await (
        await call(client, "GET", "/api/sim/messages", TRAINEE, headers=headers)
    ).json()
    assert [m["direction"] for m in history["messages"]] == ["in", "out"]
    # The audit log says the action came through the simulator, not from the person.
    join = await sanal.db.fetchall(
        "SELECT channel FROM audit_log WHERE action = 'person.join' AND actor = ?",
        (f"tel:{TRAINEE}",),
    )
    assert [r["channel"] for r in join] == ["sim"]
    # A real person texts from that number: from now on the simulator keeps away from it,
    # and never shows what went over Twilio.
    await guarded.text(TRAINEE, "ТУСЛАМЖ")
    await guarded.handle()
    assert any(c["To"] == TRAINEE for c in fake_twilio.creates())
    for method in ("POST", "GET"):
        resp = await call(client, method, "/api/sim/messages", TRAINEE, "МИНИЙ", headers)
        assert resp.status == 403


async def test_the_router_refuses_a_simulated_message_as_a_real_number(
    guarded: SmsWorld,
) -> None:
    """The page checks before storing; the router checks again in its own transaction, so
    a message that got past the page just before a real SMS arrived changes nothing."""
    sanal = guarded.sanal
    before = await snapshot(sanal, skip=("audit_log", "inbox"))
    msg = simulator.inbound(CITIZEN, "ГАРАХ", sanal.clock.now(), "raced-1")
    inbox_id = await sanal.intake.receive_and_wait(msg)
    await sanal.drain_outbox()
    row = await sanal.db.fetchone("SELECT status, intent FROM inbox WHERE id = ?", (inbox_id,))
    assert row is not None
    assert (row["status"], row["intent"]) == ("handled", "refused")
    assert await snapshot(sanal, skip=("audit_log", "inbox")) == before
    [refused] = await refusals(sanal)
    assert refused["channel"] == "sim"
    assert refused["actor"] == f"tel:{CITIZEN}"


async def test_the_simulators_history_never_holds_a_real_channels_rows(sanal: Sanal) -> None:
    now = sanal.clock.now()
    msgs = [
        simulator.inbound(TRAINEE, "ТУСЛАМЖ", now, "s-1"),
        Inbound(Channel.TWILIO, "SM1", f"tel:{TRAINEE}", "МИНИЙ", now, phone=TRAINEE),
    ]
    async with sanal.db.write() as conn:
        await inbox.store_many(conn, msgs)
    rows = await sim_store.conversation(sanal.db.reader, TRAINEE)
    assert [r.text for r in rows] == ["ТУСЛАМЖ"]


# --- sanal chat ------------------------------------------------------------------------------


def chat(db: Path, phone: str, env: dict[str, str] | None = None, lines: str = "ТУСЛАМЖ\n") -> Any:
    return CliRunner().invoke(
        main,
        ["chat", "--db", str(db), "--phone", phone],
        input=lines,
        env={"SANAL_BALLOT_KEY": "cli-test", **(env or {})},
    )


def one_line_error(result: Any) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    return str(lines[0])


async def _with_twilio_traffic(db: Path) -> None:
    async with Database(db) as database, database.write() as conn:
        now = datetime.now(UTC)
        await inbox.store_many(
            conn, [Inbound(Channel.TWILIO, "SM9", f"tel:{CITIZEN}", "ТУСЛАМЖ", now, phone=CITIZEN)]
        )


def test_chat_refuses_on_a_database_real_channels_have_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.chdir(tmp_path)
    db = tmp_path / "real.db"
    asyncio.run(_with_twilio_traffic(db))
    line = one_line_error(chat(db, TRAINEE))
    assert "SANAL_SIMULATOR_TOKEN" in line
    assert "twilio" in line
    before = asyncio.run(_dump(db))  # (the first start loaded the national units)
    # With the token: a number nobody uses works; a real person's number is refused.
    token = {"SANAL_SIMULATOR_TOKEN": TRAINING_TOKEN}
    assert "real channel" in one_line_error(chat(db, CITIZEN, token))
    assert asyncio.run(_dump(db)) == before
    ok = chat(db, TRAINEE, token)
    assert ok.exit_code == 0, ok.output
    assert any(line.startswith("< ") for line in ok.output.splitlines())
    assert "off" in one_line_error(chat(db, TRAINEE, {**token, "SANAL_SIMULATOR": "off"}))


def test_chat_refuses_where_a_real_channel_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_line_error(
        chat(tmp_path / "new.db", TRAINEE, {"TELEGRAM_BOT_TOKEN": "7000000001:AAH-fake"})
    )
    assert "telegram" in line
    assert "SANAL_SIMULATOR_TOKEN" in line


async def _dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    async with Database(db) as database:
        return {
            t: [tuple(r) for r in await database.fetchall(f"SELECT * FROM {t} ORDER BY 1")]
            for t in await table_names(database.reader)
            if t != "audit_log"
        }


# --- what is sent over the simulator ---------------------------------------------------------


def _person(channel: str | None, telegram_id: int | None = None, blocked: bool = False) -> Person:
    accounts = () if telegram_id is None else (Identity("telegram", str(telegram_id), blocked),)
    return Person(1, CITIZEN, None, ZAG_BAG_1, "mn", "approved", False, channel, accounts)


def test_nothing_is_sent_over_the_simulator_beside_real_channels(tmp_path: Path) -> None:
    training = make_settings(tmp_path)
    both = make_settings(tmp_path, sms_provider="sim,twilio")
    telegram_only = make_settings(tmp_path, telegram_bot_token="7000000001:AAH-fake")
    # Someone who never wrote: the simulator in training, the real SMS provider otherwise.
    assert route_for(_person(None), training) == ("sim", f"tel:{CITIZEN}")
    assert route_for(_person(None), both) == ("twilio", f"tel:{CITIZEN}")
    # A Telegram user who blocked the bot, on a Telegram-only server: unreachable, rather
    # than "sent" over the simulator to nobody.
    assert route_for(_person("telegram", 5, blocked=True), telegram_only) is None
    assert route_for(_person("twilio"), both) == ("twilio", f"tel:{CITIZEN}")


async def test_a_database_real_channels_used_is_no_training_database(
    tmp_path: Path, clock: ManualClock
) -> None:
    """A second `serve` without the channels' settings (a mistake, or a web-only process)
    on the real database: the simulator stays off, whatever the settings say."""
    settings = make_settings(tmp_path)  # SANAL_SMS_PROVIDER=sim, no Telegram token
    first = Sanal(settings, clock)
    await first.open()
    async with first.db.write() as conn:
        msg = Inbound(
            Channel.ANDROID, "a1", f"tel:{CITIZEN}", "ТУСЛАМЖ", clock.now(), phone=CITIZEN
        )
        await inbox.store_many(conn, [msg])
    await first.stop()
    async with server(settings, clock) as (sanal, client):
        assert sanal.simulator.mode is Mode.OFF
        assert sanal.simulator.real == ("android",)
        before = await snapshot(sanal)
        for method, path in ROUTES:
            assert (await call(client, method, path, TRAINEE)).status == 404
        assert await snapshot(sanal) == before
    assert off_notice(decide(settings, ["android"])) is not None


async def test_simulator_off_and_demo_in_training(tmp_path: Path, clock: ManualClock) -> None:
    off = make_settings(tmp_path, simulator="off")
    async with server(off, clock) as (_, client):
        for method, path in ROUTES:
            assert (await call(client, method, path, TRAINEE)).status == 404
    training = make_settings(tmp_path)
    assert start_refusal(decide(training), training, demo=True) is None
    assert "SANAL_SIMULATOR is off" in str(start_refusal(decide(off), off, demo=True))


async def test_with_the_token_a_training_number_cannot_vote_in_a_real_round(
    guarded: SmsWorld,
) -> None:
    """A fresh number costs nothing in the simulator: beside real channels its ballot
    would be a vote by nobody. Joining and proposing are training; voting is refused."""
    client, sanal = guarded.client, guarded.sanal
    await guarded.text(CITIZEN, "САНАЛ Багийн худаг, 40 өрх")
    await guarded.handle()
    await guarded.text(GOVERNOR, "ЗӨВ 1")
    await guarded.handle()
    await guarded.text(GOVERNOR, "ХУРААЛТ")
    await guarded.handle()
    headers = {"X-Sanal-Simulator-Token": TRAINING_TOKEN}
    for text, expected in ((f"НЭГДЭХ {ZAG_BAG_1}", "Баянбулаг"), ("ЖАГСААЛТ", "худаг")):
        resp = await call(client, "POST", "/api/sim/messages", TRAINEE, text, headers)
        assert expected in (await resp.json())["replies"][0]
    resp = await call(client, "POST", "/api/sim/messages", TRAINEE, "СОНГО 1", headers)
    assert render("simulator.no_vote", "mn") in (await resp.json())["replies"][0]
    assert await sanal.db.fetchall("SELECT * FROM participation") == []
    assert await sanal.db.fetchall("SELECT * FROM ballot_choices") == []
    rows = await sanal.db.fetchall(
        "SELECT actor, channel FROM audit_log WHERE action = 'refused.simulator_vote'"
    )
    assert [tuple(r) for r in rows] == [(f"tel:{TRAINEE}", "sim")]
    # The real citizen's vote, by SMS, counts.
    await guarded.text(CITIZEN, "СОНГО 1")
    await guarded.handle()
    [voter] = await sanal.db.fetchall("SELECT channel FROM participation")
    assert voter["channel"] == "twilio"


async def test_serve_on_a_database_real_channels_used_answers_404(
    tmp_path: Path, clock: ManualClock
) -> None:
    """The real `sanal serve` builds its routes before it opens the database: the routes
    must still answer 404 once the open finds a real channel's traffic in the file."""
    from tests.faults.serve import Server, free_port

    db_path = tmp_path / "sanal.db"
    async with Database(db_path) as db, db.write() as conn:
        msg = Inbound(
            Channel.TWILIO, "SM1", f"tel:{CITIZEN}", "ТУСЛАМЖ", clock.now(), phone=CITIZEN
        )
        await inbox.store_many(conn, [msg])
    env = {"SANAL_DB": str(db_path), "SANAL_BALLOT_KEY": "test-ballot-key"}
    proc = Server(tmp_path, env, free_port())
    await proc.start()
    try:
        async with aiohttp.ClientSession() as http:
            for method, path in ROUTES:
                body = {"phone": TRAINEE, "text": "ТУСЛАМЖ"} if method == "POST" else None
                async with http.request(method, proc.url + path, json=body) as resp:
                    assert resp.status == 404, (method, path)
        async with Database(db_path) as db:
            rows = await db.fetchall("SELECT channel FROM inbox")
        assert [r["channel"] for r in rows] == ["twilio"]
    finally:
        assert await proc.interrupt() == 0
    assert "The simulator is off: real channels (twilio)" in proc.logs()
