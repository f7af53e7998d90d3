"""`discord.server`: the course's server, which a person creates and claims (PLATFORM.md §1.1).

Bots cannot create servers. Until a claim stores the guild id as this step's external id, the
step waits for a person with the install link and says where to get the claim code. The code
itself is never in the message: the runner logs it and stores it, and every API token (read-only
ones too) reads it in the status, while the code grants the right to bind a server (DESIGN.md
§5). After the claim it checks the bot is in that server with every permission the plan needs,
then succeeds.

While an unverified app is in 100 servers already (`provisioning.discord.server_count`), the
bot cannot be added to one more: instead of the install link, the step waits with why and what
to do (`CAP_REASON`), and the server-count watch sends it back to pending once the count is
under the cap.
"""

from __future__ import annotations

import logging

from provisioning import permissions
from provisioning.courses.spec import CourseSpec
from provisioning.discord.server_count import CAP_REASON, cap_reached
from provisioning.discord.steps.common import UNKNOWN_GUILD
from provisioning.errors import ActionRequiredError, PlatformError
from provisioning.plan import plan_course
from provisioning.step import StepContext, StepResult

log = logging.getLogger(__name__)

_NAMES = {
    value: name.replace("_", " ").title()
    for name, value in vars(permissions).items()
    if name.isupper() and isinstance(value, int) and value.bit_count() == 1
}


def needed_permissions(spec: CourseSpec) -> int:
    """The install set plus every bit the plan's overwrites allow or deny: Discord lets a bot
    set only permissions it has itself (PLATFORM.md §1.5)."""
    needed = permissions.BOT_INSTALL
    for step in plan_course(spec):
        for overwrite in (
            step.params.get("overwrites", []) if step.kind.startswith("discord.") else []
        ):
            needed |= int(overwrite["allow"]) | int(overwrite["deny"])
    return needed


DISCORD_AUTHORIZE_URL = "https://discord.com/oauth2/authorize"


def install_link(
    application_id: str, spec: CourseSpec, authorize_url: str = DISCORD_AUTHORIZE_URL
) -> str:
    """The bot's install link asking for exactly the permissions `spec`'s plan needs
    (`authorize_url`: Discord's page, or in development the sandbox's)."""
    return (
        f"{authorize_url}?client_id={application_id}"
        f"&scope=bot%20applications.commands&permissions={needed_permissions(spec)}"
    )


def permission_names(bits: int) -> list[str]:
    return [name for value, name in sorted(_NAMES.items()) if bits & value]


def claim_instructions(course_id: str, link: str) -> str:
    """What the server step waits with: the install link and where the claim code is shown,
    never the code itself."""
    return (
        f"Create a server, add the bot with this link: {link} , then run /course claim <code> "
        f"in it. The claim code is shown to course admins by `/course status {course_id}` and "
        f"to read-write API tokens by `GET /courses/{course_id}/claim`"
    )


async def ensure(ctx: StepContext) -> StepResult:
    """The executor of `discord.server`: wait for a claim, then check the bot's standing."""
    link = install_link(await ctx.discord.application_id(), ctx.spec, ctx.discord.authorize_url)
    if not ctx.external_id:
        await _wait_below_cap(ctx)
        raise ActionRequiredError("discord.claim", claim_instructions(ctx.course_id, link))
    guild = ctx.external_id
    try:
        standing = await ctx.discord.bot_standing(guild)
    except PlatformError as exc:
        if exc.code != UNKNOWN_GUILD and exc.status != 404:
            raise
        await _wait_below_cap(ctx)
        raise ActionRequiredError(
            "discord.bot_missing",
            f"The bot is not in the claimed server (any more): add it with this link: "
            f"{link} , then retry",
        ) from exc
    missing = needed_permissions(ctx.spec) & ~standing.permissions
    if missing:
        names = ", ".join(permission_names(missing))
        raise ActionRequiredError(
            "discord.permissions",
            f"The bot lacks {names} in the server: in Server Settings > Roles > "
            f"the bot's role, enable them (or add the bot again with {link} ), then retry",
        )
    log.info("server verified", extra={"guild_id": guild, "course_id": ctx.course_id})
    facts = {
        "guild_id": guild,
        "owner_id": standing.guild.owner_id,
        "bot_user_id": standing.bot_user_id,
    }
    return StepResult(guild, facts)


async def _wait_below_cap(ctx: StepContext) -> None:
    """The bot must join a server: at the cap of unverified apps it cannot, so say so."""
    servers = await ctx.discord.bot_servers()
    if servers.at_cap:
        raise ActionRequiredError(CAP_REASON, cap_reached(servers))
