"""The channel contract: what a channel is given by the application, and how the sender
hands it an outbox row.

Send results are typed, as in courier: sent, retry later (throttled, network), failed for
good (invalid, misconfigured), or the person opted out / blocked us (one domain event;
what it means is the channel's declared ``Capabilities.blocked``).

A channel sees the application only as a :class:`ChannelHost` (``bot.app.Sanal`` is
one): channels never import ``bot.app``, so they stay below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.channels.refusals import RefusalLog
from bot.core.clock import Clock
from bot.core.message import Inbound
from bot.core.settings import Settings
from storage.ballots import BallotKey
from storage.db import Database
from storage.outbox import OutboxRow


class ConfigError(RuntimeError):
    """A chosen channel is not configured: said once at start, never as a 403 per request."""


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    OPTED_OUT = "opted_out"


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    provider_id: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the provider asked us to wait
    segments: int | None = None
    # A provider-wide pause (Telegram's 429 retry_after holds every chat).
    pause_all: bool = False
    # After a retryable error: the provider may have accepted the message all the same (a
    # timeout, a reset connection), so it must be asked before a resend where it can be.
    # False only when it certainly did not (a 429, a refused connection).
    in_doubt: bool = False
    # No send was made: asking the provider whether it had the message failed.
    check_failed: bool = False

    @classmethod
    def sent(cls, provider_id: str | None = None, segments: int | None = None) -> SendResult:
        return cls(Outcome.SENT, provider_id=provider_id, segments=segments)

    @classmethod
    def retry(
        cls,
        error: str,
        retry_after: float | None = None,
        pause_all: bool = False,
        *,
        in_doubt: bool = True,
    ) -> SendResult:
        """Try again later. ``in_doubt`` unless the provider certainly has not got it."""
        return cls(
            Outcome.RETRY,
            error=error,
            retry_after=retry_after,
            pause_all=pause_all,
            in_doubt=in_doubt,
        )

    @classmethod
    def unchecked(cls, error: str) -> SendResult:
        """An earlier attempt may have reached the provider and asking it failed: nothing
        was sent (the sender asks again a few times, then settles the message)."""
        return cls(Outcome.RETRY, error=error, in_doubt=True, check_failed=True)

    @classmethod
    def failed(cls, error: str) -> SendResult:
        return cls(Outcome.FAILED, error=error)

    @classmethod
    def opted_out(cls, error: str) -> SendResult:
        return cls(Outcome.OPTED_OUT, error=error)


class Transport(Protocol):
    """One provider's outbound side. ``name`` is the outbox channel it serves."""

    name: str
    # Pacing: at most this many messages a second overall, and per address.
    rate_per_second: float
    per_address_per_second: float | None

    async def send(self, message: OutboxRow) -> SendResult: ...


class Receiver(Protocol):
    async def receive(self, msg: Inbound) -> tuple[int, bool]:
        """Store a message durably and wake its handling: (inbox id, new)."""
        ...


class ChannelHost(Protocol):
    """What a channel plugin needs of the application it runs in."""

    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def db(self) -> Database: ...
    @property
    def intake(self) -> Receiver: ...
    @property
    def ballot_key(self) -> BallotKey:
        """The key a message carrying a ballot is fingerprinted with (storage.inbox)."""
        ...

    def count_refusal(self, channel: str, reason: str) -> None:
        """Count a refused webhook for /metrics (each one, not only the audited ones)."""
        ...


class WebhookChannel:
    """What a channel that takes webhooks keeps of the app: the host it hands messages to,
    known once the app asks for its routes or starts it, and the log of refused webhooks,
    which counts into the host's metrics from then on."""

    refusals: RefusalLog
    _host: ChannelHost | None = None

    @property
    def host(self) -> ChannelHost:
        assert self._host is not None, "routes() or start() first"
        return self._host

    def _attach(self, host: ChannelHost) -> None:
        self._host = host
        self.refusals.count = host.count_refusal
