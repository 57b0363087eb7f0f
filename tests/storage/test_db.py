from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import Database, SavepointError, migrate, migration_files


async def test_migrations_apply_once_and_again_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    async with Database(path) as db:
        versions = [v for v, _, _ in migration_files()]
        rows = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == versions
        assert await migrate(db.writer) == []
    async with Database(path) as db:  # a second start applies nothing
        assert await migrate(db.writer) == []
        mode = await db.fetchone("PRAGMA journal_mode")
        assert mode is not None
        assert mode[0] == "wal"
        fk = await db.fetchone("PRAGMA foreign_keys")
        assert fk is not None
        assert fk[0] == 1


async def test_migrations_on_postgresql_are_the_same_versions(pg_url: str) -> None:
    async with Database(pg_url) as db:
        assert db.writer.dialect == "postgresql"
        rows = await db.fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["name"]) for r in rows] == [
            (v, n) for v, n, _ in migration_files()
        ]
        assert await migrate(db.writer) == []


def test_every_migration_has_its_postgresql_version() -> None:
    sqlite = [(v, n) for v, n, _ in migration_files()]
    assert sqlite == [(v, n) for v, n, _ in migration_files("postgresql")]


async def test_write_rolls_back_on_error(backend: Path | str) -> None:
    async with Database(backend) as db:
        with pytest.raises(RuntimeError):  # noqa: PT012 - the error is raised inside the block
            async with db.write() as conn:
                await conn.execute("INSERT INTO settings_kv VALUES ('a', '1')")
                raise RuntimeError("boom")
        assert await db.fetchone("SELECT * FROM settings_kv") is None


async def test_audit_log_is_append_only(backend: Path | str) -> None:
    async with Database(backend) as db:
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action) "
                "VALUES ('2027-01-01T00:00:00+00:00', 'cli', 'x')"
            )
        for sql in ("UPDATE audit_log SET action = 'y'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                async with db.write() as conn:
                    await conn.execute(sql)


async def test_two_writers_on_one_file_wait_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    async with Database(path) as first, Database(path) as second:
        async with first.write() as conn:
            await conn.execute("INSERT INTO settings_kv VALUES ('a', '1')")
            # The second process's writer must wait for this one, not fail: run it after.
        async with second.write() as conn:
            await conn.execute("INSERT INTO settings_kv VALUES ('b', '2')")
        rows = await first.fetchall("SELECT key FROM settings_kv ORDER BY key")
        assert [r["key"] for r in rows] == ["a", "b"]


async def _keys(db: Database) -> list[str]:
    return [r["key"] for r in await db.fetchall("SELECT key FROM settings_kv ORDER BY key")]


async def test_a_failing_savepoint_is_undone_alone_and_the_transaction_goes_on(
    backend: Path | str,
) -> None:
    async with Database(backend) as db:
        async with db.write() as tx:
            await tx.execute("INSERT INTO settings_kv VALUES ('a', '1')")
            with pytest.raises(RuntimeError):  # noqa: PT012 - the error is raised inside the block
                async with tx.savepoint("part"):
                    await tx.execute("INSERT INTO settings_kv VALUES ('b', '2')")
                    raise RuntimeError("boom")
            async with tx.savepoint("part"):  # released: the same name serves again
                await tx.execute("INSERT INTO settings_kv VALUES ('c', '3')")
            assert tx.in_transaction
        assert await _keys(db) == ["a", "c"]


async def test_a_savepoint_whose_own_statement_fails_says_so(backend: Path | str) -> None:
    async with Database(backend) as db:
        with pytest.raises(SavepointError, match="RELEASE part"):  # noqa: PT012 - the error is raised inside the block
            async with db.write() as tx, tx.savepoint("part"):
                await tx.execute("INSERT INTO settings_kv VALUES ('a', '1')")
                await tx.execute("RELEASE part")  # gone before the block ends
        assert await _keys(db) == []
        with pytest.raises(ValueError, match="identifier"):
            async with db.write() as tx, tx.savepoint("x; DROP TABLE rounds"):
                pass


async def test_rows_read_by_name_and_by_position_and_rowcounts(backend: Path | str) -> None:
    async with Database(backend) as db:
        async with db.write() as tx:
            cur = await tx.execute(
                "INSERT INTO settings_kv (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                ("a", "it's ? here"),
            )
            assert cur.rowcount == 1
            cur = await tx.execute(
                "INSERT INTO settings_kv (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                ("a", "again"),
            )
            assert cur.rowcount == 0
            await tx.executemany(
                "INSERT INTO settings_kv (key, value) VALUES (?, ?)", [("b", "2"), ("c", "3")]
            )
            cur = await tx.execute("UPDATE settings_kv SET value = 'x' WHERE key != ?", ("a",))
            assert cur.rowcount == 2
        row = await db.fetchone("SELECT key, value FROM settings_kv WHERE key = ?", ("a",))
        assert row is not None
        assert (row["key"], row[1]) == ("a", "it's ? here")
        assert dict(row) == {"key": "a", "value": "it's ? here"}
