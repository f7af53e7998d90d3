"""What the join page's two sign-ins do: confirm or correct the GitHub login, join Discord.

Both start from a valid personal link (`JoinService.view`) and end in the roster: a corrected
GitHub login is a course change like any other (re-planned, the new invitation sent by the
runner, the old login's invitation withdrawn: `correction`), a Discord id is recorded in the
roster. What a person proved is kept in `roster_links`, where one account can prove one person
of a course only. A refusal changes nothing, leaves an audit row, and tells staff in the course
log (`notices`) what happened and what to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.models import RosterLink
from provisioning import audit_context
from provisioning.clock import Clock
from provisioning.courses.changes import CourseChangeRefusedError
from provisioning.courses.service import CourseService
from provisioning.courses.spec import CourseSpec, StaffMember, Student, parse_course
from provisioning.discord.gateway import DiscordGateway
from provisioning.errors import ProvisioningError
from provisioning.github.gateway import GitHubGateways
from provisioning.students.correction import (
    accepted,
    mark_withdrawal,
    only_the_old_login_goes,
    sent_invitation,
)
from provisioning.students.join import JoinService, JoinView
from provisioning.students.member_roles import role_keys, server_and_roles
from provisioning.students.notices import add_notice
from provisioning.students.sign_in import DiscordIdentity, GitHubIdentity

log = logging.getLogger(__name__)
ACTOR = "join-page"


class JoinRefusedError(ProvisioningError):
    """The sign-in cannot be used for this person; `detail` says so to them, staff are told."""

    status = 409
    title = "Refused"


@dataclass(frozen=True)
class JoinDone:
    """What a sign-in changed, in the person's words."""

    message: str


