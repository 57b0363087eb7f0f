"""The outbox sender: pacing, retries with backoff, provider pauses, opt-outs, leases."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

from bot.app import Sanal
from bot.channels.base import SendResult
from bot.core.clock import ManualClock
from bot.sender import Sender
from storage import outbox, people
from storage.outbox import OutboxRow


class ScriptedTransport:
    """A transport whose answers are planned per attempt; records what it was asked."""

    name = "twilio"
    rate_per_second = 1000.0
    per_address_per_second: float | None = None

    def __init__(self, *answers: SendResult) -> None:
        self.answers = list(answers)
        self.sent: list[OutboxRow] = []

    async def send(self, message: OutboxRow) -> SendResult:
        self.sent.append(message)
        if self.answers:
            return self.answers.pop(0)
        return SendResult.sent(f"SM{len(self.sent)}", 1)


async def _queue(sanal: Sanal, key: str, person_id: int | None = None) -> None:
    async with sanal.db.write() as conn:
        await outbox.enqueue(
            conn,
            dedupe_key=key,
            channel="twilio",
            address="tel:+97699112233",
            text="Сайн байна уу",
            now=sanal.clock.now(),
            person_id=person_id,
        )


async def _status(sanal: Sanal, key: str) -> tuple[str, int, str | None]:
    row = await sanal.db.fetchone(
        "SELECT status, error_count, provider_id FROM outbox WHERE dedupe_key = ?", (key,)
    )
    assert row is not None
    return row["status"], row["error_count"], row["provider_id"]


async def test_enqueue_is_idempotent(sanal: Sanal) -> None:
    await _queue(sanal, "k")
    await _queue(sanal, "k")
    rows = await sanal.db.fetchall("SELECT * FROM outbox")
    assert len(rows) == 1


async def test_retry_backs_off_then_sends_once(sanal: Sanal, clock: ManualClock) -> None:
    transport = ScriptedTransport(SendResult.retry("HTTP 500"), SendResult.retry("HTTP 429", 20))
    sender = Sender(sanal.db, clock, transport)
    await _queue(sanal, "k")
    assert await sender.drain_once() == 1
    assert await _status(sanal, "k") == ("queued", 1, None)
    assert await sender.drain_once() == 0  # backing off: not due yet
    clock.advance(timedelta(seconds=5))
    await sender.drain_once()
    # A 429 with retry_after is the provider pacing us, not a failed attempt.
    assert await _status(sanal, "k") == ("queued", 1, None)
    clock.advance(timedelta(seconds=19))
    assert await sender.drain_once() == 0  # the provider's retry_after is obeyed
    clock.advance(timedelta(seconds=1))
    await sender.drain_once()
    assert await _status(sanal, "k") == ("sent", 1, "SM3")
    clock.advance(timedelta(hours=1))
    assert await sender.drain_once() == 0
    assert len(transport.sent) == 3


async def test_gives_up_after_five_errors(sanal: Sanal, clock: ManualClock) -> None:
    transport = ScriptedTransport(*[SendResult.retry("timeout")] * 5)
    sender = Sender(sanal.db, clock, transport)
    await _queue(sanal, "k")
    for _ in range(5):
        await sender.drain_once()
        clock.advance(timedelta(hours=1))
    assert (await _status(sanal, "k"))[:2] == ("failed", 5)
    assert await sender.drain_once() == 0


async def test_opt_out_marks_the_person(sanal: Sanal, clock: ManualClock) -> None:
    async with sanal.db.write() as conn:
        person = await people.create(conn, now=clock.now(), phone="+97699112233")
    await _queue(sanal, "k", person.id)
    sender = Sender(sanal.db, clock, ScriptedTransport(SendResult.opted_out("21610")))
    await sender.drain_once()
    assert (await _status(sanal, "k"))[0] == "failed"
    async with sanal.db.write() as conn:
        again = await people.get(conn, person.id)
    assert again is not None
    assert again.opted_out


async def test_a_claimed_row_is_not_sent_by_a_second_sender(
    sanal: Sanal, clock: ManualClock
) -> None:
    await _queue(sanal, "k")
    async with sanal.db.write() as conn:
        claimed = await outbox.claim_due(conn, "twilio", clock.now(), 10, timedelta(seconds=120))
    assert len(claimed) == 1
    other = ScriptedTransport()
    assert await Sender(sanal.db, clock, other).drain_once() == 0
    # The first sender died: after the lease the row is sent again, once.
    clock.advance(timedelta(seconds=121))
    assert await Sender(sanal.db, clock, other).drain_once() == 1
    assert len(other.sent) == 1


async def test_provider_pause_holds_every_send(sanal: Sanal, clock: ManualClock) -> None:
    for i in range(3):
        await _queue(sanal, f"k{i}")
    transport = ScriptedTransport(SendResult.retry("429", retry_after=30, pause_all=True))
    sender = Sender(sanal.db, clock, transport)
    await sender.drain_once()
    assert len(transport.sent) == 1
    clock.advance(timedelta(seconds=10))
    assert await sender.drain_once() == 0
    clock.advance(timedelta(seconds=21))
    await sender.drain_once()
    statuses = [await _status(sanal, f"k{i}") for i in range(3)]
    assert [s[0] for s in statuses] == ["sent", "sent", "sent"]
    # Neither the 429 nor the rows held back by the pause count as errors.
    assert [s[1] for s in statuses] == [0, 0, 0]


class TimedTransport(ScriptedTransport):
    """Records when each send started (the event loop's clock), several in flight."""

    name = "telegram"
    rate_per_second = 200.0
    per_address_per_second = 20.0
    concurrency = 8

    def __init__(self) -> None:
        super().__init__()
        self.at: list[tuple[float, str]] = []

    async def send(self, message: OutboxRow) -> SendResult:
        self.at.append((asyncio.get_running_loop().time(), message.address))
        await asyncio.sleep(0.005)  # a provider some milliseconds away
        return await super().send(message)


async def test_pacing_never_exceeds_the_rate_in_any_second(
    sanal: Sanal, clock: ManualClock
) -> None:
    """Bursts absorb late timers, but no one-second window holds more than the rate, and
    each address keeps its own pace and order."""
    async with sanal.db.write() as conn:
        for i in range(300):
            await outbox.enqueue(
                conn, dedupe_key=f"p{i}", channel="telegram", address=f"telegram:{i % 30}",
                text=f"reminder {i}", now=sanal.clock.now(),
            )  # fmt: skip
    transport = TimedTransport()
    sender = Sender(sanal.db, clock, transport)
    while len(transport.sent) < 300:
        if await sender.drain_once() == 0:
            clock.advance(timedelta(seconds=2))  # rows released to wait for their pace
    times = sorted(t for t, _ in transport.at)
    busiest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
    assert busiest <= transport.rate_per_second
    for address in {a for _, a in transport.at}:
        mine = [t for t, a in transport.at if a == address]
        gaps = [b - a for a, b in itertools.pairwise(mine)]
        assert min(gaps) >= 1.0 / transport.per_address_per_second - 1e-3
    texts = [m.text for m in transport.sent if m.address == "telegram:0"]
    assert texts == sorted(texts, key=lambda s: int(s.split()[1]))
