"""PostgreSQL behind the same :class:`storage.db.Database` API, through asyncpg.

``SANAL_DB=postgresql://user@host/db`` opens this instead of a SQLite file; nothing above
storage/ knows which it has. Storage's statements are written once, in SQL both accept
(``INSERT ... ON CONFLICT DO NOTHING`` rather than ``INSERT OR IGNORE``, ``CASE`` rather
than a two-argument ``min``), with SQLite's ``?`` placeholders: :func:`translate` turns
those into ``$1, $2 ...``, ``BEGIN IMMEDIATE`` into ``BEGIN`` and two JSON functions
into PostgreSQL's names, nothing else. The
schema has a PostgreSQL version of each migration (storage/migrations/pg/).

- A pool of connections. :meth:`PgDatabase.write` takes one connection for one
  transaction (``BEGIN ... COMMIT``).
- One writer at a time, across every process on the database, as on SQLite: each write
  transaction first takes a transaction-level advisory lock (``WRITE_LOCK``). The handlers
  were written for SQLite's single writer and check, then act (the next proposal number,
  one ballot per voter, a round closed once, a reminder fan-out not yet done); under
  READ COMMITTED two such transactions at once would both pass the check. Serialising
  them keeps every invariant without a retry loop; what takes the time (webhooks,
  parsing outside the transaction, rendering documents, calling the providers) still runs
  in parallel in every process. The few writes that are sound by row locks alone say so
  (``write(serial=False)``: an outbox claim, ``FOR UPDATE SKIP LOCKED``) and do not wait
  for that lock. SERIALIZABLE would also be sound, but every handler would need to be
  retried whole on a serialisation failure, replies and audit rows included.
- A sweep runs in one process at a time (:meth:`PgDatabase.only_one`, a session-level
  advisory lock tried, never waited for).
- One more connection per process, "presence": it holds an advisory lock for each
  sender (lease owner) alive in this process, so another process can tell a live
  sender's leases from those of a process killed mid-send (the server drops a dead
  connection's locks), and it LISTENs for messages queued by other processes
  (``NOTIFY sanal_outbox`` at the commit of a transaction that queued one) to wake the
  senders here at once rather than at their next one-second poll.
- The reader and :meth:`PgDatabase.alone` run each statement on a pooled connection in
  autocommit.
- Errors come up as storage's own (sqlite3's) classes, with the server's message: code
  above storage/ catches ``storage.db.DatabaseError`` whichever database stands behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import re
import secrets
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
# Advisory locks are keyed by two int4s: Sanal's space ("SANA"), then what is locked.
# Another application on the same server picks other keys, or shares nothing with us.
LOCK_SPACE = 0x53414E41
WRITE_LOCK = 1
ONLY_ONE = {"sweep": 2}
# Held while a process checks the ballot key and migrates: of several `sanal serve`
# processes starting at once on one database, one does it while the others wait, then
# find it done.
OPEN_LOCK = 3
OWNER_SPACE = 0x53414E42  # a sender's: the second key is a digest of its owner id
OUTBOX_CHANNEL = "sanal_outbox"
# Where a ballot's text or choice is sealed or replaced (handlers/secrecy.py): their old
# row versions are vacuumed away after every sweep (PgDatabase.purge_sealed).
SEALED_TABLES = ("inbox", "outbox", "ballot_choices")
_BEGIN_SERIAL = f"BEGIN; SELECT pg_advisory_xact_lock({LOCK_SPACE}, {WRITE_LOCK})"
# A pooled connection the server has closed (a restart, a failover, a proxy's idle cut)
# that this process has not noticed yet: what using it raises.
_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    # The server's "terminating connection" arrived while the connection was idle:
    # asyncpg has it half-read and refuses the next statement.
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
)
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


def _lost(exc: BaseException) -> sqlite3.Error:
    """A connection lost for good, as storage's own error class (see _error)."""
    return sqlite3.OperationalError(f"{type(exc).__name__}: {exc}")


def _read_only(query: str) -> bool:
    """A statement that only reads: safe to run twice."""
    return query.lstrip()[:6].upper() == "SELECT" and " FOR UPDATE" not in query.upper()


