"""Which database the suite runs on: ``SANAL_TEST_BACKEND=sqlite`` (the default) or
``postgresql``.

`make test` runs the whole suite twice: on SQLite files, then (where a PostgreSQL server
can be started, tests/postgres.py) on PostgreSQL. Tests name where their database lives
by a SQLite path, as a soum's laptop would; :func:`db` turns that path into the database
the run is on. On PostgreSQL each path is a fresh migrated database of its own, the same
one each time the test asks for that path (a test that restarts the app reopens it), and
dropped when the test ends (a module-scoped fixture's, when the cluster stops).

A test about the SQLite file itself (WAL, ``PRAGMA``, the file's backup, a damaged file)
is marked ``sqlite_only`` and runs on the SQLite pass only; the property it guards has a
PostgreSQL test of its own where there is one (README "Tests").
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import re
import shutil
import sqlite3
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import postgres

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
NAME = os.environ.get("SANAL_TEST_BACKEND", SQLITE)
if NAME not in (SQLITE, POSTGRESQL):
    raise SystemExit(f"SANAL_TEST_BACKEND={NAME!r}: expected {SQLITE!r} or {POSTGRESQL!r}")

# A test runs on the PostgreSQL pass when it can reach a database through the switch above:
# it asks for one of these fixtures (directly or through another fixture), or its module
# builds settings or a database itself. The rest (the grammar, the catalogs, the renderers
# given plain data) open no database: running them twice would test nothing new.
DATABASE_FIXTURES = frozenset({"settings", "sanal", "client", "backend", "pg_url"})
DATABASE_WORDS = ("make_settings", "suite_backend", "Database(", "Settings(")

_HELPER_IMPORT = re.compile(r"^from (tests(?:\.\w+)+) import", re.M)
ROOT = Path(__file__).resolve().parent.parent

_made: dict[str, str] = {}  # this test's SQLite paths -> their PostgreSQL databases
_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-admin")


def on_postgres() -> bool:
    return NAME == POSTGRESQL


def item_opens_a_database(item: pytest.Item) -> bool:
    """Whether a test can reach a database through this switch: it asks for one of
    DATABASE_FIXTURES, or its module, a fixture it uses, or a tests.* module its module
    imports builds settings or a database (DATABASE_WORDS)."""
    if DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    files = {Path(item.path)}
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info is not None else ():
        for fixturedef in defs:
            code = getattr(fixturedef.func, "__code__", None)
            if code is not None:
                files.add(Path(code.co_filename))
    for name in _HELPER_IMPORT.findall(_source(Path(item.path))):
        helper = ROOT.joinpath(*name.split(".")).with_suffix(".py")
        if helper.exists():
            files.add(helper)
    return any(word in _source(f) for f in files for word in DATABASE_WORDS)


@functools.cache
def _source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


# Whether this test's new SQLite files start as a copy of the template (set for each test
# by tests/conftest.py): not for a test about the SQLite file itself (``sqlite_only``) nor
# one that picks its backend itself, which see a file as a first start makes it.
seeding = False
_template: Path | None = None


def db(path: Path) -> Path | str:
    """Where a test's database at ``path`` is on this run: the path, or a PostgreSQL URL.

    On SQLite a path where no file is yet gets a copy of a template (migrated, the
    national units loaded, no ballot key settled), as each database of the PostgreSQL
    pass is made from one: the app's first open then finds what it would have made
    itself, and a test no longer pays for the migrations and 2,170 units (near a tenth
    of a second, and a few thousand tests open a new database)."""
    if NAME != POSTGRESQL:
        if seeding and not path.exists() and path.parent.is_dir():
            shutil.copyfile(_sqlite_template(), path)
        return path
    key = str(path)
    if key not in _made:
        _made[key] = _fresh_database()
    return _made[key]


def _sqlite_template() -> Path:
    """This worker's template file, made at its first use (in a thread: tests call
    :func:`db` from inside their running event loop)."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="sanal-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        made = _worker.submit(lambda: asyncio.run(_build(folder / "sanal.db"))).result()
        assert not Path(f"{made}-wal").exists(), "the template's WAL was not folded in"
        _template = made
    return _template


