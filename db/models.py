"""ORM models: courses, their members and planned steps, the audit log, API tokens, idempotency."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from db.base import Base, UTCDateTime

STEP_STATES = ("pending", "running", "succeeded", "failed", "awaiting_action", "blocked")
MEMBER_ROLES = ("instructor", "ta", "student")

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# The `discord.server` steps bound to a guild (the key is `provisioning.claims.codes.SERVER_STEP`).
PACE_SLOTS = JSON().with_variant(ARRAY(Float), "postgresql")
_BOUND_SERVER = text("key = 'discord.server' AND external_id IS NOT NULL")


def platform_of(kind: str) -> str:
    """The platform of a step kind: "github.repo" → "github"."""
    return kind.split(".", 1)[0]


def spec_digest(spec: dict[str, Any]) -> str:
    """The digest of a course's stored spec: equal digests, equal specs."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Course(Base):
    """One course offering; ``spec`` is the full validated course description it was made from."""

    __tablename__ = "courses"
    __table_args__ = (
        UniqueConstraint("code", "term"),
        CheckConstraint(_in("kind", ("lecture", "laboratory")), name="kind"),
        # Keyset pagination walks courses in creation order.
        Index("ix_courses_created_at_id", "created_at", "id"),
    )

    # Public, opaque id (a UUID): not guessable, and never overflows anyone's integer type.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String())
    term: Mapped[str] = mapped_column(String())
    title: Mapped[str] = mapped_column(String())
    kind: Mapped[str] = mapped_column(String(16))
    github_org: Mapped[str] = mapped_column(String())
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan_digest: Mapped[str] = mapped_column(String(64))
    # sha256 of the canonical JSON of `spec`, set whenever `spec` is (see `_digest`): a claim
    # reads this instead of the spec (1.5 MB for 10,000 students) when it has that spec
    # already. A change of `spec` by hand, in SQL, clears it (a trigger, migration 0004).
    spec_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set while the course is archived (end of term): read-only, left out of reconciles.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    members: Mapped[list[Member]] = relationship(
        back_populates="course", cascade="all, delete-orphan", passive_deletes=True
    )
    steps: Mapped[list[Step]] = relationship(
        back_populates="course", cascade="all, delete-orphan", passive_deletes=True
    )

    @validates("spec")
    def _digest(self, _key: str, spec: dict[str, Any]) -> dict[str, Any]:
        self.spec_digest = spec_digest(spec)
        return spec