class JoinActions:
    """The effects of the join page's sign-ins."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        join: JoinService,
        courses: CourseService,
        discord: DiscordGateway,
        github: GitHubGateways,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._join = join
        self._courses = courses
        self._discord = discord
        self._github = github
        self._clock = clock

    async def github_signed_in(self, token: str, identity: GitHubIdentity) -> JoinDone:
        """Confirm the roster's login, or correct it to the account the person proved."""
        view = await self._join.view(token)
        login = identity.login
        roster_login = view.person.github
        record = await self._courses.get(view.course_id)
        people: list[StaffMember | Student] = [*record.spec.staff, *record.spec.students]
        others = [
            p
            for p in people
            if p.github.lower() == login.lower() and p.github.lower() != roster_login.lower()
        ]
        who = _who(view)
        if others:
            await self._refuse(
                view,
                "github.taken",
                {"login": login},
                f"The GitHub account {login} is on this course's roster for someone else. "
                "Nothing was changed; your course staff have been told.",
                staff=(
                    f"{who} signed in on their join page with the GitHub account {login}, "
                    "which the roster lists for someone else. Nothing was changed.",
                    f"Find out whose account {login} is, and correct the roster (/course "
                    f"roster, or PUT /courses/{view.course_id}) so each person has their own "
                    "login.",
                ),
            )
        await self._bind(view, github=identity)
        if login.lower() == roster_login.lower():
            await self._event(view, "join.github_verified", {"login": login})
            return JoinDone(f"Your GitHub account {login} is confirmed.")
        return await self._correct(view, record.spec, login)

    async def _correct(self, view: JoinView, spec: CourseSpec, login: str) -> JoinDone:
        """Correct the roster's login to `login`: the old login's invitation is withdrawn and
        the verified account invited, by steps; refused if the old account accepted already."""
        roster_login = view.person.github
        who = _who(view)
        async with self._sessions() as session:
            sent = await sent_invitation(session, view.course_id, view.person.id)
        if sent is not None:
            scope = audit_context.current.set(audit_context.AuditContext(ACTOR, view.course_id))
            try:
                taken = await accepted(self._github.for_org(sent.org), sent, roster_login)
            except ProvisioningError:
                # GitHub could not be asked: nothing is changed; signing in again retries.
                await self._unbind_github(view)
                raise
            finally:
                audit_context.current.reset(scope)
            if taken:
                await self._unbind_github(view)
                await self._refuse(
                    view,
                    "github.wrong_account_accepted",
                    {"login": login, "team": sent.team},
                    f"The roster says {roster_login} and you signed in as {login}, but the "
                    f"GitHub account {roster_login} has already accepted the invitation to "
                    f"{sent.org}. Nothing was changed and nobody was removed: your course staff "
                    "have been told and will sort it out with you.",
                    staff=(
                        f"{who} signed in with GitHub as {login}, but the roster says "
                        f"{roster_login}, and the account {roster_login} has already accepted "
                        f"the course's invitation (it is in the team {sent.team}). Nothing was "
                        "changed and nobody was removed.",
                        f"Find out who {roster_login} is. If it is not {view.person.name}, "
                        f"remove {roster_login} from the team {sent.team} and the organization "
                        f"{sent.org} on GitHub. Then correct the roster login to {login} "
                        f"(/course roster, or PUT /courses/{view.course_id}).",
                    ),
                )
        document = spec.model_dump(mode="json")
        for person in [*document["staff"], *document["students"]]:
            if person["github"].lower() == roster_login.lower():
                person["github"] = login
        corrected = parse_course(document)
        try:
            preview = await self._courses.preview(view.course_id, corrected)
            unexpected = only_the_old_login_goes(preview, sent.key if sent else None)
            if unexpected:
                raise CourseChangeRefusedError(
                    view.course_id, unexpected, "the correction would remove more than a login"
                )
            await self._courses.update(
                view.course_id,
                corrected,
                actor=ACTOR,
                # One login fixed is no student dropped: the safety limit does not apply.
                confirm_removals=preview.removals if preview.confirmation_needed else None,
                within=(
                    mark_withdrawal(view.course_id, sent, roster_login, login, view.person.name)
                    if sent is not None
                    else None
                ),
            )
        except CourseChangeRefusedError as exc:
            await self._unbind_github(view)
            await self._refuse(
                view,
                "github.correction_refused",
                {"login": login, "roster_login": roster_login, "steps": exc.step_keys[:10]},
                f"The roster says {roster_login} and you signed in as {login}, but the course "
                "could not be changed automatically. Nothing was changed; your course staff "
                "have been told.",
                staff=(
                    f"{who} signed in with GitHub as {login}, but the roster says "
                    f"{roster_login}; the roster could not be corrected automatically "
                    f"({exc.detail}).",
                    f"Correct the login to {login} in the roster (/course roster, or PUT "
                    f"/courses/{view.course_id}) once the course's steps are settled.",
                ),
            )
        withdrawn = sent is not None
        await self._event(
            view,
            "join.github_corrected",
            {"login": login, "roster_login": roster_login, "withdrawn": withdrawn},
        )
        also = (
            f" The invitation that went to {roster_login} by mistake is withdrawn."
            if withdrawn
            else ""
        )
        return JoinDone(
            f"The roster said {roster_login}; it now says {login}, the account you signed in "
            f"with. The GitHub invitation goes to that account in a moment.{also}"
        )

    async def discord_signed_in(self, token: str, identity: DiscordIdentity) -> JoinDone:
        """Add the person to the course's server with exactly their roles; record their id."""
        view = await self._join.view(token)
        guild_id, role_ids = await self._server_and_roles(view)
        record = await self._courses.get(view.course_id)
        mine = view.person.github.lower()
        people: list[StaffMember | Student] = [*record.spec.staff, *record.spec.students]
        others = [p for p in people if p.discord_id == identity.id and p.github.lower() != mine]
        if others:
            await self._refuse(
                view,
                "discord.taken",
                {"discord_id": identity.id},
                "This Discord account is on this course's roster for someone else. Nothing was "
                "changed; your course staff have been told.",
                staff=(
                    f"{_who(view)} tried to join the Discord server from their join page with "
                    f"the Discord account {identity.username} (id {identity.id}), which the "
                    "roster lists for someone else. Nothing was changed.",
                    "Check the roster's discord_id values and correct the wrong one (/course "
                    f"roster, or PUT /courses/{view.course_id}).",
                ),
            )
        await self._bind(view, discord_id=identity.id)
        scope = audit_context.current.set(audit_context.AuditContext(ACTOR, view.course_id))
        try:
            added = await self._discord.add_guild_member(
                guild_id, identity.id, access_token=identity.access_token, role_ids=role_ids
            )
            if not added:
                # Already a member: Discord applied no roles, so add the missing ones (and
                # take none away: roles staff gave by hand stay).
                member = await self._discord.get_member(guild_id, identity.id)
                for role_id in role_ids:
                    if role_id not in member.role_ids:
                        await self._discord.add_member_role(
                            guild_id, identity.id, role_id, reason="course roster (join page)"
                        )
        finally:
            audit_context.current.reset(scope)
        await self._record_discord_id(view, identity.id)
        await self._event(view, "join.discord_joined", {"discord_id": identity.id, "new": added})
        return JoinDone("You are in the course's Discord server with your roles.")

    async def _server_and_roles(self, view: JoinView) -> tuple[str, list[str]]:
        keys = role_keys(view.person.role, view.person.group)
        async with self._sessions() as session:
            guild, roles = await server_and_roles(session, view.course_id, keys)
        if guild is None or roles is None:
            raise JoinRefusedError(
                "The course's Discord server is not ready yet: come back to this page later."
            )
        return guild, roles

    async def _record_discord_id(self, view: JoinView, discord_id: str) -> None:
        record = await self._courses.get(view.course_id)
        document = record.spec.model_dump(mode="json")
        changed = False
        for person in [*document["staff"], *document["students"]]:
            if (
                person["github"].lower() == view.person.github.lower()
                and person.get("discord_id") != discord_id
            ):
                person["discord_id"] = discord_id
                changed = True
        if not changed:
            return
        try:
            await self._courses.update(view.course_id, parse_course(document), actor=ACTOR)
        except CourseChangeRefusedError:
            # A staff member's earlier id has its own finished role step; the join stands,
            # and the roster keeps the id staff entered.
            log.warning("discord id not kept in the roster", extra={"course_id": view.course_id})

    async def _bind(
        self,
        view: JoinView,
        *,
        github: GitHubIdentity | None = None,
        discord_id: str | None = None,
    ) -> None:
        now = self._clock.now()
        try:
            async with self._sessions.begin() as session:
                link = await session.scalar(
                    select(RosterLink)
                    .where(
                        RosterLink.course_id == view.course_id,
                        RosterLink.person == view.claim.person,
                    )
                    .with_for_update()
                )
                if link is None:
                    link = RosterLink(course_id=view.course_id, person=view.claim.person)
                    session.add(link)
                if github is not None:
                    link.github_login, link.github_id = github.login, github.id
                    link.github_verified_at = now
                if discord_id is not None:
                    link.discord_id, link.discord_joined_at = discord_id, now
        except IntegrityError as exc:
            what = "GitHub" if github is not None else "Discord"
            await self._refuse(
                view,
                f"{what.lower()}.bound_elsewhere",
                {},
                f"This {what} account was already used to join this course by someone else. "
                "Nothing was changed; your course staff have been told.",
                staff=(
                    f"{_who(view)} signed in on their join page with a {what} account that "
                    "another person of this course used on their own join page already. "
                    "Nothing was changed.",
                    f"Ask both people which {what} account is theirs; the roster links are in "
                    f"GET /courses/{view.course_id}/roster.",
                ),
                cause=exc,
            )

    async def _unbind_github(self, view: JoinView) -> None:
        async with self._sessions.begin() as session:
            link = await session.scalar(
                select(RosterLink).where(
                    RosterLink.course_id == view.course_id,
                    RosterLink.person == view.claim.person,
                )
            )
            if link is not None:
                link.github_login = link.github_id = None
                link.github_verified_at = None

    async def _refuse(
        self,
        view: JoinView,
        reason: str,
        summary: dict[str, object],
        message: str,
        *,
        staff: tuple[str, str],
        cause: Exception | None = None,
    ) -> None:
        """Refuse with `message` for the person; `staff`: what happened and what to do, for
        the course log (`provisioning.students.notices`)."""
        what, todo = staff
        await self._event(
            view,
            "join.refused",
            {"reason": reason, **summary},
            notice=(reason, what, todo),
        )
        log.warning("join refused", extra={"course_id": view.course_id, "reason": reason})
        raise JoinRefusedError(message) from cause

    async def _event(
        self,
        view: JoinView,
        event: str,
        summary: dict[str, object],
        notice: tuple[str, str, str] | None = None,
    ) -> None:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            await audit_chain.append_event(
                session,
                at=now,
                actor=ACTOR,
                event=event,
                course_id=view.course_id,
                summary={"person": view.person.name, "roster_login": view.person.github, **summary},
            )
            if notice is not None:
                reason, what, todo = notice
                await add_notice(
                    session,
                    course_id=view.course_id,
                    at=now,
                    reason=reason,
                    person=view.person.name,
                    what=what,
                    todo=todo,
                )


def _who(view: JoinView) -> str:
    """The person as staff know them: name, roster login, group."""
    group = f", {view.person.group}" if view.person.group else ""
    return f"{view.person.name} (roster login {view.person.github}{group})"
