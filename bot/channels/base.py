"""The channel contract: how the sender hands an outbox row to a provider.

Send results are typed, as in courier: sent, retry later (throttled, network), failed for
good (invalid, misconfigured), or the person opted out / blocked us (one domain event).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

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

    @classmethod
    def sent(cls, provider_id: str | None = None, segments: int | None = None) -> SendResult:
        return cls(Outcome.SENT, provider_id=provider_id, segments=segments)

    @classmethod
    def retry(
        cls, error: str, retry_after: float | None = None, pause_all: bool = False
    ) -> SendResult:
        return cls(Outcome.RETRY, error=error, retry_after=retry_after, pause_all=pause_all)

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
