"""A scheduled round cancelled by the scheduler's shutdown ends with one line, no traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.scheduled import stoppable


async def _slow_round(started: asyncio.Event) -> None:
    started.set()
    await asyncio.sleep(30)


@pytest.mark.parametrize("wrapped", [True, False], ids=["stoppable", "plain"])
async def test_a_round_running_at_shutdown(wrapped: bool, caplog: pytest.LogCaptureFixture) -> None:
    """APScheduler cancels the running round at shutdown: plain, that is logged as a job
    that raised (with its traceback); `stoppable`, as one info line."""
    caplog.set_level(logging.INFO)
    started = asyncio.Event()
    scheduler = AsyncIOScheduler()
    job = stoppable(_slow_round) if wrapped else _slow_round
    scheduler.add_job(job, "date", args=[started], id="slow")
    scheduler.start()
    await asyncio.wait_for(started.wait(), timeout=10)
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0.1)  # the cancelled task runs to its end and reports
    raised = [r for r in caplog.records if "raised an exception" in r.getMessage()]
    stopped = [r for r in caplog.records if "stopped mid-round by the shutdown" in r.getMessage()]
    if wrapped:
        assert (len(raised), len(stopped)) == (0, 1)
        assert stopped[0].exc_info is None
    else:
        assert len(raised) == 1
