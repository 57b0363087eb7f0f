"""`sanal serve` stopped (Ctrl+C, a service restart) while a sweep runs: the sweep finishes
its transaction, and the log holds no traceback.

Stopping APScheduler cancels the jobs it is running, and APScheduler logs a cancelled job
as one that raised, with its traceback: every stop that came mid-sweep put one in the
server's log (seen in tests/faults/test_several_serve.py, whose servers sweep every
second). Here the sweep is held mid-way by another program's write transaction
(test_busy_database.py), the service is stopped, then the other writer lets go.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from bot.app import Sanal
from scheduler.service import SchedulerService
from tests.faults.test_busy_database import hold_write_lock


async def test_a_stop_mid_sweep_lets_it_finish_and_logs_no_traceback(
    sanal: Sanal, caplog: pytest.LogCaptureFixture
) -> None:
    service = SchedulerService(sanal.settings, sanal.clock)
    ready, until = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(sanal.db.path, ready, until))
    holder.start()
    try:
        await asyncio.to_thread(ready.wait)
        with caplog.at_level(logging.INFO):
            await service.start(sanal)  # the first sweep runs at once, and waits to write
            # APScheduler runs its job on its own: nothing to await but the job's mark.
            while service._sweep is None:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            stopping = asyncio.create_task(service.stop())
            await asyncio.sleep(0.1)
            assert not stopping.done(), "stop() waits for the sweep in progress"
            until.set()
            await stopping
    finally:
        until.set()
        await asyncio.to_thread(holder.join)
    assert service.last_report is not None, "the sweep ran to its end"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "Traceback" not in caplog.text
