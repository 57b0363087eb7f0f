"""How an outbound message is retried: one policy, read by the sender (bot/sender.py: when
to try again) and by the outbox (storage/outbox.py: when to give up)."""

from __future__ import annotations

from datetime import timedelta

# Seconds before the next attempt after a message's n-th retryable error (the last repeats).
BACKOFF_SECONDS = (5, 30, 120, 600, 1800)
# A message is failed after MAX_ERRORS retryable errors, and only once it has been retried
# for RETRY_FOR. Retryable errors (500, 429, timeouts) come in bursts: five of them fit in
# the first 13 minutes of backoff, and a short provider outage must not lose every reply
# queued during it. An outage of up to three hours loses nothing.
MAX_ERRORS = 5
RETRY_FOR = timedelta(hours=3)
# Seconds between checks of a message whose "do you have it already?" check failed; the
# check after the last is the last: then the message is settled (failed, "uncertain"),
# about three minutes after the first failure, rather than retried for hours.
CHECK_BACKOFF = (5, 30, 120)


def retry_delay(errors: int) -> int:
    """Seconds to wait after a retryable error, for a message that had ``errors`` before."""
    return BACKOFF_SECONDS[min(errors, len(BACKOFF_SECONDS) - 1)]


def gives_up(errors: int, retried_for: timedelta | None) -> bool:
    """Whether a message with ``errors`` errors, whose next attempt would come
    ``retried_for`` after it was queued (None: unknown), is failed for good."""
    return errors >= MAX_ERRORS and (retried_for is None or retried_for > RETRY_FOR)


def check_delay(failures: int) -> int | None:
    """Seconds before checking again after ``failures`` failed checks; None: settle it."""
    return CHECK_BACKOFF[failures - 1] if failures <= len(CHECK_BACKOFF) else None
