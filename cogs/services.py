"""What the `/course` commands need from the domain, as Protocols (the bot passes the services
of `provisioning.claims.service`, `provisioning.courses.service`, `provisioning.courses.drafts`
and `provisioning.courses.search`), and the settings they run with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from provisioning.claims.codes import ClaimResult
from provisioning.courses.change_preview import ChangePreview
from provisioning.courses.drafts import ArchiveApplied, Confirmed, Draft, RosterApplied
from provisioning.courses.drift_report import DriftReport
from provisioning.courses.invitation_notes import OrgInvitations, nothing_known
from provisioning.courses.preview import unknown_hourly_limit
from provisioning.courses.search import CourseChoice
from provisioning.courses.spec import CourseSpec
from provisioning.courses.views import (
    CourseRecord,
    CourseSummary,
    CourseUpdate,
    RetryOutcome,
    StatusPage,
    StepStatus,
)
from provisioning.discord.invite_links import InviteLink
from provisioning.discord.server_count import ServerCount
from provisioning.students.member_join import UnknownJoiner
from provisioning.students.roster_status import RosterSummary


class ClaimService(Protocol):
    """Binds a Discord server to the course a claim code names.

    The implementation checks the code (`course_id_from_code`), refuses a course already bound to
    another server, stores `guild_id` as the external id of the course's `discord.server` step
    and sends that step back to pending, and records a `claim made` audit event by `user_id`.
    """

    async def claim(self, code: str, guild_id: str, user_id: str) -> ClaimResult: ...


class CourseCommandService(Protocol):
    """Courses as the `/course` commands read and change them
    (`provisioning.courses.service.CourseService`). Changes wake the runner themselves."""

    async def status_page(
        self,
        course_id: str,
        *,
        limit: int,
        after: int = -1,
        states: Collection[str] = (),
    ) -> StatusPage: ...

    async def step_status(self, course_id: str, key: str) -> StepStatus | None: ...

    async def retry(self, course_id: str, actor: str) -> RetryOutcome: ...

    async def get(self, course_id: str) -> CourseRecord: ...

    async def update(self, course_id: str, spec: CourseSpec, actor: str) -> CourseUpdate: ...

    async def preview(self, course_id: str, spec: CourseSpec) -> ChangePreview: ...

    async def recent(self, limit: int = 10) -> list[CourseSummary]: ...

    async def archive_preview(self, course_id: str, *, archived: bool = True) -> ChangePreview: ...


class DraftCommandService(Protocol):
    """Previews awaiting Confirm (`provisioning.courses.drafts.DraftService`)."""

    async def propose(
        self,
        kind: str,
        spec: CourseSpec,
        actor: str,
        course_id: str | None = None,
        confirm_removals: int | None = None,
    ) -> Draft: ...

    async def get(self, draft_id: str) -> Draft: ...

    async def confirm_course(self, draft_id: str, actor: str) -> Confirmed: ...

    async def confirm_roster(self, draft_id: str, actor: str) -> RosterApplied: ...

    async def confirm_archive(self, draft_id: str, actor: str) -> ArchiveApplied: ...

    async def cancel(self, draft_id: str) -> bool: ...


class RosterStatusReader(Protocol):
    """Who is in, per state (`provisioning.students.roster_status.RosterStatusService`)."""

    async def summary(self, course_id: str) -> RosterSummary: ...


class UnknownJoinerReader(Protocol):
    """People who joined a course's server off the roster
    (`provisioning.students.member_join.MemberJoins`)."""

    async def unknown_joiners(self, course_id: str, limit: int = 50) -> list[UnknownJoiner]: ...


class LiveReplies(Protocol):
    """Background edits of live replies (`cogs.course.status.LiveUpdates`)."""

    def start(self, updates: Coroutine[Any, Any, None]) -> None: ...

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds`; False when the bot is stopping."""
        ...


class InviteLinkReader(Protocol):
    """A course's live invite links (`provisioning.discord.invite_links.InviteLinks`)."""

    async def links(self, course_id: str) -> list[InviteLink]: ...


class CourseLookup(Protocol):
    """Courses by what a person types (`provisioning.courses.search.CourseFinder`)."""

    async def find(self, text: str, limit: int = ...) -> list[CourseChoice]: ...

    async def resolve(self, value: str) -> str: ...


@dataclass(frozen=True)
class AdminPolicy:
    """Who may run the admin commands: members of `guild_id` holding the role `role`."""

    role: str
    guild_id: str | None


@dataclass(frozen=True)
class CommandServices:
    """Everything the `/course` commands call; built once by `bot.build`."""

    claims: ClaimService
    courses: CourseCommandService
    drafts: DraftCommandService
    lookup: CourseLookup
    invites: InviteLinkReader
    roster_status: RosterStatusReader
    joiners: UnknownJoinerReader
    claim_code: Callable[[str], str]
    # The bot's install link for a course (exactly the permissions its plan needs).
    install_link: Callable[[CourseSpec], Awaitable[str]]
    admin: AdminPolicy
    live: LiveReplies
    # How often a live `/course status` reply is edited, and for how long (Discord's token
    # lives 15 min; the last edit must come before that).
    live_every_s: float = 5.0
    live_for_s: float = 14 * 60.0
    # The bot's server count while near the cap of unverified apps (`ServerCountWatch.notice`).
    server_notice: Callable[[], ServerCount | None] = lambda: None
    # The drift report of a course's last reconcile, shown on `/course status` (None: not shown).
    drift: Callable[[str], Awaitable[DriftReport]] | None = None
    # The hourly GitHub limit of an organization's credential, as far as known (the preview's
    # time estimate); None: a token's 5,000.
    github_hourly: Callable[[str], int | None] = unknown_hourly_limit
    # An organization's GitHub invitations: its daily window and its courses' queue (the
    # preview says when a course needs more than a day's).
    org_invitations: Callable[[str], Awaitable[OrgInvitations]] = nothing_known
