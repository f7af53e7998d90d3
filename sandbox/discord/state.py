"""The emulator's world plus the operations every route group shares (lookups, audit, events)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
from collections.abc import Callable
from typing import Any

from sandbox.core.emulator import Clock
from sandbox.discord.admin_server import add_admin_server
from sandbox.discord.config import DiscordConfig
from sandbox.discord.errors import DiscordError, unknown
from sandbox.discord.models import AuditEntry, Channel, Guild, Role, User, World
from sandbox.discord.permissions import role_key
from sandbox.discord.snowflake import SnowflakeGen

log = logging.getLogger(__name__)

EventSink = Callable[[str, dict[str, Any], int | None], None]
"""Receives (event name, data, guild id) for the gateway to dispatch."""

# Default users get fixed ids (made from this instant) so they are the same after every reset.
_DEFAULT_WORLD_TIME = 1735689600.0  # 2025-01-01T00:00:00Z

AUDIT_CHANNEL_CREATE = 10
AUDIT_CHANNEL_UPDATE = 11
AUDIT_CHANNEL_DELETE = 12
AUDIT_OVERWRITE_CREATE = 13
AUDIT_OVERWRITE_UPDATE = 14
AUDIT_OVERWRITE_DELETE = 15
AUDIT_MEMBER_KICK = 20
AUDIT_MEMBER_ROLE_UPDATE = 25
AUDIT_GUILD_UPDATE = 1
AUDIT_ROLE_CREATE = 30
AUDIT_ROLE_UPDATE = 31
AUDIT_ROLE_DELETE = 32
AUDIT_INVITE_CREATE = 40
AUDIT_INVITE_DELETE = 42


class DiscordState:
    """Holds the `World` and the helpers routes use; routes hold the rules."""

    def __init__(self, clock: Clock, config: DiscordConfig) -> None:
        self.clock = clock
        self.config = config
        self.ids = SnowflakeGen()
        self._sinks: list[EventSink] = []
        self.world = self._initial_world()
        # Control calls waiting for the bot's first answer to an interaction, by its id.
        self._answers: dict[int, asyncio.Event] = {}

    def _initial_world(self) -> World:
        fixed = SnowflakeGen(worker=2)
        cfg = self.config
        bot = User(id=cfg.application_id, username=cfg.bot_username, bot=True)
        world = World(bot_user_id=bot.id, application_id=cfg.application_id, users={bot.id: bot})
        for name in cfg.users:
            uid = fixed.next(_DEFAULT_WORLD_TIME)
            world.users[uid] = User(id=uid, username=name, global_name=name.capitalize())
        if cfg.admin_server is not None:
            add_admin_server(world, cfg.admin_server, _DEFAULT_WORLD_TIME)
        return world

    # -- lifecycle ---------------------------------------------------------------------------

    def reset(self) -> None:
        self.world = self._initial_world()

    def snapshot(self) -> dict[str, Any]:
        return self.world.model_dump(mode="json")

    def restore(self, data: dict[str, Any]) -> None:
        self.world = World.model_validate(data)
        for guild in self.world.guilds.values():
            self.ids.observe(max([guild.id, *guild.roles, *guild.channels]))
        for key in (*self.world.users, *self.world.interactions, *self.world.commands):
            self.ids.observe(key)

    # -- events ------------------------------------------------------------------------------

    def subscribe(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    def emit(self, event: str, data: dict[str, Any], guild_id: int | None = None) -> None:
        """Hand an event to the gateway; only guilds the bot is in produce dispatches."""
        if guild_id is not None:
            guild = self.world.guilds.get(guild_id)
            if guild is None or self.bot_id not in guild.members:
                return
        for sink in self._sinks:
            sink(event, data, guild_id)

    async def wait_for_answer(self, interaction_id: int, timeout_s: float) -> None:
        """Return when the bot has answered interaction `interaction_id`, or after `timeout_s`."""
        event = self._answers.setdefault(interaction_id, asyncio.Event())
        try:
            async with asyncio.timeout(timeout_s):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            self._answers.pop(interaction_id, None)

    def answered(self, interaction_id: int) -> None:
        """The bot's callback for `interaction_id` arrived: wake whoever waits for it."""
        event = self._answers.get(interaction_id)
        if event is not None:
            event.set()

    # -- lookups -----------------------------------------------------------------------------

    @property
    def bot_id(self) -> int:
        return self.world.bot_user_id

    @property
    def bot(self) -> User:
        return self.world.users[self.bot_id]

    def now(self) -> float:
        return self.clock.time()

    def new_id(self) -> int:
        return self.ids.next(self.clock.time())

    def new_code(self, length: int = 8) -> str:
        alphabet = string.ascii_letters + string.digits
        while True:
            code = "".join(secrets.choice(alphabet) for _ in range(length))
            if code not in self.world.invites:
                return code

    def guild(self, guild_id: int) -> Guild:
        """A guild the bot is in (others are unknown to the bot)."""
        guild = self.world.guilds.get(guild_id)
        if guild is None or self.bot_id not in guild.members:
            raise unknown("guild")
        return guild

    def channel(self, channel_id: int) -> tuple[Guild, Channel]:
        for guild in self.world.guilds.values():
            channel = guild.channels.get(channel_id)
            if channel is not None:
                if self.bot_id not in guild.members:
                    raise unknown("channel")
                return guild, channel
        raise unknown("channel")

    def role(self, guild: Guild, role_id: int) -> Role:
        role = guild.roles.get(role_id)
        if role is None:
            raise unknown("role")
        return role

    def user(self, user_id: int) -> User:
        user = self.world.users.get(user_id)
        if user is None:
            raise unknown("user")
        return user

    def user_by_name(self, name: str) -> User:
        for user in self.world.users.values():
            if user.username == name:
                return user
        raise DiscordError(404, 10013, "Unknown User")

    # -- shared mutations --------------------------------------------------------------------

    def audit(
        self,
        guild: Guild,
        action_type: int,
        target_id: int | str | None,
        reason: str | None,
        changes: list[dict[str, Any]] | None = None,
        user_id: int | None = None,
        options: dict[str, str] | None = None,
    ) -> None:
        """One audit-log entry: `user_id` acted (the bot unless a person did)."""
        guild.audit_log.append(
            AuditEntry(
                id=self.new_id(),
                action_type=action_type,
                user_id=self.bot_id if user_id is None else user_id,
                target_id=None if target_id is None else str(target_id),
                reason=reason,
                changes=changes or [],
                options=options,
            )
        )

    def place_role(self, guild: Guild, role: Role, position: int) -> list[Role]:
        """Move `role` to `position` (≥1), renumbering the others; returns roles that moved."""
        others = sorted(
            (r for r in guild.roles.values() if r.id not in (guild.id, role.id)), key=role_key
        )
        index = max(0, min(position - 1, len(others)))
        others.insert(index, role)
        moved = []
        for pos, r in enumerate(others, start=1):
            if r.position != pos:
                r.position = pos
                moved.append(r)
        return moved
