"""`DiscordSandbox`: the Discord emulator behind the `PlatformEmulator` contract."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from sandbox.core.emulator import Clock
from sandbox.discord.api import Api
from sandbox.discord.audit_log import AuditLogRoutes
from sandbox.discord.authorize_page import AuthorizePage
from sandbox.discord.bot_guilds import BotGuildRoutes
from sandbox.discord.config import DiscordConfig
from sandbox.discord.control import ControlRoutes
from sandbox.discord.control_interactions import InteractionControlRoutes
from sandbox.discord.gateway import Gateway
from sandbox.discord.interactions import InteractionRoutes
from sandbox.discord.ratelimit import RateLimiter
from sandbox.discord.routes_app import AppRoutes
from sandbox.discord.routes_channels import ChannelRoutes
from sandbox.discord.routes_guilds import GuildRoutes
from sandbox.discord.routes_invites import InviteRoutes
from sandbox.discord.routes_messages import MessageRoutes
from sandbox.discord.routes_oauth import OAuthRoutes
from sandbox.discord.routes_roles import RoleRoutes
from sandbox.discord.state import DiscordState

log = logging.getLogger(__name__)


class DiscordSandbox:
    """Discord REST v10 + gateway + control API on one aiohttp application."""

    name = "discord"

    def __init__(
        self, clock: Clock, rate_scale: float = 1.0, config: DiscordConfig | None = None
    ) -> None:
        self.config = config or DiscordConfig()
        self.clock = clock
        self.state = DiscordState(clock, self.config)
        self.limiter = RateLimiter(clock, self.config.rates, rate_scale)
        self.gateway = Gateway(self.state)

    def add_routes(self, app: web.Application) -> None:
        app[DISCORD_SANDBOX] = self
        api = Api(self.state, self.limiter)
        for group in (
            AppRoutes(self.state),
            GuildRoutes(self.state),
            AuditLogRoutes(self.state),
            RoleRoutes(self.state),
            ChannelRoutes(self.state),
            InviteRoutes(self.state),
            InteractionRoutes(self.state),
            OAuthRoutes(self.state),
            MessageRoutes(self.state),
            BotGuildRoutes(self.state),
        ):
            group.register(api, app)
        app.router.add_get("/gateway", self.gateway.handle)
        AuthorizePage(self.state).register(app)
        ControlRoutes(self.state, self.gateway, self.limiter).register(app)
        InteractionControlRoutes(self.state).register(app)

    def snapshot(self) -> dict[str, Any]:
        return self.state.snapshot()

    def restore(self, data: dict[str, Any]) -> None:
        self.state.restore(data)
        self.limiter.reset()

    def reset(self) -> None:
        self.state.reset()
        self.limiter.reset()
        self.gateway.reset()


DISCORD_SANDBOX = web.AppKey("discord_sandbox", DiscordSandbox)
