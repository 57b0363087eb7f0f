"""`sanal db copy`: a soum's data from one database into another, SQLite <-> PostgreSQL.

When a soum outgrows a laptop (several ``serve`` processes, a national operator, a managed
and replicated server) its SQLite file moves to PostgreSQL; the other way is the same code.

- The source must be at this version's schema (``sanal migrate`` first) and, for a SQLite
  file, not open by a running process (as ``sanal restore`` asks); a PostgreSQL source
  with other sessions on it is refused likewise: rows written during the copy would be lost.
- The target is migrated to the same version, and must hold nothing (a fingerprint of a
  ballot key left by an earlier open is the one row allowed, and replaced).
- Every table but ``schema_migrations``, parents before children, in ONE transaction on
  the target: a failed copy leaves it as empty as it was. Ids are kept; PostgreSQL's
  identity counters are moved past them, so the next row does not collide.
- The ballot key's fingerprint is a row of ``settings_kv``: it travels, so the same key
  opens the copy. The key itself is checked against the source before anything is copied.
- Afterwards the rows of every table are counted on both sides.

Rows are read in primary key order where there is one (ballot tables have no other), so the
copy's physical order says no more about who voted when than the source's keys do.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.settings import is_postgres_url
from storage import keyguard
from storage.db import (
    Database,
    DatabaseError,
    DatabaseUnusable,
    Row,
    Tx,
    fetchall,
    fetchone,
    migration_files,
)

BATCH = 500  # rows read by a statement, and written by an executemany
SKIPPED = ("schema_migrations",)  # the target's own, from its migrations


class CopyError(Exception):
    """A copy that cannot be made or did not come out whole: one line for the operator."""


@dataclass(frozen=True, slots=True)
class Counted:
    table: str
    source: int
    target: int


@dataclass(frozen=True, slots=True)
class Copied:
    counts: list[Counted]
    key: bytes | None  # the source's ballot key (checked), None when it has none yet

    @property
    def rows(self) -> int:
        return sum(c.target for c in self.counts)

    def mismatched(self) -> list[Counted]:
        return [c for c in self.counts if c.source != c.target]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: str  # the declared type, lower case ("bigint", "text", "integer")


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: list[Column]
    key: list[str]  # primary key columns
    parents: set[str]  # tables its foreign keys name (itself included)
    self_refs: list[str]  # columns that name a row of the same table
    identity: str | None  # PostgreSQL: the column numbered by an identity counter


def safe(location: str | Path) -> str:
    """A database's name for messages: a URL without its password."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", str(location))


# --- the catalog, per dialect ----------------------------------------------------------


async def tables(conn: Tx) -> dict[str, Table]:
    """Sanal's tables (not ``schema_migrations``), with columns, keys and references."""
    if conn.dialect == "postgresql":
        return await _pg_tables(conn)
    return await _sqlite_tables(conn)


async def _sqlite_tables(conn: Tx) -> dict[str, Table]:
    names = [
        str(r["name"])
        for r in await fetchall(
            conn,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name",
        )
    ]
    found: dict[str, Table] = {}
    for name in names:
        if name in SKIPPED:
            continue
        info = await fetchall(conn, f'PRAGMA table_info("{name}")')
        refs = await fetchall(conn, f'PRAGMA foreign_key_list("{name}")')
        key = [str(r["name"]) for r in sorted(info, key=lambda r: int(r["pk"])) if r["pk"]]
        found[name] = Table(
            name=name,
            columns=[Column(str(r["name"]), str(r["type"]).lower()) for r in info],
            key=key,
            parents={str(r["table"]) for r in refs},
            self_refs=[str(r["from"]) for r in refs if r["table"] == name],
            identity=None,
        )
    return found


