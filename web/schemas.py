"""Response models of the REST API; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from provisioning.course import CourseSpec
from provisioning.course_views import CourseRecord, CourseStatus, RetryOutcome

StepState = Literal["pending", "running", "succeeded", "failed", "awaiting_action", "blocked"]
CourseStateOut = Literal["pending", "in_progress", "awaiting_action", "failed", "succeeded"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class CourseOut(_Out):
    """A stored course and the description it was created from."""

    id: str = Field(description="Opaque course id")
    code: str
    term: str
    title: str
    kind: Literal["lecture", "laboratory"]
    github_org: str
    plan_digest: str = Field(description="sha256 of the canonical plan")
    created_at: datetime
    spec: CourseSpec

    @classmethod
    def of(cls, record: CourseRecord) -> CourseOut:
        return cls(
            id=record.id,
            code=record.code,
            term=record.term,
            title=record.title,
            kind="laboratory" if record.kind == "laboratory" else "lecture",
            github_org=record.github_org,
            plan_digest=record.plan_digest,
            created_at=record.created_at,
            spec=record.spec,
        )


class CoursePage(_Out):
    """One page of courses; follow ``next`` (a relative URL) until it is null."""

    items: list[CourseOut]
    next: str | None


class StepOut(_Out):
    """One step of a course's plan and how it is going."""

    key: str
    kind: str
    state: StepState
    attempts: int
    last_error: str | None
    last_error_code: str | None
    action_hint: str | None = Field(description="What a person can do about it, if anything")
    external_id: str | None
    next_attempt_at: datetime | None
    updated_at: datetime


class CourseStatusOut(_Out):
    """The course state, derived from its steps, with counts per step state."""

    course_id: str
    state: CourseStateOut
    counts: dict[str, int]
    steps: list[StepOut]

    @classmethod
    def of(cls, status: CourseStatus) -> CourseStatusOut:
        return cls.model_validate(
            {
                "course_id": status.course_id,
                "state": status.state,
                "counts": status.counts,
                "steps": [vars(s) for s in status.steps],
            }
        )


class RetryOut(_Out):
    """The steps a retry sent back to pending, and the course status after it."""

    retried: list[str]
    status: CourseStatusOut

    @classmethod
    def of(cls, outcome: RetryOutcome) -> RetryOut:
        return cls(retried=outcome.retried, status=CourseStatusOut.of(outcome.status))


class FieldError(_Out):
    """One problem with one input field, e.g. ``students[3].github``."""

    path: str
    message: str


class Problem(_Out):
    """An error, as RFC 9457 problem details (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="Every invalid field")
    course_id: str | None = Field(default=None, description="The course concerned (e.g. on 409)")


class Health(_Out):
    """Liveness or readiness."""

    status: Literal["ok"]