class Member(Base):
    """A person of a course: instructor, TA or student."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(_in("role", MEMBER_ROLES), name="role"),
        Index("ix_members_course_id_github_lower", "course_id", "github_lower"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String())
    email: Mapped[str | None] = mapped_column(String())
    github: Mapped[str] = mapped_column(String())
    # GitHub logins are case-insensitive; lookups go through the lowered copy.
    github_lower: Mapped[str] = mapped_column(String())
    discord_id: Mapped[str | None] = mapped_column(String())
    group: Mapped[str | None] = mapped_column("group_name", String())

    course: Mapped[Course] = relationship(back_populates="members")


class LabGroup(Base):
    """A lab group of a laboratory course (own role, channel, team and repository)."""

    __tablename__ = "lab_groups"
    __table_args__ = (UniqueConstraint("course_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String())


class Step(Base):
    """One planned step of a course and its execution state."""

    __tablename__ = "steps"
    __table_args__ = (
        UniqueConstraint("course_id", "key"),
        CheckConstraint(_in("state", STEP_STATES), name="state"),
        # The runner looks for due work by state and time.
        Index("ix_steps_state_next_attempt_at", "state", "next_attempt_at"),
        # A claim walks the ready steps (pending, no unfinished dependency) in the order it
        # takes them, due first, and stops after as many as it wants: its cost does not grow
        # with the number of steps waiting.
        Index("ix_steps_ready", "state", "unfinished_deps", "next_attempt_at", "position"),
        # A course's status: its summary reads this index alone, a page walks the next one.
        Index("ix_steps_course_status", "course_id", "state", "kind", "updated_at"),
        Index("ix_steps_course_position", "course_id", "position"),
        # A runner claims each platform's ready steps apart (a step waiting for GitHub's pace
        # must not hold a slot a Discord step could use), and each lane's (credential's)
        # apart, lowest `claim_rank` first: the lanes with ready steps are a walk of this
        # index (one probe each), and each lane's next steps another.
        Index(
            "ix_steps_lane_ready",
            "platform",
            "state",
            "unfinished_deps",
            "lane",
            "claim_rank",
            "position",
        ),
        # One server per course, one course per server: two claims racing for one guild (or
        # for one course) cannot both commit, whatever the code in front of it checks.
        Index(
            "uq_steps_discord_server_external_id",
            "external_id",
            unique=True,
            sqlite_where=_BOUND_SERVER,
            postgresql_where=_BOUND_SERVER,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String())
    kind: Mapped[str] = mapped_column(String())
    # The platform the step talks to: its kind's first part ("github.repo" → "github"), set
    # with the kind.
    platform: Mapped[str] = mapped_column(String(16), server_default=text("''"))
    depends_on: Mapped[list[str]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    external_id: Mapped[str | None] = mapped_column(String())
    # Small facts a step produced besides its id (a seed's head sha, a team's slug), which
    # later steps and the next verification read.
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_code: Mapped[str | None] = mapped_column(String())
    action_hint: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # How many of the step's dependencies (rows of `step_dependencies`) have not succeeded:
    # readiness as data, so a claim reads ready rows only. Kept by database triggers
    # (migration 0004) on every change of a step's state and every added or removed
    # dependency, whoever writes them; never set it by hand.
    unfinished_deps: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # The credential the step's calls are paced on ("discord", "email", "github:<org>"): a
    # runner keeps so many steps of each lane running, so a step waiting for one
    # organization's pace never holds a slot another's could use. '' for steps planned
    # before lanes (one lane per platform). Set with `claim_rank`.
    lane: Mapped[str] = mapped_column(String(120), default="", server_default=text("''"))
    # The order a lane's ready steps are claimed in, lowest first: the course's creation
    # (epoch milliseconds) plus one second per step of its platform it had left when the step
    # was planned (`db.step_queue.rank_steps` sets both). Shortest remaining course first, yet
    # a big course waits behind newer ones no longer than its own work's worth of seconds.
    claim_rank: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))

    course: Mapped[Course] = relationship(back_populates="steps")

    @validates("kind")
    def _set_platform(self, _key: str, kind: str) -> str:
        self.platform = platform_of(kind)
        return kind


class StepDependency(Base):
    """One edge of a course's plan: `step_id` waits for `depends_on_id` (both of one course).

    `Step.depends_on` (keys) stays the plan's word; these rows are its index by id, read
    backwards when a step's state changes (which steps wait for it?) without scanning the
    course. Written by `db.step_queue.link_dependencies`.
    """

    __tablename__ = "step_dependencies"
    __table_args__ = (Index("ix_step_dependencies_depends_on_id", "depends_on_id"),)

    step_id: Mapped[int] = mapped_column(
        ForeignKey("steps.id", ondelete="CASCADE"), primary_key=True
    )
    depends_on_id: Mapped[int] = mapped_column(
        ForeignKey("steps.id", ondelete="CASCADE"), primary_key=True
    )


class AuditEvent(Base):
    """Append-only, hash-chained audit row: one HTTP call to a platform, or one domain event.

    Rows are written only through ``db.audit_chain``: inserted unsealed (``seq``, ``prev_hash``
    and ``hash`` NULL), then sealed into the chain after they commit. ``prev_hash`` and ``seq``
    are unique so the chain can never fork, even if a sealer forgot the lock.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("prev_hash"),
        # The rows the sealer has yet to chain, oldest first; empty nearly always.
        Index(
            "ix_audit_events_unsealed",
            "id",
            sqlite_where=text("seq IS NULL"),
            postgresql_where=text("seq IS NULL"),
        ),
        CheckConstraint(_in("kind", ("http", "event")), name="kind"),
        Index("ix_audit_events_course_id_id", "course_id", "id"),
        # A course's last event of a kind (its last reconcile, on every status read).
        Index("ix_audit_events_course_id_event_id", "course_id", "event", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # No foreign key: the log must outlive (and never block deletion of) what it describes.
    course_id: Mapped[str | None] = mapped_column(String(36))
    step_key: Mapped[str | None] = mapped_column(String())
    attempt: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String())
    kind: Mapped[str] = mapped_column(String(8))
    event: Mapped[str | None] = mapped_column(String())
    method: Mapped[str | None] = mapped_column(String(10))
    path: Mapped[str | None] = mapped_column(Text)
    request_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[int | None] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String())
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String())
    rate_limit: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The row's place in the chain, and its links: NULL until the sealer chains the row.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class ApiToken(Base):
    """A REST API bearer token; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    read_only: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyKey(Base):
    """The first answer given to a mutating request carrying an ``Idempotency-Key``."""

    __tablename__ = "idempotency_keys"

    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    course_id: Mapped[str | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RosterLink(Base):
    """What a person proved on the join page: their GitHub account and their Discord account.

    One row per person of a course (`person` is `JoinLinks.person` of their e-mail address, so
    a roster change that keeps the address keeps the row). An account proves one person of a
    course only: the unique constraints refuse a second person signing in with it, whatever the
    code in front of them checks.
    """

    __tablename__ = "roster_links"
    __table_args__ = (
        UniqueConstraint("course_id", "person"),
        UniqueConstraint("course_id", "github_id"),
        UniqueConstraint("course_id", "discord_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    person: Mapped[str] = mapped_column(String(64))
    github_login: Mapped[str | None] = mapped_column(String())
    github_id: Mapped[str | None] = mapped_column(String(32))
    github_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    discord_id: Mapped[str | None] = mapped_column(String(32))
    discord_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CourseMilestone(Base):
    """A milestone of a course posted to the course log (`provisioning.courses.milestones`):
    the primary key makes it once per course."""

    __tablename__ = "course_milestones"

    course_id: Mapped[str] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    milestone: Mapped[str] = mapped_column(String(32), primary_key=True)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BotNotice(Base):
    """A notice about the bot itself posted to the course log once (`provisioning.discord.
    server_watch`: the server count near the cap); removed when it no longer holds, so the
    next time it holds it is posted again."""

    __tablename__ = "bot_notices"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())


DRAFT_KINDS = ("create", "roster", "archive", "unarchive")
DRAFT_DECISIONS = ("confirmed", "cancelled")


class CourseDraft(Base):
    """A change shown as a preview with Confirm and Cancel (`/course create`, `/course roster`):
    the validated description waits here, so a click, even after a restart, applies exactly what
    was shown, once. ``course_id`` is the course made (create, once confirmed) or changed
    (roster)."""

    __tablename__ = "course_drafts"
    __table_args__ = (
        CheckConstraint(_in("kind", DRAFT_KINDS), name="kind"),
        CheckConstraint(_in("decision", DRAFT_DECISIONS), name="decision"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    course_id: Mapped[str | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The removals the preview showed, when they are over the safety limit: Confirm confirms
    # exactly that number (a course changed since then is refused, not changed more).
    confirm_removals: Mapped[int | None] = mapped_column(Integer)


class PaceAccount(Base):
    """The next free call slot of one credential's pace account (`db.pace_ledger`): every
    runner process sharing a credential reserves its calls' slots here (PostgreSQL).

    `account` names the credential by a hash and the kind of call; a token is never stored.
    """

    __tablename__ = "pace_accounts"

    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Seconds since the epoch on the database server's clock: one clock for every process.
    next_at: Mapped[float] = mapped_column(Float)
    # The last slots taken, for an account with a budget (N slots in any window): a float8
    # array on PostgreSQL, the only database the table is used on.
    recent: Mapped[list[float] | None] = mapped_column(PACE_SLOTS)
    # A send account's marked write that has not said when it left yet, and until when it
    # holds the next mark back at most (`db.pace_ledger`, `mark` and `sent`).
    pending_id: Mapped[str | None] = mapped_column(String(32))
    pending_until: Mapped[float | None] = mapped_column(Float)


class PaceBucket(Base):
    """One rate-limit bucket of one credential, as its headers describe it (`db.pace_ledger`):
    every runner process counts its calls here before sending them (PostgreSQL).

    Times are seconds since the epoch on the database server's clock.
    """

    __tablename__ = "pace_buckets"

    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    bucket: Mapped[str] = mapped_column(Text, primary_key=True)
    limit_n: Mapped[int | None] = mapped_column(Integer)  # None: no answer yet
    remaining: Mapped[int | None] = mapped_column(Integer)
    reset_at: Mapped[float] = mapped_column(Float)
    window_s: Mapped[float] = mapped_column(Float)  # the longest Reset-After seen
    closed_until: Mapped[float] = mapped_column(Float)  # Retry-After
    probe_until: Mapped[float] = mapped_column(Float)  # a first call is learning the limit
    wait_s: Mapped[float] = mapped_column(Float)  # what the last take answered
    granted: Mapped[int] = mapped_column(Integer, server_default="0")  # and counted


class InvitationWindowRow(Base):
    """One GitHub organization's invitation window (`db.invitation_windows`): the limit learned
    and until when, and until when a refusal closed it. Its row is the lock every taker of a
    place in the organization holds. Used on PostgreSQL; times are the server's epoch seconds."""

    __tablename__ = "invitation_windows"

    org: Mapped[str] = mapped_column(String(100), primary_key=True)  # lowercase login
    limit: Mapped[int] = mapped_column(Integer)
    limit_until: Mapped[float] = mapped_column(Float)
    closed_until: Mapped[float] = mapped_column(Float)


