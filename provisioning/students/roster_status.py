"""Who is in: per person of a course, the join e-mail, GitHub and Discord, from the steps.

Read-only and derived: the e-mail and invitation steps already record what happened (sent,
refused, waiting for a login fix, the invitation's state), so the status is those steps read
per person, not a second record that could disagree with them. The same service answers
`GET /courses/{id}/roster`, the course page's table and `/course roster-status`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Course, Member, RosterLink, Step
from provisioning.errors import CourseNotFoundError
from provisioning.github.steps.invite import UNKNOWN_LOGIN

EmailState = Literal["no_address", "queued", "sent", "retrying", "bounced", "waiting"]
GitHubState = Literal[
    "queued", "invitation_pending", "accepted", "expired", "unknown_login", "waiting", "failed"
]
DiscordState = Literal["not_linked", "linked", "joined", "roles_set", "waiting", "failed"]
# What became of the invitation a mistyped roster login was sent, once the person corrected it.
WithdrawalState = Literal["withdrawing", "withdrawn", "needs_staff"]
_STAFF_TEAMS = {"instructor": "instructors", "ta": "tas"}
# People shown as stuck in a summary: enough for a reply, the rest is in the REST answer.
STUCK_SHOWN = 20
# Member ids are 32-bit on PostgreSQL: a larger `after` matches nothing, as does this one.
_MEMBER_ID_MAX = 2**31 - 1


@dataclass(frozen=True)
class PersonStatus:
    """One person of the roster and how far they got."""

    id: int
    role: str
    name: str
    github: str
    group: str | None
    email: EmailState
    github_state: GitHubState
    discord: DiscordState
    # They signed in with GitHub on the join page as the login the roster holds.
    github_verified: bool = False
    # What a person of staff should know or do, in words; None when nothing is wrong.
    problem: str | None = None
    # The roster's login before the person corrected it on the join page, and what became of
    # the invitation that login was sent (None when it was sent none).
    corrected_from: str | None = None
    withdrawal: WithdrawalState | None = None
    # When `github_state` was last read from GitHub (the invitation step's run, or the
    # reminders' live check of pending invitations); None before the first.
    github_checked_at: datetime | None = None

    @property
    def stuck(self) -> bool:
        return self.problem is not None


@dataclass(frozen=True)
class RosterPage:
    """One page of a course's people in roster order; `next_after` continues it."""

    course_id: str
    people: list[PersonStatus]
    next_after: int | None


@dataclass(frozen=True)
class RosterSummary:
    """Counts per state over the whole roster and the first people who are stuck."""

    course_id: str
    people: int
    email: Mapping[str, int]
    github: Mapping[str, int]
    discord: Mapping[str, int]
    stuck: list[PersonStatus] = field(default_factory=list)
    stuck_total: int = 0
    # The oldest read of a pending invitation's state: every "invitation pending" is at
    # least this fresh. None when no invitation is pending.
    github_checked_at: datetime | None = None


def email_key(address: str) -> str:
    return f"email.join:{address.lower()}"


def invite_key(member: Member, laboratory: bool) -> str:
    if member.role in _STAFF_TEAMS:
        team = _STAFF_TEAMS[member.role]
    else:
        team = member.group if laboratory and member.group else "students"
    return f"github.invite:{team}:{member.github_lower}"


def discord_key(member: Member) -> str | None:
    """The step that gives this person their roles: staff's `discord.member-role`, students'
    `discord.student-roles` (which also records whether they were in the server yet)."""
    if not member.discord_id:
        return None
    if member.role in _STAFF_TEAMS:
        return f"discord.member-role:{member.discord_id}"
    return f"discord.student-roles:{member.discord_id}"


@dataclass(frozen=True)
class _StepView:
    state: str
    facts: Mapping[str, Any]
    code: str | None
    error: str | None
    updated_at: datetime | None = None


