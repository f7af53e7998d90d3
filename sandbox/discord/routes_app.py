"""The application, gateway discovery and application commands (`/users/@me`, answered to the
bot and to people's OAuth2 tokens, is in `routes_oauth.py`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.discord.api import Api, read_json
from sandbox.discord.errors import DiscordError, discord_json, unknown
from sandbox.discord.fields import Body, require_snowflake
from sandbox.discord.models import Command
from sandbox.discord.serialize import command_json, user_json
from sandbox.discord.state import DiscordState


class AppRoutes:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, api: Api, app: web.Application) -> None:
        api.add(app, "GET", "/oauth2/applications/@me", self.application)
        api.add(app, "GET", "/gateway", self.gateway, auth=False)
        api.add(app, "GET", "/gateway/bot", self.gateway_bot)
        for path in (
            "/applications/{application_id}/commands",
            "/applications/{application_id}/guilds/{guild_id}/commands",
        ):
            api.add(app, "GET", path, self.list_commands)
            api.add(app, "PUT", path, self.overwrite_commands, bucket="commands")

    async def application(self, request: web.Request) -> web.Response:
        return discord_json(application_json(self.state))

    @staticmethod
    def _ws_url(request: web.Request) -> str:
        return f"ws://{request.host}/gateway"

    async def gateway(self, request: web.Request) -> web.Response:
        return discord_json({"url": self._ws_url(request)})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return discord_json(
            {"url": self._ws_url(request), "shards": 1, "session_start_limit": limit}
        )

    def _scope(self, request: web.Request) -> int | None:
        app_id = require_snowflake(request.match_info["application_id"], "application_id")
        if app_id != self.state.world.application_id:
            raise unknown("application")
        if "guild_id" in request.match_info:
            return self.state.guild(
                require_snowflake(request.match_info["guild_id"], "guild_id")
            ).id
        return None

    async def list_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        app_id = self.state.world.application_id
        cmds = [c for c in self.state.world.commands.values() if c.guild_id == scope]
        return discord_json([command_json(c, app_id) for c in cmds])

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        data = await read_json(request)
        if not isinstance(data, list):
            raise DiscordError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "_errors": [
                        {
                            "code": "LIST_TYPE_CONVERT",
                            "message": "Only iterables may be used in a ListType",
                        }
                    ]
                },
            )
        root = Body({})
        parsed: list[tuple[str, int, str, dict[str, object]]] = []
        for i, item in enumerate(data):
            body = Body(item, (i,))
            name = body.string("name", required=True, max_len=32)
            ctype = body.choice("type", (1, 2, 3, 4), default=1)
            desc = body.string("description", min_len=0 if ctype != 1 else 1, max_len=100)
            if ctype == 1 and desc is None and not body.has("description"):
                body.errors.add((i, "description"), "BASE_TYPE_REQUIRED", "This field is required")
            root.errors.tree.update(body.errors.tree)
            if name is not None:
                parsed.append((name, ctype, desc or "", body.data))
        if len(parsed) > 100:
            raise DiscordError(400, 30032, "Maximum number of application commands reached (100)")
        root.done()
        existing = {
            (c.name, c.type): c for c in self.state.world.commands.values() if c.guild_id == scope
        }
        for cmd in existing.values():
            del self.state.world.commands[cmd.id]
        out = []
        for name, ctype, desc, payload in parsed:
            old = existing.get((name, ctype))
            cmd = Command(
                id=old.id if old else self.state.new_id(),
                name=name,
                type=ctype,
                description=desc,
                guild_id=scope,
                version=self.state.new_id(),
                payload={
                    k: v for k, v in payload.items() if k not in ("id", "application_id", "version")
                },
            )
            self.state.world.commands[cmd.id] = cmd
            out.append(command_json(cmd, self.state.world.application_id))
        return discord_json(out)


def application_json(state: DiscordState) -> dict[str, Any]:
    """The application as `GET /oauth2/applications/@me` (and `GET /oauth2/@me`) show it."""
    bot = state.bot
    owner = (
        next(u for u in state.world.users.values() if not u.bot)
        if len(state.world.users) > 1
        else bot
    )
    return {
        "id": str(state.world.application_id),
        "name": bot.username,
        "icon": None,
        "description": "Provisions course servers (sandbox)",
        "type": None,
        "bot": user_json(bot),
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": 0,
        "flags_new": "0",
        "redirect_uris": list(state.world.redirect_uris),
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "owner": user_json(owner),
        "approximate_guild_count": sum(
            1 for g in state.world.guilds.values() if bot.id in g.members
        ),
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": None,
        "eligible_oauth2_scopes": ["bot", "applications.commands"],
    }
