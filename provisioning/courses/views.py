"""What the course service returns: courses, pages and their cursors, step and course status."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from provisioning.courses.drift_status import LastReconcile
from provisioning.courses.invitation_notes import InvitationsWaiting
from provisioning.courses.spec import CourseSpec
from provisioning.errors import ProvisioningError

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
    # When the course was archived (end of term); None while it is active.
    archived_at: datetime | None = None


class InvalidCursorError(ProvisioningError):
    """A pagination cursor was not one this service handed out."""

    status = 400
    title = "Invalid cursor"

    def __init__(self) -> None:
        super().__init__("the cursor is not valid; start again from the first page")


def encode_cursor(created_at: datetime, course_id: str) -> str:
    """An opaque page cursor: the sort key (creation time, id) of a page's last course."""
    raw = json.dumps([created_at.isoformat(), course_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The sort key inside a cursor from ``encode_cursor``, or InvalidCursorError."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, course_id = json.loads(raw)
        parsed = datetime.fromisoformat(at)
        # Ids are UUIDs: anything else (NUL, lone surrogates) would reach the database.
        if not isinstance(course_id, str) or str(uuid.UUID(course_id)) != course_id:
            raise ValueError(cursor)
        if parsed.tzinfo is None:
            raise ValueError(cursor)
        parsed = parsed.astimezone(UTC)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursorError from exc
    return parsed, course_id


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
class StepAction:
    """Something a person must do before a step can go on (claim a server, fix a login, …)."""

    step_key: str
    hint: str


# A step can be put in awaiting_action without a hint (an older runner, a hand edit); the person
# still has to learn that it waits on them, so the list never silently drops it.
_NO_HINT = "this step waits for a person; see its last error"


def action_of(step_key: str, hint: str | None, last_error: str | None) -> StepAction:
    """What a person must do for a waiting step: its hint, else its error, never nothing."""
    return StepAction(step_key=step_key, hint=hint or last_error or _NO_HINT)


@dataclass(frozen=True)
class CourseStatus:
    """A course's state, derived from its steps, with per-state counts and every step."""

    course_id: str
    state: CourseState
    counts: dict[str, int]
    steps: list[StepStatus]

    @property
    def actions(self) -> list[StepAction]:
        """What people must do, in plan order: one entry per step in ``awaiting_action``."""
        return [
            action_of(s.key, s.action_hint, s.last_error)
            for s in self.steps
            if s.state == "awaiting_action"
        ]


@dataclass(frozen=True)
class RetryOutcome:
    """The keys of the steps a retry sent back to pending, and the status after it (its
    summary: the steps are paged with `CourseService.status_page`).

    ``retried`` are the failed, blocked and waiting steps; ``verified`` the finished ones sent
    back too, so their executors check (and repair) what they made before anything runs on it.
    """

    retried: list[str]
    status: StatusOverview
    verified: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CourseUpdate:
    """What an update did to a course's plan (step keys, in plan order) and the status after
    (its summary: however big the course, the answer never carries every step).

    ``unblocked`` are steps sent back to pending only because the failed step they waited for
    is gone or changed. ``removed`` are the keys the new plan lacks, ``retired`` those of them
    now pending as removal steps (a membership ended, a repository archived, …). All lists are
    empty when the description was already the same.
    """

    course: CourseRecord
    added: list[str]
    changed: list[str]
    removed: list[str]
    unblocked: list[str]
    status: StatusOverview
    retired: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CourseSummary:
    """A course in a short list: who it is and how its provisioning is going."""

    id: str
    code: str
    term: str
    title: str
    state: CourseState
    created_at: datetime


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


# How many waiting steps a status summary names; the rest are counted (a 10,000-student course
# can have thousands of invitations waiting on unknown logins).
ACTIONS_SHOWN = 50


@dataclass(frozen=True)
class StatusSummary:
    """A course's state without its steps: cheap to read whatever the course's size."""

    course_id: str
    state: CourseState
    counts: dict[str, int]
    # Counts per state for each platform ("github", "discord", "email"): which side waits.
    platforms: dict[str, dict[str, int]]
    # Changes whenever any step of the course changes: the basis of the status ETag.
    version: str
    # The last drift reconcile (None: never reconciled).
    last_reconcile: LastReconcile | None = None
    # Invitations waiting for the organization's daily limit (None: none waits).
    invitations: InvitationsWaiting | None = None


@dataclass(frozen=True)
class StatusOverview:
    """The summary and who must act, without the steps: what a change or a retry answers."""

    summary: StatusSummary
    # The first ACTIONS_SHOWN steps waiting for a person, in plan order; the summary's
    # counts["awaiting_action"] says how many wait in all.
    actions: list[StepAction]

    @property
    def state(self) -> CourseState:
        return self.summary.state


@dataclass(frozen=True)
class StatusPage:
    """The summary, who must act, and one page of steps in plan order (optionally only some
    states)."""

    summary: StatusSummary
    # The first ACTIONS_SHOWN steps waiting for a person, in plan order; the summary's
    # counts["awaiting_action"] says how many wait in all.
    actions: list[StepAction]
    steps: list[StepStatus]
    # Where the next page starts (a plan position), or None on the last page.
    next_after: int | None