class RosterStatusService:
    """Reads the roster status of courses; every method takes one short read transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        person_of: Callable[[str], str] | None = None,
    ) -> None:
        self._sessions = sessions
        # E-mail address → the person reference `roster_links` rows are kept under.
        self._person_of = person_of

    async def page(self, course_id: str, *, after: int = 0, limit: int = 50) -> RosterPage:
        """People with `id > after`, in roster order (staff first), at most `limit`."""
        async with self._sessions() as session:
            laboratory = await self._laboratory(session, course_id)
            members = (
                await session.scalars(
                    select(Member)
                    .where(Member.course_id == course_id, Member.id > min(after, _MEMBER_ID_MAX))
                    .order_by(Member.id)
                    .limit(limit + 1)
                )
            ).all()
            more = len(members) > limit
            members = members[:limit]
            steps = await self._steps(session, course_id, members, laboratory)
            links = await self._links(session, course_id, members)
            fixes = await _corrections(session, course_id)
        people = [_status(m, steps, laboratory, links.get(m.id), fixes) for m in members]
        return RosterPage(course_id, people, people[-1].id if more and people else None)

    async def person(self, course_id: str, member_id: int) -> PersonStatus:
        """One person's status (the join page shows it to them)."""
        async with self._sessions() as session:
            laboratory = await self._laboratory(session, course_id)
            member = await session.get(Member, member_id)
            if member is None or member.course_id != course_id:
                raise LookupError(f"no member {member_id} in course {course_id}")
            steps = await self._steps(session, course_id, [member], laboratory)
            links = await self._links(session, course_id, [member])
            fixes = await _corrections(session, course_id)
        return _status(member, steps, laboratory, links.get(member.id), fixes)

    async def summary(self, course_id: str) -> RosterSummary:
        """Counts per state and the people who are stuck (for `/course roster-status`)."""
        async with self._sessions() as session:
            laboratory = await self._laboratory(session, course_id)
            members = (
                await session.scalars(
                    select(Member).where(Member.course_id == course_id).order_by(Member.id)
                )
            ).all()
            steps = await self._steps(session, course_id, members, laboratory)
            links = await self._links(session, course_id, members)
            fixes = await _corrections(session, course_id)
        people = [_status(m, steps, laboratory, links.get(m.id), fixes) for m in members]
        stuck = [p for p in people if p.stuck]
        pending_checks = [
            p.github_checked_at
            for p in people
            if p.github_state == "invitation_pending" and p.github_checked_at is not None
        ]
        return RosterSummary(
            course_id=course_id,
            people=len(people),
            email=Counter(p.email for p in people),
            github=Counter(p.github_state for p in people),
            discord=Counter(p.discord for p in people),
            stuck=stuck[:STUCK_SHOWN],
            stuck_total=len(stuck),
            github_checked_at=min(pending_checks, default=None),
        )

    async def _laboratory(self, session: AsyncSession, course_id: str) -> bool:
        kind = await session.scalar(select(Course.kind).where(Course.id == course_id))
        if kind is None:
            raise CourseNotFoundError(course_id)
        return kind == "laboratory"

    async def _links(
        self, session: AsyncSession, course_id: str, members: Sequence[Member]
    ) -> dict[int, RosterLink]:
        """The join-page links of these members, by member id."""
        if self._person_of is None:
            return {}
        refs = {self._person_of(m.email): m.id for m in members if m.email}
        found: dict[int, RosterLink] = {}
        ordered = sorted(refs)
        for start in range(0, len(ordered), 500):
            rows = await session.scalars(
                select(RosterLink).where(
                    RosterLink.course_id == course_id,
                    RosterLink.person.in_(ordered[start : start + 500]),
                )
            )
            for link in rows:
                found[refs[link.person]] = link
        return found

    async def _steps(
        self,
        session: AsyncSession,
        course_id: str,
        members: Sequence[Member],
        laboratory: bool,
    ) -> dict[str, _StepView]:
        keys = {invite_key(m, laboratory) for m in members}
        keys |= {email_key(m.email) for m in members if m.email}
        keys |= {k for m in members if (k := discord_key(m)) is not None}
        views: dict[str, _StepView] = {}
        ordered = sorted(keys)
        # In chunks: a whole roster's keys would exceed SQLite's bound-parameter limit.
        for start in range(0, len(ordered), 500):
            rows = await session.execute(
                select(
                    Step.key,
                    Step.state,
                    Step.facts,
                    Step.last_error_code,
                    Step.last_error,
                    Step.updated_at,
                )
                .where(Step.course_id == course_id)
                .where(Step.key.in_(ordered[start : start + 500]))
            )
            for key, state, facts, code, error, updated_at in rows:
                views[key] = _StepView(state, facts or {}, code, error, updated_at)
        return views


