"""The ballot key cannot be lost silently: a database refuses a missing or different key.

Before, a missing ``<db>.key`` was simply made again: after restoring only ``sanal.db``, a
voter who changed their ballot was counted twice (two voters, three votes).
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.web import build_web_app
from storage import ballots
from storage.keyguard import FINGERPRINT_KEY, BallotKeyError, fingerprint
from tests import suite_backend
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_settings
from tests.faults.serve import PREFIXES, free_port
from tests.scheduler.world import open_voting_round


def data(where: Path | str) -> bytes:
    return suite_backend.contents(where)


def _key_file_settings(tmp_path: Path) -> Settings:
    """No SANAL_BALLOT_KEY: the key lives in ``<db>.key``, as on a default install."""
    return make_settings(tmp_path, ballot_key=None)


@asynccontextmanager
async def _running(
    settings: Settings, clock: ManualClock
) -> AsyncIterator[tuple[Sanal, TestClient[Any, Any]]]:
    app = Sanal(settings, clock)
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            yield app, client
    finally:
        await app.stop()


async def _votes(app: Sanal) -> int:
    row = await app.db.fetchone("SELECT id FROM rounds WHERE bag_code = ?", (ZAG_BAG_1,))
    assert row is not None
    return sum((await ballots.votes_per_proposal(app.db.reader, int(row["id"]))).values())


async def _two_voters(tmp_path: Path, clock: ManualClock) -> tuple[Settings, list[str]]:
    settings = _key_file_settings(tmp_path)
    async with _running(settings, clock) as (app, client):
        voters = await open_voting_round(app, client, clock, bag=ZAG_BAG_1, governor=GOVERNOR)
        await Phone(client, voters[0]).say("СОНГО 1")
        await Phone(client, voters[1]).say("СОНГО 2")
        assert await _votes(app) == 2
    return settings, voters


async def test_a_lost_key_file_is_refused_not_a_second_count(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings, voters = await _two_voters(tmp_path, clock)
    settings.ballot_key_file().unlink()  # "restored only sanal.db"

    second = Sanal(settings, clock)
    try:
        await second.open()
    except BallotKeyError as exc:
        refusal = str(exc)
    else:  # what happened before the key was checked
        async with TestClient(TestServer(build_web_app(second))) as client:
            await Phone(client, voters[1]).say("СОНГО 1")  # changes their ballot
        votes = await _votes(second)
        await second.stop()
        pytest.fail(f"started without its key: {votes} votes from 2 voters")
    assert "ballot key missing" in refusal
    assert str(settings.ballot_key_file()) in refusal
    assert "\n" not in refusal
    assert not settings.ballot_key_file().exists(), "no new key was made"


async def test_a_different_key_is_refused_and_the_right_one_accepted(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings, _ = await _two_voters(tmp_path, clock)
    key_file = settings.ballot_key_file()
    right = key_file.read_bytes()
    key_file.write_text("f" * 64)
    with pytest.raises(BallotKeyError, match="ballot key does not match"):
        await Sanal(settings, clock).open()
    # SANAL_BALLOT_KEY is checked the same way.
    with pytest.raises(BallotKeyError, match="SANAL_BALLOT_KEY is key"):
        await Sanal(make_settings(tmp_path, ballot_key="another"), clock).open()
    key_file.write_bytes(right)
    async with _running(settings, clock) as (app, _client):
        assert await _votes(app) == 2


async def test_a_new_database_gets_a_private_key_and_keeps_only_its_fingerprint(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings = _key_file_settings(tmp_path)
    async with _running(settings, clock) as (app, _client):
        key = settings.ballot_key_file().read_text().strip()
        assert len(key) == 64
        assert stat.S_IMODE(os.stat(settings.ballot_key_file()).st_mode) == 0o600
        row = await app.db.fetchone(
            "SELECT value FROM settings_kv WHERE key = ?", (FINGERPRINT_KEY,)
        )
        assert row is not None
        assert row["value"] == fingerprint(key.encode())
    assert key.encode() not in data(settings.db)
    # Opened again: the same key, not a new one.
    async with _running(settings, clock):
        assert settings.ballot_key_file().read_text().strip() == key


async def test_a_fingerprint_alone_is_enough_to_refuse(tmp_path: Path, clock: ManualClock) -> None:
    """No ballot yet, but the database had a key: a new one is not made either."""
    settings = _key_file_settings(tmp_path)
    async with _running(settings, clock):
        pass
    settings.ballot_key_file().unlink()
    with pytest.raises(BallotKeyError, match="ballot key missing"):
        await Sanal(settings, clock).open()


async def test_ballots_without_a_fingerprint_are_checked_against_the_key(
    tmp_path: Path, clock: ManualClock
) -> None:
    """A database from before fingerprints: the key must find its ballots."""
    settings, _ = await _two_voters(tmp_path, clock)
    key_file = settings.ballot_key_file()
    right = key_file.read_bytes()

    async def forget_fingerprint() -> None:
        async with _running(settings, clock) as (app, _client), app.db.write() as conn:
            await conn.execute("DELETE FROM settings_kv WHERE key = ?", (FINGERPRINT_KEY,))

    await forget_fingerprint()
    key_file.write_text("0" * 64)
    with pytest.raises(BallotKeyError, match="does not find the ballots"):
        await Sanal(settings, clock).open()
    key_file.unlink()
    with pytest.raises(BallotKeyError, match="ballot key missing"):
        await Sanal(settings, clock).open()
    key_file.write_bytes(right)
    async with _running(settings, clock) as (app, _client):
        assert await _votes(app) == 2  # accepted, and its fingerprint stored again
        row = await app.db.fetchone(
            "SELECT value FROM settings_kv WHERE key = ?", (FINGERPRINT_KEY,)
        )
        assert row is not None
        assert row["value"] == fingerprint(right.strip())


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["migrate"],
        ["official", "add", "--phone", "99112233", "--role", "chair", "--unit", ZAG_BAG_1],
        ["chat", "--phone", "99112233"],
        ["backup", "copy.db"],
    ],
)
async def test_every_command_that_changes_it_refuses_with_one_line(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    settings, _ = await _two_voters(tmp_path, clock)
    settings.ballot_key_file().unlink()
    code, output, before = await _cli(tmp_path, settings, monkeypatch, command)
    assert code == 1
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: ballot key missing"), output
    assert not settings.ballot_key_file().exists()
    assert not (tmp_path / "copy.db").exists()
    assert data(settings.db) == before


@pytest.mark.parametrize(
    "command",
    [["official", "list"], ["sms-cost"], ["report", "participation", ZAG_BAG_1]],
)
async def test_a_copy_without_its_key_still_serves_for_reports(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """Counts need no key: a copy sent to the aimag without it is read, never given one."""
    settings, _ = await _two_voters(tmp_path, clock)
    settings.ballot_key_file().unlink()
    code, output, _ = await _cli(tmp_path, settings, monkeypatch, command)
    assert code == 0, output
    assert not settings.ballot_key_file().exists()


async def _cli(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> tuple[int, str, bytes]:
    """The command as an operator runs it: its own process (serve takes signals, which
    only a main thread may), with no key in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update(SANAL_DB=str(settings.db), SANAL_PORT=str(free_port()))
    before = data(settings.db)
    script = Path(sys.executable).with_name("sanal")
    sanal = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    done = await asyncio.to_thread(
        subprocess.run,
        [*sanal, *command],
        cwd=tmp_path,
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr, before
