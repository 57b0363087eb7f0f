"""`GET /metrics`: what Sanal is doing, in Prometheus's text format (prometheus-client).

Two kinds of figures, in one registry per app (not the library's global one: two apps in
one process, as in the tests, must not count into each other):

* counters, counted where things happen in this process: sends and send errors (bot/
  sender.py), the providers' 429s, SMS segments, refused webhooks (bot/channels/
  refusals.py), scheduler sweeps and what they did (scheduler/service.py). They start at 0
  with each start, which Prometheus's ``rate()`` and ``increase()`` expect;
* gauges read from the database at each scrape (storage/metrics.py), so they are true
  whichever process did the work: inbox and outbox backlogs, rounds by status, ballots
  cast, the last sweep and the last backup.

Ballot secrecy: ballots are counted per bag only for rounds whose voting has closed
(``sanal_round_ballots_cast``); while a round is open the only figure that includes its
ballots is the total over the whole database (``sanal_ballots_cast``). No figure is read
from the ballots' choices. README "Monitoring and logs" lists every metric.

Who may scrape: with ``SANAL_METRICS_TOKEN`` set, whoever sends ``Authorization: Bearer
<token>``; without it, only loopback and private-network addresses, with every address a
proxy names in ``X-Forwarded-For``, ``X-Real-IP`` or ``Forwarded`` private as well.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import re
import weakref
from collections.abc import Iterable, Iterator
from datetime import datetime
from importlib import metadata

from aiohttp import web
from multidict import MultiMapping
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from pydantic import SecretStr

from bot.channels.base import Outcome, SendResult
from bot.core.channels import capabilities
from bot.core.clock import Clock
from storage import metrics as figures_of
from storage.db import Database, DatabaseError
from storage.metrics import Figures

log = logging.getLogger(__name__)
CONTENT_TYPE = CONTENT_TYPE_LATEST
# The `_created` twin of every counter doubles the series for little use.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Addresses that count as local without a token: loopback, the private IPv4 ranges of
# RFC 1918, IPv6 unique local and link-local addresses. Not 100.64/10 (carrier NAT):
# neighbours on a mobile operator's network are not the soum office's.
LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)
FORWARDED_FOR = re.compile(r"for=\"?\[?([^\]\";,]+)", re.IGNORECASE)

_BY_DB: weakref.WeakKeyDictionary[Database, Metrics] = weakref.WeakKeyDictionary()


class Metrics:
    """One app's registry: its counters, and the gauges read from its database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sends = Counter(
            "sanal_sends", "Messages a provider accepted.", ["channel"], registry=r
        )
        self.send_errors = Counter(
            "sanal_send_errors",
            "Send attempts that did not go through, by reason.",
            ["channel", "reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "sanal_provider_rate_limited",
            "HTTP 429 answers from a provider (sending, or asking about a message).",
            ["channel"],
            registry=r,
        )
        self.segments = Counter(
            "sanal_sms_segments_sent",
            "SMS segments of the messages a provider accepted.",
            ["channel"],
            registry=r,
        )
        self.refusals = Counter(
            "sanal_webhook_refusals",
            "Webhooks and simulator requests refused (forged, unsigned, bad body), by reason.",
            ["channel", "reason"],
            registry=r,
        )
        self.sweeps = Counter(
            "sanal_scheduler_sweeps",
            "Scheduler sweeps run by this process, by result (ok, failed).",
            ["result"],
            registry=r,
        )
        self.actions = Counter(
            "sanal_scheduler_actions",
            "What the sweeps did: rounds moved, reminder messages queued, expired ones.",
            ["action"],
            registry=r,
        )
        self._database = _DatabaseFigures(db, clock)
        r.register(self._database)
        self._lock = asyncio.Lock()
        _BY_DB[db] = self
        for result in ("ok", "failed"):
            self.sweeps.labels(result)
        for action in ACTIONS:
            self.actions.labels(action)

    def channels(self, names: Iterable[str]) -> None:
        """Show these channels' counters (and backlogs) at 0 before anything happens."""
        for name in names:
            self.sends.labels(name)
            self.rate_limited.labels(name)
            if capabilities(name).is_sms:
                self.segments.labels(name)
            self._database.channels.add(name)

    async def exposition(self) -> bytes:
        """The text a scrape gets: the database read now, then every figure."""
        async with self._lock:  # one reading at a time; each scrape its own
            await self._database.read()
            return generate_latest(self.registry)

    def sent(self, channel: str, result: SendResult) -> None:
        """A provider's answer to one send (bot/sender.py)."""
        if result.outcome is Outcome.SENT:
            self.sends.labels(channel).inc()
            if capabilities(channel).is_sms and result.segments:
                self.segments.labels(channel).inc(result.segments)
            return
        self.send_errors.labels(channel, send_error_reason(result)).inc()
        if _is_429(result.error):
            self.rate_limited.labels(channel).inc()

    def swept(self, counts: dict[str, int]) -> None:
        """A sweep finished; ``counts`` is what it did (ACTIONS)."""
        self.sweeps.labels("ok").inc()
        for action, n in counts.items():
            if n:
                self.actions.labels(action).inc(n)

    def sweep_failed(self) -> None:
        self.sweeps.labels("failed").inc()


ACTIONS = (
    "rounds_opened",
    "voting_started",
    "rounds_closed",
    "meeting_reminders_queued",
    "vote_reminders_queued",
    "reminders_expired",
)


def of(db: Database) -> Metrics | None:
    """The metrics of the app that owns ``db`` (None for a database no app runs)."""
    return _BY_DB.get(db)


def refused(db: Database, channel: str, reason: str) -> None:
    """A webhook (or simulator request) was refused (bot/channels/refusals.py)."""
    metrics = _BY_DB.get(db)
    if metrics is not None:
        metrics.refusals.labels(channel, label(reason)).inc()


def label(reason: str) -> str:
    """A reason as a label value: "bad signature" -> bad_signature. The reasons are the
    code's own words, never a caller's, so the labels stay few."""
    return re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_")[:40] or "unknown"


_STATUS = re.compile(r"(?<![\d.])([1-5]\d\d)(?!\d)")


def _is_429(error: str | None) -> bool:
    return bool(error) and any(m == "429" for m in _STATUS.findall(error or ""))


def send_error_reason(result: SendResult) -> str:
    """A few reasons, the same for every provider, from a send's result and its error
    (the transports' words: "twilio 429 20429", "android timeout", "telegram 403: ...")."""
    error = (result.error or "").lower()
    codes = _STATUS.findall(error)
    if result.outcome is Outcome.OPTED_OUT:
        return "opted_out"
    if result.check_failed:
        return "check_failed"  # nothing sent: the provider could not be asked
    if "429" in codes:
        return "rate_limited"
    if "timeout" in error or "timed out" in error:
        return "timeout"
    if "credentials" in error or "token" in error or "401" in codes:
        return "credentials"
    if "network" in error:
        return "network"
    if any(c.startswith("5") for c in codes):
        return "provider_error"
    if result.outcome is Outcome.FAILED:
        return "rejected"
    return "other"


class _DatabaseFigures:
    """A collector of the gauges read from the database: :meth:`read` (async) first, then
    ``collect`` (prometheus-client's, synchronous) says what was read."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.channels: set[str] = set()
        self._figures: Figures | None = None
        self._at: datetime | None = None

    async def read(self) -> None:
        self._at = self.clock.now()
        try:
            self._figures = await figures_of.figures(self.db.reader)
        except (DatabaseError, RuntimeError, ValueError) as exc:  # RuntimeError: closed
            log.warning("metrics: the database could not be read: %s", exc)
            self._figures = None

    def describe(self) -> Iterator[Metric]:
        """The names, without reading anything (the registry checks for clashes)."""
        yield from self._families(None, None)

    def collect(self) -> Iterator[Metric]:
        yield from self._families(self._figures, self._at)

    def _families(self, f: Figures | None, now: datetime | None) -> Iterator[Metric]:
        info = InfoMetricFamily("sanal", "The running version of Sanal.")
        info.add_metric([], {"version": _version()})
        yield info
        readable = GaugeMetricFamily(
            "sanal_database_readable",
            "1 when this scrape could read the database, else 0 (and no database figures).",
        )
        inbox = GaugeMetricFamily(
            "sanal_inbox_messages",
            "Received messages waiting to be handled (pending) or that failed to be.",
            labels=["status"],
        )
        backlog = GaugeMetricFamily(
            "sanal_outbox_backlog",
            "Messages not yet sent, by channel and status (queued, sending).",
            labels=["channel", "status"],
        )
        oldest = GaugeMetricFamily(
            "sanal_outbox_oldest_due_seconds",
            "How long the oldest queued message of a channel has been due (0: none due).",
            labels=["channel"],
        )
        rounds = GaugeMetricFamily("sanal_rounds", "Rounds by status.", labels=["status"])
        ballots = GaugeMetricFamily(
            "sanal_ballots_cast",
            "Ballots cast in every round of this database together (one per voter a round).",
        )
        closed = GaugeMetricFamily(
            "sanal_round_ballots_cast",
            "Ballots cast in a round whose voting has closed; open rounds are never listed.",
            labels=["bag", "year"],
        )
        sweep = GaugeMetricFamily(
            "sanal_scheduler_last_sweep_timestamp_seconds",
            "When the scheduler last finished a sweep (any process on this database).",
        )
        backup = GaugeMetricFamily(
            "sanal_backup_last_timestamp_seconds",
            "When the last scheduled backup was made.",
        )
        size = GaugeMetricFamily(
            "sanal_database_size_bytes",
            "Bytes the database takes: the SQLite file, or the server's pg_database_size.",
        )
        close_late = GaugeMetricFamily(
            "sanal_round_close_overdue_seconds",
            "How long the round still voting longest past its 'vote until' has been (0: "
            "none). A close waits up to 10 minutes for messages received in time; longer "
            "means rounds are not closing.",
        )
        if now is not None:
            readable.add_metric([], 1.0 if f is not None else 0.0)
        if f is not None and now is not None:
            for status, n in f.inbox.items():
                inbox.add_metric([status], n)
            channels = sorted(self.channels | {c for c, _ in f.backlog})
            for channel in channels:
                for status in figures_of.BACKLOG:
                    backlog.add_metric([channel, status], f.backlog.get((channel, status), 0))
                due = f.oldest_due.get(channel)
                oldest.add_metric([channel], max(0.0, (now - due).total_seconds()) if due else 0.0)
            for status, n in f.rounds.items():
                rounds.add_metric([status], n)
            ballots.add_metric([], f.ballots)
            for t in f.closed_turnout:
                closed.add_metric([t.bag_code, str(t.year)], t.ballots)
            if f.last_sweep is not None:
                sweep.add_metric([], f.last_sweep.timestamp())
            if f.last_backup is not None:
                backup.add_metric([], f.last_backup.timestamp())
            if f.size_bytes is not None:
                size.add_metric([], f.size_bytes)
            due = f.first_close_due
            close_late.add_metric([], max(0.0, (now - due).total_seconds()) if due else 0.0)
        yield from (readable, inbox, backlog, oldest, rounds, ballots, closed, sweep, backup, size)
        yield close_late


def _version() -> str:
    try:
        return metadata.version("sanal")
    except metadata.PackageNotFoundError:  # run from a source tree
        return "unknown"


# --- who may scrape -----------------------------------------------------------------


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:4711
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:4711
        text = text.split(":")[0]
    try:
        ip = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_local(text: str | None) -> bool:
    """Whether an address (as a proxy header or aiohttp writes it) is loopback or private.
    ``None`` is a Unix socket: local. Anything that is not an address is not local."""
    if text is None:
        return True
    ip = _address(text)
    return ip is not None and any(ip in net for net in LOCAL_NETWORKS)


def forwarded_for(headers: MultiMapping[str]) -> list[str]:
    """Every client address that proxies name in a request's headers."""
    found: list[str] = []
    for name in ("X-Forwarded-For", "X-Real-IP"):
        for value in headers.getall(name, []):
            found += [part for part in value.split(",") if part.strip()]
    for value in headers.getall("Forwarded", []):
        found += FORWARDED_FOR.findall(value)
    return found


def refusal(request: web.Request, token: SecretStr | None) -> web.Response | None:
    """None when this request may read /metrics; else the answer to give it."""
    if token is not None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        given = given.strip()
        expected = token.get_secret_value()
        if scheme.lower() == "bearer" and given.isascii() and hmac.compare_digest(given, expected):
            return None
        return web.Response(
            status=401,
            text="a bearer token is needed (SANAL_METRICS_TOKEN)\n",
            headers={"WWW-Authenticate": 'Bearer realm="sanal metrics"'},
        )
    addresses = [request.remote, *forwarded_for(request.headers)]
    if all(is_local(a) for a in addresses):
        return None
    return web.Response(
        status=403, text="metrics are for the local network, or set SANAL_METRICS_TOKEN\n"
    )