class InvitationPlace(Base):
    """One invitee's place in its organization's window (`db.invitation_windows`): one row each,
    so a take reads the place `limit` back through the (org, at) index, whatever the queue's
    length."""

    __tablename__ = "invitation_places"
    __table_args__ = (Index("ix_invitation_places_org_at", "org", "at"),)

    org: Mapped[str] = mapped_column(String(100), primary_key=True)  # lowercase login
    login: Mapped[str] = mapped_column(String(100), primary_key=True)  # lowercase
    at: Mapped[float] = mapped_column(Float)


class StaffNotice(Base):
    """Something the join page refused that staff must act on (`provisioning.students.notices`):
    posted once to the course log; `posted_at` is set when it was."""

    __tablename__ = "staff_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(64))
    person: Mapped[str] = mapped_column(String())
    what: Mapped[str] = mapped_column(Text)
    todo: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class DriftMessage(Base):
    """The course log's message about a reconcile that repaired something
    (`provisioning.courses.drift_notices`): written with the report's audit event, posted once;
    `posted_at` is set when it was. The report itself is read from the audit log."""

    __tablename__ = "drift_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The reconcile's two audit events (started, reported): what the message shows is between.
    started_id: Mapped[int] = mapped_column(BigIntId)
    reported_id: Mapped[int] = mapped_column(BigIntId, unique=True)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
