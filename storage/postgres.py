"""PostgreSQL behind the same :class:`storage.db.Database` API, through asyncpg.

``SANAL_DB=postgresql://user@host/db`` opens this instead of a SQLite file; nothing above
storage/ knows which it has. Storage's statements are written once, in SQL both accept
(``INSERT ... ON CONFLICT DO NOTHING`` rather than ``INSERT OR IGNORE``, ``CASE`` rather
than a two-argument ``min``), with SQLite's ``?`` placeholders: :func:`translate` turns
those into ``$1, $2 ...``, ``BEGIN IMMEDIATE`` into ``BEGIN`` and two JSON functions
into PostgreSQL's names, nothing else. The
schema has a PostgreSQL version of each migration (storage/migrations/pg/).

- A pool of connections. :meth:`PgDatabase.write` takes one connection for one
  transaction (``BEGIN ... COMMIT``); PostgreSQL's row locks let several writers (and
  several processes) work at once, so there is no process-wide write lock as for SQLite.
- The reader and :meth:`PgDatabase.alone` run each statement on a pooled connection in
  autocommit.
- Errors come up as storage's own (sqlite3's) classes, with the server's message: code
  above storage/ catches ``storage.db.DatabaseError`` whichever database stands behind.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import asyncpg

from storage.db import Database, DatabaseError, DatabaseUnusable, Params, Row, SavepointError, Tx

if TYPE_CHECKING:
    from storage.keyguard import KeySource

log = logging.getLogger(__name__)
T = TypeVar("T")
POOL_MIN = 1
POOL_MAX = 10
# Session advisory lock held while a process checks the ballot key and migrates: of several
# `sanal serve` processes starting at once on one database, one does it while the others
# wait, then find it done. (A number of Sanal's own: advisory locks share one key space.)
OPEN_LOCK = 0x5A4E_0001
_COUNT = re.compile(r"(\d+)$")
# Single-quoted literals, double-quoted names and comments pass through untouched; a
# bare ? outside them is a placeholder.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\?", re.S)


# Functions both have, under other names (SQLite's JSON aggregate over a person's rows).
_FUNCTIONS = [
    (re.compile(r"\bjson_group_array\("), "json_agg("),
    (re.compile(r"\bjson_array\("), "json_build_array("),
]


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """SQLite's placeholders (``?``) as PostgreSQL's (``$1``, ``$2`` ...)."""
    counter = 0

    def number(match: re.Match[str]) -> str:
        nonlocal counter
        if match.group(0) != "?":
            return match.group(0)
        counter += 1
        return f"${counter}"

    out = _TOKENS.sub(number, sql)
    for sqlite_name, pg_name in _FUNCTIONS:
        out = sqlite_name.sub(pg_name, out)
    if out.lstrip().upper().startswith("BEGIN IMMEDIATE"):
        out = "BEGIN"
    return out


class Result:
    """What ``execute`` returns: the number of rows a statement changed."""

    __slots__ = ("rowcount",)

    def __init__(self, status: str) -> None:
        found = _COUNT.search(status or "")
        self.rowcount = int(found.group(1)) if found else -1


def _error(exc: asyncpg.PostgresError) -> sqlite3.Error:
    """The server's error as storage's class of it (IntegrityError for a constraint)."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return sqlite3.IntegrityError(text)
    if isinstance(exc, (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError)):
        return sqlite3.OperationalError(text)
    return sqlite3.DatabaseError(text)


def _args(params: Params) -> Sequence[Any]:
    if isinstance(params, dict):
        raise TypeError("named parameters are not supported on PostgreSQL; use ?")
    return cast(Sequence[Any], params)


