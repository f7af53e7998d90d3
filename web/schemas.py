"""Response models of the REST API; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from db.audit_chain import ChainVerification
from provisioning.audit import AuditPage
from provisioning.courses.change_preview import ChangePreview
from provisioning.courses.drift_findings import Finding
from provisioning.courses.drift_report import DriftReport, Repair
from provisioning.courses.drift_status import LastReconcile
from provisioning.courses.invitation_notes import InvitationsWaiting
from provisioning.courses.spec import CourseSpec
from provisioning.courses.views import (
    CourseRecord,
    CourseUpdate,
    RetryOutcome,
    StatusOverview,
    StatusPage,
    StatusSummary,
    StepAction,
)
from provisioning.discord.server_count import ServerCount, warning

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
    archived_at: datetime | None = Field(
        default=None, description="When the course was archived; null while it is active"
    )
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
            archived_at=record.archived_at,
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
    action_hint: str | None = Field(
        description="What a person must do before the step can go on (state awaiting_action), "
        "or can do about its error"
    )
    external_id: str | None
    next_attempt_at: datetime | None
    updated_at: datetime


class ActionOut(_Out):
    """A step that waits for a person, and what that person must do."""

    step_key: str
    hint: str


class DiscordServersOut(_Out):
    """The bot's server count near the cap of unverified Discord apps (100 servers)."""

    count: int = Field(description="Servers the bot is in")
    limit: int = Field(description="Servers an unverified app may join (100)")
    at_cap: bool = Field(description="The bot cannot be added to another course's server")
    message: str = Field(description="Why it matters and what to do")

    @classmethod
    def of(cls, servers: ServerCount | None) -> DiscordServersOut | None:
        text = warning(servers) if servers is not None else None
        if servers is None or servers.limit is None or text is None:
            return None
        return cls(count=servers.count, limit=servers.limit, at_cap=servers.at_cap, message=text)


class LastReconcileOut(_Out):
    """The course's last drift reconcile: when, what it repaired, where its report is."""

    started_at: datetime
    finished_at: datetime | None = Field(description="Null while it still runs")
    repaired: int | None = Field(
        description="Steps that found something changed by hand and repaired it"
    )
    writes: int | None = Field(description="The repairs' writes to Discord and GitHub")
    failed: int | None = Field(description="Steps that could not finish")
    report: str = Field(description="Path of the drift report (`GET`)")

    @classmethod
    def of(cls, course_id: str, last: LastReconcile | None) -> LastReconcileOut | None:
        if last is None:
            return None
        return cls(
            started_at=last.started_at,
            finished_at=last.finished_at,
            repaired=last.repaired,
            writes=last.writes,
            failed=last.failed,
            report=last.report_path(course_id),
        )


class InvitationsWaitingOut(_Out):
    """Invitations sent back to wait for GitHub's daily limit: how many, the last one's due
    time, and the sentence people are shown."""

    count: int
    last_at: datetime
    message: str

    @classmethod
    def of(cls, waiting: InvitationsWaiting | None) -> InvitationsWaitingOut | None:
        if waiting is None:
            return None
        return cls(count=waiting.count, last_at=waiting.last_at, message=waiting.message)


class StatusSummaryOut(_Out):
    """The course state, derived from its steps: counts overall and per platform, and who
    must act."""

    course_id: str
    state: CourseStateOut
    # Before the counts: what people must do is the first thing a reader of the status needs.
    actions: list[ActionOut] = Field(
        description="The first 50 steps waiting for a person (awaiting_action), in plan order"
    )
    actions_total: int = Field(description="How many steps wait for a person in all")
    counts: dict[str, int]
    platforms: dict[str, dict[str, int]] = Field(
        description="Counts per step state for each platform (github, discord, email)"
    )
    last_reconcile: LastReconcileOut | None = Field(
        default=None, description="The last drift reconcile; null when never reconciled"
    )
    invitations_waiting: InvitationsWaitingOut | None = Field(
        default=None,
        description=(
            "The course's GitHub invitations waiting for the organization's daily limit "
            "(500 a day, 50 for a young free organization); null when none waits"
        ),
    )

    @staticmethod
    def fields_of(summary: StatusSummary, actions: list[StepAction]) -> dict[str, Any]:
        """The summary's fields, for this model and those that extend it."""
        return {
            "course_id": summary.course_id,
            "state": summary.state,
            "actions": [vars(a) for a in actions],
            "actions_total": summary.counts["awaiting_action"],
            "counts": summary.counts,
            "platforms": summary.platforms,
            "last_reconcile": LastReconcileOut.of(summary.course_id, summary.last_reconcile),
            "invitations_waiting": InvitationsWaitingOut.of(summary.invitations),
        }


class CourseStatusOut(StatusSummaryOut):
    """The course state after a change or a retry: the summary `GET /courses/{id}/status`
    answers, without its steps (a course can have tens of thousands); `steps_url` is where
    they are read, a page at a time."""

    steps_url: str = Field(
        description="The URL of the course's status, whose `steps` lists them a page at a time"
    )

    @classmethod
    def of(cls, status: StatusOverview) -> CourseStatusOut:
        return cls.model_validate(
            {
                **cls.fields_of(status.summary, status.actions),
                "steps_url": f"/courses/{status.summary.course_id}/status",
            }
        )