def _args(params: Params) -> Sequence[Any]:
    """The statement's parameters. PostgreSQL's text cannot hold U+0000, which anyone can
    put in a message (SQLite stores it): it is stored as U+FFFD, the character that
    stands for one that cannot be shown, so that the message is kept and handled rather
    than its webhook failing on every retry."""
    if isinstance(params, dict):
        raise TypeError("named parameters are not supported on PostgreSQL; use ?")
    args = cast(Sequence[Any], params)
    if any(isinstance(a, str) and "\x00" in a for a in args):
        return [a.replace("\x00", "\ufffd") if isinstance(a, str) else a for a in args]
    return args


class PgTx(Tx):
    """A transaction on one connection, or (for the reader) a pool: statements run on any
    connection the pool has free, each in autocommit."""

    __slots__ = ("queued",)
    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self._conn = conn
        self.queued = False

    def queued_outbox(self) -> None:
        self.queued = True

    @property
    def _pg(self) -> Any:
        return self._conn

    async def _execute(self, sql: str, params: Params) -> Result:
        try:
            return Result(await self._pg.execute(translate(sql), *_args(params)))
        except _LOST as exc:
            raise _lost(exc) from exc
        except asyncpg.PostgresError as exc:
            raise _error(exc) from exc

    def execute(self, sql: str, params: Params = ()) -> Awaitable[Any]:
        return self._execute(sql, params)

    async def _executemany(self, sql: str, params: Iterable[Params]) -> Result:
        rows = [tuple(_args(p)) for p in params]
        if rows:
            try:
                await self._pg.executemany(translate(sql), rows)
            except _LOST as exc:
                raise _lost(exc) from exc
            except asyncpg.PostgresError as exc:
                raise _error(exc) from exc
        return Result("")

    def executemany(self, sql: str, params: Iterable[Params]) -> Awaitable[Any]:
        return self._executemany(sql, params)

    async def _fetch(self, sql: str, params: Params) -> list[Row]:
        query, args = translate(sql), _args(params)
        # The reader (the pool, in autocommit) may meet a connection closed under it; a
        # plain read is safe to run again, on the next connection the pool gives.
        again = isinstance(self._pg, asyncpg.Pool) and _read_only(query)
        for attempt in range(POOL_MAX + 1 if again else 1):
            try:
                return cast(list[Row], await self._pg.fetch(query, *args))
            except _LOST as exc:
                if attempt == POOL_MAX or not again:
                    raise _lost(exc) from exc
            except asyncpg.PostgresError as exc:
                raise _error(exc) from exc
        raise AssertionError("unreachable")

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
        except _LOST as exc:
            raise _lost(exc) from exc
        except asyncpg.PostgresError as exc:
            raise _error(exc) from exc

    def executescript(self, script: str) -> Awaitable[Any]:
        return self._script(script)

    async def _plain(self, sql: str) -> None:
        try:
            await self._pg.execute(sql)
        except _LOST as exc:
            raise _lost(exc) from exc
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
        self._presence: asyncpg.Connection | None = None
        self._presence_lock = asyncio.Lock()
        # What the presence connection holds, to take again on a new one: a connection
        # that drops (a server restart, a proxy's idle cut) lets go of its locks, and this
        # process's senders would look dead to the others for good.
        self._owners: set[str] = set()
        self._held_on: asyncpg.Connection | None = None  # the connection _owners are held on
        self._listener: Callable[[object, int, str, str], None] | None = None
        # Our own NOTIFYs come back to our listener: the payload tells them apart.
        self._token = secrets.token_hex(8)

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
            await raw.execute("SELECT pg_advisory_lock($1, $2)", LOCK_SPACE, OPEN_LOCK)
            try:
                if self.key is not None:
                    self.ballot_secret = await keyguard.check(conn, self.key, _safe(self.path))
                if self.auto_migrate:
                    self.migrated = await migrate(conn, backup_dir=None, key=self.ballot_secret)
                if self.key is not None:
                    self.ballot_secret = await keyguard.settle(conn, self.key, _safe(self.path))
            finally:
                await raw.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_SPACE, OPEN_LOCK)
        self._writer = self._reader = self._pool_tx

    async def close(self) -> None:
        await self._close_connections()

    async def _close_connections(self) -> None:
        presence, self._presence = self._presence, None
        self._held_on, self._listener = None, None
        self._owners.clear()
        if presence is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await presence.close()
        pool, self._pool = self._pool, None
        self._reader = self._writer = self._pool_tx = None
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def write(self, *, serial: bool = True) -> AsyncIterator[Tx]:
        """One transaction on one pooled connection; commits on success, else rolls back.

        Serial (the default): the one writer across all processes (``WRITE_LOCK``, see
        the module's doc), taken in the same round trip as ``BEGIN`` and let go by the
        commit. This process's writers queue on an asyncio lock first, so one pooled
        connection at a time waits for the server's lock, not the whole pool."""
        if self._pool is None:
            raise RuntimeError("database is not open")
        if not serial:
            async with self._transaction("BEGIN") as tx:
                yield tx
            return
        async with self._write_lock, self._transaction(_BEGIN_SERIAL) as tx:
            yield tx

    @asynccontextmanager
    async def _transaction(self, begin: str) -> AsyncIterator[PgTx]:
        assert self._pool is not None
        async with self._begun(begin) as raw:
            tx = PgTx(raw)
            try:
                yield tx
            except BaseException:
                # On a connection lost mid-way the server has rolled back already.
                with contextlib.suppress(sqlite3.Error):
                    await tx._plain("ROLLBACK")
                raise
            # The other processes' senders hear of the messages queued here at the
            # commit (a NOTIFY is delivered then, and dropped by a rollback).
            if tx.queued:
                await tx._plain(f"NOTIFY {OUTBOX_CHANNEL}, '{self._token}'; COMMIT")
            else:
                await tx._plain("COMMIT")

    @asynccontextmanager
    async def _begun(self, begin: str) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection with ``begin`` run on it. After a server restart the pool
        may hand out connections the server has closed, each failing its next use once
        (asyncpg does not retry): the BEGIN has done nothing yet, so it is tried on the
        next connection, up to a whole pool's worth and one new."""
        assert self._pool is not None
        for attempt in range(POOL_MAX + 1):
            raw = await self._pool.acquire()
            try:
                await raw.execute(begin)
            except _LOST as exc:
                # Never back into the pool as it is (the pool opens a new one in its
                # place); asyncpg may have released a closed one itself already.
                with contextlib.suppress(asyncpg.InterfaceError):
                    raw.terminate()
                    await self._pool.release(raw)
                if attempt == POOL_MAX:
                    raise _lost(exc) from exc
                continue
            except BaseException as exc:
                await self._pool.release(raw)
                if isinstance(exc, asyncpg.PostgresError):
                    raise _error(exc) from exc
                raise
            try:
                yield raw
            finally:
                await self._pool.release(raw)
            return

    @asynccontextmanager
    async def only_one(self, name: str) -> AsyncIterator[bool]:
        """Whether this process may run ``name`` now: an advisory lock on a connection
        of its own for as long as the block runs, tried and never waited for (another
        process sweeping now is as good as sweeping here). A killed process's lock goes
        with its connection."""
        if self._pool is None:
            raise RuntimeError("database is not open")
        key = ONLY_ONE[name]
        async with self._pool.acquire() as raw:
            got = bool(await raw.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCK_SPACE, key))
            try:
                yield got
            finally:
                if got:
                    await raw.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_SPACE, key)

    @asynccontextmanager
    async def _presence_connection(self) -> AsyncIterator[asyncpg.Connection]:
        """The connection that holds this process's sender locks and listens, for one
        operation at a time (a connection runs one statement at once)."""
        async with self._presence_lock:
            if self._presence is None or self._presence.is_closed():
                if self._pool is None:
                    raise RuntimeError("database is not open")
                lost = self._presence is not None
                try:
                    self._presence = await asyncpg.connect(self.path)
                except (OSError, asyncpg.PostgresError) as exc:
                    raise sqlite3.OperationalError(f"{_safe(self.path)}: {exc}") from exc
                if lost:
                    log.warning("database connection of the senders' locks was lost; renewed")
                if self._listener is not None:
                    await self._presence.add_listener(OUTBOX_CHANNEL, self._listener)
            yield self._presence

    async def hold_owner(self, owner: str) -> None:
        """Say, for as long as this process lives, that ``owner`` (a sender) is alive.

        Called again at every look for left rows (bot/sender.py): a no-op while the lock is
        held, and it takes every owner's lock again on a new connection when the old one
        dropped. Meanwhile the others may have taken back rows this process was sending:
        a send goes only if its row is still ours (storage.outbox.mark_attempts)."""
        if self._held_on is not None and not self._held_on.is_closed() and owner in self._owners:
            return
        self._owners.add(owner)
        async with self._presence_connection() as conn:
            owners = self._owners if self._held_on is not conn else {owner}
            for held in sorted(owners):
                got = await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1, $2)", OWNER_SPACE, _owner_key(held)
                )
                if not got:  # another live owner's id has the same digest: a new id is needed
                    self._owners.discard(held)
                    raise sqlite3.OperationalError(f"sender {held}: its lock is taken")
            self._held_on = conn

    async def release_owner(self, owner: str) -> None:
        """An orderly stop: ``owner``'s leases are free for the others now."""
        self._owners.discard(owner)
        if self._presence is None or self._presence.is_closed():
            return  # the lock went with the connection
        async with self._presence_connection() as conn:
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", OWNER_SPACE, _owner_key(owner))

    async def owners_alive(self, owners: Sequence[str]) -> set[str]:
        """Which of these senders still run, in any process: those whose lock is held.

        Each lock is tried in an autocommit statement, as a transaction lock: it is let
        go at the statement's end, so trying never takes it from a live owner."""
        if not owners or self._pool is None:
            return set(owners)
        rows = await self._pool.fetch(
            "SELECT o FROM unnest($1::text[], $2::int[]) AS t(o, k) "
            "WHERE NOT pg_try_advisory_xact_lock($3, k)",
            list(owners),
            [_owner_key(o) for o in owners],
            OWNER_SPACE,
        )
        return {str(r["o"]) for r in rows}

    async def listen_outbox(self, wake: Callable[[], None]) -> None:
        """Wake this process's senders when another process queues messages."""

        def heard(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            if payload != self._token:
                wake()

        async with self._presence_connection() as conn:
            await conn.add_listener(OUTBOX_CHANNEL, heard)
            self._listener = heard  # a new presence connection listens again

    async def alone(self, statement: Callable[[Tx], Awaitable[T]]) -> T:
        """Statements each atomic alone (autocommit), on the pool."""
        return await statement(self.writer)

    async def purge_sealed(self) -> None:
        """VACUUM the tables a ballot is sealed or replaced in.

        PostgreSQL never overwrites a row: sealing a message writes a new version and
        leaves the old one, its text as typed, in the table's file until VACUUM prunes it
        (autovacuum may wait for thousands of changes). Pruned, the old version's bytes
        go; a few may stay in the page's free space until new rows fill it (README,
        "Ballot secrecy", PostgreSQL). The visibility map lets VACUUM skip every page
        nothing changed on, so this costs little each sweep. ``SKIP_LOCKED``: another
        process vacuuming now is as good (the next sweep tries again)."""
        if self._pool is None:
            return
        try:
            async with self._pool.acquire() as raw:
                await raw.execute(f"VACUUM (SKIP_LOCKED) {', '.join(SEALED_TABLES)}")
        except (OSError, asyncpg.PostgresError) as exc:  # never fails a sweep
            log.warning("VACUUM of the sealed messages skipped: %s", exc)


def _owner_key(owner: str) -> int:
    """A sender's owner id as an int4 advisory lock key (ids are random: no clashes in
    practice, and a clash only makes a dead sender look alive, never the reverse)."""
    digest = hashlib.blake2b(owner.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _safe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


__all__ = ["DatabaseError", "PgDatabase", "PgTx", "translate"]
