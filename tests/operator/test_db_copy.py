"""`sanal db copy`: a soum's SQLite file moved to PostgreSQL (and back), on a real cluster.

After a whole bag round (proposals, a merge, ballots and a changed one, the close, the
audit log, the outbox), the app opened on the copy shows the same results and the same
report, with the same ballot key, and ballots stay filed under keyed voter keys and sealed.
Every refusal is one line, a non-zero exit, never a traceback, never a password.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from bot.app import Sanal
from bot.cli import main
from bot.core.clock import ManualClock
from bot.db_cli import _table
from bot.web import build_web_app
from storage import ballots, proposals, rounds
from storage import copy as storage_copy
from storage.copy import Copied, Counted, Table, in_order
from storage.keyguard import BallotKeyError
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official, make_settings
from tests.postgres import Cluster

CITIZENS = [f"+9769930{i:04d}" for i in range(7)]
PASSWORD = "hunter2-not-shown"


async def sanal_cli(folder: Path, *args: str, **env: str) -> tuple[int, str]:
    """`sanal ...` typed in ``folder`` (in a thread: the command runs its own loop)."""
    old = Path.cwd()
    os.chdir(folder)
    # The suite's own variable is no setting: the command would warn about it.
    unset: dict[str, str | None] = {"SANAL_TEST_BACKEND": None}
    try:
        result = await asyncio.to_thread(
            CliRunner(env={**unset, **env}).invoke, main, list(args), catch_exceptions=True
        )
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


async def copy_cli(folder: Path, source: str, target: str, **env: str) -> tuple[int, str]:
    return await sanal_cli(folder, "db", "copy", "--from", source, "--to", target, **env)


def read(path: Path) -> bytes:
    return path.read_bytes()


def one_line_refusal(code: int, out: str) -> str:
    assert code != 0, out
    assert "Traceback" not in out, out
    assert len(out.strip().splitlines()) == 1, out
    assert PASSWORD not in out, out
    return out


async def _round(app: Sanal) -> None:
    async with TestClient(TestServer(build_web_app(app))) as client:
        await make_official(app, GOVERNOR, "governor", ZAG_BAG_1)
        gov = Phone(client, GOVERNOR)
        people = [Phone(client, n) for n in CITIZENS]
        assert "эхэллээ" in await gov.say("НЭЭХ 2027-03-20 2027-04-01")
        for p in people:
            assert "Баянбулаг" in await p.say(f"НЭГДЭХ {ZAG_BAG_1}")
        await people[0].say("САНАЛ Малын худаг гаргах, 40 өрх, 25 сая")
        await people[1].say("sanal hudag gargah 35 urh")
        await people[2].say("САНАЛ Сургуулийн дотуур байрны засвар, 120 өрх")
        await people[3].say("САНАЛ Гудамжны гэрэлтүүлэг 80 өрх")
        assert "нэгтгэлээ" in await gov.say("НЭГТГЭХ 2 1")
        assert "1 3 4" in await gov.say("ЗӨВ 1 3 4")
        assert "эхэллээ" in await gov.say("ХУРААЛТ")
        for i, p in enumerate(people):
            assert "Баярлалаа" in await p.say(["СОНГО 1", "СОНГО 3 4", "СОНГО 4"][i % 3])
        assert "саналаа өөрчиллөө" in await people[0].say("3")
        assert "/8" in (await gov.say("ХААХ")).splitlines()[1]
        await app.drain_outbox()


async def _snapshot(app: Sanal) -> dict[str, Any]:
    """What the app shows and holds, in a form two backends can be compared by."""
    async with app.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        by_number = {p.number: p.id for p in await proposals.of_round(conn, rnd.id)}
        votes = await ballots.votes_per_proposal(conn, rnd.id)

        def table(sql: str) -> Any:
            return conn.execute_fetchall(sql)

        return {
            "status": rnd.status,
            "results": {n: votes.get(i, 0) for n, i in by_number.items()},
            "ballots": await ballots.count_ballots(conn, rnd.id),
            "people": [tuple(r) for r in await table("SELECT id, phone FROM people ORDER BY id")],
            "audit": [
                tuple(r) for r in await table("SELECT id, action, at FROM audit_log ORDER BY id")
            ],
            "outbox": [
                tuple(r)
                for r in await table("SELECT id, address, text, status FROM outbox ORDER BY id")
            ],
            "choices": sorted(
                tuple(r)
                for r in await table("SELECT round_id, voter_key, proposal_id FROM ballot_choices")
            ),
            "voters": sorted(
                tuple(r) for r in await table("SELECT round_id, person_id FROM participation")
            ),
        }


async def _played(tmp_path: Path, clock: ManualClock) -> tuple[Path, dict[str, Any]]:
    """A bag round played on a SQLite file, its app stopped: the file, and what it holds."""
    source = tmp_path / "sanal.db"
    app = Sanal(make_settings(tmp_path, db=str(source), ballot_key=None), clock)
    await app.open()
    try:
        await _round(app)
        return source, await _snapshot(app)
    finally:
        await app.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Both backends in one test whatever the pass (its source is a SQLite file): run once.
@pytest.mark.sqlite_only
async def test_a_bag_round_moves_to_postgresql_and_back(
    tmp_path: Path, clock: ManualClock, pg_url: str, pg_cluster: Cluster
) -> None:
    source, before = await _played(tmp_path, clock)
    data = tmp_path / "server-data"  # SANAL_DATA_DIR of the PostgreSQL installation
    assert before["results"] == {1: 2, 2: 0, 3: 3, 4: 4}  # 2 was merged into 1
    code, pb_before = await sanal_cli(
        tmp_path, "report", "pabulib", "--db", str(source), ZAG_BAG_1, "-o", "before.pb"
    )
    assert code == 0, pb_before

    code, out = await sanal_cli(
        tmp_path, "db", "copy", "--from", "sanal.db", "--to", pg_url, SANAL_DATA_DIR=str(data)
    )
    assert code == 0, out
    assert "every count matches" in out
    assert "MISMATCH" not in out
    for name, n in (("participation", 7), ("ballot_choices", None), ("audit_log", None)):
        line = next(x for x in out.splitlines() if x.split()[:1] == [name])
        if n is not None:
            assert line.split()[1:] == [str(n), str(n)], line
    # The key file went where the server's settings look for it.
    assert read(data / "sanal.key") == read(Path(f"{source}.key"))
    assert oct(os.stat(data / "sanal.key").st_mode & 0o777) == "0o600"

    # The app on the copy: the same results, the same report, the same secrecy.
    on_pg = make_settings(tmp_path, db=pg_url, data_dir=data, ballot_key=None)
    app = Sanal(on_pg, clock)
    await app.open()
    try:
        after = await _snapshot(app)
        assert after == before
        sealed = [t for (_, _, t, _) in after["outbox"] if t == "🔒"]
        assert len(sealed) >= len(CITIZENS) + 1  # every ballot's reply, the changed one too
        person_ids = {str(p) for _, p in after["voters"]}
        assert person_ids.isdisjoint({k for _, k, _ in after["choices"]})
        # The identity counters are past the copied ids: a new citizen gets a new id.
        async with TestClient(TestServer(build_web_app(app))) as client:
            assert "Баянбулаг" in await Phone(client, "+97699309999").say(f"НЭГДЭХ {ZAG_BAG_1}")
        newest = (await _snapshot(app))["people"][-1]
        assert newest[0] > before["people"][-1][0]

        # A server has the copy open: copying it back is refused, in one line.
        back = tmp_path / "back.db"
        code, out = await sanal_cli(
            tmp_path, "db", "copy", "--from", pg_url, "--to", str(back), SANAL_DATA_DIR=str(data)
        )
        assert "other session" in one_line_refusal(code, out)
        assert not back.exists()
    finally:
        await app.stop()
    code, pb_after = await sanal_cli(
        tmp_path,
        "report",
        "pabulib",
        "--db",
        pg_url,
        ZAG_BAG_1,
        "-o",
        "after.pb",
        SANAL_DATA_DIR=str(data),
    )
    assert code == 0, pb_after
    assert (tmp_path / "after.pb").read_text() == (tmp_path / "before.pb").read_text()

    # Another key does not open the copy.
    with pytest.raises(BallotKeyError):
        await Sanal(make_settings(tmp_path, db=pg_url, data_dir=data), clock).open()

    # And back to a SQLite file: the same code the other way.
    code, out = await sanal_cli(
        tmp_path, "db", "copy", "--from", pg_url, "--to", "back.db", SANAL_DATA_DIR=str(data)
    )
    assert code == 0, out
    assert read(tmp_path / "back.db.key") == read(data / "sanal.key")
    app = Sanal(make_settings(tmp_path, db=str(tmp_path / "back.db"), ballot_key=None), clock)
    await app.open()
    try:
        again = await _snapshot(app)
    finally:
        await app.stop()
    assert again["results"] == before["results"]
    assert again["choices"] == before["choices"]
    assert again["people"] == newest_people(before, newest)


def newest_people(before: dict[str, Any], newest: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return [*before["people"], newest]


@pytest.mark.sqlite_only
async def test_refusals_are_one_line(
    tmp_path: Path, clock: ManualClock, pg_url: str, pg_cluster: Cluster
) -> None:
    source = tmp_path / "sanal.db"
    app = Sanal(make_settings(tmp_path, db=str(source)), clock)
    await app.open()
    await app.stop()
    env = {"SANAL_BALLOT_KEY": "test-ballot-key", "SANAL_DATA_DIR": str(tmp_path)}

    code, out = await sanal_cli(tmp_path, "db", "copy", "--from", "nothing.db", "--to", pg_url)
    assert "no such database file" in one_line_refusal(code, out)

    code, out = await sanal_cli(tmp_path, "db", "copy", "--from", "sanal.db", "--to", pg_url, **env)
    assert code == 0, out
    # The target holds rows now.
    code, out = await sanal_cli(tmp_path, "db", "copy", "--from", "sanal.db", "--to", pg_url, **env)
    assert "is not empty" in one_line_refusal(code, out)

    # A database that does not exist on the server; a server that is not there.
    parts = urlsplit(pg_url)
    missing = pg_url.replace(f"sanal@{parts.path}", f"sanal:{PASSWORD}@/no_such_db")
    code, out = await sanal_cli(
        tmp_path, "db", "copy", "--from", "sanal.db", "--to", missing, **env
    )
    assert "no_such_db" in one_line_refusal(code, out)
    assert "sanal:***@" in out
    nowhere = f"postgresql://sanal:{PASSWORD}@127.0.0.1:{_free_port()}/sanal"
    code, out = await sanal_cli(
        tmp_path, "db", "copy", "--from", "sanal.db", "--to", nowhere, **env
    )
    assert "cannot" in one_line_refusal(code, out)
    code, out = await sanal_cli(
        tmp_path, "db", "copy", "--from", "sanal.db", "--to", "postgresql://[nope/x", **env
    )
    one_line_refusal(code, out)

    # A source that a running process has open.
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "c.execute('SELECT count(*) FROM sqlite_master').fetchall(); "
        "print('open', flush=True); sys.stdin.read()",
        str(source),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"open"
        other = await pg_cluster.create()
        try:
            code, out = await sanal_cli(
                tmp_path, "db", "copy", "--from", "sanal.db", "--to", other, **env
            )
        finally:
            await pg_cluster.drop(other)
        assert "is open by a running process" in one_line_refusal(code, out)
    finally:
        await holder.communicate(b"")

    # A key that is not the source's: nothing copied.
    other = await pg_cluster.create()
    try:
        code, out = await sanal_cli(
            tmp_path,
            "db",
            "copy",
            "--from",
            "sanal.db",
            "--to",
            other,
            SANAL_BALLOT_KEY="another-key",
        )
        assert "does not match" in one_line_refusal(code, out)
    finally:
        await pg_cluster.drop(other)


def test_a_count_that_differs_is_flagged() -> None:
    done = Copied([Counted("people", 3, 3), Counted("outbox", 5, 4)], None)
    assert done.mismatched() == [Counted("outbox", 5, 4)]
    lines = _table(done)
    assert lines[1].split() == ["people", "3", "3"]
    assert lines[2].split() == ["outbox", "5", "4", "MISMATCH"]


def test_parents_come_first() -> None:
    def table(name: str, *parents: str) -> Table:
        return Table(name, [], ["id"], set(parents), [], None)

    found = {
        t.name: t
        for t in (
            table("ballot_choices", "rounds", "proposals"),
            table("proposals", "rounds", "people", "proposals"),  # merged_into: itself
            table("rounds", "units"),
            table("people", "units"),
            table("units", "units"),
        )
    }
    names = [t.name for t in in_order(found)]
    assert names.index("units") < names.index("rounds") < names.index("proposals")
    assert names.index("people") < names.index("proposals") < names.index("ballot_choices")


# Both backends in one test whatever the pass (its source is a SQLite file): run once.
@pytest.mark.sqlite_only
async def test_a_copy_read_two_rows_at_a_time_is_the_same_copy(
    tmp_path: Path, clock: ManualClock, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tables are read a batch at a time (keyset paging), so a national database never
    sits in memory whole: with batches of two, every table spans many of them, units and
    merged proposals name rows of later batches, and the copy is still the same data."""
    source, before = await _played(tmp_path, clock)
    monkeypatch.setattr(storage_copy, "BATCH", 2)
    copied = await storage_copy.copy(source, pg_url)
    assert copied.mismatched() == []
    assert copied.rows > 100  # the places alone span dozens of batches
    back = tmp_path / "back.db"
    assert (await storage_copy.copy(pg_url, back)).mismatched() == []
    # The key goes where each side's settings look for it (`sanal db copy` does this).
    for key_file in (tmp_path / "sanal.key", tmp_path / "back.db.key"):
        key_file.write_bytes(read(Path(f"{source}.key")))
    for where in (pg_url, str(back)):
        app = Sanal(make_settings(tmp_path, db=where, data_dir=tmp_path, ballot_key=None), clock)
        await app.open()
        try:
            assert await _snapshot(app) == before
        finally:
            await app.stop()
