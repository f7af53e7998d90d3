"""Response models of the roster status (`GET /courses/{id}/roster`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from provisioning.students.roster_status import PersonStatus, RosterPage


class PersonStatusOut(BaseModel):
    """How far one person of the roster got. E-mail addresses are left out on purpose."""

    model_config = ConfigDict(frozen=True)

    id: int = Field(description="The person's place in the roster, for paging (`after`)")
    role: Literal["instructor", "ta", "student"]
    name: str
    github: str = Field(description="The GitHub login the roster holds")
    group: str | None
    email: Literal["no_address", "queued", "sent", "retrying", "bounced", "waiting"] = Field(
        description="The join e-mail: `retrying` while the e-mail server is unreachable, "
        "`bounced` when it refused the address, `waiting` when no server is configured"
    )
    github_state: Literal[
        "queued", "invitation_pending", "accepted", "expired", "unknown_login", "waiting", "failed"
    ] = Field(
        description="The person's team membership: invitation pending or accepted; `expired`: "
        "GitHub no longer had the invitation (lapsed after 7 days, or declined), it is being "
        "sent again"
    )
    github_checked_at: datetime | None = Field(
        default=None,
        description="When `github_state` was last read from GitHub: the invitation's own run, "
        "or the hourly check of pending invitations",
    )
    github_verified: bool = Field(
        description="They signed in with GitHub on the join page as the roster's login"
    )
    discord: Literal["not_linked", "linked", "joined", "roles_set", "waiting", "failed"] = Field(
        description="`linked`: the roster holds their Discord id; `joined`: they joined the "
        "server from the join page with their roles; `roles_set`: the product gave a member "
        "of staff their roles"
    )
    stuck: bool = Field(description="Someone must act; `problem` says what")
    problem: str | None
    corrected_from: str | None = Field(
        default=None,
        description="The roster's login before the person corrected it by signing in with "
        "GitHub on the join page",
    )
    withdrawal: Literal["withdrawing", "withdrawn", "needs_staff"] | None = Field(
        default=None,
        description="What became of the invitation the mistyped login was sent: `needs_staff` "
        "when that account accepted it before it could be withdrawn",
    )

    @classmethod
    def of(cls, person: PersonStatus) -> PersonStatusOut:
        return cls.model_validate(
            {
                "id": person.id,
                "role": person.role,
                "name": person.name,
                "github": person.github,
                "group": person.group,
                "email": person.email,
                "github_state": person.github_state,
                "github_verified": person.github_verified,
                "discord": person.discord,
                "stuck": person.stuck,
                "problem": person.problem,
                "corrected_from": person.corrected_from,
                "github_checked_at": person.github_checked_at,
                "withdrawal": person.withdrawal,
            }
        )


class RosterPageOut(BaseModel):
    """One page of a course's roster status, staff first; follow `next` until it is null."""

    model_config = ConfigDict(frozen=True)

    course_id: str
    items: list[PersonStatusOut]
    next: str | None

    @classmethod
    def of(cls, page: RosterPage, next_url: str | None) -> RosterPageOut:
        return cls(
            course_id=page.course_id,
            items=[PersonStatusOut.of(p) for p in page.people],
            next=next_url,
        )
