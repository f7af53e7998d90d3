"""The course descriptions one product knows, by course and content (the stored spec's digest).

Two forms of each: as stored (the JSON column's value, which the runner's claims read:
`db.step_queue.SpecCache`, `stored`) and validated (the `CourseSpec` a step's executor gets,
`validated`). A 10,000-student description costs 6 to 16 ms to decode and 100 to 200 ms to
validate, on the event loop that serves every claim, lease renewal and request of the process.
So a course created or changed in this process is kept in both forms at once (`keep`: nothing
to decode or validate afterwards), and a description first met in a claim (another process
changed it, or this one restarted) is validated once, in the plan worker's process if it is a
big one (`VALIDATE_APART_STUDENTS`), while the steps that need it wait for that one validation.

Made by the composition root (`bot.build`), shared by the runner and the course service.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from db import step_queue
from provisioning.courses.plan_worker import PlanWorker
from provisioning.courses.spec import CourseSpec

# Descriptions kept in each form: a few courses run at once.
KEPT = 16
# From this many students a description is validated in the plan worker's process. Below, it
# is validated on the loop (10 to 19 microseconds a student: at most 10 to 19 ms, once per
# content), cheaper in CPU than the worker's round trip (a process to start, the people
# shipped both ways). Measured: at 200 (the update's threshold) each runner of the department
# bench started a worker for its 900-student course, CPU the runners' own calls waited for.
VALIDATE_APART_STUDENTS = 1000

_Key = tuple[str, str]


class KnownSpecs:
    """Course descriptions by (course id, spec digest), as stored and validated."""

    def __init__(self, worker: PlanWorker | None = None, kept: int = KEPT) -> None:
        # Read by the runner's claims, which fetch a spec only when its digest is not held.
        self.stored = step_queue.SpecCache(kept)
        self._worker = worker
        self._kept = kept
        self._validated: OrderedDict[_Key, CourseSpec] = OrderedDict()
        # Validations under way, shared by every step that waits for the same description.
        self._validating: dict[_Key, asyncio.Task[CourseSpec]] = {}

    def keep(
        self, course_id: str, digest: str | None, stored: dict[str, Any], spec: CourseSpec
    ) -> None:
        """A description this process has just stored, in both forms (they must agree: `spec`
        is `stored` validated)."""
        if digest is None:
            return
        self.stored.keep(course_id, digest, stored)
        self._remember((course_id, digest), spec)

    async def validated(self, step: step_queue.ClaimedStep) -> CourseSpec:
        """The claimed step's description, validated once per content. Raises pydantic's
        `ValidationError` if it no longer validates (the step then fails through the retry
        policy like any other error)."""
        if step.spec_digest is None:
            # Changed by hand (in SQL): no content to know it by.
            return CourseSpec.model_validate(step.spec)
        key = (step.course_id, step.spec_digest)
        spec = self._validated.get(key)
        if spec is not None:
            self._validated.move_to_end(key)
            return spec
        students = step.spec.get("students")
        worker = self._worker
        if (
            worker is None
            or not isinstance(students, list)
            or len(students) < VALIDATE_APART_STUDENTS
        ):
            # At most 10 to 19 ms, here and now: cheaper than handing it elsewhere.
            spec = CourseSpec.model_validate(step.spec)
            self._remember(key, spec)
            return spec
        task = self._validating.get(key)
        if task is None:
            task = asyncio.create_task(worker.validate(step.spec))
            self._validating[key] = task
            task.add_done_callback(lambda done: self._validated_now(key, done))
        # A step cancelled while waiting (the runner stopping) leaves the validation to the
        # others waiting, or to finish and be kept.
        return await asyncio.shield(task)

    def _validated_now(self, key: _Key, task: asyncio.Task[CourseSpec]) -> None:
        self._validating.pop(key, None)
        if task.cancelled() or task.exception() is not None:
            return  # not kept: the next step that needs it tries again
        self._remember(key, task.result())

    def _remember(self, key: _Key, spec: CourseSpec) -> None:
        self._validated[key] = spec
        self._validated.move_to_end(key)
        while len(self._validated) > self._kept:
            self._validated.popitem(last=False)
