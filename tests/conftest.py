"""Shared fixtures: a real SQLite file per test, the real app, and simulated phones.

Every test runs behind tests/netguard.py: a connection to anything but loopback fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.web import build_web_app
from storage import people, roles
from tests import netguard, postgres, suite_backend

# A Tuesday morning in Ulaanbaatar.
START = datetime(2027, 3, 2, 2, 0, tzinfo=UTC)
ZAG_BAG_1 = "644651"  # 1-р баг, Баянбулаг, Заг сум
ZAG_BAG_2 = "644653"  # 2-р баг, Баян-Улаан, Заг сум
GOVERNOR = "+97699000000"


def pytest_configure(config: pytest.Config) -> None:
    netguard.install()  # before any fixture or test opens a socket


def pytest_unconfigure(config: pytest.Config) -> None:
    postgres.stop_cluster()
    netguard.uninstall()


# Fixtures by which a test picks its database itself, whatever the pass.
CHOOSE_BACKEND = frozenset({"pg_url", "pg_cluster", "backend"})


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures make their databases
def pytest_runtest_setup(item: pytest.Item) -> None:
    netguard.take()
    suite_backend.seeding = not (
        item.get_closest_marker("sqlite_only")
        or CHOOSE_BACKEND.intersection(getattr(item, "fixturenames", ()))
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, tests about the SQLite file itself do not run, nor do tests
    that open no database (tests/suite_backend.py), nor tests that name their backend
    themselves (``pg_url``, ``pg_cluster``, ``backend``): all of those ran, on the
    database they name, in the first pass."""
    if not suite_backend.on_postgres():
        return
    sqlite_file = pytest.mark.skip(reason="about the SQLite file; this pass runs on PostgreSQL")
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(sqlite_file)
        chose = CHOOSE_BACKEND.intersection(getattr(item, "fixturenames", ()))
        runs = suite_backend.item_opens_a_database(item) and not chose
        (kept if runs else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """Fail the test that tried to leave the machine, even if the code caught the error.

    Hooks rather than an autouse fixture: nothing added to each test's fixture setup."""
    yield
    suite_backend.release(getattr(item, "funcargs", {}).get("tmp_path"))
    netguard.fail_if_refused()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"db": tmp_path / "sanal.db", "ballot_key": "test-ballot-key"}
    values.update(overrides)
    if isinstance(values["db"], Path):
        values.setdefault("data_dir", values["db"].parent)
        values["db"] = suite_backend.db(values["db"])
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def pg_cluster() -> postgres.Cluster:
    """A PostgreSQL cluster for the whole session (tests/postgres.py), or a skip."""
    return postgres.cluster_or_skip()


@pytest.fixture
async def pg_url(pg_cluster: postgres.Cluster) -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database of this test's own: its URL."""
    url = await pg_cluster.create()
    yield url
    await pg_cluster.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where the test's database is, on each backend in turn: a SQLite file, or a fresh
    PostgreSQL database (skipped where no PostgreSQL server can be started)."""
    if request.param == "sqlite":
        return tmp_path / "sanal.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def sanal(settings: Settings, clock: ManualClock) -> AsyncIterator[Sanal]:
    app = Sanal(settings, clock)
    await app.open()
    yield app
    await app.stop()


@pytest.fixture
async def client(sanal: Sanal) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_web_app(sanal))) as c:
        yield c


class Phone:
    """A simulated phone talking to the app through the simulator's JSON API."""

    def __init__(self, client: TestClient[Any, Any], number: str) -> None:
        self.client = client
        self.number = number

    async def say(self, text: str) -> str:
        resp = await self.client.post(
            "/api/sim/messages", json={"phone": self.number, "text": text}
        )
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        replies: list[str] = body["replies"]
        assert len(replies) <= 1, replies
        return replies[0] if replies else ""

    async def inbox(self) -> list[dict[str, Any]]:
        resp = await self.client.get("/api/sim/messages", params={"phone": self.number})
        assert resp.status == 200
        messages: list[dict[str, Any]] = (await resp.json())["messages"]
        return messages


async def make_official(sanal: Sanal, phone: str, role: str, unit: str) -> int:
    now = sanal.clock.now()
    async with sanal.db.write() as conn:
        person = await people.get_or_create_by_phone(conn, phone, now=now, lang="mn")
        await roles.grant(conn, person.id, role, unit, now)
        if role in ("governor", "chair"):
            await people.set_bag(conn, person.id, unit, "approved", now)
        return person.id
