"""The sandbox's web app at `/_sandbox/`: the "Discord client" a person acts in, and the GitHub,
journal and fault views. Pages are Jinja2 templates; every change goes through the control API
from `static/console.js` (JSON, the secret cookie and the form's CSRF token).

Pages (GET, open like every read of the sandbox):
- `/_sandbox/` who you are, your servers, create or join one;
- `/_sandbox/servers/{guild_id}[?channel=]` a server as you see it, the commands you can run;
- `/invite/{code}` an invite as Discord's invite page shows it (the links the bot gives in
  development), with an "Accept invite" button; "Invite Invalid" when it cannot be used;
- `/_sandbox/interactions/{id}` the replies to one command, as a fragment the page polls;
- `/_sandbox/github`, `/_sandbox/journal`, `/_sandbox/fault-rules`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from sandbox.console import discord_view, github_view
from sandbox.console.actions import ConsoleActions, acting_user
from sandbox.console.commands import CommandForm
from sandbox.console.csrf import csrf_token
from sandbox.console.markdown import discord_markdown
from sandbox.console.picker import offered_commands
from sandbox.core.emulator import PlatformEmulator
from sandbox.core.faults import FaultInjector, FaultKind, rules_json
from sandbox.core.guard import set_secret_cookie
from sandbox.core.journal import Journal
from sandbox.core.oauth import remembered_user
from sandbox.discord.emulator import DiscordSandbox
from sandbox.discord.permissions import MANAGE_GUILD, base_permissions
from sandbox.github.emulator import GitHubSandbox

HERE = Path(__file__).resolve().parent
JINJA = web.AppKey("sandbox_console_jinja", jinja2.Environment)
# No inline script or style anywhere: what a page runs comes from /_sandbox/static only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
JOURNAL_ROWS = 200
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _color(value: Any) -> str:
    """An embed's colour (an integer) as CSS, set by the script (no inline styles)."""
    return f"#{int(value):06x}" if isinstance(value, int) else ""


