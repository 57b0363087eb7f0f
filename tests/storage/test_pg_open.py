"""Several processes opening one new PostgreSQL database at once (three `sanal serve`
started together by systemd or a container orchestrator): one migrates and settles the
ballot key while the others wait, and all of them then work on the same schema and key."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from storage.db import Database, migration_files
from storage.keyguard import KeySource
from tests import postgres


async def _empty_database(cluster: postgres.Cluster, name: str) -> str:
    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")  # from template1: no tables at all
    finally:
        await admin.close()
    return cluster.url(name)


async def test_three_processes_opening_a_new_database_migrate_it_once(
    pg_cluster: postgres.Cluster, tmp_path: Path
) -> None:
    url = await _empty_database(pg_cluster, "open_race")
    key = KeySource(file=tmp_path / "sanal.key", value=b"one-key-for-all-processes")
    try:
        opened = await asyncio.gather(
            *(Database(url, key=key).open() for _ in range(3)), return_exceptions=True
        )
        errors = [o for o in opened if isinstance(o, BaseException)]
        assert errors == []
        databases = [o for o in opened if isinstance(o, Database)]
        migrated = [db.migrated for db in databases]
        # One of them applied every migration; the others found them applied.
        assert sorted(len(m) for m in migrated) == [0, 0, len(migration_files("postgresql"))]
        assert len({db.ballot_secret for db in databases}) == 1
        rows = await databases[0].fetchall(
            "SELECT version, count(*) AS n FROM schema_migrations GROUP BY version"
        )
        assert {int(r["n"]) for r in rows} == {1}
        assert len(rows) == len(migration_files("postgresql"))
        for db in databases:
            await db.close()
    finally:
        await pg_cluster.drop(url)
