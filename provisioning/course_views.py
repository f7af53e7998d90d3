"""What the course service returns: stored courses, pages, step and course status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from provisioning.course import CourseSpec

CourseState = Literal["pending", "in_progress", "awaiting_action", "failed", "succeeded"]


@dataclass(frozen=True)
class CourseRecord:
    """A stored course."""

    id: str
    code: str
    term: str
    title: str
    kind: str
    github_org: str
    spec: CourseSpec
    plan_digest: str
    created_at: datetime


@dataclass(frozen=True)
class CoursePage:
    """One page of courses; ``next_cursor`` is None on the last page."""

    items: list[CourseRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class StepStatus:
    """What a user needs to know about one step."""

    key: str
    kind: str
    state: str
    attempts: int
    last_error: str | None
    last_error_code: str | None
    action_hint: str | None
    external_id: str | None
    next_attempt_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class CourseStatus:
    """A course's state, derived from its steps, with per-state counts and every step."""

    course_id: str
    state: CourseState
    counts: dict[str, int]
    steps: list[StepStatus]


@dataclass(frozen=True)
class RetryOutcome:
    """The keys of the steps a retry sent back to pending, and the status after it."""

    retried: list[str]
    status: CourseStatus


def derive_state(states: Sequence[str]) -> CourseState:
    """The course state from its step states; problems a person must see come first."""
    present = set(states)
    if present & {"failed", "blocked"}:
        return "failed"
    if "awaiting_action" in present:
        return "awaiting_action"
    if present <= {"succeeded"}:
        return "succeeded"
    if present == {"pending"}:
        return "pending"
    return "in_progress"
