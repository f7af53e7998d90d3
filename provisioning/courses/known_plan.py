"""A course update's CPU work, as one pure function of plain data (`prepare_update`).

Parsing a 10,000-student description, planning it, comparing the plan with the stored steps and
encoding what is stored take about a second of plain Python. On a thread that still holds the
interpreter lock, and with it the event loop every claim and lease renewal of the process
shares; so a big description is prepared in a process of its own
(`provisioning.courses.plan_worker`). Hence plain data in (the description, the stored rows as
pickled parts) and little out: already-encoded JSON, digests, and the few steps and rows that
change, not 30,000 objects to unpickle on the loop. Small descriptions are prepared the same
way on a thread (`CourseService`), so both paths are one function.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from db.models import spec_digest
from provisioning.courses.change_preview import PeopleChange, people_change
from provisioning.courses.retire import RETIRED_KINDS
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.courses.stored_plan import StoredPlan
from provisioning.courses.update import differs, member_key, member_rows
from provisioning.plan import PlannedStep, plan_course, plan_digest

Planner = Callable[[CourseSpec], list[PlannedStep]]


@dataclass(frozen=True)
class KnownPlan:
    """The difference to a new plan by content (keys, kinds, dependencies, params), computed
    before the update takes the lock: content changes only with the course's plan, so while
    the course's digests are these, it holds, and the locked part reads only the rows it
    changes instead of every step of the course (30,000 for 10,000 students)."""

    spec_digest: str
    plan_digest: str
    added: list[PlannedStep]
    # Planned steps whose stored row differs, in plan order.
    changed: list[PlannedStep]
    # Keys the new plan lacks (removal steps of earlier changes excepted), in plan order.
    removed: list[str]
    # Rows a removal step names (its team, its role): `retirement` reads their results.
    referenced: set[str]
    # Planned steps whose dependency rows must be (re)made: added, changed, and those that
    # name an added key.
    relink: set[str]
    max_position: int
    # The member rows the new description lacks (ids) and adds (values), and the lab groups:
    # the update replaces only those that differ.
    members_gone: list[int]
    members_added: list[dict[str, Any]]
    groups_gone: list[str]
    groups_added: list[str]
    # What the change preview says of people (`change_preview.people_change`), and how many
    # students the stored description has: the safety limit's share is of those.
    people: PeopleChange
    old_students: int

    def holds_for(self, spec_digest: str | None, plan_digest: str) -> bool:
        return (spec_digest, plan_digest) == (self.spec_digest, self.plan_digest)


@dataclass(frozen=True)
class Prepared:
    """A validated description and what storing it needs: its value as stored (the JSON
    column's) and its JSON as SQLAlchemy would encode it, the digests, and the difference to
    the stored plan when one could be computed."""

    spec: CourseSpec
    stored: dict[str, Any]
    spec_json: str
    spec_digest: str
    plan_digest: str
    known: KnownPlan | None


def encode_spec(value: dict[str, Any]) -> str:
    """A spec's JSON text, as the JSON column's own serializer writes it (`json.dumps`)."""
    return json.dumps(value)


def prepare_update(
    description: object, stored: StoredPlan | None, planner: Planner = plan_course
) -> Prepared:
    """Validate `description` (a `CourseSpec` is taken as valid), plan it and, with `stored`,
    compare the plan with it. Raises what `parse_course` raises."""
    spec = description if isinstance(description, CourseSpec) else parse_course(description)
    planned = planner(spec)
    new_spec = spec.model_dump(mode="json")
    known = None
    if stored is not None and stored.fixed == (spec.code, spec.term, spec.github_org):
        known = _known_plan(stored, spec, planned)
    return Prepared(
        spec=spec,
        stored=new_spec,
        spec_json=encode_spec(new_spec),
        spec_digest=spec_digest(new_spec),
        plan_digest=plan_digest(planned),
        known=known,
    )


@dataclass(frozen=True)
class _StoredStep:
    """What the plan says of a stored step, as `_known_plan` compares it."""

    key: str
    kind: str
    depends_on: list[str]
    params: dict[str, Any]
    position: int


def _unpickled(parts: Sequence[bytes]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for part in parts:
        # Pickled by `read_stored` in the process that hands them over: never outside input.
        rows.extend(pickle.loads(part))  # noqa: S301
    return rows


def _known_plan(stored: StoredPlan, spec: CourseSpec, planned: list[PlannedStep]) -> KnownPlan:
    rows = [
        _StoredStep(key, kind, json.loads(depends_on), json.loads(params), position)
        for key, kind, depends_on, params, position in _unpickled(stored.steps)
    ]
    by_key = {row.key: row for row in rows}
    wanted = {step.key for step in planned}
    added = [p for p in planned if p.key not in by_key]
    changed = [p for p in planned if p.key in by_key and differs(by_key[p.key], p)]
    removed = [r for r in rows if r.key not in wanted and r.kind not in RETIRED_KINDS]
    new_keys = {p.key for p in added}
    relink = new_keys | {p.key for p in changed}
    relink |= {p.key for p in planned if not new_keys.isdisjoint(p.depends_on)}
    stored_members: dict[tuple[Any, ...], list[int]] = {}
    for member in _unpickled(stored.members):
        stored_members.setdefault(tuple(member[1:]), []).append(member[0])
    members_added = []
    for values in member_rows(stored.course_id, spec):
        ids = stored_members.get(member_key(values))
        if ids:
            ids.pop()
        else:
            members_added.append(values)
    old_spec = CourseSpec.model_validate(json.loads(stored.spec_json))
    return KnownPlan(
        spec_digest=stored.spec_digest,
        plan_digest=stored.plan_digest,
        added=added,
        changed=changed,
        removed=[r.key for r in removed],
        referenced={
            str(r.params[name]) for r in removed for name in ("team", "role") if name in r.params
        },
        relink=relink,
        max_position=max((r.position for r in rows), default=-1),
        members_gone=sorted(i for ids in stored_members.values() for i in ids),
        members_added=members_added,
        groups_gone=sorted(set(old_spec.groups) - set(spec.groups)),
        groups_added=[g for g in spec.groups if g not in old_spec.groups],
        people=people_change(old_spec, spec),
        old_students=len(old_spec.students),
    )
