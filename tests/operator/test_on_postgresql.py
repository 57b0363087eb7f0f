"""The operator's commands on a PostgreSQL server (a real cluster, tests/postgres.py).

`sanal backup` writes a pg_dump that pg_restore brings back into an empty database, which
the same key opens with the same ballots; `sanal restore` says how to restore on a server
in one line; `sanal status`, /healthz and /metrics report the server (reachable, its size,
its migrations); scheduled backups are off there and say so. The URL's password never
appears in what they print.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import health
from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.web import build_web_app
from scheduler import backups
from storage import ballots, pg_dump, rounds
from storage.db import migration_files
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official, make_settings
from tests.operator.test_db_copy import one_line_refusal, read, sanal_cli
from tests.postgres import USER, Cluster

PASSWORD = "hunter2-not-shown"
VOTERS = [f"+9769940{i:04d}" for i in range(4)]


def with_password(url: str) -> str:
    """The cluster trusts local connections: a password in the URL is accepted, unread."""
    return url.replace(f"{USER}@", f"{USER}:{PASSWORD}@", 1)


async def _voted(settings: Settings, clock: ManualClock) -> int:
    """A round with four ballots on the server; its id."""
    app = Sanal(settings, clock)
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            await make_official(app, GOVERNOR, "governor", ZAG_BAG_1)
            gov = Phone(client, GOVERNOR)
            await gov.say("НЭЭХ 2027-03-20 2027-04-01")
            for n in VOTERS:
                await Phone(client, n).say(f"НЭГДЭХ {ZAG_BAG_1}")
            await Phone(client, VOTERS[0]).say("САНАЛ Малын худаг гаргах, 40 өрх")
            await gov.say("ЗӨВ 1")
            await gov.say("ХУРААЛТ")
            for n in VOTERS:
                assert "Баярлалаа" in await Phone(client, n).say("СОНГО 1")
        async with app.db.write() as conn:
            rnd = await rounds.current(conn, ZAG_BAG_1)
            assert rnd is not None
            return rnd.id
    finally:
        await app.stop()


async def _empty_database(cluster: Cluster, name: str) -> str:
    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return cluster.url(name)


async def test_backup_is_a_pg_dump_that_restores(
    tmp_path: Path, clock: ManualClock, pg_url: str, pg_cluster: Cluster
) -> None:
    url, data = with_password(pg_url), tmp_path / "data"
    settings = make_settings(tmp_path, db=url, data_dir=data, ballot_key=None)
    round_id = await _voted(settings, clock)
    env = {"SANAL_DB": url, "SANAL_DATA_DIR": str(data)}

    code, out = await sanal_cli(tmp_path, "backup", "saved/", **env)
    assert code == 0, out
    assert PASSWORD not in out
    assert "pg_dump custom format" in out
    (dump,) = [p for p in (tmp_path / "saved").iterdir() if p.suffix == ".dump"]
    assert oct(os.stat(dump).st_mode & 0o777) == "0o600"
    assert read(Path(f"{dump}.key")) == read(data / "sanal.key")
    assert not list((tmp_path / "saved").glob("*.partial"))

    # `sanal restore` does not drop a server's database; it says how, in one line.
    code, out = await sanal_cli(tmp_path, "restore", str(dump), **env)
    assert "pg_restore" in one_line_refusal(code, out)

    # What it says works: pg_restore into an empty database, the key beside, SANAL_DB.
    name = f"restored_{os.getpid()}"
    restored = await _empty_database(pg_cluster, name)
    try:
        proc = await asyncio.create_subprocess_exec(
            str(pg_dump.program("pg_restore")), "--no-owner", "--dbname", restored, str(dump)
        )
        assert await proc.wait() == 0
        other = tmp_path / "other"
        await asyncio.to_thread(other.mkdir)
        await asyncio.to_thread((other / "sanal.key").write_bytes, read(Path(f"{dump}.key")))
        app = Sanal(make_settings(tmp_path, db=restored, data_dir=other, ballot_key=None), clock)
        await app.open()
        try:
            async with app.db.write() as conn:
                assert await ballots.count_ballots(conn, round_id) == len(VOTERS)
        finally:
            await app.stop()
    finally:
        await pg_cluster.drop(restored)


async def test_backup_refusals_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    env = {"SANAL_DB": with_password(pg_url), "SANAL_DATA_DIR": str(tmp_path)}
    await asyncio.to_thread((tmp_path / "taken.dump").write_bytes, b"")
    code, out = await sanal_cli(tmp_path, "backup", "taken.dump", **env)
    assert "exists already" in one_line_refusal(code, out)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = {"SANAL_DB": f"postgresql://sanal:{PASSWORD}@127.0.0.1:{port}/sanal"}
    code, out = await sanal_cli(tmp_path, "backup", "new.dump", **gone)
    assert "cannot connect" in one_line_refusal(code, out)


async def test_status_reports_the_server(tmp_path: Path, clock: ManualClock, pg_url: str) -> None:
    url = with_password(pg_url)
    await _voted(make_settings(tmp_path, db=url, data_dir=tmp_path), clock)
    code, out = await sanal_cli(tmp_path, "status", SANAL_DB=url, SANAL_DATA_DIR=str(tmp_path))
    assert code == 0, out
    assert PASSWORD not in out
    assert "Database: PostgreSQL server, reachable, " in out
    known = len(migration_files("postgresql"))
    assert f" MB, migrations {known} of {known}" in out
    assert "scheduled backups are off on PostgreSQL" in out
    assert "backup: none made yet" not in out  # not a problem where they are off
    code, out = await sanal_cli(tmp_path, "status", SANAL_DB=url.replace("/t", "/no_such_db_", 1))
    assert "no_such_db" in one_line_refusal(code, out)


async def test_healthz_metrics_and_scheduled_backups_on_either_backend(
    tmp_path: Path, clock: ManualClock, backend: Path | str
) -> None:
    # A path as a string: this test names its backend itself, whatever the pass.
    db = backend if isinstance(backend, str) else str(backend)
    # SANAL_DATA_DIR not made yet (the key is SANAL_BALLOT_KEY): its disk is checked.
    data = tmp_path / "not-yet"
    settings = make_settings(tmp_path, db=db, data_dir=data, backup_interval_hours=1)
    app = Sanal(settings, clock)
    await app.open()
    try:
        report: dict[str, Any] = await health.report(app)
        assert report["ok"], report
        async with TestClient(TestServer(build_web_app(app))) as client:
            text = await (await client.get("/metrics")).text()
        size = next(
            float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith("sanal_database_size_bytes ")
        )
        assert size > 0
        made = await backups.run_due(app.db, settings, clock.now())
        if isinstance(backend, str):
            assert report["database_size_bytes"] > 0
            assert made is None  # off on a server: its own backups
            assert backups.off_reason(settings) == backups.POSTGRES_OFF
            assert not await asyncio.to_thread(settings.backup_path().exists)
        else:
            assert made is not None
            assert backups.off_reason(settings) is None
    finally:
        await app.stop()


@pytest.mark.parametrize(
    ("url", "bare", "password"),
    [
        ("postgresql://u:p%40ss@h:5/db", "postgresql://u@h:5/db", "p@ss"),
        ("postgresql://u@/db?host=/run", "postgresql://u@/db?host=/run", None),
    ],
)
def test_the_password_goes_apart(url: str, bare: str, password: str | None) -> None:
    assert pg_dump.split_password(url) == (bare, password)
