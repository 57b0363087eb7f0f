"""The SQLite database: one writer connection, one reader, versioned migrations.

SQLite allows one writer at a time. A read-then-write transaction opened with a plain
``BEGIN`` can fail at once with "database is locked" whatever the busy timeout, so every
write goes through :meth:`Database.write`, which serialises writers in this process with a
lock and opens the transaction with ``BEGIN IMMEDIATE`` (waiting, not failing, on another
process's writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import aiosqlite

from bot.core.settings import hide_password, is_postgres_url, not_a_file
from storage.files import make_private, touch_private

if TYPE_CHECKING:
    from storage.keyguard import KeySource

log = logging.getLogger(__name__)
# aiosqlite logs every statement with its parameters at DEBUG: a voter's number beside
# their ballot text, and the participation row beside the ballot key. Ballot secrecy must
# not depend on the log level, so its debug output is off for good.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

T = TypeVar("T")
Row = sqlite3.Row
Params = Sequence[Any] | Mapping[str, Any]
# What storage raises when the database fails (a locked file, a full disk, a damaged page,
# a broken constraint), so that code above storage/ can catch it without naming SQLite.
DatabaseError = sqlite3.Error
OperationalError = sqlite3.OperationalError  # "locked", "no such table" (a schema behind)
BUSY_TIMEOUT_MS = 10_000
# Another process may hold the write lock past the busy timeout (a long import, a second
# `serve` by mistake); we wait again rather than let "database is locked" reach anyone.
LOCKED_RETRIES = 5
CHECKPOINT_WAIT_MS = 500


class DatabaseUnusable(Exception):
    """The file cannot serve as Sanal's database (damaged, not SQLite, not writable).

    Its message is one line for the operator: the CLI prints it and exits non-zero."""


def sqlite_file(path: str | Path) -> Path:
    """``path`` as the SQLite file it names. A server's URL, whole or with a slash lost to
    ``Path()``, is refused (DatabaseUnusable) before anything is made or opened there:
    whatever takes it for a file must never create one by that name."""
    refusal = not_a_file(str(path))
    if refusal is not None:
        raise DatabaseUnusable(f"{hide_password(str(path))}: {refusal}")
    return Path(path)


class SavepointError(DatabaseError):
    """A savepoint's own statement failed (SAVEPOINT, ROLLBACK TO or RELEASE).

    Unlike a failure inside the savepoint, this one leaves the transaction around it in
    doubt (the block's work may be neither kept nor undone): let the whole transaction
    roll back rather than go on with it."""


class Cursor(Protocol):
    """What a statement run with :meth:`Tx.execute` gives back: the rows it changed."""

    @property
    def rowcount(self) -> int: ...


@dataclass(frozen=True, slots=True)
class _Done:
    """A statement run to its end and its cursor closed: nothing of it stays open."""

    rowcount: int


def _to_the_end(raw: sqlite3.Connection, sql: str, params: Params) -> _Done:
    """Run a statement and close its cursor (on whichever thread calls this).

    A cursor left open keeps its statement in progress (a PRAGMA's row, an UPDATE's
    RETURNING rows not read), and SQLite refuses to COMMIT while one is. aiosqlite's
    thread keeps the last result it produced until it runs something else, so a cursor
    handed back from there lives on while statements run here (:class:`_InlineTx`).
    The changes of an INSERT, UPDATE or DELETE are all made by its first step."""
    cursor = raw.execute(sql, params)
    try:
        return _Done(cursor.rowcount)
    finally:
        cursor.close()


class Tx:
    """A transaction (or, for the reader, a connection outside one) on Sanal's database.

    Code above storage/ holds a Tx and hands it to storage functions; only storage runs
    statements on it (tests/test_sql_in_storage.py), so nothing above storage names
    SQLite or aiosqlite, and another database could stand behind the same functions.

    A thin wrapper: each method returns the aiosqlite connection's own awaitable, not
    awaited here, so a statement still costs one round trip to the database thread and
    no extra coroutine."""

    __slots__ = ("_conn",)
    # Which SQL the statements go to: the few that cannot be written once for both
    # (the catalog of tables, the migrations) ask (storage/postgres.py).
    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> Awaitable[Cursor]:
        """Run a statement for its effect (rows are read with :meth:`execute_fetchall`)."""
        # aiosqlite's own queue to its thread (what its execute uses), with a function
        # that closes the cursor there.
        run: Callable[..., Awaitable[Cursor]] = self._conn._execute
        return run(_to_the_end, self._conn._conn, sql, params)

    def executemany(self, sql: str, params: Iterable[Params]) -> Awaitable[Cursor]:
        return self._conn.executemany(sql, params)

    def execute_fetchall(self, sql: str, params: Params = ()) -> Awaitable[Iterable[Row]]:
        return self._conn.execute_fetchall(sql, params)

    def execute_insert(self, sql: str, params: Params = ()) -> Awaitable[Row | None]:
        return self._conn.execute_insert(sql, params)

    def executescript(self, script: str) -> Awaitable[aiosqlite.Cursor]:
        return self._conn.executescript(script)

    def commit(self) -> Awaitable[None]:
        return self._conn.commit()

    def rollback(self) -> Awaitable[None]:
        return self._conn.rollback()

    def close(self) -> Awaitable[None]:
        return self._conn.close()

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def queued_outbox(self) -> None:
        """This transaction queued a message: on PostgreSQL its commit wakes the senders
        of other processes (storage/postgres.py); SQLite's senders poll."""

    @asynccontextmanager
    async def savepoint(self, name: str) -> AsyncIterator[None]:
        """A part of the transaction that is undone alone if it fails.

        ``SAVEPOINT name``; when the block raises, ``ROLLBACK TO`` and ``RELEASE`` undo
        its statements (the transaction goes on without them) and the exception goes on;
        otherwise ``RELEASE`` keeps them. A failure of these statements themselves is a
        :class:`SavepointError`."""
        if not name.isidentifier():  # it goes into the statement as it is
            raise ValueError(f"savepoint name {name!r} is not an identifier")
        await self._step(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self._step(f"ROLLBACK TO {name}")
            await self._step(f"RELEASE {name}")
            raise
        await self._step(f"RELEASE {name}")

    async def _step(self, sql: str) -> None:
        try:
            await self._conn.execute(sql)
        except DatabaseError as exc:
            raise SavepointError(f"{sql}: {exc}") from exc


class _InlineTx(Tx):
    """The writer inside a write transaction: statements run at once on the calling
    thread, not as a round trip to the connection's thread.

    A round trip there and back (a queue, a wake-up of the event loop, the GIL changing
    hands twice) costs far more than the indexed statements of handling a message, and a
    message made a dozen of them. Inside ``BEGIN IMMEDIATE`` nothing waits on a lock in
    WAL mode (readers never block the writer), so a statement here takes only its own
    time. The COMMIT, which may checkpoint the WAL and write to the disk, still goes to
    the connection's thread, as does everything outside a write transaction."""

    __slots__ = ("_raw",)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        super().__init__(conn)
        self._raw: sqlite3.Connection = conn._conn

    async def execute(self, sql: str, params: Params = ()) -> Cursor:
        return _to_the_end(self._raw, sql, params)

    async def executemany(self, sql: str, params: Iterable[Params]) -> Cursor:
        cursor = self._raw.executemany(sql, params)
        try:
            return _Done(cursor.rowcount)
        finally:
            cursor.close()

    async def execute_fetchall(self, sql: str, params: Params = ()) -> Iterable[Row]:
        return self._raw.execute(sql, params).fetchall()

    async def execute_insert(self, sql: str, params: Params = ()) -> Row | None:
        cursor = self._raw.execute(sql, params)
        try:
            cursor.execute("SELECT last_insert_rowid()")
            row: Row | None = cursor.fetchone()
        finally:
            cursor.close()
        return row

    async def _step(self, sql: str) -> None:
        try:
            _to_the_end(self._raw, sql, ())
        except DatabaseError as exc:
            raise SavepointError(f"{sql}: {exc}") from exc

    async def begin(self) -> None:
        """``BEGIN IMMEDIATE`` here if the write lock is free; if another process holds
        it, the wait (up to the busy timeout, and again) happens on the connection's
        thread, never blocking the event loop."""
        raw = self._raw
        _to_the_end(raw, "PRAGMA busy_timeout=0", ())
        try:
            _to_the_end(raw, "BEGIN IMMEDIATE", ())
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            _to_the_end(raw, f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}", ())
        await _begin_immediate(Tx(self._conn))


# Storage's own name for the same type, in the signatures of its functions.
Conn = Tx


class Database:
    """The application's handle on its database: a SQLite file, or with a
    ``postgresql://`` URL a PostgreSQL server (``Database(url)`` is then a
    :class:`storage.postgres.PgDatabase`, with the same methods)."""

    def __new__(cls, path: str | Path, *args: Any, **kwargs: Any) -> Database:
        if cls is Database and is_postgres_url(str(path)):
            from storage.postgres import PgDatabase

            return object.__new__(PgDatabase)
        return object.__new__(cls)

    def __init__(
        self,
        path: str | Path,
        *,
        auto_migrate: bool = True,
        key: KeySource | None = None,
        backup_dir: Path | None = None,
    ) -> None:
        self.path = str(path)
        self.auto_migrate = auto_migrate
        # The ballot key's source: with one, opening checks the key against the
        # database's fingerprint (storage/keyguard.py) and refuses a missing or wrong key.
        self.key = key
        self.ballot_secret: bytes | None = None
        # Where a migration first backs the database up (default: backups/ beside it).
        self.backup_dir = backup_dir or Path(self.path).parent / "backups"
        self.migrated: list[str] = []
        self._writer: Tx | None = None
        self._inline: _InlineTx | None = None
        self._reader: Tx | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> Database:
        try:
            await self._open()
        except BaseException as exc:
            # An open connection's thread keeps the process alive: a failed start must close
            # what it opened, or the command hangs after its error (a corrupt file did). A
            # refused open (wrong key) likewise. No checkpoint: the file may be damaged.
            await self._close_connections()
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise DatabaseUnusable(_unusable(self.path, exc)) from exc
            raise
        return self

    async def _open(self) -> None:
        if self.path != ":memory:":
            folder = sqlite_file(self.path).parent
            if folder.exists() and not folder.is_dir():
                raise DatabaseUnusable(f"{self.path}: {folder} is not a folder")
            folder.mkdir(parents=True, exist_ok=True)
            # Private before SQLite writes a byte; its -wal and -shm take the same mode.
            if not touch_private(Path(self.path)):
                make_private(Path(self.path))
        self._writer = await self._connect()
        self._inline = _InlineTx(self._writer._conn)
        await _quick_check(self._writer, self.path)
        await self._writer.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable in WAL mode against process crashes (kill -9); only a power loss
        # may lose the last transactions, never corrupt the file.
        await self._writer.execute("PRAGMA synchronous=NORMAL")
        # When the WAL starts over after a checkpoint, cut it to nothing rather than reuse
        # it: frames of sealed ballot messages do not then linger in the -wal file.
        await self._writer.execute("PRAGMA journal_size_limit=0")
        # A file the service account may read but not write opens without complaint; the
        # first write would fail much later. Take the write lock once, now.
        await _begin_immediate(self._writer)
        await self._writer.execute("ROLLBACK")
        from storage import keyguard

        if self.key is not None:  # before a migration touches a database it may not open
            self.ballot_secret = await keyguard.check(self._writer, self.key, self.path)
        if self.auto_migrate:
            self.migrated = await migrate(
                self._writer, backup_dir=self.backup_dir, key=self.ballot_secret
            )
        if self.key is not None:
            self.ballot_secret = await keyguard.settle(self._writer, self.key, self.path)
        self._reader = await self._connect()

    async def _connect(self) -> Tx:
        # Made on the connection's thread, used from the loop's too (_InlineTx), never
        # at the same time: the write lock orders them.
        conn = await aiosqlite.connect(
            self.path,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Ballot secrecy: a sealed message's old text is overwritten in the file, not left
        # in free space for whoever copies it (handlers/secrecy.py).
        await conn.execute("PRAGMA secure_delete=ON")
        return Tx(conn)

    async def close(self) -> None:
        if self._writer is not None and self.path != ":memory:":
            await checkpoint(self._writer)
        await self._close_connections()

    async def _close_connections(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):  # closing a broken file still closes
                    await conn.close()
        self._reader = self._writer = self._inline = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def writer(self) -> Tx:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @property
    def reader(self) -> Tx:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    @asynccontextmanager
    async def write(self, *, serial: bool = True) -> AsyncIterator[Tx]:
        """One write transaction (``BEGIN IMMEDIATE``); commits on success, else rolls back.

        ``serial=False`` says the transaction keeps its invariants by row locks alone (an
        outbox claim): PostgreSQL then lets it run beside the one serial writer. SQLite
        has one writer whatever is asked."""
        async with self._write_lock:
            conn = self._inline
            if conn is None:
                raise RuntimeError("database is not open")
            await conn.begin()
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            else:
                await conn.commit()

    async def alone(self, statement: Callable[[Tx], Awaitable[T]]) -> T:
        """Run statements that are each atomic alone (autocommit), holding the write turn.

        No BEGIN and COMMIT: two fewer round trips to the database thread, for writes of a
        single statement such as storing a burst of webhooks. Waits out another process's
        writer like :meth:`write` does.
        """
        async with self._write_lock:
            for attempt in range(LOCKED_RETRIES):
                try:
                    return await statement(self.writer)
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == LOCKED_RETRIES - 1:
                        raise
                    log.warning("database busy, waiting again (%s)", exc)
                    await asyncio.sleep(0.05 * (attempt + 1))
            raise AssertionError("unreachable")

    @asynccontextmanager
    async def only_one(self, name: str) -> AsyncIterator[bool]:
        """Whether this process may run ``name`` (a sweep) now: False while another does.

        On SQLite always True: processes on one file are rare, and each step of a sweep
        re-reads its row in a ``BEGIN IMMEDIATE`` transaction anyway, so a second sweep
        changes nothing twice. PostgreSQL holds an advisory lock (storage/postgres.py)."""
        yield True

    async def listen_outbox(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` when another process queues messages (PostgreSQL only; on
        SQLite other processes' rows are found by the senders' one-second poll)."""

    async def purge_sealed(self) -> None:
        """Let the old text of sealed ballot messages leave the database's files: on
        SQLite, copy the WAL into the database file without waiting for anyone (PASSIVE).

        The scheduler calls this at every sweep: a message is written before it is handled,
        so a vote's text sits in the -wal file until its frames are checkpointed. After
        this, the next write starts the WAL over and cuts it (journal_size_limit=0), so the
        live file holds a sealed vote for about a sweep interval, not until 1,000 pages."""
        if self.path == ":memory:":
            return
        try:
            await self.alone(lambda conn: conn.execute("PRAGMA wal_checkpoint(PASSIVE)"))
        except sqlite3.Error as exc:  # never fails a sweep; the next one tries again
            log.warning("WAL checkpoint skipped: %s", exc)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self.reader.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def ping(self) -> bool:
        row = await self.fetchone("SELECT 1")
        return row is not None


async def _quick_check(conn: Tx, path: str) -> None:
    """Refuse a damaged file at once, before anything is written to it or read from it.

    ``quick_check`` reads every page (a few milliseconds for a bag's or a soum's file);
    its first complaint names the damage."""
    first = first_complaint(await fetchall(conn, "PRAGMA quick_check(1)"))
    if first != "ok":
        raise DatabaseUnusable(f"{path}: the database is damaged ({first}); restore a backup")


def first_complaint(rows: Sequence[Sequence[object]]) -> str:
    """The first row of a ``quick_check`` or ``integrity_check`` in one line ("ok" if sound)."""
    return " ".join(str(rows[0][0]).split()) if rows else "no answer"


def _unusable(path: str, exc: BaseException) -> str:
    """One line saying what is wrong with the file and what to do."""
    if isinstance(exc, DatabaseUnusable):
        return str(exc)
    text = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return f"{path}: not a usable SQLite database ({text}); restore a backup"
    if isinstance(exc, OSError) or "unable to open" in text or "readonly" in text:
        return f"{path}: cannot open the database for writing ({text})"
    return f"{path}: {text}"


async def _begin_immediate(conn: Tx) -> None:
    for attempt in range(LOCKED_RETRIES):
        try:
            await conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == LOCKED_RETRIES - 1:
                raise
            log.warning("database busy, waiting again (%s)", exc)
            await asyncio.sleep(0.05 * (attempt + 1))


async def checkpoint(conn: Tx) -> None:
    """Move the WAL into the database file and empty it, so that the file alone holds
    everything (a plain copy of ``sanal.db`` after a stop is then complete). SQLite does
    this itself only when the last connection closes; another process (a second
    ``serve``, ``sanal chat``) may keep the WAL open.

    While it waits for another process's readers and writer it holds up new writers, so
    it waits briefly; then it does what it can without them. It never fails a stop."""
    try:
        await conn.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
        await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        log.warning("WAL checkpoint at close skipped: %s", exc)


async def fetchall(conn: Tx, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    return list(await conn.execute_fetchall(sql, params))


# Each aiosqlite call is a round trip to its thread; one call per statement (not execute,
# fetch, close) is what keeps a busy khural week within one writer's reach.


async def fetchone(conn: Tx, sql: str, params: Sequence[Any] = ()) -> Row | None:
    """The first row (queries here select one row by key, or say LIMIT 1)."""
    rows = await conn.execute_fetchall(sql, params)
    for row in rows:
        return row
    return None


async def table_names(conn: Tx) -> list[str]:
    """The database's tables (its own, not the engine's), sorted: each engine keeps its
    catalog under another name."""
    if conn.dialect == "postgresql":
        sql = "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
    return sorted(str(r["name"]) for r in await fetchall(conn, sql))


async def insert(conn: Tx, sql: str, params: Sequence[Any] = ()) -> int:
    """Run an INSERT and return the new row id."""
    row = await conn.execute_insert(sql, params)
    if row is None:  # pragma: no cover - sqlite always sets it after an INSERT
        raise RuntimeError("insert without rowid")
    return int(row[0])


def migration_files(dialect: str = "sqlite") -> list[tuple[int, str, str]]:
    """The packaged migrations as (version, name, sql), in order.

    PostgreSQL's are the same versions and names, from storage/migrations/pg/ (see the
    README there)."""
    folder = resources.files("storage.migrations")
    if dialect == "postgresql":
        folder = folder / "pg"
    found: list[tuple[int, str, str]] = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def applied_versions(conn: Tx) -> set[int]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    rows = await fetchall(conn, "SELECT version FROM schema_migrations")
    return {int(r["version"]) for r in rows}


async def migrate(
    conn: Tx, *, backup_dir: Path | None = None, key: bytes | None = None
) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction. Idempotent.

    With ``backup_dir``, a database that has been migrated before is backed up there
    first (with its ``key`` beside it), so that a failed or unwanted upgrade can be
    undone with ``sanal restore``."""
    done = await applied_versions(conn)
    applied: list[str] = []
    pending = [m for m in migration_files(conn.dialect) if m[0] not in done]
    if pending and done and backup_dir is not None:
        from storage.backup import before_migration

        await before_migration(conn, backup_dir, pending[0][1], key)
    for version, name, sql in pending:
        now = datetime.now(UTC).isoformat()
        script = (
            "BEGIN IMMEDIATE;\n"
            f"{sql}\n"
            "INSERT INTO schema_migrations (version, name, applied_at) "
            f"VALUES ({version}, '{name}', '{now}');\nCOMMIT;"
        )
        try:
            await conn.executescript(script)
        except sqlite3.Error:
            if conn.in_transaction:
                await conn.rollback()
            # Another process may have applied it meanwhile: then it is done, not an error.
            if version in await applied_versions(conn):
                continue
            raise
        log.info("applied migration %s", name)
        applied.append(name)
    return applied


def chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def to_json(value: Any, **options: Any) -> str:
    """``value`` as JSON text for a column, with any NUL in its strings written as U+FFFD.

    JSON writes a NUL as the escape ``\\u0000``, which PostgreSQL's jsonb refuses: its
    ``json_extract`` (migration 0007) then reads nothing from the document, and a ballot
    reply's ``"ballot": 1`` would go unseen by the trigger that seals it. A NUL in a text
    column is replaced the same way (storage/postgres.py); the two backends keep the same."""
    return json.dumps(_without_nul(value), ensure_ascii=False, **options)


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_nul(v) for v in value]
    return value
