"""A process of its own for a course update's CPU work (`known_plan.prepare_update`).

A thread does not take that work off the event loop: it holds the interpreter lock, and the
loop (every claim, lease renewal and request of the process) gets it back only at the switch
interval, to compete for it again. A worker process shares nothing with the loop but a pipe;
what crosses it is plain data, pickled and unpickled by the executor's own threads.

Made by the composition root (`bot.build`) and closed with it; the process starts at the first
update that needs it, not at import or build time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from provisioning.courses.known_plan import Prepared, prepare_update
from provisioning.courses.stored_plan import StoredPlan
from provisioning.errors import CourseValidationError, FieldProblem

# Below this many students, preparing takes less than the round trip to the worker process.
IN_PROCESS_STUDENTS = 200


@dataclass(frozen=True)
class _Invalid:
    """A `CourseValidationError` on its way back: the exception itself does not survive
    pickling (rebuilt from its message, its `problems` would be a string)."""

    problems: list[FieldProblem]


def _prepare(description: object, stored: StoredPlan | None) -> Prepared | _Invalid:
    """`prepare_update` in the worker process, its validation error returned as data."""
    try:
        return prepare_update(description, stored)
    except CourseValidationError as exc:
        return _Invalid(exc.problems)


class PlanWorker:
    """One worker process, started on first use; `close` ends it."""

    def __init__(self, start_method: str = "spawn") -> None:
        # spawn: a fork of a process running an event loop, threads and open database
        # connections would copy them all, half-initialised.
        self._context = multiprocessing.get_context(start_method)
        self._pool: ProcessPoolExecutor | None = None
        # Descriptions handed to the process so far (the tests see which path an update took).
        self.calls = 0

    async def prepare(self, description: object, stored: StoredPlan | None) -> Prepared:
        """`prepare_update(description, stored)` in the worker process; raises what it raises."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=self._context)
        loop = asyncio.get_running_loop()
        self.calls += 1
        result = await loop.run_in_executor(self._pool, _prepare, description, stored)
        if isinstance(result, _Invalid):
            raise CourseValidationError(result.problems)
        return result

    def close(self) -> None:
        """End the worker process (waiting for an update it is preparing)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
