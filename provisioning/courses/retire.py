"""What a step becomes when a changed description no longer wants what it made.

A step the new plan lacks is either dropped (it never ran: nothing exists) or retired: its row
stays, with its external id and facts, and gets a removal kind that undoes its effect the
product's way (DESIGN.md §2.6): a team membership ends, a repository is archived (never
deleted), a lab channel is hidden from students (kept for staff), an invite revoked, a staff
role taken back. A removal is a step like any other: persisted, retried, audited, idempotent,
and a retry of the course re-runs the removal, never the old invite. Teams, roles, categories,
seeds, protections and repository access have no removal: they stay as they are on the
platform (an archived repository is read-only anyway; an emptied team grants nothing), and
their rows are dropped. Put back into the description, a retired key is planned again and its
step runs with its old kind (the resource is adopted again by its stored id or name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from db.models import Step
from provisioning.github.steps.common import slugify
from provisioning.plan import BOT, EVERYONE

# The removal kinds, each with an executor in `provisioning/{github,discord}/steps/`.
RETIRED_KINDS = frozenset(
    {
        "github.uninvite",
        "github.archive",
        "discord.hidden-channel",
        "discord.revoke-invite",
        "discord.member-unrole",
    }
)
_SERVER = "discord.server"
_STAFF_ROLES = ("discord.role:instructor", "discord.role:ta")


@dataclass(frozen=True)
class Retirement:
    """The removal step a stored step turns into."""

    kind: str
    depends_on: tuple[str, ...]
    params: dict[str, Any]


def touched(row: Step) -> bool:
    """Whether the step may have made something: it succeeded, holds an id, runs now, or
    waits to be tried again after an attempt (an unanswered create leaves no id behind). A
    step that failed or waits for a person without an id made nothing (an unknown login)."""
    return (
        row.external_id is not None
        or row.state in ("succeeded", "running")
        or (row.state == "pending" and row.attempts > 0)
    )


def _stays(_login: str) -> bool:
    return False


def retirement(
    row: Step, stored: Mapping[str, Step], leaves_org: Callable[[str], bool] = _stays
) -> Retirement | None:
    """The removal `row` turns into, or None when nothing is undone (the row is dropped).

    `leaves_org(login)`: whether a person leaving this team leaves the course's organization
    too (no other course there lists them); it applies only to people this course invited.
    """
    params, facts = row.params, row.facts or {}
    if row.kind == "github.invite":
        login = str(params["login"])
        return Retirement(
            "github.uninvite",
            (),
            {
                "org": params["org"],
                "team": _team_slug(row, stored),
                "login": login,
                "leave_org": bool(facts.get("invited_org")) and leaves_org(login),
            },
        )
    if row.kind == "github.repo":
        return Retirement(
            "github.archive",
            (),
            {
                "org": str(facts.get("owner") or params["org"]),
                "name": str(facts.get("name") or params["name"]),
            },
        )
    if row.kind == "discord.channel":
        # The planned overwrites without the group's role: @everyone, staff and the bot stay.
        kept = [
            o for o in params.get("overwrites", []) if o["target"] in (EVERYONE, BOT, *_STAFF_ROLES)
        ]
        roles = tuple(sorted({o["target"] for o in kept} & set(_STAFF_ROLES)))
        return Retirement(
            "discord.hidden-channel",
            (_SERVER, *roles),
            {"name": params["name"], "overwrites": kept},
        )
    if row.kind == "discord.invite":
        return Retirement("discord.revoke-invite", (_SERVER,), {})
    if row.kind == "discord.member-role":
        role_id = _role_id(row, stored)
        if role_id is None:
            return None
        return Retirement(
            "discord.member-unrole",
            (_SERVER,),
            {"user_id": params["user_id"], "role_ids": [role_id]},
        )
    if row.kind == "discord.student-roles":
        role_ids = [str(r) for r in facts.get("role_ids", [])]
        if not role_ids:
            return None
        unrole = {"user_id": params["user_id"], "role_ids": role_ids}
        return Retirement("discord.member-unrole", (_SERVER,), unrole)
    return None


def _team_slug(row: Step, stored: Mapping[str, Step]) -> str:
    if row.facts and row.facts.get("team"):
        return str(row.facts["team"])
    team = stored.get(str(row.params["team"]))
    if team is not None and team.facts and team.facts.get("slug"):
        return str(team.facts["slug"])
    return slugify(str(team.params["name"])) if team is not None else ""


def _role_id(row: Step, stored: Mapping[str, Step]) -> str | None:
    if row.external_id and ":" in row.external_id:
        return row.external_id.split(":", 1)[1]
    role = stored.get(str(row.params["role"]))
    return role.external_id if role is not None else None