class StatusPageOut(StatusSummaryOut):
    """The course state (counts overall and per platform, who must act) and one page of its
    steps in plan order; `next` is the next page while more remain."""

    steps: list[StepOut] = Field(description="One page of steps, in plan order")
    next: str | None = Field(description="The URL of the next page of steps, if any")
    discord_servers: DiscordServersOut | None = Field(
        default=None,
        description="Set from 90 servers on: the bot nears (or is at) the 100 servers an "
        "unverified Discord app may join, after which no course can add it to its server",
    )

    @classmethod
    def of(
        cls, page: StatusPage, next_url: str | None, servers: ServerCount | None = None
    ) -> StatusPageOut:
        return cls.model_validate(
            {
                **cls.fields_of(page.summary, page.actions),
                "discord_servers": DiscordServersOut.of(servers),
                "steps": [vars(s) for s in page.steps],
                "next": next_url,
            }
        )


class RetryOut(_Out):
    """The steps a retry sent back to pending, and the course's status summary after it."""

    retried: list[str] = Field(description="Failed, blocked and waiting steps, now pending")
    status: CourseStatusOut
    verified: list[str] = Field(
        default_factory=list,
        description="Finished steps sent back to pending too: each re-checks what it made, "
        "and recreates it if it was deleted",
    )

    @classmethod
    def of(cls, outcome: RetryOutcome) -> RetryOut:
        return cls(
            retried=outcome.retried,
            status=CourseStatusOut.of(outcome.status),
            verified=outcome.verified,
        )


class CourseUpdateOut(_Out):
    """What a changed description did to the course's plan (step keys, in plan order)."""

    course: CourseOut
    added: list[str] = Field(description="New steps, pending")
    changed: list[str] = Field(
        description="Steps whose parameters or dependencies changed; finished ones are "
        "verified and repaired again, failed or waiting ones start afresh"
    )
    removed: list[str] = Field(
        description="Steps no longer planned: those that never ran are dropped, the others "
        "are retired (listed again in `retired`)"
    )
    retired: list[str] = Field(
        default_factory=list,
        description="Steps turned into removal steps, pending: a team membership ended, a "
        "repository archived (never deleted), a lab channel hidden from students, an invite "
        "revoked, a staff role taken back",
    )
    unblocked: list[str] = Field(
        description="Blocked steps sent back to pending because the failed step they waited "
        "for is gone or changed"
    )
    status: CourseStatusOut

    @classmethod
    def of(cls, outcome: CourseUpdate) -> CourseUpdateOut:
        return cls(
            course=CourseOut.of(outcome.course),
            added=outcome.added,
            changed=outcome.changed,
            removed=outcome.removed,
            retired=outcome.retired,
            unblocked=outcome.unblocked,
            status=CourseStatusOut.of(outcome.status),
        )


class ClaimOut(_Out):
    """The Discord claim code of a course: run `/course claim <code>` in the server created
    for it. A secret (it binds a server to the course): read-write tokens only, never cached."""

    course_id: str
    code: str = Field(description="e.g. ABCD-EFGH-JK; the first claim wins, later ones fail")
    claimed: bool = Field(description="A server is bound to the course already")
    guild_id: str | None = Field(description="The claimed server's id; null until claimed")
    install_link: str | None = Field(
        default=None,
        description="Adds the bot to a server with every permission the course needs; "
        "null when this process does not know the bot's application",
    )


class AuditRowOut(_Out):
    """One audit row: an HTTP call to Discord or GitHub (``kind`` http) or a domain event."""

    id: int = Field(description="Increasing; pass the last one as `after` for the next page")
    at: datetime
    actor: str = Field(description="Discord user, `api:<token name>`, or the runner")
    kind: Literal["http", "event"]
    event: str | None = Field(description="e.g. course.created, step.failed (events only)")
    step_key: str | None
    attempt: int | None
    method: str | None
    path: str | None
    status: int | None = Field(description="The platform's HTTP status; null if none came back")
    request_summary: dict[str, Any] | None = Field(description="Redacted: no tokens, no codes")
    external_id: str | None
    duration_ms: int | None
    request_id: str | None
    rate_limit: dict[str, Any] | None
    seq: int | None = Field(
        description="The row's place in the hash chain; null for a moment after the row is "
        "written, until it is sealed into the chain (`GET /audit/verify` seals at once)"
    )
    hash: str | None = Field(description="sha256 over this row and prev_hash; null until sealed")
    prev_hash: str | None = Field(description="The hash of the row before in the chain (by seq)")


class AuditPageOut(_Out):
    """One page of a course's audit rows, oldest first; follow ``next`` until it is null."""

    course_id: str
    items: list[AuditRowOut]
    next: str | None

    @classmethod
    def of(cls, course_id: str, page: AuditPage, next_url: str | None) -> AuditPageOut:
        return cls.model_validate({"course_id": course_id, "items": page.rows, "next": next_url})