async def _pg_tables(conn: Tx) -> dict[str, Table]:
    columns: dict[str, list[Column]] = {}
    identity: dict[str, str] = {}
    for r in await fetchall(
        conn,
        "SELECT table_name, column_name, data_type, is_identity FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
    ):
        table = str(r["table_name"])
        columns.setdefault(table, []).append(Column(str(r["column_name"]), str(r["data_type"])))
        if r["is_identity"] == "YES":
            identity[table] = str(r["column_name"])
    keys: dict[str, list[str]] = {}
    for r in await fetchall(
        conn,
        "SELECT c.conrelid::regclass::text AS tbl, a.attname AS col FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
        "WHERE c.contype = 'p' AND c.connamespace = current_schema()::regnamespace "
        "ORDER BY tbl, array_position(c.conkey, a.attnum)",
    ):
        keys.setdefault(str(r["tbl"]), []).append(str(r["col"]))
    parents: dict[str, set[str]] = {}
    self_refs: dict[str, list[str]] = {}
    for r in await fetchall(
        conn,
        "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent, "
        "a.attname AS col FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
        "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    ):
        child, parent = str(r["child"]), str(r["parent"])
        parents.setdefault(child, set()).add(parent)
        if child == parent:
            self_refs.setdefault(child, []).append(str(r["col"]))
    return {
        name: Table(
            name=name,
            columns=cols,
            key=keys.get(name, []),
            parents=parents.get(name, set()),
            self_refs=self_refs.get(name, []),
            identity=identity.get(name),
        )
        for name, cols in sorted(columns.items())
        if name not in SKIPPED
    }


def in_order(found: dict[str, Table]) -> list[Table]:
    """Parents before the tables that refer to them (a reference to itself aside)."""
    done: list[Table] = []
    placed: set[str] = set()
    waiting = dict(found)
    while waiting:
        ready = [
            t
            for t in waiting.values()
            if (t.parents - {t.name}) <= placed | (t.parents - set(found))
        ]
        if not ready:
            raise CopyError(f"tables refer to each other in a circle: {', '.join(sorted(waiting))}")
        for t in sorted(ready, key=lambda t: t.name):
            done.append(t)
            placed.add(t.name)
            del waiting[t.name]
    return done


async def versions(conn: Tx) -> set[int]:
    rows = await fetchall(conn, "SELECT version FROM schema_migrations")
    return {int(r["version"]) for r in rows}


async def count(conn: Tx, table: str) -> int:
    row = await fetchone(conn, f'SELECT count(*) AS n FROM "{table}"')  # noqa: S608 - a catalog name
    return int(row["n"]) if row else 0


async def other_sessions(conn: Tx) -> int:
    """PostgreSQL: the other sessions on this database (a running `serve`, a psql)."""
    row = await fetchone(
        conn,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    return int(row["n"]) if row else 0


# --- the copy --------------------------------------------------------------------------


async def copy(
    source: str | Path, target: str | Path, *, key: keyguard.KeySource | None = None
) -> Copied:
    """Copy every row of ``source`` into ``target``; CopyError (one line) if it cannot be
    done or the counts differ afterwards. ``key``: the source's ballot key, checked first."""
    src_name, dst_name = safe(source), safe(target)
    if not is_postgres_url(str(source)):
        await asyncio.to_thread(_sqlite_source_idle, Path(source))
    src = await _open(source, migrate=False)
    try:
        if src.writer.dialect == "postgresql":
            busy = await other_sessions(src.writer)
            if busy:
                raise CopyError(
                    f"{src_name} has {busy} other session(s) open (sanal serve?); stop them first"
                )
        want = {v for v, _, _ in migration_files(src.writer.dialect)}
        have = await _versions_or_none(src.writer)
        if have is None:
            raise CopyError(f"{src_name} is not a Sanal database (no schema_migrations)")
        if have - want:
            raise CopyError(f"{src_name} was migrated by a newer Sanal; use that version")
        if want - have:
            raise CopyError(
                f"{src_name} is {len(want - have)} migration(s) behind: "
                f"run `sanal migrate --db {src_name}` first"
            )
        secret = None
        if key is not None:
            try:
                secret = await keyguard.check(src.writer, key, src_name)
            except keyguard.BallotKeyError as exc:
                raise CopyError(f"{exc}; nothing copied") from None
        dst = await _open(target, migrate=True)
        try:
            counts = await _copy_rows(src.writer, dst, dst_name)
        finally:
            await dst.close()
    finally:
        await src.close()
    return Copied(counts, secret)


def _sqlite_source_idle(path: Path) -> None:
    from storage.backup import BackupError, in_use

    if not path.is_file():
        raise CopyError(f"{path}: no such database file")
    try:
        busy = in_use(path)
    except BackupError as exc:
        raise CopyError(str(exc)) from None
    if busy:
        raise CopyError(f"{path} is open by a running process (sanal serve?); stop it first")


async def _open(location: str | Path, *, migrate: bool) -> Database:
    try:
        return await Database(location, auto_migrate=migrate).open()
    except DatabaseUnusable as exc:
        raise CopyError(safe(str(exc))) from None
    except (DatabaseError, OSError, ValueError) as exc:
        raise CopyError(f"{safe(location)}: cannot open ({safe(str(exc))})") from None
    except Exception as exc:  # asyncpg's refusals of a URL it cannot use (a bad option)
        if type(exc).__module__.startswith("asyncpg"):
            raise CopyError(f"{safe(location)}: cannot connect ({safe(str(exc))})") from None
        raise


async def _versions_or_none(conn: Tx) -> set[int] | None:
    try:
        return await versions(conn)
    except DatabaseError:
        return None


async def _copy_rows(src: Tx, dst: Database, dst_name: str) -> list[Counted]:
    source_tables = await tables(src)
    target_tables = await tables(dst.writer)
    missing = set(source_tables) ^ set(target_tables)
    if missing:
        raise CopyError(f"the two schemas differ ({', '.join(sorted(missing))}); nothing copied")
    order = in_order(target_tables)
    try:
        async with dst.write() as conn:
            held = [t.name for t in order if await _holds_rows(conn, t.name)]
            if held:
                raise CopyError(
                    f"{dst_name} is not empty ({', '.join(held[:5])}"
                    f"{' ...' if len(held) > 5 else ''} hold rows); copy into an empty database"
                )
            await conn.execute("DELETE FROM settings_kv WHERE key = ?", (keyguard.FINGERPRINT_KEY,))
            for table in order:
                await _copy_table(src, conn, source_tables[table.name], table)
    except DatabaseError as exc:
        raise CopyError(f"copy into {dst_name} failed, nothing kept: {safe(str(exc))}") from None
    counts = [
        Counted(t.name, await count(src, t.name), await count(dst.writer, t.name)) for t in order
    ]
    return counts


async def _holds_rows(conn: Tx, table: str) -> bool:
    sql = f'SELECT 1 FROM "{table}"'  # noqa: S608 - a catalog name
    if table == "settings_kv":  # a fingerprint left by an open of the new database
        row = await fetchone(conn, f"{sql} WHERE key <> ? LIMIT 1", (keyguard.FINGERPRINT_KEY,))
    else:
        row = await fetchone(conn, f"{sql} LIMIT 1")
    return row is not None


async def _copy_table(src: Tx, dst: Tx, source: Table, target: Table) -> None:
    names = [c.name for c in target.columns]
    absent = set(names) - {c.name for c in source.columns}
    if absent:
        raise CopyError(f"{target.name}: the source has no {', '.join(sorted(absent))}")
    listed = ", ".join(f'"{n}"' for n in names)
    kinds = [c.kind for c in target.columns]
    # A row may name one that comes after it (a unit's parent, a merged proposal):
    # those columns are filled in once every row is there.
    later = [names.index(c) for c in target.self_refs]
    marks = ", ".join("?" * len(names))
    insert = f'INSERT INTO "{target.name}" ({listed}) VALUES ({marks})'  # noqa: S608
    async for rows in _read(src, target.name, names, source.key):
        await dst.executemany(insert, [_row(r, kinds, later) for r in rows])
    if later and target.key:
        key_at = [names.index(k) for k in target.key]
        where = " AND ".join(f'"{k}" = ?' for k in target.key)
        async for rows in _read(src, target.name, names, target.key):
            for i in later:
                updates = [
                    (_value(r[i], kinds[i]), *(_value(r[k], kinds[k]) for k in key_at))
                    for r in rows
                    if r[i] is not None
                ]
                if updates:
                    await dst.executemany(
                        f'UPDATE "{target.name}" SET "{names[i]}" = ? WHERE {where}',  # noqa: S608
                        updates,
                    )
    if target.identity is not None:
        await dst.execute(
            f"SELECT setval(pg_get_serial_sequence(?, ?), "  # noqa: S608 - a catalog name
            f'(SELECT max("{target.identity}") FROM "{target.name}"))',
            (target.name, target.identity),
        )


async def _read(src: Tx, table: str, names: list[str], key: list[str]) -> AsyncIterator[list[Row]]:
    """A table's rows, BATCH at a time in ``key`` order (keyset paging: each batch starts
    after the last one's key), so a national database is never held in memory whole. A
    table without a primary key (none has one today) comes in one piece."""
    if not key:
        rows = await fetchall(src, f'SELECT {", ".join(repr_names(names))} FROM "{table}"')  # noqa: S608
        if rows:
            yield rows
        return
    listed = ", ".join(f'"{n}"' for n in names)
    ordered = ", ".join(repr_names(key))
    key_at = [names.index(k) for k in key]
    after = f"({ordered}) > ({', '.join('?' * len(key))})"
    last: tuple[Any, ...] | None = None
    while True:
        where, params = (f" WHERE {after}", last) if last is not None else ("", ())
        rows = await fetchall(
            src,
            f'SELECT {listed} FROM "{table}"{where} ORDER BY {ordered} LIMIT {BATCH}',  # noqa: S608
            params,
        )
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        last = tuple(rows[-1][i] for i in key_at)


def repr_names(names: Iterable[str]) -> list[str]:
    return [f'"{n}"' for n in names]


def _row(row: Sequence[Any], kinds: list[str], later: list[int]) -> tuple[Any, ...]:
    return tuple(None if i in later else _value(v, kinds[i]) for i, v in enumerate(row))


def _value(value: Any, kind: str) -> Any:
    """A value as the target's column takes it: asyncpg wants the column's own Python type,
    where SQLite would have taken anything."""
    if value is None:
        return None
    if kind in ("bigint", "integer", "smallint") and not isinstance(value, int):
        return int(value)
    if kind == "text" and not isinstance(value, str):
        return value.decode() if isinstance(value, bytes) else str(value)
    if kind in ("double precision", "real") and not isinstance(value, float):
        return float(value)
    return value
