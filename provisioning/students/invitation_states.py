"""The GitHub invitation states of the roster, read live: accepted, still pending, or gone.

An invitation step records the membership state of its last run; people accept (or let the
invitation lapse) long after. Each reminders round reads, per course with pending invitations,
the organization's pending invitations and its members (two paged lists, however many students)
and writes what it found into the steps' facts with `checked_at`, so the roster status is at
most one round old. An invitation neither pending nor accepted lapsed (or was declined): the
reminders send its step back to invite again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Course, Step
from provisioning import audit_context
from provisioning.errors import ProvisioningError
from provisioning.github.gateway import GitHubGateways

log = logging.getLogger(__name__)

LiveState = Literal["active", "pending", "expired"]


@dataclass(frozen=True)
class Checked:
    """One invitation step as read before the check, and what GitHub says now."""

    step_id: int
    course_id: str
    key: str
    login: str
    facts: dict[str, Any]
    # The step's `updated_at` when read: the write applies only if the runner did not touch
    # the step since.
    updated_at: datetime
    state: LiveState


async def pending_steps(session: AsyncSession) -> list[Any]:
    """The finished invitation steps of active courses whose last known state is pending."""
    rows = (
        await session.execute(
            select(
                Step.id,
                Step.course_id,
                Step.key,
                Step.params,
                Step.facts,
                Step.updated_at,
                Course.github_org,
            )
            .join(Course, Course.id == Step.course_id)
            .where(
                Step.kind == "github.invite",
                Step.state == "succeeded",
                Course.archived_at.is_(None),
            )
            .order_by(Step.course_id, Step.position)
        )
    ).all()
    return [r for r in rows if (r.facts or {}).get("state") == "pending"]


async def check(github: GitHubGateways, rows: list[Any], actor: str) -> list[Checked]:
    """Read each course's organization once; a course GitHub cannot be read for is skipped
    (its steps keep their last state, and the lapse timer of the reminders still applies)."""
    by_course: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_course[row.course_id].append(row)
    found: list[Checked] = []
    for course_id, steps in by_course.items():
        org = str(steps[0].github_org)
        scope = audit_context.current.set(audit_context.AuditContext(actor, course_id))
        gateway = github.for_org(org)
        try:
            invited = {
                (i.login or "").lower() for i in await gateway.list_org_invitations(org) if i.login
            }
            members = {login.lower() for login in await gateway.list_org_members(org)}
        except ProvisioningError as exc:
            log.warning(
                "invitation states not read", extra={"course_id": course_id, "error": str(exc)}
            )
            continue
        finally:
            audit_context.current.reset(scope)
        for step in steps:
            login = str(step.params["login"])
            state: LiveState = (
                "active"
                if login.lower() in members
                else "pending"
                if login.lower() in invited
                else "expired"
            )
            found.append(
                Checked(
                    step.id,
                    course_id,
                    step.key,
                    login,
                    dict(step.facts or {}),
                    step.updated_at,
                    state,
                )
            )
    return found
