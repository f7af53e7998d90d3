"""The end of term: the plan of an archived course, and back.

Archiving is a change of plan like any other (`provisioning.courses.update`), so it is
previewed, applied as a difference, retried and audited the same way, and undone exactly by
planning the course again as it was:

- every repository step wants its repository archived (read-only for everyone, kept);
- every text channel becomes read-only for students: `@everyone` may not send, the lab groups'
  roles may read but not send, staff and the bot still may;
- the invite steps leave the plan, so they are retired into revocations; unarchiving plans them
  again and they make new links;
- roles, teams, memberships and seeds do not change.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from provisioning.permissions import BOT_CHANNEL, SEND_MESSAGES
from provisioning.plan import BOT, EVERYONE, PlannedStep

_STAFF_ROLES = ("discord.role:instructor", "discord.role:ta")


def archived_plan(steps: list[PlannedStep]) -> list[PlannedStep]:
    """The steps of the course's plan as they are while it is archived."""
    out = []
    for step in steps:
        if step.kind == "discord.invite":
            continue
        if step.kind == "github.repo":
            step = replace(step, params={**step.params, "archived": True})
        elif step.kind == "discord.channel":
            step = _read_only(step)
        out.append(step)
    return out


def _read_only(step: PlannedStep) -> PlannedStep:
    overwrites: list[dict[str, Any]] = []
    for item in step.params.get("overwrites", []):
        target, allow, deny = item["target"], int(item["allow"]), int(item["deny"])
        if target not in (BOT, *_STAFF_ROLES):
            # @everyone and a lab group's role: reading stays as it was, sending is denied.
            allow, deny = allow & ~SEND_MESSAGES, deny | SEND_MESSAGES
        overwrites.append({"target": target, "allow": allow, "deny": deny})
    targets = {o["target"] for o in overwrites}
    if EVERYONE not in targets:
        overwrites.insert(0, {"target": EVERYONE, "allow": 0, "deny": SEND_MESSAGES})
    for role in _STAFF_ROLES:
        if role not in targets:
            overwrites.append({"target": role, "allow": SEND_MESSAGES, "deny": 0})
    if BOT not in targets:
        overwrites.append({"target": BOT, "allow": BOT_CHANNEL, "deny": 0})
    depends = tuple(dict.fromkeys([*step.depends_on, *_STAFF_ROLES]))
    return replace(step, depends_on=depends, params={**step.params, "overwrites": overwrites})