class Console:
    def __init__(
        self,
        emulators: Sequence[PlatformEmulator],
        journal: Journal,
        injector: FaultInjector,
        secret: str,
    ) -> None:
        self.discord = next((e for e in emulators if isinstance(e, DiscordSandbox)), None)
        self.github = next((e for e in emulators if isinstance(e, GitHubSandbox)), None)
        self.journal = journal
        self.injector = injector
        self.secret = secret

    def register(self, app: web.Application) -> None:
        env = aiohttp_jinja2.setup(
            app,
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            app_key=JINJA,
        )
        env.filters["color"] = _color
        env.filters["markdown"] = discord_markdown
        if self.discord is not None:
            ConsoleActions(self.discord.state).register(app)
        pages: list[tuple[str, Handler]] = [
            ("/_sandbox/", self.home),
            ("/_sandbox", self.home),
            ("/_sandbox/servers/{guild_id}", self.server),
            ("/_sandbox/interactions/{interaction_id}", self.interaction),
            ("/invite/{code}", self.invite),
            ("/_sandbox/github", self.github_page),
            # GitHub's own pages for people, where `github_web_url` sends them in development
            # (github.com/{owner}/{repo} and github.com/orgs/{org}/invitation).
            ("/_sandbox/github/{owner}/{repo}", self.github_repo_page),
            ("/_sandbox/github/orgs/{org}/invitation", self.github_invitation_page),
            ("/_sandbox/journal", self.journal_page),
            ("/_sandbox/fault-rules", self.faults_page),
        ]
        for path, handler in pages:
            app.router.add_get(path, handler)
        app.router.add_static("/_sandbox/static", HERE / "static")

    def _render(
        self, template: str, request: web.Request, context: dict[str, Any], status: int = 200
    ) -> web.Response:
        me = None
        if self.discord is not None:
            uid = acting_user(self.discord.state, request)
            me = None if uid is None else self.discord.state.world.users[uid]
        base = {"csrf": csrf_token(self.secret), "me": me, "path": request.path}
        response = aiohttp_jinja2.render_template(
            template, request, {**base, **context}, status=status, app_key=JINJA
        )
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        set_secret_cookie(response, request, self.secret)
        return response

    def _missing(self, request: web.Request, what: str) -> web.Response:
        return self._render("missing.html", request, {"what": what}, status=404)

    async def home(self, request: web.Request) -> web.Response:
        if self.discord is None:
            return self._render("home.html", request, {"people": [], "guilds": []})
        state = self.discord.state
        uid = acting_user(state, request)
        return self._render(
            "home.html",
            request,
            {
                "people": discord_view.people(state),
                "guilds": [] if uid is None else discord_view.guilds_of(state, uid),
                "bot_id": state.bot_id,
            },
        )

    async def server(self, request: web.Request) -> web.Response:
        if self.discord is None:
            return self._missing(request, "Discord emulator")
        state = self.discord.state
        raw = request.match_info["guild_id"]
        guild = state.world.guilds.get(int(raw)) if raw.isdigit() else None
        uid = acting_user(state, request)
        if guild is None:
            return self._missing(request, "server")
        if uid is None or uid not in guild.members:
            return self._render("not_member.html", request, {"guild": guild}, status=403)
        wanted = request.query.get("channel", "")
        channel = guild.channels.get(int(wanted)) if wanted.isdigit() else None
        if channel is None or not discord_view.can_view(guild, channel, uid):
            channel = discord_view.first_text_channel(guild, uid)
        forms: list[CommandForm] = (
            offered_commands(state, guild, uid) if state.bot_id in guild.members else []
        )
        manager = bool(base_permissions(guild, uid) & MANAGE_GUILD)
        invites = [i for i in state.world.invites.values() if i.guild_id == guild.id]
        return self._render(
            "server.html",
            request,
            {
                "guild": guild,
                "owner": guild.owner_id == uid,
                "manager": manager,
                "bot_in": state.bot_id in guild.members,
                "groups": discord_view.visible_channels(guild, uid),
                "channel": channel,
                "messages": []
                if channel is None
                else discord_view.channel_messages(state, channel.id, uid),
                "forms": forms,
                "members": discord_view.members_of(state, guild),
                "roles": discord_view.roles_of(guild),
                "invites": invites if manager else [],
                "role_names": {r.id: r.name for r in guild.roles.values()},
            },
        )

    async def invite(self, request: web.Request) -> web.Response:
        if self.discord is None:
            return self._missing(request, "Discord emulator")
        state = self.discord.state
        card = discord_view.invite_card(state, request.match_info["code"])
        if card is None:
            return self._render("invite_invalid.html", request, {}, status=404)
        uid = acting_user(state, request)
        return self._render(
            "invite.html",
            request,
            {
                "card": card,
                "people": discord_view.people(state),
                "member": uid is not None and uid in card.guild.members,
            },
        )

    async def interaction(self, request: web.Request) -> web.Response:
        if self.discord is None:
            return self._missing(request, "Discord emulator")
        state = self.discord.state
        raw = request.match_info["interaction_id"]
        found = state.world.interactions.get(int(raw)) if raw.isdigit() else None
        uid = acting_user(state, request)
        if found is None or uid is None:
            return self._missing(request, "command")
        shown = discord_view.shown_messages(state, found, uid)
        modal = found.modal if found.user_id == uid else None
        return self._render(
            "reply.html",
            request,
            {
                "interaction": found,
                "messages": shown,
                "answered": found.callback is not None,
                "modal": modal,
                "inputs": [] if modal is None else discord_view.modal_inputs(modal),
            },
        )

    async def github_page(self, request: web.Request) -> web.Response:
        if self.github is None:
            return self._missing(request, "GitHub emulator")
        return self._render(
            "github.html", request, {"orgs": github_view.organizations(self.github.ctx)}
        )

    async def github_repo_page(self, request: web.Request) -> web.Response:
        if self.github is None:
            return self._missing(request, "GitHub emulator")
        owner, name = request.match_info["owner"], request.match_info["repo"]
        repo = github_view.find_repo(self.github.ctx, owner, name)
        if repo is None:
            return self._missing(request, "repository")
        return self._render("github_repo.html", request, {"owner": owner, "repo": repo})

    async def github_invitation_page(self, request: web.Request) -> web.Response:
        """The invitation as the GitHub user of `?login=` (else the one the browser signed in
        as last) sees it, with Join; whoever has no GitHub identity yet picks one."""
        if self.github is None:
            return self._missing(request, "GitHub emulator")
        ctx = self.github.ctx
        org = ctx.state.orgs.get(request.match_info["org"].lower())
        if org is None:
            return self._missing(request, "organization")
        login = request.query.get("login") or remembered_user(request, "github") or ""
        user = ctx.state.users.get(login.lower())
        return self._render(
            "github_invitation.html",
            request,
            {
                "org": org.login,
                "logins": sorted(u.login for u in ctx.state.users.values()),
                "invitation": None
                if user is None
                else github_view.invitation_view(ctx, org, user.login),
            },
        )

    async def journal_page(self, request: web.Request) -> web.Response:
        q = request.query
        status = q.get("status", "")
        entries = self.journal.query(
            method=q.get("method") or None,
            path_contains=q.get("path") or None,
            platform=q.get("platform") or None,
            status=int(status) if status.isdigit() else None,
            limit=10**9,
        )
        return self._render(
            "journal.html",
            request,
            {
                "entries": list(reversed(entries[-JOURNAL_ROWS:])),
                "total": len(entries),
                "shown": min(len(entries), JOURNAL_ROWS),
                "filters": {k: q.get(k, "") for k in ("platform", "method", "path", "status")},
            },
        )

    async def faults_page(self, request: web.Request) -> web.Response:
        return self._render(
            "faults.html",
            request,
            {"rules": rules_json(self.injector), "kinds": [k.value for k in FaultKind]},
        )


def add_console(
    app: web.Application,
    emulators: Sequence[PlatformEmulator],
    journal: Journal,
    injector: FaultInjector,
    secret: str,
) -> None:
    """Mount the web app on the sandbox's application."""
    Console(emulators, journal, injector, secret).register(app)
