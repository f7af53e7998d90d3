"""Scheduled rounds (APScheduler jobs) that end quietly when the process stops mid-round."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def stoppable(job: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T | None]]:
    """`job` as a scheduled round that a stop may cancel without a traceback.

    APScheduler's asyncio executor cancels the rounds still running when the scheduler shuts
    down, and logs each cancellation as a job that raised, with a traceback: a person pressing
    Ctrl+C while a round (a reconcile, the installation check) happened to run saw one. Every
    round's writes are transactions and the next start runs the round again, so a cancelled
    round is an ordinary part of stopping: one line, no traceback.
    """

    @functools.wraps(job)
    async def round_(*args: Any, **kwargs: Any) -> T | None:
        try:
            return await job(*args, **kwargs)
        except asyncio.CancelledError:
            log.info("%s: stopped mid-round by the shutdown", getattr(job, "__qualname__", job))
            return None

    return round_
