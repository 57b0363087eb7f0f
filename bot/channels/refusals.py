"""Refused webhooks (forged, unsigned, replayed) in the audit log, without letting anyone
fill the database with them.

Nothing a refused webhook carries is stored. The audit log still records that webhooks
were refused, so an operator can see an attack; but anyone on the internet can send such
requests, so at most one row a minute is written per channel and reason, and it counts
the refusals since the previous row.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from storage import audit
from storage.db import Database

log = logging.getLogger(__name__)
ACTION = "refused.webhook"


class RefusalLog:
    def __init__(
        self,
        channel: str,
        every: timedelta = timedelta(minutes=1),
        *,
        action: str = ACTION,
        actor: str | None = None,
        count: Callable[[str, str], None] | None = None,
    ) -> None:
        self.channel = channel
        # (channel, reason) of every refusal, for /metrics: the host's ChannelHost.
        # count_refusal, given here or by the channel once it has its host.
        self.count = count or _uncounted
        self.every = every
        self.action = action
        self.actor = actor or f"webhook:{channel}"
        self._count: Counter[str] = Counter()
        self._last: dict[str, datetime] = {}

    async def refused(
        self, db: Database, now: datetime, reason: str, remote: str | None = None
    ) -> None:
        self.count(self.channel, reason)  # every refusal, not one a minute
        self._count[reason] += 1
        last = self._last.get(reason)
        if last is not None and now - last < self.every:
            return
        self._last[reason] = now
        count = self._count.pop(reason)
        try:
            async with db.write() as conn:
                await audit.record(
                    conn,
                    now=now,
                    actor=self.actor,
                    action=self.action,
                    channel=self.channel,
                    reason=reason,
                    refused=count,
                    remote=remote,
                )
        except Exception:  # the caller answers 403 whatever happens here
            log.exception("could not audit a refused %s webhook", self.channel)


def _uncounted(channel: str, reason: str) -> None:
    """No host yet: nothing to count with (the audit row is still written)."""
