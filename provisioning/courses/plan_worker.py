"""A process of its own for a big course's CPU work: an update's (`known_plan.prepare_update`)
and the validation of a stored description for the runner's steps (`validate`).

A thread does not take that work off the event loop: it holds the interpreter lock, and the
loop (every claim, lease renewal and request of the process) gets it back only at the switch
interval, to compete for it again. A worker process shares nothing with the loop but a pipe;
what crosses it is plain data, pickled and unpickled by the executor's own threads.

Made by the composition root (`bot.build`) and closed with it; the process starts at the first
work that needs it, not at import or build time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from db.loop_turns import LoopTurns
from provisioning.courses.known_plan import KnownPlan, Prepared, prepare_update
from provisioning.courses.spec import CourseSpec, StaffMember, Student
from provisioning.courses.stored_plan import StoredPlan
from provisioning.errors import CourseValidationError, FieldProblem

# Below this many students, preparing takes less than the round trip to the worker process.
IN_PROCESS_STUDENTS = 200
# People per pickled part (each unpickled in one C call, well under a millisecond); the models
# are built in slices of time (`LoopTurns`).
_PEOPLE_PER_PART = 500
_Model = TypeVar("_Model", bound=BaseModel)


def _compact(people: list[Any]) -> list[bytes]:
    """People (models) as pickled parts of `_PEOPLE_PER_PART`, each person its field values
    in field order and which were given (as bits): plain data, unpickled part by part in C,
    where a pickled model is rebuilt by Python code, object by object, holding the GIL."""
    rows = []
    for person in people:
        names = type(person).model_fields
        given = sum(1 << i for i, name in enumerate(names) if name in person.model_fields_set)
        rows.append((*(getattr(person, name) for name in names), given))
    return _parts(rows)


def _parts(items: list[Any]) -> list[bytes]:
    return [
        pickle.dumps(items[start : start + _PEOPLE_PER_PART])
        for start in range(0, len(items), _PEOPLE_PER_PART)
    ]


def _unpickled(parts: list[bytes]) -> list[Any]:
    # Pickled by this module on the other side of the pipe: never outside input.
    return [item for part in parts for item in pickle.loads(part)]  # noqa: S301


async def _models(model: type[_Model], parts: list[bytes]) -> list[_Model]:
    """The people of `_compact`, without validating them again (the worker did), in slices
    of the event loop's time."""
    names = list(model.model_fields)
    built: list[_Model] = []
    turns = LoopTurns()
    for part in parts:
        for *values, given in _unpickled([part]):
            fields_set = {name for i, name in enumerate(names) if given >> i & 1}
            built.append(model.model_construct(fields_set, **dict(zip(names, values, strict=True))))
            await turns.turn()
    return built


async def _sendable(description: object) -> object:
    """A description with its students pickled a part per turn of the event loop: the pool's
    feeder thread would pickle 10,000 of them in one C call, holding the GIL throughout."""
    if not isinstance(description, dict) or not isinstance(description.get("students"), list):
        return description
    students = description["students"]
    parts = []
    for start in range(0, len(students), _PEOPLE_PER_PART):
        parts.append(pickle.dumps(students[start : start + _PEOPLE_PER_PART]))
        await asyncio.sleep(0)
    return _Students(description, parts)


class _Students:
    """A description whose students travel as pickled parts (`_sendable`, `of`)."""

    def __init__(self, description: dict[Any, Any], parts: list[bytes]) -> None:
        # The keys in their order (an unknown field is reported where it stands).
        self.keys = list(description)
        self.rest = {k: v for k, v in description.items() if k != "students"}
        self.parts = parts

    @classmethod
    def of(cls, description: dict[str, Any]) -> _Students:
        """Pickled at once (in the worker process, where nothing else waits)."""
        return cls(description, _parts(description["students"]))

    def description(self) -> dict[Any, Any]:
        return self._with(_unpickled(self.parts))

    async def description_in_turns(self) -> dict[Any, Any]:
        """`description`, unpickled a part at a time in slices of the event loop's time."""
        students: list[Any] = []
        turns = LoopTurns()
        for part in self.parts:
            students += _unpickled([part])
            await turns.turn()
        return self._with(students)

    def _with(self, students: list[Any]) -> dict[Any, Any]:
        return {k: students if k == "students" else self.rest[k] for k in self.keys}


@dataclass(frozen=True)
class _ShippedSpec:
    """A validated `CourseSpec` as it crosses the pipe: its people as `_compact` rows."""

    fields: dict[str, Any]
    fields_set: set[str]
    staff: list[bytes]
    students: list[bytes]

    @classmethod
    def of(cls, spec: CourseSpec) -> _ShippedSpec:
        return cls(
            fields={
                name: getattr(spec, name)
                for name in CourseSpec.model_fields
                if name not in ("staff", "students")
            },
            fields_set=set(spec.model_fields_set),
            staff=_compact(spec.staff),
            students=_compact(spec.students),
        )

    async def spec(self) -> CourseSpec:
        return CourseSpec.model_construct(
            self.fields_set,
            **self.fields,
            staff=await _models(StaffMember, self.staff),
            students=await _models(Student, self.students),
        )


