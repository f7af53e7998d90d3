"""The Discord gateway: what the Discord steps need from Discord, as a Protocol.

The implementation wraps discord.py's HTTP client and lives outside `provisioning/`
(`clients/discord/gateway.py`), which never imports discord; `parse.py` beside this module turns
Discord's JSON into these types. Ids are strings (Discord's snowflakes as the API sends them);
permission sets are ints. Every method raises `PlatformError(platform="discord", status,
message, code=<Discord JSON code>)` on an error answer, with status 0 when no answer came.
Creates take `reason`, sent as `X-Audit-Log-Reason`, so that a create whose answer was lost can
be found again in the guild's audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from provisioning.discord.server_count import ServerCount

T = TypeVar("T")

# Channel types (PLATFORM.md §1.5) and overwrite target types.
TEXT = 0
CATEGORY = 4
ROLE_TARGET = 0
MEMBER_TARGET = 1

# Audit-log action types used to find our own creates again (PLATFORM.md §1.10).
AUDIT_CHANNEL_CREATE = 10
AUDIT_ROLE_CREATE = 30
AUDIT_INVITE_CREATE = 40
# And those a person's change by hand is found by (the drift report names who did it).
AUDIT_GUILD_UPDATE = 1
AUDIT_CHANNEL_UPDATE = 11
AUDIT_CHANNEL_DELETE = 12
AUDIT_OVERWRITE_CREATE = 13
AUDIT_OVERWRITE_UPDATE = 14
AUDIT_OVERWRITE_DELETE = 15
AUDIT_MEMBER_ROLE_UPDATE = 25
AUDIT_ROLE_UPDATE = 31
AUDIT_ROLE_DELETE = 32
AUDIT_INVITE_DELETE = 42
DISCORD_EPOCH_MS = 1420070400000


@dataclass(frozen=True)
class Overwrite:
    """One channel permission overwrite: `type` 0 targets a role, 1 a member."""

    id: str
    type: int
    allow: int = 0
    deny: int = 0


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    position: int
    permissions: int
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    type: int
    parent_id: str | None
    position: int
    topic: str | None
    overwrites: tuple[Overwrite, ...] = ()


@dataclass(frozen=True)
class Guild:
    id: str
    name: str
    owner_id: str
    roles: tuple[Role, ...] = ()


@dataclass(frozen=True)
class BotStanding:
    """The bot in one guild: its guild-wide permissions and the position of its top role."""

    guild: Guild
    bot_user_id: str
    top_role_position: int
    permissions: int
    is_owner: bool = False


@dataclass(frozen=True)
class Member:
    user_id: str
    role_ids: frozenset[str]
    name: str | None = None


@dataclass(frozen=True)
class Invite:
    """A live invite. `code` is a secret meant for students: never log, store or show it."""

    code: str = field(repr=False)
    channel_id: str | None
    inviter_id: str | None
    role_ids: frozenset[str]
    max_age: int
    max_uses: int
    uses: int
    expires_at: datetime | None

    @property
    def code_hash(self) -> str:
        """What we store instead of the code (DESIGN.md §5)."""
        return invite_code_hash(self.code)


@dataclass(frozen=True)
class AuditChange:
    """One changed key of an audit-log entry (`$add`/`$remove` for member roles)."""

    key: str
    old_value: Any = None
    new_value: Any = None


@dataclass(frozen=True)
class AuditEntry:
    """One entry of a guild's audit log: who (`user_id`) did what (`action_type`) to what."""

    id: str
    action_type: int
    user_id: str | None
    target_id: str | None
    reason: str | None
    changes: tuple[AuditChange, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)
    # The actor as the answer's `users` names them: "Ada (@ada)".
    user_name: str | None = None
    # A member target's name, the same way (None for roles, channels, ...).
    target_name: str | None = None

    @property
    def at(self) -> datetime:
        """When it happened: the time in the entry's snowflake id."""
        ms = (int(self.id) >> 22) + DISCORD_EPOCH_MS
        return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True)
class Created(Generic[T]):
    """A create's answer. `resent` is true when the client sent the request more than once
    (discord.py re-sends POSTs after a 500/502/504), or cannot tell: duplicates may exist."""

    value: T
    resent: bool


def invite_code_hash(code: str) -> str:
    """sha256 hex of an invite code: lets us recognise an invite without keeping its code."""
    return hashlib.sha256(code.encode()).hexdigest()


class DiscordGateway(Protocol):
    """Async operations on Discord; implementations raise `PlatformError` on errors."""

    async def bot_user_id(self) -> str: ...

    async def application_id(self) -> str: ...

    @property
    def authorize_url(self) -> str:
        """Where the bot's install link sends people: Discord's page, or the sandbox's."""
        ...

    async def bot_servers(self) -> ServerCount:
        """How many servers the bot is in, and how many it may be in (PLATFORM.md §1.2)."""
        ...

    async def get_guild(self, guild_id: str) -> Guild: ...

    async def bot_standing(self, guild_id: str) -> BotStanding:
        """The guild, and what the bot may do in it (404/10004 when the bot is not in it)."""
        ...

    async def modify_guild(self, guild_id: str, *, name: str, reason: str) -> Guild: ...

    async def list_roles(self, guild_id: str) -> list[Role]: ...

    async def create_role(
        self,
        guild_id: str,
        *,
        name: str,
        permissions: int,
        hoist: bool,
        mentionable: bool,
        reason: str,
    ) -> Created[Role]: ...

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
    ) -> Role: ...

    async def delete_role(self, guild_id: str, role_id: str, *, reason: str) -> None: ...

    async def modify_role_positions(
        self, guild_id: str, positions: Sequence[tuple[str, int]], *, reason: str
    ) -> list[Role]: ...

    async def list_channels(self, guild_id: str) -> list[Channel]: ...

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
    ) -> Created[Channel]: ...

    async def modify_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        topic: str | None = None,
        parent_id: str | None = None,
        overwrites: Sequence[Overwrite] | None = None,
        reason: str,
    ) -> Channel: ...

    async def delete_channel(self, channel_id: str, *, reason: str) -> None: ...

    async def list_invites(self, guild_id: str) -> list[Invite]: ...

    async def create_invite(
        self,
        channel_id: str,
        *,
        max_age: int,
        max_uses: int,
        unique: bool,
        role_ids: Sequence[str],
        reason: str,
    ) -> Created[Invite]: ...

    async def delete_invite(self, code: str, *, reason: str) -> None: ...

    async def get_member(self, guild_id: str, user_id: str) -> Member: ...

    async def add_guild_member(
        self, guild_id: str, user_id: str, *, access_token: str, role_ids: Sequence[str]
    ) -> bool:
        """Add a person with their OAuth2 `guilds.join` token and these roles; True when they
        were added, False when they were a member already (Discord then applies no roles)."""
        ...

    async def add_member_role(
        self, guild_id: str, user_id: str, role_id: str, *, reason: str
    ) -> None: ...

    async def remove_member_role(
        self, guild_id: str, user_id: str, role_id: str, *, reason: str
    ) -> None: ...

    async def audit_log(
        self,
        guild_id: str,
        *,
        action_type: int,
        user_id: str | None = None,
        target_id: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The newest entries first (needs VIEW_AUDIT_LOG; Discord keeps them 45 days)."""
        ...
