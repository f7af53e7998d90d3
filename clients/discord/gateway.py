"""`DiscordGateway` over discord.py's HTTP client (its audit hook: `clients.discord.audit`).

Build it like this (REST only is enough; the bot process may also connect the gateway):

    client = discord.Client(
        intents=discord.Intents.none(),
        http_trace=make_audit_trace(sink),   # one audit row per HTTP attempt, retries included
        max_ratelimit_timeout=30.0,          # a day-long role bucket raises instead of sleeping
    )
    await client.login(token)
    governor = RateGovernor("discord", GovernorLimits.discord(), clock)
    gateway = DiscordRestGateway(client, governor)

Without the trace the gateway still works, but cannot see discord.py's re-sent POSTs (every
create is then treated as possibly duplicated and re-listed) nor feed the governor's buckets.

Raw `client.http.request(Route(...))` calls are used throughout because discord.py's helpers
lack invite `role_ids` and hide the answers' fields we compare (PLATFORM.md §1.12).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
from discord.http import Route

from clients.discord.audit import ATTEMPTS, Attempts
from clients.discord.buckets import hand_pacing_to_governor
from provisioning.discord.gateway import (
    AuditEntry,
    BotStanding,
    Channel,
    Created,
    Guild,
    Invite,
    Member,
    Overwrite,
    Role,
)
from provisioning.discord.parse import (
    audit_entries_from_api,
    channel_from_api,
    guild_from_api,
    invite_from_api,
    overwrite_to_api,
    role_from_api,
)
from provisioning.discord.server_count import ServerCount
from provisioning.discord.steps.server import DISCORD_AUTHORIZE_URL
from provisioning.errors import PlatformError
from provisioning.governor import RateGovernor
from provisioning.permissions import ADMINISTRATOR

log = logging.getLogger(__name__)

ALL_PERMISSIONS = (1 << 53) - 1
_MAJOR = ("guild_id", "channel_id", "webhook_id")
# The most `GET /users/@me/guilds` answers at once (the spec's maximum `limit`).
_GUILDS_PAGE = 200
# Routes whose buckets reset in hours (PLATFORM.md §1.4: role create, 250 per ~28 h per guild).
_LONG_BUCKETS = frozenset({("POST", "/guilds/{guild_id}/roles")})


class DiscordRestGateway:
    """The gateway the runner uses; one per bot token, sharing the client's session."""

    def __init__(
        self,
        client: discord.Client,
        governor: RateGovernor,
        authorize_url: str = DISCORD_AUTHORIZE_URL,
        *,
        app_verified: bool = False,
    ) -> None:
        if client.http.max_ratelimit_timeout is None:
            log.warning("discord client has no max_ratelimit_timeout: long buckets will sleep")
        # The governor paces this gateway's calls: discord.py must not sleep on top of it.
        hand_pacing_to_governor(client.http)
        self._client = client
        self._governor = governor
        self._authorize_url = authorize_url
        self._app_verified = app_verified

    @property
    def authorize_url(self) -> str:
        """Where the bot's install link sends people (the sandbox's page in development)."""
        return self._authorize_url

    # -- transport -----------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        reason: str | None = None,
        query: dict[str, str] | None = None,
        **params: str,
    ) -> tuple[Any, int]:
        """One API call: governed, mapped to `PlatformError`; returns (data, attempts seen)."""
        major = ":".join(params.get(k, "") for k in _MAJOR)
        bucket = f"{method} {path}:{major}"
        # discord.py 2.7.1 refuses (RateLimited) any request to a bucket whose reset is further
        # away than max_ratelimit_timeout, even with requests remaining: after one role create
        # (a ~28 h bucket) every other one. A bucket of its own per call avoids that; the limit
        # itself is kept by the governor from the same headers (and a long wait fails the
        # call as a retryable 429 there, instead of sleeping).
        metadata = uuid.uuid4().hex if (method, path) in _LONG_BUCKETS else None
        route = Route(method, path, metadata=metadata, **params)
        await self._governor.acquire(bucket, write=method != "GET")
        attempts = Attempts()
        token = ATTEMPTS.set(attempts)
        kwargs: dict[str, Any] = {}
        if json is not None:
            kwargs["json"] = json
        if reason is not None:
            kwargs["reason"] = reason
        if query:
            kwargs["params"] = query
        try:
            data = await self._client.http.request(route, **kwargs)
        except discord.RateLimited as exc:
            raise PlatformError(
                "discord",
                429,
                f"rate limited for {exc.retry_after:.0f} s",
                retry_after=exc.retry_after,
                rate_limited=True,
            ) from exc
        except discord.HTTPException as exc:
            raise _platform_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PlatformError("discord", 0, f"no answer ({type(exc).__name__})") from exc
        finally:
            ATTEMPTS.reset(token)
            # Always: the governor counts this call as answered, headers or not.
            await self._governor.answered(bucket, attempts.headers, age_s=attempts.age_s())
        return data, attempts.count

    async def _get(self, path: str, **params: str) -> Any:
        return (await self._call("GET", path, query=None, **params))[0]

    # -- identity ------------------------------------------------------------------------------

    async def bot_user_id(self) -> str:
        user = self._client.user
        if user is None:
            data = await self._get("/users/@me")
            return str(data["id"])
        return str(user.id)

    async def application_id(self) -> str:
        if self._client.application_id is not None:
            return str(self._client.application_id)
        return str((await self._get("/oauth2/applications/@me"))["id"])

    async def bot_servers(self) -> ServerCount:
        """How many servers the bot is in: the gateway's guild list while connected (no call),
        else `GET /users/@me/guilds` page by page (a runner process has no gateway)."""
        if self._client.is_ready() and not self._client.is_closed():
            return ServerCount.of(len(self._client.guilds), verified=self._app_verified)
        count, after = 0, "0"
        while True:
            page = (
                await self._call(
                    "GET", "/users/@me/guilds", query={"limit": str(_GUILDS_PAGE), "after": after}
                )
            )[0]
            count += len(page)
            if len(page) < _GUILDS_PAGE:
                return ServerCount.of(count, verified=self._app_verified)
            after = str(page[-1]["id"])

    # -- guild ---------------------------------------------------------------------------------

    async def get_guild(self, guild_id: str) -> Guild:
        return guild_from_api(await self._get("/guilds/{guild_id}", guild_id=guild_id))

    async def bot_standing(self, guild_id: str) -> BotStanding:
        guild = await self.get_guild(guild_id)
        bot_id = await self.bot_user_id()
        member = await self.get_member(guild_id, bot_id)
        roles = {r.id: r for r in guild.roles}
        mine = [roles[r] for r in member.role_ids if r in roles]
        everyone = roles.get(guild_id)
        permissions = everyone.permissions if everyone else 0
        for role in mine:
            permissions |= role.permissions
        is_owner = guild.owner_id == bot_id
        if is_owner or permissions & ADMINISTRATOR:
            permissions = ALL_PERMISSIONS
        top = max((r.position for r in mine), default=0)
        return BotStanding(guild, bot_id, top, permissions, is_owner)

    async def modify_guild(self, guild_id: str, *, name: str, reason: str) -> Guild:
        data, _ = await self._call(
            "PATCH", "/guilds/{guild_id}", json={"name": name}, reason=reason, guild_id=guild_id
        )
        return guild_from_api(data)

    async def audit_log(
        self,
        guild_id: str,
        *,
        action_type: int,
        user_id: str | None = None,
        target_id: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        query = {"action_type": str(action_type), "limit": str(limit)}
        if user_id is not None:
            query["user_id"] = user_id
        if target_id is not None:
            query["target_id"] = target_id
        data, _ = await self._call(
            "GET", "/guilds/{guild_id}/audit-logs", query=query, guild_id=guild_id
        )
        return audit_entries_from_api(data)

    # -- roles ---------------------------------------------------------------------------------

    async def list_roles(self, guild_id: str) -> list[Role]:
        return [
            role_from_api(r) for r in await self._get("/guilds/{guild_id}/roles", guild_id=guild_id)
        ]

    async def create_role(
        self,
        guild_id: str,
        *,
        name: str,
        permissions: int,
        hoist: bool,
        mentionable: bool,
        reason: str,
    ) -> Created[Role]:
        body = {
            "name": name,
            "permissions": str(permissions),
            "hoist": hoist,
            "mentionable": mentionable,
        }
        data, attempts = await self._call(
            "POST", "/guilds/{guild_id}/roles", json=body, reason=reason, guild_id=guild_id
        )
        return Created(role_from_api(data), resent=attempts != 1)

    async def modify_role(
        self,
        guild_id: str,
        role_id: str,
        *,
        name: str | None = None,
        permissions: int | None = None,
        hoist: bool | None = None,
        mentionable: bool | None = None,
        reason: str,
    ) -> Role:
        body: dict[str, Any] = {"name": name, "hoist": hoist, "mentionable": mentionable}
        body["permissions"] = None if permissions is None else str(permissions)
        data, _ = await self._call(
            "PATCH",
            "/guilds/{guild_id}/roles/{role_id}",
            json={k: v for k, v in body.items() if v is not None},
            reason=reason,
            guild_id=guild_id,
            role_id=role_id,
        )
        return role_from_api(data)

    async def delete_role(self, guild_id: str, role_id: str, *, reason: str) -> None:
        await self._call(
            "DELETE",
            "/guilds/{guild_id}/roles/{role_id}",
            reason=reason,
            guild_id=guild_id,
            role_id=role_id,
        )

    async def modify_role_positions(
        self, guild_id: str, positions: Sequence[tuple[str, int]], *, reason: str
    ) -> list[Role]:
        body = [{"id": role_id, "position": position} for role_id, position in positions]
        data, _ = await self._call(
            "PATCH", "/guilds/{guild_id}/roles", json=body, reason=reason, guild_id=guild_id
        )
        return [role_from_api(r) for r in data]

    # -- channels ------------------------------------------------------------------------------

    async def list_channels(self, guild_id: str) -> list[Channel]:
        data = await self._get("/guilds/{guild_id}/channels", guild_id=guild_id)
        return [channel_from_api(c) for c in data]

    async def create_channel(
        self,
        guild_id: str,
        *,
        name: str,
        type: int,
        parent_id: str | None,
        position: int | None,
        topic: str | None,
        overwrites: Sequence[Overwrite],
        reason: str,
    ) -> Created[Channel]:
        body: dict[str, Any] = {
            "name": name,
            "type": type,
            "permission_overwrites": [overwrite_to_api(o) for o in overwrites],
        }
        for key, value in (("parent_id", parent_id), ("position", position), ("topic", topic)):
            if value is not None:
                body[key] = value
        data, attempts = await self._call(
            "POST", "/guilds/{guild_id}/channels", json=body, reason=reason, guild_id=guild_id
        )
        return Created(channel_from_api(data), resent=attempts != 1)

    async def modify_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        topic: str | None = None,
        parent_id: str | None = None,
        overwrites: Sequence[Overwrite] | None = None,
        reason: str,
    ) -> Channel:
        body: dict[str, Any] = {"name": name, "topic": topic, "parent_id": parent_id}
        body = {k: v for k, v in body.items() if v is not None}
        if overwrites is not None:
            body["permission_overwrites"] = [overwrite_to_api(o) for o in overwrites]
        data, _ = await self._call(
            "PATCH", "/channels/{channel_id}", json=body, reason=reason, channel_id=channel_id
        )
        return channel_from_api(data)

    async def delete_channel(self, channel_id: str, *, reason: str) -> None:
        await self._call("DELETE", "/channels/{channel_id}", reason=reason, channel_id=channel_id)

    # -- invites -------------------------------------------------------------------------------

    async def list_invites(self, guild_id: str) -> list[Invite]:
        return [
            invite_from_api(i)
            for i in await self._get("/guilds/{guild_id}/invites", guild_id=guild_id)
        ]

    async def create_invite(
        self,
        channel_id: str,
        *,
        max_age: int,
        max_uses: int,
        unique: bool,
        role_ids: Sequence[str],
        reason: str,
    ) -> Created[Invite]:
        body: dict[str, Any] = {"max_age": max_age, "max_uses": max_uses, "unique": unique}
        if role_ids:
            body["role_ids"] = list(role_ids)
        data, attempts = await self._call(
            "POST",
            "/channels/{channel_id}/invites",
            json=body,
            reason=reason,
            channel_id=channel_id,
        )
        return Created(invite_from_api(data), resent=attempts != 1)

    async def delete_invite(self, code: str, *, reason: str) -> None:
        await self._call("DELETE", "/invites/{code}", reason=reason, code=code)

    # -- members -------------------------------------------------------------------------------

    async def get_member(self, guild_id: str, user_id: str) -> Member:
        data = await self._get(
            "/guilds/{guild_id}/members/{user_id}", guild_id=guild_id, user_id=user_id
        )
        user = data.get("user") or {}
        return Member(
            user_id=str(user.get("id", user_id)),
            role_ids=frozenset(str(r) for r in data.get("roles", [])),
            name=data.get("nick") or user.get("global_name") or user.get("username"),
        )

    async def add_guild_member(
        self, guild_id: str, user_id: str, *, access_token: str, role_ids: Sequence[str]
    ) -> bool:
        data, _ = await self._call(
            "PUT",
            "/guilds/{guild_id}/members/{user_id}",
            json={"access_token": access_token, "roles": list(role_ids)},
            guild_id=guild_id,
            user_id=user_id,
        )
        # 201 answers the new member; 204 (already a member, nothing changed) answers nothing.
        return isinstance(data, dict) and bool(data)

    async def add_member_role(
        self, guild_id: str, user_id: str, role_id: str, *, reason: str
    ) -> None:
        await self._call(
            "PUT",
            "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            reason=reason,
            guild_id=guild_id,
            user_id=user_id,
            role_id=role_id,
        )

    async def remove_member_role(
        self, guild_id: str, user_id: str, role_id: str, *, reason: str
    ) -> None:
        await self._call(
            "DELETE",
            "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            reason=reason,
            guild_id=guild_id,
            user_id=user_id,
            role_id=role_id,
        )


# -- JSON to dataclasses ---------------------------------------------------------------------


def _platform_error(exc: discord.HTTPException) -> PlatformError:
    status = exc.status
    retry_after: float | None = None
    if status == 429:
        # discord.py raises a plain HTTPException for a 429 it takes for a Cloudflare ban.
        header = exc.response.headers.get("Retry-After") if exc.response is not None else None
        retry_after = float(header) if header else 60.0
    message = exc.text or getattr(exc.response, "reason", "") or "error"
    return PlatformError(
        "discord",
        status,
        str(message).splitlines()[0][:300],
        code=exc.code or None,
        retry_after=retry_after,
        rate_limited=status == 429,
    )
