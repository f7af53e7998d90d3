"""The servers the bot is in: its count, the cap of unverified apps, and leaving a server.

Discord lets an unverified application join at most 100 servers ("Verified bots do not have a
maximum", PLATFORM.md §1.2); `DiscordConfig.app_verified` says which one the sandbox plays.
Tests set how many *other* servers the bot is in (filler guilds, `Guild.filler`: a stand-in
for the other communities a real bot serves) with the control route `PUT
/_sandbox/discord/bot-guilds` (`sandbox.discord.control`); they are real guilds of the world,
so the gateway's guild list and `GET /users/@me/guilds` both count them.

REST: `GET /users/@me/guilds` (the bot's guilds by id, paged with `before`/`after`/`limit`,
1-200, default 200, as the spec says) and `DELETE /users/@me/guilds/{guild_id}` (the bot leaves:
204, its managed role goes with it, GUILD_DELETE follows).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.discord.api import Api
from sandbox.discord.errors import DiscordError, discord_json
from sandbox.discord.fields import require_snowflake
from sandbox.discord.gateway import gateway_guild
from sandbox.discord.interactions import ControlError
from sandbox.discord.models import Guild, Member, Role, User
from sandbox.discord.permissions import DEFAULT_EVERYONE, base_permissions
from sandbox.discord.state import DiscordState

UNVERIFIED_LIMIT = 100
AUDIT_BOT_ADD = 28
FILLER_OWNER = "elsewhere"
# Discord does not document what its authorize page says when an unverified app is in 100
# servers (PLATFORM.md §1.2 has only the cap), so this wording is the sandbox's own: it names
# the cap and both ways out, as the product's own messages do.
CAP_MESSAGE = (
    "This bot is in 100 servers, the most an unverified Discord app may join: it cannot be "
    "added to another server until its developer verifies the app or removes it from a server."
)
LIST_MAX = 200


def bot_guilds(state: DiscordState) -> list[Guild]:
    """The guilds the bot is a member of, by id (the order `GET /users/@me/guilds` pages in)."""
    found = [g for g in state.world.guilds.values() if state.bot_id in g.members]
    return sorted(found, key=lambda g: g.id)


def limit_of(state: DiscordState) -> int | None:
    """How many servers the bot may be in: 100 unverified, no maximum verified."""
    return None if state.config.app_verified else UNVERIFIED_LIMIT


def check_room(state: DiscordState) -> None:
    """Refuse to add the bot to one more server when an unverified app is at its cap."""
    limit = limit_of(state)
    if limit is not None and len(bot_guilds(state)) >= limit:
        raise ControlError(400, CAP_MESSAGE)


def join_bot(state: DiscordState, guild: Guild, permissions: int, *, by: int) -> Role:
    """The bot joins `guild` (no cap check): a managed role just above @everyone, the bot
    member, an audit entry by `by`, GUILD_CREATE."""
    bot = state.bot
    role = Role(
        id=state.new_id(), name=bot.username, permissions=permissions, managed=True, bot_id=bot.id
    )
    guild.roles[role.id] = role
    state.place_role(guild, role, 1)
    guild.members[bot.id] = Member(user_id=bot.id, roles=[role.id], joined_at=state.now())
    state.audit(guild, AUDIT_BOT_ADD, bot.id, None, user_id=by)
    payload = gateway_guild(state, guild)
    # A join has no `unavailable` key: discord.py reads `false` as "became available".
    payload.pop("unavailable")
    state.emit("GUILD_CREATE", payload, guild.id)
    return role


def leave(state: DiscordState, guild: Guild) -> None:
    """The bot leaves `guild`: GUILD_DELETE (sent while it is still a member), then its member
    and managed role go."""
    state.emit("GUILD_DELETE", {"id": str(guild.id)}, guild.id)
    guild.members.pop(state.bot_id, None)
    for role_id in [r.id for r in guild.roles.values() if r.bot_id == state.bot_id]:
        del guild.roles[role_id]


def _filler_owner(state: DiscordState) -> int:
    for user in state.world.users.values():
        if user.username == FILLER_OWNER:
            return user.id
    user = User(id=state.new_id(), username=FILLER_OWNER, global_name="Someone Else")
    state.world.users[user.id] = user
    return user.id


def _new_filler(state: DiscordState, number: int) -> Guild:
    owner = _filler_owner(state)
    gid = state.new_id()
    guild = Guild(id=gid, name=f"Other community {number}", owner_id=owner, created_at=state.now())
    guild.roles[gid] = Role(id=gid, name="@everyone", permissions=DEFAULT_EVERYONE, position=0)
    guild.members[owner] = Member(user_id=owner, joined_at=state.now())
    guild.filler = True
    state.world.guilds[gid] = guild
    return guild


def set_others(state: DiscordState, others: int) -> dict[str, Any]:
    """Make the bot a member of exactly `others` filler guilds (besides its real servers)."""
    fillers = [g for g in bot_guilds(state) if g.filler]
    real = len(bot_guilds(state)) - len(fillers)
    limit = limit_of(state)
    if others < 0:
        raise ControlError(400, "others: a count of servers, 0 or more")
    if limit is not None and real + others > limit:
        raise ControlError(
            400,
            f"others: at most {limit - real}: the bot is in {real} other server(s) and an "
            f"unverified app joins {limit} at most (set DiscordConfig.app_verified for more)",
        )
    for guild in fillers[others:]:
        leave(state, guild)
        del state.world.guilds[guild.id]
    for number in range(len(fillers), others):
        guild = _new_filler(state, number + 1)
        join_bot(state, guild, 0, by=guild.owner_id)
    return summary(state)


def summary(state: DiscordState) -> dict[str, Any]:
    """What the control route answers: the bot's count, its fillers and its cap."""
    guilds = bot_guilds(state)
    return {
        "count": len(guilds),
        "others": sum(g.filler for g in guilds),
        "limit": limit_of(state),
        "verified": state.config.app_verified,
    }


