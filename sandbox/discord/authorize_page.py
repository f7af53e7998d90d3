"""Discord's authorize page, `GET|POST /oauth2/authorize` (served where discord.com serves it,
not under `/api/v10`): the install link of a bot and the sign-in of a person.

Query: `client_id`, `scope` (space separated), `permissions`, `redirect_uri`, `state`,
`response_type=code`, `guild_id`, `disable_guild_select`. The person picks who they are (any
sandbox user, remembered in the `sandbox_discord_user` cookie), sees the application and what
each scope grants, and Authorizes or Cancels:

- `bot` (with `applications.commands`): pick a server where that person has Manage Server; the
  bot joins it with a managed role carrying exactly `permissions` (as the control API's "add
  bot"); without `redirect_uri` an "added to <server>" page follows.
- `identify`, `guilds.join`, ... (code flow): a redirect to `redirect_uri?code=…&state=…`;
  Cancel redirects with `error=access_denied&state=…`.

An unknown `client_id`, a `redirect_uri` that is neither registered nor a loopback URI, or an
unknown scope get the error page Discord shows instead of a redirect. Forms carry a CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from sandbox.core.consent import Choice, ConsentPage, consent_response, message_response
from sandbox.core.guard import CSRF_FIELD, csrf_refusal, csrf_token
from sandbox.core.oauth import redirect_allowed, remember_user, remembered_user, with_query
from sandbox.discord import people
from sandbox.discord.interactions import ControlError
from sandbox.discord.oauth import BOT_SCOPES, SCOPES, grant_code, parse_scopes
from sandbox.discord.permissions import MANAGE_GUILD, base_permissions
from sandbox.discord.state import DiscordState

PLATFORM = "Discord"
PATH = "/oauth2/authorize"
# The names Discord's consent screen gives the bits an install link usually asks for.
_PERMISSION_NAMES = {
    0: "Create Invite",
    1: "Kick Members",
    2: "Ban Members",
    3: "Administrator",
    4: "Manage Channels",
    5: "Manage Server",
    7: "View Audit Log",
    10: "View Channels",
    11: "Send Messages",
    13: "Manage Messages",
    14: "Embed Links",
    15: "Attach Files",
    16: "Read Message History",
    17: "Mention Everyone",
    27: "Manage Nicknames",
    28: "Manage Roles",
    31: "Use Application Commands",
}


@dataclass(frozen=True)
class AuthRequest:
    """The query of an authorize link, checked."""

    scopes: list[str]
    redirect_uri: str | None
    state: str | None
    permissions: int
    guild_id: int | None
    lock_guild: bool
    code_flow: bool

    @property
    def adds_bot(self) -> bool:
        return "bot" in self.scopes

    @property
    def picks_server(self) -> bool:
        return any(s in BOT_SCOPES for s in self.scopes)


class AuthorizeError(Exception):
    """The link itself is wrong: Discord shows an error page, it does not redirect."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


def permission_names(permissions: int) -> list[str]:
    return [
        _PERMISSION_NAMES.get(bit, f"permission bit {bit}")
        for bit in range(permissions.bit_length())
        if permissions >> bit & 1
    ]