@dataclass(frozen=True)
class _Shipped:
    """`Prepared` as it crosses the pipe: the spec's people as `_compact` rows, the stored
    description's students as pickled parts."""

    spec: _ShippedSpec
    stored: _Students
    spec_json: str
    spec_digest: str
    plan_digest: str
    known: KnownPlan | None

    @classmethod
    def of(cls, prepared: Prepared) -> _Shipped:
        return cls(
            spec=_ShippedSpec.of(prepared.spec),
            stored=_Students.of(prepared.stored),
            spec_json=prepared.spec_json,
            spec_digest=prepared.spec_digest,
            plan_digest=prepared.plan_digest,
            known=prepared.known,
        )

    async def prepared(self) -> Prepared:
        return Prepared(
            await self.spec.spec(),
            await self.stored.description_in_turns(),
            self.spec_json,
            self.spec_digest,
            self.plan_digest,
            self.known,
        )


@dataclass(frozen=True)
class _Invalid:
    """A `CourseValidationError` on its way back: the exception itself does not survive
    pickling (rebuilt from its message, its `problems` would be a string)."""

    problems: list[FieldProblem]


def _prepare(packed: bytes) -> bytes:
    """`prepare_update` in the worker process, its validation error returned as data; both
    ways `_packed`."""
    description, stored = _unpacked(packed)
    if isinstance(description, _Students):
        description = description.description()
    result: _Shipped | _Invalid
    try:
        result = _Shipped.of(prepare_update(description, stored))
    except CourseValidationError as exc:
        result = _Invalid(exc.problems)
    return zlib.compress(pickle.dumps(result), 1)


def _validate(packed: bytes) -> bytes:
    """`CourseSpec.model_validate` of a stored description in the worker process: the spec, or
    None if it does not validate (pydantic's errors do not survive pickling); both ways
    `_packed`."""
    description = _unpacked(packed)
    if isinstance(description, _Students):
        description = description.description()
    result: _ShippedSpec | None
    try:
        result = _ShippedSpec.of(CourseSpec.model_validate(description))
    except ValidationError:
        result = None
    return zlib.compress(pickle.dumps(result), 1)


def _unpacked(packed: bytes) -> Any:
    # Packed by this module on the other side of the pipe: never outside input.
    return pickle.loads(zlib.decompress(packed))  # noqa: S301


async def _packed(value: object) -> bytes:
    """`value` pickled (its big parts are byte strings already: a copy) and compressed on a
    thread (zlib lets go of the GIL): the 8 MB of a 10,000-student course's rows cross the
    pipe as 0.7 MB, in a dozen writes instead of 130, after each of which the pool's feeder
    thread takes the GIL back (under load, it may be descheduled holding it)."""
    return await asyncio.to_thread(zlib.compress, pickle.dumps(value), 1)


class PlanWorker:
    """One worker process, started on first use; `close` ends it."""

    def __init__(self, start_method: str = "spawn") -> None:
        # spawn: a fork of a process running an event loop, threads and open database
        # connections would copy them all, half-initialised.
        self._context = multiprocessing.get_context(start_method)
        self._pool: ProcessPoolExecutor | None = None
        # Descriptions handed to the process so far (the tests see which path an update took).
        self.calls = 0
        # Stored descriptions validated there (`validate`).
        self.validations = 0

    async def prepare(self, description: object, stored: StoredPlan | None) -> Prepared:
        """`prepare_update(description, stored)` in the worker process; raises what it raises."""
        self.calls += 1
        packed = await _packed((await _sendable(description), stored))
        result: _Shipped | _Invalid = await self._run(_prepare, packed)
        if isinstance(result, _Invalid):
            raise CourseValidationError(result.problems)
        return await result.prepared()

    async def validate(self, description: dict[str, Any]) -> CourseSpec:
        """`CourseSpec.model_validate(description)` (a description as stored) in the worker
        process: for a 10,000-student course 100 to 200 ms of CPU that would hold the event
        loop. Raises what it raises (validated again here to raise it: the rare case of a
        stored description that no longer validates)."""
        self.validations += 1
        packed = await _packed(await _sendable(description))
        shipped: _ShippedSpec | None = await self._run(_validate, packed)
        if shipped is None:
            return CourseSpec.model_validate(description)
        return await shipped.spec()

    async def _run(self, function: Callable[[bytes], bytes], packed: bytes) -> Any:
        """`function(packed)` in the worker process, its answer unpacked."""
        try:
            answer = await self._submit(function, packed)
        except BrokenProcessPool:
            # The process died (killed, out of memory): nothing was written yet, and a pool
            # once broken refuses all work, so the next process gets this work.
            self._discard()
            answer = await self._submit(function, packed)
        # From the worker, packed by this module (see `_prepare`, `_validate`).
        return pickle.loads(await asyncio.to_thread(zlib.decompress, answer))  # noqa: S301

    async def _submit(self, function: Callable[[bytes], bytes], packed: bytes) -> bytes:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=self._context)
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, packed)

    def _discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """End the worker process (waiting for an update it is preparing)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
