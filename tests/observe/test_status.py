"""`sanal status` on a real database (a SQLite file, or on the PostgreSQL pass a server's
database, tests/suite_backend.py): two rounds under way (one in Hovd time), a khural
meeting ahead, a backlog with a stuck and a failing message, an inbox message that
failed, a sweep and a backup behind. Run while the app has the file open and a write
transaction under way, as beside `sanal serve`: it reads, waits for nobody, changes
nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner, Result

from bot.app import Sanal
from bot.cli import main
from bot.core.clock import SystemClock
from bot.core.message import Channel, Inbound
from scheduler.backups import POSTGRES_OFF
from storage import backup, inbox, meetings, outbox, pg_dump, rounds
from storage import metrics as monitoring
from storage.copy import safe
from storage.db import Database, fetchone
from tests import suite_backend
from tests.conftest import ZAG_BAG_1, ZAG_BAG_2, make_settings

UB = ZoneInfo("Asia/Ulaanbaatar")
HOVD = ZoneInfo("Asia/Hovd")


def local(when: datetime, zone: ZoneInfo, name: str) -> str:
    return f"{when.astimezone(zone):%Y-%m-%d %H:%M} {name}"


def status(db: Path | str, data: Path | None = None) -> Result:
    """`sanal status`; ``data``: SANAL_DATA_DIR (where a server's database has its backups)."""
    env = {"SANAL_SCHEDULER_ENABLED": "true", "TELEGRAM_BOT_TOKEN": ""}
    env |= {"SANAL_DATA_DIR": str(data) if data is not None else None}
    env |= {"SANAL_SMS_PROVIDER": "twilio", "SANAL_BACKUP_INTERVAL_HOURS": "24"}
    return CliRunner().invoke(main, ["status", "--db", str(db)], env=env)


async def hovd_bag(app: Sanal) -> str:
    row = await fetchone(
        app.db.reader,
        "SELECT code FROM units WHERE level = 'bag' AND tz = 'Asia/Hovd' ORDER BY code LIMIT 1",
    )
    assert row is not None
    return str(row["code"])


async def fill(app: Sanal, now: datetime) -> dict[str, object]:
    hovd = await hovd_bag(app)
    vote_until = (now + timedelta(days=5)).replace(second=0, microsecond=0)
    collect_until = (now + timedelta(days=2)).replace(second=0, microsecond=0)
    meeting_at = (now + timedelta(days=9)).replace(second=0, microsecond=0)
    async with app.db.write() as conn:
        voting = await rounds.create(
            conn, bag_code=ZAG_BAG_1, year=now.year + 1, now=now, vote_until=vote_until
        )
        await rounds.advance(conn, voting.id, "collecting", now)
        await rounds.create(
            conn, bag_code=hovd, year=now.year + 1, now=now, collect_until=collect_until
        )
        await meetings.schedule(conn, voting.id, meeting_at, "Багийн төв", now)
        for i, (channel, due) in enumerate(
            [("twilio", now - timedelta(minutes=40)), ("twilio", now), ("telegram", now)]
        ):
            await outbox.enqueue(
                conn,
                dedupe_key=f"t:{i}",
                channel=channel,
                address="tel:+97699112233" if channel == "twilio" else "telegram:123456789",
                text="Сайн байна уу",
                now=due,
            )
        # The third twilio message failed four times already (a provider refusing).
        await outbox.enqueue(
            conn, dedupe_key="t:9", channel="twilio", address="tel:+97699445566", text="x", now=now
        )
        row = await fetchone(conn, "SELECT id FROM outbox WHERE dedupe_key = 't:9'")
        assert row is not None
        for _ in range(4):
            await outbox.mark_retry(conn, row["id"], "twilio 400 to +97699445566", now)
        [(inbox_id, _)] = await inbox.store_many(
            conn,
            [Inbound(Channel.TWILIO, "SM1", "tel:+97699112233", "СОНГО 1", now, "+97699112233")],
        )
        await inbox.mark(conn, inbox_id, "failed", None, now)
        await monitoring.note_sweep(conn, now - timedelta(seconds=20))
    folder = app.settings.backup_path()
    if app.settings.db_is_postgres():  # `sanal backup` there: a pg_dump
        url = app.db.path
        dest = backup.free_name(folder, pg_dump.stem(url), now, pg_dump.SUFFIX)
        made: Path = pg_dump.dump(url, dest, app.db.ballot_secret).path
    else:
        source = Path(app.db.path)
        dest = backup.free_name(folder, source.stem, now)
        made = backup.make(source, dest, app.db.ballot_secret).path
    return {
        "hovd": hovd,
        "vote_until": vote_until,
        "collect_until": collect_until,
        "meeting_at": meeting_at,
        "backup": made,
    }


async def test_the_status_page_beside_a_running_app(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sms_provider="twilio", twilio_account_sid="AC1")
    app = Sanal(settings, SystemClock())
    await app.open()
    try:
        now = datetime.now(UTC)
        seen = await fill(app, now)
        # A write under way, as a busy `serve` has: status neither waits for it nor sees it.
        async with app.db.write() as conn:
            await conn.execute("UPDATE inbox SET status = 'pending'")
            result = await asyncio.wait_for(
                asyncio.to_thread(status, settings.db, settings.data_path()), 30
            )
    finally:
        await app.stop()
    assert result.exit_code == 0, result.output
    out = result.output
    lines = out.splitlines()
    assert lines[0].startswith(f"Sanal status: {safe(settings.db)}, ")

    # Rounds under way, each deadline in its bag's own zone.
    assert "Rounds: 1 collecting, 1 voting" in out
    vote_until = seen["vote_until"]
    collect_until = seen["collect_until"]
    meeting_at = seen["meeting_at"]
    assert isinstance(vote_until, datetime)
    assert isinstance(collect_until, datetime)
    assert isinstance(meeting_at, datetime)
    [bag_1] = [line for line in lines if line.startswith(f"  {ZAG_BAG_1} ")]
    assert f"Баянбулаг, Заг, for {now.year + 1}: voting, voting until" in bag_1
    assert local(vote_until, UB, "Ulaanbaatar") in bag_1
    assert f"khural {local(meeting_at, UB, 'Ulaanbaatar')}" in bag_1
    [hovd] = [line for line in lines if line.startswith(f"  {seen['hovd']} ")]
    assert "collecting proposals, proposals until" in hovd
    assert local(collect_until, HOVD, "Hovd") in hovd

    # What comes next, soonest first.
    start = lines.index("Next deadlines and reminders:")
    coming = lines[start + 1 : start + 6]
    expected = [
        (collect_until, HOVD, "Hovd", "proposals close, voting opens"),
        (vote_until - timedelta(hours=24), UB, "Ulaanbaatar", "vote reminder to non-voters"),
        (vote_until, UB, "Ulaanbaatar", "voting closes"),
        (meeting_at - timedelta(days=3), UB, "Ulaanbaatar", "khural reminder (3d before)"),
        (meeting_at, UB, "Ulaanbaatar", "khural meeting"),
    ]
    assert len(coming) == len(expected)
    for line, (at, zone, name, what) in zip(coming, expected, strict=True):
        assert line.split()[:3] == local(at, zone, name).split(), line
        assert line.endswith(what), line

    # Backlog, inbox, sweep, backup.
    assert "Outbox, not yet sent: telegram 1 queued; twilio 3 queued (oldest due 40m ago)" in out
    assert "Inbox: 0 pending, 1 failed" in out  # the uncommitted change is not seen
    assert "Scheduler: last sweep 2" in out
    assert "s ago (" in out
    assert f"Backup: newest {seen['backup']}" in out

    # Channels: twilio has trouble, with its last error, and no number in it.
    [twilio] = [line for line in lines if line.startswith("  twilio ")]
    assert "PROBLEM: 1 overdue, 1 failing" in twilio
    assert "never sent" in twilio
    assert "last error: twilio 400 to <phone>" in twilio
    [telegram] = [line for line in lines if line.startswith("  telegram ")]
    assert "ok; never sent" in telegram
    assert "+97699" not in out
    assert "99112233" not in out

    problems = out[out.index("Problems (") :]
    assert "twilio: outbox stuck: 1 messages due over 15 min ago unsent" in problems
    assert "twilio: outbox failing: 1 messages failed 3+ times" in problems
    assert "inbox: 1 received message(s) could not be handled" in problems
    assert "scheduler" not in problems
    assert "backup" not in problems


async def test_what_a_stopped_scheduler_and_no_backup_look_like(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    app = Sanal(settings, SystemClock())
    await app.open()
    async with app.db.write() as conn:
        await monitoring.note_sweep(conn, datetime.now(UTC) - timedelta(hours=3))
    await app.stop()
    before = await asyncio.to_thread(suite_backend.contents, settings.db)
    result = await asyncio.to_thread(status, settings.db, settings.data_path())
    assert result.exit_code == 0, result.output
    after = await asyncio.to_thread(suite_backend.contents, settings.db)
    assert after == before  # read, not written
    assert "Scheduler: last sweep 3h ago" in result.output
    assert "scheduler: no sweep for 3h (one expected every 30s" in result.output
    if settings.db_is_postgres():  # none scheduled there: not a problem, and said why
        assert "backup: none made yet" not in result.output
        assert POSTGRES_OFF in result.output
    else:
        assert "backup: none made yet" in result.output
    assert "Rounds: none yet" in result.output
    assert "  none" in result.output
    assert "  twilio  nothing sent yet" in result.output


async def test_a_round_left_voting_past_its_deadline(tmp_path: Path) -> None:
    """The scheduler stopped (or failing) on a deadline: the round is named as a problem
    once the close's wait for in-time messages is over, not before."""
    settings = make_settings(tmp_path)
    app = Sanal(settings, SystemClock())
    await app.open()
    await app.stop()
    now = datetime.now(UTC)
    db = await Database(settings.db).open()  # no app: nothing sweeps this round
    try:
        async with db.write() as conn:
            made = []
            for bag, late in ((ZAG_BAG_1, timedelta(hours=2)), (ZAG_BAG_2, timedelta(minutes=5))):
                rnd = await rounds.create(
                    conn, bag_code=bag, year=now.year + 1, now=now, vote_until=now - late
                )
                assert await rounds.advance(conn, rnd.id, "collecting", now)  # to voting
                made.append(rnd.id)
            await monitoring.note_sweep(conn, now)
    finally:
        await db.close()
    result = await asyncio.to_thread(status, settings.db, settings.data_path())
    assert result.exit_code == 0, result.output
    problems = result.output.split("Problems")[1]
    assert f"round {made[0]} (" in problems
    assert "voting closed 2h ago and the round is not closed" in problems
    assert f"round {made[1]} (" not in problems  # still within the close's wait


async def test_a_database_behind_this_version(tmp_path: Path) -> None:
    """A migration not applied: said among the problems; one it needs: one line, exit 1."""
    settings = make_settings(tmp_path)
    app = Sanal(settings, SystemClock())
    await app.open()
    async with app.db.write() as conn:
        await conn.execute(
            "DELETE FROM schema_migrations WHERE version = (SELECT max(version) "
            "FROM schema_migrations)"
        )
    await app.stop()
    result = await asyncio.to_thread(status, settings.db, settings.data_path())
    assert result.exit_code == 0, result.output
    assert "  - database not migrated: 1 migration(s) due (sanal migrate)" in result.output

    # A second database (re-applying a migration is not what upgrades do: an ALTER TABLE
    # would fail), one migration behind and missing a table status reads.
    tmp_path = tmp_path / "second"
    tmp_path.mkdir()
    settings = make_settings(tmp_path)
    app = Sanal(settings, SystemClock())
    await app.open()
    async with app.db.write() as conn:
        await conn.execute(
            "DELETE FROM schema_migrations WHERE version = (SELECT max(version) "
            "FROM schema_migrations)"
        )
        await conn.execute("DROP TABLE participation")  # a table status reads, missing
    await app.stop()
    result = await asyncio.to_thread(status, settings.db, settings.data_path())
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith(f"Error: {safe(settings.db)}: 1 migration(s) behind")
    assert line.endswith("run `sanal migrate`")


def test_no_database(tmp_path: Path) -> None:
    result = status(tmp_path / "missing.db")
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == f"Error: no database at {tmp_path / 'missing.db'} (--db or SANAL_DB)"
    )
    assert not (tmp_path / "missing.db").exists()
