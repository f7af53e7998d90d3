"""`github.team`: one team per cohort and lab group, lab teams children of the students team.

Teams carry our marker in their description; an existing team without it is someone else's.
"""

from __future__ import annotations

import logging

from provisioning.errors import PlatformError, StepFailedError
from provisioning.github.errors import is_name_taken
from provisioning.github.gateway import TeamInfo
from provisioning.github.steps.common import slugify
from provisioning.step import MARKER_TOPIC, StepContext, StepResult

log = logging.getLogger(__name__)

DESCRIPTION = f"Course team, managed by {MARKER_TOPIC}"


def _result(team: TeamInfo) -> StepResult:
    return StepResult(
        external_id=str(team.id),
        facts={"slug": team.slug, "name": team.name, "parent_id": team.parent_id},
    )


def _ours(ctx: StepContext, team: TeamInfo) -> TeamInfo:
    if ctx.external_id == str(team.id) or MARKER_TOPIC in (team.description or ""):
        return team
    raise StepFailedError(
        f"a team named {team.name!r} exists in {ctx.params['org']} and is not ours: "
        "rename it or delete it, then retry"
    )


async def ensure(ctx: StepContext) -> StepResult:
    org, name = ctx.params["org"], ctx.params["name"]
    slug = str(ctx.facts.get("slug") or slugify(name))
    found = await ctx.github.get_team(org, slug)
    if found is not None:
        return _result(_ours(ctx, found))
    parent_key = ctx.params.get("parent")
    parent_id = int(ctx.resolve(parent_key)) if parent_key else None
    try:
        created = await ctx.github.create_team(
            org,
            name,
            privacy=ctx.params.get("privacy", "closed"),
            description=DESCRIPTION,
            parent_team_id=parent_id,
        )
    except PlatformError as exc:
        # A create whose answer was lost may have happened: look before the runner retries.
        if not (exc.retryable or is_name_taken(exc)):
            raise
        again = await ctx.github.get_team(org, slug)
        if again is None:
            raise
        log.info("team create took effect despite an error", extra={"team": slug})
        return _result(_ours(ctx, again))
    return _result(created)