def my_guild_json(state: DiscordState, guild: Guild) -> dict[str, Any]:
    """MyGuildResponse: the guild as the bot's list shows it."""
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "banner": None,
        "owner": guild.owner_id == state.bot_id,
        "permissions": str(base_permissions(guild, state.bot_id)),
        "features": [],
    }


class BotGuildRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, api: Api, app: web.Application) -> None:
        api.add(app, "GET", "/users/@me/guilds", self.list_guilds)
        api.add(app, "DELETE", "/users/@me/guilds/{guild_id}", self.leave_guild)

    async def list_guilds(self, request: web.Request) -> web.Response:
        query = request.query
        before = require_snowflake(query["before"], "before") if "before" in query else None
        after = require_snowflake(query["after"], "after") if "after" in query else None
        limit = _limit(query.get("limit"))
        guilds = bot_guilds(self.state)
        if after is not None:
            guilds = [g for g in guilds if g.id > after][:limit]
        elif before is not None:
            guilds = [g for g in guilds if g.id < before][-limit:]
        else:
            guilds = guilds[:limit]
        out = [my_guild_json(self.state, g) for g in guilds]
        if query.get("with_counts", "").lower() in ("true", "1"):
            for item, guild in zip(out, guilds, strict=True):
                item["approximate_member_count"] = len(guild.members)
                item["approximate_presence_count"] = 0
        return discord_json(out)

    async def leave_guild(self, request: web.Request) -> web.Response:
        guild = self.state.guild(require_snowflake(request.match_info["guild_id"], "guild_id"))
        if guild.owner_id == self.state.bot_id:
            raise DiscordError(400, 50035, "Invalid Form Body")
        leave(self.state, guild)
        return web.Response(status=204)


def _limit(raw: str | None) -> int:
    if raw is None:
        return LIST_MAX
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= LIST_MAX:
        raise DiscordError(
            400,
            50035,
            "Invalid Form Body",
            {"limit": {"_errors": [{"code": "NUMBER_TYPE_MAX", "message": "1 to 200"}]}},
        )
    return value