@dataclass(frozen=True)
class _Correction:
    old_login: str
    state: WithdrawalState
    error: str | None


async def _corrections(session: AsyncSession, course_id: str) -> dict[str, _Correction]:
    """The withdrawals of mistyped logins (`provisioning.students.correction`), by the login
    they were corrected to. Removal steps are few per course: they are read whole."""
    rows = await session.execute(
        select(Step.params, Step.state, Step.last_error).where(
            Step.course_id == course_id, Step.kind == "github.uninvite"
        )
    )
    found: dict[str, _Correction] = {}
    for params, state, error in rows:
        if not params.get("mistyped") or not params.get("corrected_to"):
            continue
        withdrawal: WithdrawalState = (
            "withdrawn"
            if state == "succeeded"
            else "needs_staff"
            if state in ("awaiting_action", "failed")
            else "withdrawing"
        )
        found[str(params["corrected_to"]).lower()] = _Correction(
            str(params["login"]), withdrawal, error
        )
    return found


def _status(
    member: Member,
    steps: Mapping[str, _StepView],
    laboratory: bool,
    link: RosterLink | None,
    fixes: Mapping[str, _Correction] | None = None,
) -> PersonStatus:
    email, email_problem = _email(member, steps)
    invitation = steps.get(invite_key(member, laboratory))
    github, github_problem = _github(invitation)
    discord = _discord(member, steps)
    verified = bool(
        link is not None
        and link.github_verified_at is not None
        and (link.github_login or "").lower() == member.github_lower
    )
    if link is not None and link.discord_id is not None and discord != "roles_set":
        discord = "joined"
    fix = (fixes or {}).get(member.github_lower)
    fix_problem = None
    if fix is not None and fix.state == "needs_staff":
        fix_problem = fix.error or f"the invitation sent to {fix.old_login} needs staff"
    return PersonStatus(
        id=member.id,
        role=member.role,
        name=member.name,
        github=member.github,
        group=member.group,
        email=email,
        github_state=github,
        discord=discord,
        github_verified=verified,
        problem=github_problem or fix_problem or email_problem,
        corrected_from=fix.old_login if fix is not None else None,
        withdrawal=fix.state if fix is not None else None,
        github_checked_at=_checked_at(invitation),
    )


def _checked_at(step: _StepView | None) -> datetime | None:
    """When the invitation's state was last read: the reminders' live check, or the step's
    own last run."""
    if step is None or step.state != "succeeded":
        return None
    checked = step.facts.get("checked_at")
    if isinstance(checked, str):
        try:
            return datetime.fromisoformat(checked)
        except ValueError:
            pass
    return step.updated_at


def _email(member: Member, steps: Mapping[str, _StepView]) -> tuple[EmailState, str | None]:
    if not member.email:
        return "no_address", None
    step = steps.get(email_key(member.email))
    if step is None or step.state in ("running", "blocked"):
        return "queued", None
    if step.state == "succeeded":
        return "sent", None
    if step.state == "failed":
        return "bounced", f"the e-mail server refused the join e-mail: {step.error}"
    if step.state == "awaiting_action":
        return "waiting", step.error
    return ("retrying" if step.error else "queued"), None


def _github(step: _StepView | None) -> tuple[GitHubState, str | None]:
    if step is None:
        return "queued", None
    if step.state in ("pending", "running", "blocked"):
        # Sent back by the reminders because GitHub no longer had the invitation.
        return ("expired" if step.facts.get("state") == "expired" else "queued"), None
    if step.state == "succeeded":
        return ("accepted" if step.facts.get("state") == "active" else "invitation_pending"), None
    if step.state == "awaiting_action":
        if step.code == UNKNOWN_LOGIN:
            return "unknown_login", step.error
        return "waiting", step.error
    return "failed", step.error


def _discord(member: Member, steps: Mapping[str, _StepView]) -> DiscordState:
    key = discord_key(member)
    if key is None:
        return "not_linked"
    step = steps.get(key)
    if step is None:
        # Students with a known id get their roles when they join (invite or join page).
        return "linked"
    if step.state == "succeeded":
        # A student not in the server yet gets the roles from their invite when they join.
        return "linked" if step.facts.get("joined") is False else "roles_set"
    return "failed" if step.state == "failed" else "waiting"