class AuditVerifyOut(_Out):
    """The audit chain walked end to end; ``first_broken_id`` is the first row that fails."""

    ok: bool
    checked: int = Field(description="Rows checked, up to and including the first broken one")
    first_broken_id: int | None

    @classmethod
    def of(cls, result: ChainVerification) -> AuditVerifyOut:
        return cls(ok=result.ok, checked=result.checked, first_broken_id=result.first_broken_id)


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
    steps: list[str] | None = Field(
        default=None, description="The step keys that stand in the way of a refused change (409)"
    )
    removals: int | None = Field(
        default=None,
        description="A change over the safety limit (409): the number `confirm_removals` "
        "must name to apply it",
    )


class Health(_Out):
    """Liveness or readiness."""

    status: Literal["ok"]


class ResourceChangeOut(_Out):
    """One resource (a step's key) a change adds, changes or removes."""

    key: str
    kind: str = Field(description="The step kind that ensures the resource")
    change: Literal["added", "changed", "removed"]
    removal: str | None = Field(
        default=None,
        description="For a removal, what happens on the platform (membership ended, repository "
        "archived, channel hidden from students, invite revoked, staff role taken back); null "
        "when the resource is left as it is, or never existed",
    )


class PeopleChangeOut(_Out):
    """The change in people (GitHub logins) and lab groups."""

    students_added: list[str]
    students_dropped: list[str]
    students_moved: list[str]
    staff_added: list[str]
    staff_removed: list[str]
    groups_added: list[str]
    groups_removed: list[str]


class ChangePreviewOut(_Out):
    """What `PUT /courses/{id}` with the same body would do; nothing was stored."""

    course_id: str
    resources: list[ResourceChangeOut]
    people: PeopleChangeOut
    removals: int = Field(description="Removal steps the change would start")
    repositories_archived: list[str]
    confirmation_needed: bool = Field(
        description="The change is over the safety limit: PUT it with "
        "`confirm_removals` equal to `removals`"
    )
    reasons: list[str] = Field(description="Why a confirmation is needed")

    @classmethod
    def of(cls, preview: ChangePreview) -> ChangePreviewOut:
        people = preview.people
        return cls(
            course_id=preview.course_id,
            resources=[
                ResourceChangeOut(key=r.key, kind=r.kind, change=r.change, removal=r.removal)
                for r in preview.resources
            ],
            people=PeopleChangeOut(
                students_added=people.students_added,
                students_dropped=people.students_dropped,
                students_moved=people.students_moved,
                staff_added=people.staff_added,
                staff_removed=people.staff_removed,
                groups_added=people.groups_added,
                groups_removed=people.groups_removed,
            ),
            removals=preview.removals,
            repositories_archived=preview.repositories_archived,
            confirmation_needed=preview.confirmation_needed,
            reasons=preview.reasons,
        )


class RepairOut(_Out):
    """One write a re-verifying step made, because what it checked differed."""

    step_key: str
    method: str
    path: str = Field(description="The platform's path, secrets redacted as in the audit log")
    status: int | None
    at: datetime
    resource: str | None = Field(
        default=None, description="What was repaired, in words; null until the reconcile ends"
    )
    differed: str | None = Field(default=None, description="What was found changed by hand")
    repaired: str | None = Field(default=None, description="What the repair did")
    changed_by: str | None = Field(
        default=None,
        description="Who changed it, from the platform's audit log (Discord: display name and "
        "@username); null when unknown, see unknown_why",
    )
    changed_by_id: str | None = Field(default=None, description="Their Discord user id")
    changed_at: datetime | None = Field(default=None, description="When they changed it")
    unknown_why: str | None = Field(
        default=None, description="Why nobody is named (e.g. GitHub has no audit log for it)"
    )

    @classmethod
    def of(cls, repair: Repair) -> RepairOut:
        finding = repair.finding
        return cls(
            step_key=repair.step_key,
            method=repair.method,
            path=repair.path,
            status=repair.status,
            at=repair.at,
            **({} if finding is None else finding_fields(finding)),
        )


def finding_fields(finding: Finding) -> dict[str, Any]:
    return {
        "resource": finding.resource,
        "differed": finding.differed,
        "repaired": finding.repaired,
        "changed_by": finding.changed_by,
        "changed_by_id": finding.changed_by_id,
        "changed_at": finding.changed_at,
        "unknown_why": finding.unknown_why,
    }


class DriftReportOut(_Out):
    """What the course's last reconcile found changed by hand, and what it repaired."""

    course_id: str
    started_at: datetime | None = Field(description="Null when never reconciled")
    finished: bool = Field(description="No step of the course waits to run any more")
    checked: int = Field(description="Finished steps sent back to be verified")
    drifted: list[str] = Field(description="Steps that found drift and repaired it")
    repairs: list[RepairOut]
    failed: list[str] = Field(description="Steps that failed or wait for a person")

    @classmethod
    def of(cls, report: DriftReport) -> DriftReportOut:
        return cls(
            course_id=report.course_id,
            started_at=report.started_at,
            finished=report.finished,
            checked=report.checked,
            drifted=report.drifted,
            repairs=[RepairOut.of(r) for r in report.repairs],
            failed=report.failed,
        )