class AuthorizePage:
    def __init__(self, state: DiscordState) -> None:
        self.state = state

    def register(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.show)
        app.router.add_post(PATH, self.submit)

    # -- the link ------------------------------------------------------------------------------

    def _parse(self, request: web.Request) -> AuthRequest:
        q = request.query
        if q.get("client_id") != str(self.state.world.application_id):
            raise AuthorizeError(
                "Unknown Application",
                f"client_id: no application has the id {q.get('client_id', '')!r}; "
                "check the client_id in the link.",
            )
        try:
            scopes = parse_scopes(q.get("scope", ""))
        except ValueError as exc:
            raise AuthorizeError(
                "Invalid Scope", f"scope: {exc.args[0]!r} is not a valid scope."
            ) from exc
        if not scopes:
            raise AuthorizeError("Invalid Scope", "scope: the link asks for no scope.")
        redirect_uri = q.get("redirect_uri") or None
        code_flow = any(s not in BOT_SCOPES for s in scopes) or q.get("response_type") == "code"
        if code_flow and q.get("response_type") != "code":
            raise AuthorizeError("Invalid response_type", "response_type: use response_type=code.")
        if code_flow and redirect_uri is None:
            raise AuthorizeError(
                "Invalid OAuth2 redirect_uri", "redirect_uri: the link has no redirect_uri."
            )
        if redirect_uri is not None and not redirect_allowed(
            redirect_uri, self.state.world.redirect_uris
        ):
            raise AuthorizeError(
                "Invalid OAuth2 redirect_uri",
                f"redirect_uri: {redirect_uri!r} is not registered for this application "
                "(register it with POST /_sandbox/discord/oauth2/redirect-uris).",
            )
        try:
            permissions = int(q.get("permissions") or 0)
            guild_id = int(q["guild_id"]) if q.get("guild_id") else None
        except ValueError as exc:
            raise AuthorizeError(
                "Invalid Form Body", "permissions and guild_id are whole numbers."
            ) from exc
        if permissions < 0:
            raise AuthorizeError("Invalid Form Body", "permissions: a whole number ≥ 0.")
        return AuthRequest(
            scopes=scopes,
            redirect_uri=redirect_uri,
            state=q.get("state"),
            permissions=permissions,
            guild_id=guild_id,
            lock_guild=q.get("disable_guild_select", "").lower() == "true",
            code_flow=code_flow,
        )

    # -- what the page shows -------------------------------------------------------------------

    def _user(self, raw: str | None) -> int | None:
        """A person by id (the form's value) or username; never the bot."""
        users = self.state.world.users.values()
        user = next((u for u in users if raw in (str(u.id), u.username)), None)
        return user.id if user is not None and not user.bot else None

    def _label(self, uid: int) -> str:
        user = self.state.world.users[uid]
        return f"{user.global_name} (@{user.username})" if user.global_name else user.username

    def _servers(self, auth: AuthRequest, uid: int) -> list[Choice]:
        out = []
        for guild in self.state.world.guilds.values():
            if auth.lock_guild and auth.guild_id is not None and guild.id != auth.guild_id:
                continue
            if uid not in guild.members or not base_permissions(guild, uid) & MANAGE_GUILD:
                continue
            added = auth.adds_bot and self.state.bot_id in guild.members
            label = guild.name + (" (already added)" if added else "")
            out.append(Choice(str(guild.id), label, disabled=added))
        # A preselected server (`guild_id`) comes first, so it is the one the select shows.
        out.sort(key=lambda c: c.value != str(auth.guild_id))
        return out

    def _grants(self, auth: AuthRequest) -> list[str]:
        grants = []
        for scope in auth.scopes:
            grant = SCOPES[scope]
            if scope == "bot" and auth.permissions:
                grant += ", with these permissions: " + ", ".join(
                    permission_names(auth.permissions)
                )
            grants.append(grant)
        return grants

    def _page(
        self, request: web.Request, auth: AuthRequest, uid: int | None, error: str | None = None
    ) -> ConsentPage:
        people_ = [u for u in self.state.world.users.values() if not u.bot]
        users = [Choice(str(u.id), self._label(u.id)) for u in people_]
        return ConsentPage(
            platform=PLATFORM,
            app_name=self.state.bot.username,
            action=request.path_qs,
            csrf=csrf_token(request),
            users=users,
            user=None if uid is None else Choice(str(uid), self._label(uid)),
            grants=self._grants(auth),
            servers=self._servers(auth, uid) if auth.picks_server and uid is not None else None,
            redirect_host=urlsplit(auth.redirect_uri).netloc if auth.redirect_uri else None,
            error=error,
        )

    async def show(self, request: web.Request) -> web.Response:
        try:
            auth = self._parse(request)
        except AuthorizeError as exc:
            return message_response(PLATFORM, exc.title, exc.message, status=400)
        uid = self._user(remembered_user(request, "discord"))
        return consent_response(self._page(request, auth, uid))

    # -- what the person decided ---------------------------------------------------------------

    async def submit(self, request: web.Request) -> web.StreamResponse:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        refusal = csrf_refusal(request, form.get(CSRF_FIELD))
        if refusal is not None:
            return message_response(PLATFORM, "Request refused", refusal, status=403)
        try:
            auth = self._parse(request)
        except AuthorizeError as exc:
            return message_response(PLATFORM, exc.title, exc.message, status=400)
        uid = self._user(form.get("user"))
        if uid is None:
            page = self._page(request, auth, None, error="user: pick who you are.")
            return consent_response(page, status=400)
        if form.get("step") == "identity":
            # Back to the same link as the picked person (303: the browser GETs it).
            response = web.HTTPSeeOther(request.path_qs)
            remember_user(response, "discord", str(uid))
            raise response
        if form.get("decision") != "authorize":
            return self._cancel(auth)
        return self._authorize(request, auth, uid, form)

    def _cancel(self, auth: AuthRequest) -> web.StreamResponse:
        if auth.redirect_uri is None:
            return message_response(PLATFORM, "Cancelled", "Nothing was authorized.")
        raise web.HTTPFound(
            with_query(
                auth.redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "The resource owner or authorization server denied "
                    "the request",
                    "state": auth.state,
                },
            )
        )

    def _authorize(
        self, request: web.Request, auth: AuthRequest, uid: int, form: dict[str, str]
    ) -> web.StreamResponse:
        guild_name: str | None = None
        guild_id: int | None = None
        if auth.picks_server:
            chosen = form.get("guild_id", "")
            allowed = {c.value: c for c in self._servers(auth, uid) if not c.disabled}
            if chosen not in allowed:
                error = "guild_id: pick a server where you have Manage Server."
                return consent_response(self._page(request, auth, uid, error), status=400)
            guild_id = int(chosen)
            guild_name = self.state.world.guilds[guild_id].name
            if auth.adds_bot:
                try:
                    people.add_bot(self.state, guild_id, auth.permissions)
                except ControlError as exc:
                    return consent_response(self._page(request, auth, uid, exc.message), status=400)
        response: web.StreamResponse
        if auth.redirect_uri is not None:
            code = None
            if auth.code_flow:
                code = grant_code(self.state, uid, auth.scopes, auth.redirect_uri)
            extra = {"guild_id": str(guild_id), "permissions": str(auth.permissions)}
            params = {"code": code, "state": auth.state, **(extra if auth.adds_bot else {})}
            response = web.HTTPFound(with_query(auth.redirect_uri, params))
        else:
            response = message_response(
                PLATFORM,
                "Authorized",
                f"{self.state.bot.username} has been added to {guild_name}.",
            )
        remember_user(response, "discord", str(uid))
        if isinstance(response, web.HTTPException):
            raise response
        return response
