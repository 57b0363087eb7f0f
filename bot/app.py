"""The application: database, intake, router, senders and web server wired together.

Channels plug in through :class:`ChannelPlugin`: each may add web routes (webhooks), a
transport for the sender, and start/stop hooks (Telegram polling). Background work with
no channel (the scheduler) is a :class:`Service`: only started and stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from bot import metrics
from bot.channels import simulator_gate
from bot.channels.base import ChannelHost, Transport
from bot.channels.simulator import SimulatorTransport
from bot.core.clock import Clock, SystemClock
from bot.core.settings import Settings
from bot.database import database
from bot.intake import Intake
from bot.metrics import Metrics
from bot.router import Router
from bot.sender import Sender
from storage import simulator, units
from storage.ballots import BallotKey
from storage.db import Database

log = logging.getLogger(__name__)


class _KeyNotRead(BallotKey):
    """Before ``Sanal.open``: filing a ballot under no key must fail loudly."""

    def voter_key(self, round_id: int, person_id: int) -> str:
        raise RuntimeError("the ballot key is read when the database opens (Sanal.open)")


class ChannelPlugin(Protocol):
    """A provider integration: its transport, its web routes, its lifecycle. Channels take
    the app as a ChannelHost (bot/channels/base.py), which Sanal is."""

    def transport(self) -> Transport | None: ...
    def routes(self, app: Sanal) -> list[web.RouteDef]: ...
    async def start(self, app: Sanal) -> None: ...
    async def stop(self) -> None: ...


class Service(Protocol):
    """Background work of the app's own, with no channel: the scheduler (scheduler/service.py).

    A service may ask of the app less than all of it (its own protocol of what it needs)."""

    async def start(self, app: Sanal) -> None: ...
    async def stop(self) -> None: ...


@dataclass
class Sanal:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    plugins: list[ChannelPlugin] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    db: Database = field(init=False)
    router: Router = field(init=False)
    intake: Intake = field(init=False)
    senders: dict[str, Sender] = field(init=False, default_factory=dict)
    # /metrics (bot/metrics.py): this app's own registry, read from its own database.
    metrics: Metrics = field(init=False)
    on_started: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Training only (bot/channels/simulator_gate.py); decided again in open() from the
    # database's traffic.
    simulator: simulator_gate.SimulatorGate = field(init=False)

    def __post_init__(self) -> None:
        self.db = database(self.settings)
        # The key is known once the database has checked it (open).
        self.router = Router(self.db, self.settings, self.clock, _KeyNotRead(b""))
        self.simulator = self.router.simulator = simulator_gate.decide(self.settings)
        self.intake = Intake(self.db, self.router, self.wake_senders)
        self.metrics = Metrics(self.db, self.clock)
        transports: list[Transport] = [SimulatorTransport()]
        transports += [t for p in self.plugins if (t := p.transport()) is not None]
        for t in transports:
            self.senders[t.name] = Sender(self.db, self.clock, t, metrics=self.metrics)
        self.metrics.channels(self.senders)

    @property
    def ballot_key(self) -> BallotKey:
        return self.router.key

    def count_refusal(self, channel: str, reason: str) -> None:
        metrics.refused(self.db, channel, reason)

    def wake_senders(self) -> None:
        for sender in self.senders.values():
            sender.wake()

    async def release_held(self) -> None:
        """Send the replies a crash left waiting for their documents (bot/router.py)."""
        try:
            if await self.router.release_held():
                self.wake_senders()
        except Exception:
            log.exception("could not release the replies held for documents; next sweep")

    async def open(self) -> None:
        """Open the database (migrating it) and load the national units on first start."""
        await self.db.open()
        assert self.db.ballot_secret is not None  # a database with a key source has one
        self.router.key = BallotKey(self.db.ballot_secret)
        if self.senders:  # other `serve` processes' messages wake ours (PostgreSQL)
            await self.db.listen_outbox(self.wake_senders)
        async with self.db.write() as conn:
            if await units.count(conn) == 0:
                counts = await units.upsert_units(conn, units.packaged_units())
                log.info("loaded the national units: %s", counts)
        # A database real channels have used is never a training database again.
        seen = await simulator.real_channels_seen(self.db.reader)
        self.simulator = self.router.simulator = simulator_gate.decide(self.settings, seen)

    async def start(self) -> None:
        """Start the background work: intake worker, senders, channel plugins, services."""
        self.intake.start()
        for sender in self.senders.values():
            sender.start()
        for plugin in self.plugins:
            await plugin.start(self)
        for service in self.services:
            await service.start(self)
        await self.release_held()
        for hook in self.on_started:
            await hook()

    async def stop(self) -> None:
        # Senders first: a send in flight finishes and is recorded while its transport is
        # still open (a plugin's stop closes it; a send cut there would go out again).
        for sender in self.senders.values():
            await sender.stop()
        for plugin in self.plugins:
            await plugin.stop()
        for service in self.services:
            await service.stop()
        await self.intake.stop()
        await self.db.close()

    async def drain_outbox(self) -> int:
        """Send everything due now on every channel (tests, CLI chat)."""
        total = 0
        for sender in self.senders.values():
            total += await sender.drain_once()
        return total


def as_channel_host(app: Sanal) -> ChannelHost:
    """Sanal is the host channels are written against (checked by mypy here)."""
    return app