async def _build(path: Path) -> Path:
    from storage import units
    from storage.db import Database

    database = await Database(path).open()  # no key: each copy settles its test's own
    try:
        async with database.write() as conn:
            await units.upsert_units(conn, units.packaged_units())
    finally:
        await database.close()
    return path


_spare: Future[str] | None = None


def _fresh_database() -> str:
    """A new database made from the template, and the next one started meanwhile.

    Making one takes a few hundred milliseconds of the server's copying and checkpoint
    (most of a short test's time on this pass); made while the test that takes this one
    runs, the next test finds its database ready. In a thread: tests call this from
    inside their running event loop, and the first call starts the cluster, which runs
    a loop of its own."""
    global _spare
    cluster = _worker.submit(postgres.cluster_or_skip).result()

    def make() -> str:
        return asyncio.run(cluster.create(with_units=True))

    made = _spare if _spare is not None else _worker.submit(make)
    _spare = _worker.submit(make)
    return made.result()


def stored_text(text: str) -> str:
    """A text as this run's database gives it back: PostgreSQL cannot hold a NUL in text,
    and storage writes it there as U+FFFD (storage/postgres.py); SQLite keeps it."""
    return text.replace("\x00", "\ufffd") if NAME == POSTGRESQL else text


def copy(source: Path, dest: Path) -> Path | str:
    """A copy of the database at ``source`` (a closed one) as ``dest``: the file copied, or
    on PostgreSQL a database made from ``source``'s as a template."""
    if NAME != POSTGRESQL:
        shutil.copy(source, dest)
        return dest
    cluster = _worker.submit(postgres.cluster_or_skip).result()
    original = db(source)
    assert isinstance(original, str)
    _made[str(dest)] = _worker.submit(lambda: asyncio.run(cluster.create(original))).result()
    return _made[str(dest)]


def rows(where: Path | str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """A statement's rows, read straight from the database (not through storage), as a
    second program would: sqlite3 on the file, or asyncpg on the server. ``?`` placeholders."""
    if isinstance(where, Path):
        with contextlib.closing(sqlite3.connect(where)) as conn, conn:
            return [tuple(r) for r in conn.execute(sql, params)]

    async def fetch() -> list[tuple[Any, ...]]:
        import asyncpg

        from storage.postgres import translate

        conn = await asyncpg.connect(where)
        try:
            return [tuple(r) for r in await conn.fetch(translate(sql), *params)]
        finally:
            await conn.close()

    return _worker.submit(lambda: asyncio.run(fetch())).result()


def contents(where: Path | str) -> bytes:
    """All a database holds, to compare before and after or search: the SQLite file's
    bytes, or every row of every PostgreSQL table (read raw, as :func:`rows`)."""
    if isinstance(where, Path):
        return where.read_bytes()
    tables = rows(
        where,
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
    )
    return "\n".join(
        f"{t}: {rows(where, f'SELECT * FROM {t} ORDER BY 1')}" for (t,) in tables
    ).encode()


def release(tmp_path: Path | None) -> None:
    """Drop the databases this test made under its ``tmp_path`` (after its fixtures closed
    their pools). A module's fixture keeps its database (a folder of its own from
    ``tmp_path_factory``) for the module's other tests; the cluster goes at the end."""
    if tmp_path is None:
        return
    mine = [key for key in _made if Path(key).is_relative_to(tmp_path)]
    if not mine:
        return
    cluster = postgres.cluster_or_skip()
    urls = [_made.pop(key) for key in mine]

    async def drop_all() -> None:
        for url in urls:
            await cluster.drop(url)

    # Not waited for: the next test need not wait for this one's databases to go (the
    # one thread runs the drops and makes in turn; the cluster's end removes them all).
    _worker.submit(lambda: asyncio.run(drop_all()))