class PgTx(Tx):
    """A transaction on one connection, or (for the reader) a pool: statements run on any
    connection the pool has free, each in autocommit."""

    __slots__ = ()
    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self._conn = conn

    @property
    def _pg(self) -> Any:
        return self._conn

    async def _execute(self, sql: str, params: Params) -> Result:
        try:
            return Result(await self._pg.execute(translate(sql), *_args(params)))
        except asyncpg.PostgresError as exc:
            raise _error(exc) from exc

    def execute(self, sql: str, params: Params = ()) -> Awaitable[Any]:
        return self._execute(sql, params)

    async def _executemany(self, sql: str, params: Iterable[Params]) -> Result:
        rows = [tuple(_args(p)) for p in params]
        if rows:
            try:
                await self._pg.executemany(translate(sql), rows)
            except asyncpg.PostgresError as exc:
                raise _error(exc) from exc
        return Result("")

    def executemany(self, sql: str, params: Iterable[Params]) -> Awaitable[Any]:
        return self._executemany(sql, params)

    async def _fetch(self, sql: str, params: Params) -> list[Row]:
        try:
            return cast(list[Row], await self._pg.fetch(translate(sql), *_args(params)))
        except asyncpg.PostgresError as exc:
            raise _error(exc) from exc

    def execute_fetchall(self, sql: str, params: Params = ()) -> Awaitable[Iterable[Row]]:
        return self._fetch(sql, params)

    async def _insert(self, sql: str, params: Params) -> Row | None:
        if not re.search(r"\bRETURNING\b", sql, re.I):
            sql = f"{sql.rstrip().rstrip(';')} RETURNING id"
        rows = await self._fetch(sql, params)
        return rows[0] if rows else None

    def execute_insert(self, sql: str, params: Params = ()) -> Awaitable[Row | None]:
        return self._insert(sql, params)

    async def _script(self, script: str) -> Result:
        # No placeholders in a script (comments may hold a "?"): only BEGIN IMMEDIATE.
        script = re.sub(r"(?im)^BEGIN IMMEDIATE;", "BEGIN;", script)
        try:
            return Result(await self._pg.execute(script))
        except asyncpg.PostgresError as exc:
            raise _error(exc) from exc

    def executescript(self, script: str) -> Awaitable[Any]:
        return self._script(script)

    async def _plain(self, sql: str) -> None:
        try:
            await self._pg.execute(sql)
        except asyncpg.PostgresError as exc:
            raise _error(exc) from exc

    def commit(self) -> Awaitable[None]:
        return self._plain("COMMIT")

    def rollback(self) -> Awaitable[None]:
        return self._plain("ROLLBACK")

    def close(self) -> Awaitable[None]:
        return cast(Awaitable[None], self._pg.close())

    @property
    def in_transaction(self) -> bool:
        if isinstance(self._pg, asyncpg.Pool):
            return False
        return bool(self._pg.is_in_transaction())

    async def _step(self, sql: str) -> None:
        try:
            await self._pg.execute(sql)
        except asyncpg.PostgresError as exc:
            raise SavepointError(f"{sql}: {exc}") from exc


class PgDatabase(Database):
    """Sanal's database on a PostgreSQL server (``Database(url)`` makes one)."""

    def __init__(
        self,
        path: str | Path,
        *,
        auto_migrate: bool = True,
        key: KeySource | None = None,
        backup_dir: Path | None = None,
    ) -> None:
        super().__init__(
            path, auto_migrate=auto_migrate, key=key, backup_dir=backup_dir or Path("backups")
        )
        self._pool: asyncpg.Pool | None = None
        self._pool_tx: PgTx | None = None

    async def _open(self) -> None:
        from storage import keyguard
        from storage.db import migrate

        try:
            self._pool = await asyncpg.create_pool(self.path, min_size=POOL_MIN, max_size=POOL_MAX)
        except (OSError, asyncpg.PostgresError) as exc:
            raise DatabaseUnusable(f"{_safe(self.path)}: cannot connect ({exc})") from exc
        self._pool_tx = PgTx(self._pool)
        async with self._pool.acquire() as raw:
            conn = PgTx(raw)
            await raw.execute("SELECT pg_advisory_lock($1)", OPEN_LOCK)
            try:
                if self.key is not None:
                    self.ballot_secret = await keyguard.check(conn, self.key, _safe(self.path))
                if self.auto_migrate:
                    self.migrated = await migrate(conn, backup_dir=None, key=self.ballot_secret)
                if self.key is not None:
                    self.ballot_secret = await keyguard.settle(conn, self.key, _safe(self.path))
            finally:
                await raw.execute("SELECT pg_advisory_unlock($1)", OPEN_LOCK)
        self._writer = self._reader = self._pool_tx

    async def close(self) -> None:
        await self._close_connections()

    async def _close_connections(self) -> None:
        pool, self._pool = self._pool, None
        self._reader = self._writer = self._pool_tx = None
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """One transaction on one pooled connection; commits on success, else rolls back."""
        if self._pool is None:
            raise RuntimeError("database is not open")
        async with self._pool.acquire() as raw:
            tx = PgTx(raw)
            await tx._plain("BEGIN")
            try:
                yield tx
            except BaseException:
                await tx._plain("ROLLBACK")
                raise
            else:
                await tx._plain("COMMIT")

    async def alone(self, statement: Callable[[Tx], Awaitable[T]]) -> T:
        """Statements each atomic alone (autocommit), on the pool."""
        return await statement(self.writer)

    async def fold_wal(self) -> None:
        """Nothing to do: the server keeps its own write-ahead log."""


def _safe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


__all__ = ["DatabaseError", "PgDatabase", "PgTx", "translate"]
