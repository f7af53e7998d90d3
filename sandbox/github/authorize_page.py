"""GitHub's authorize page, `GET|POST /login/oauth/authorize?client_id=&redirect_uri=&scope=&state=`
(at the sandbox root, where github.com serves it).

The person picks who they are (any sandbox user, remembered in the `sandbox_github_user`
cookie), sees the OAuth app and what each scope grants, and Authorizes (a redirect to
`redirect_uri?code=…&state=…`) or Cancels (`error=access_denied&state=…`). Without
`redirect_uri` the app's first registered callback URL is used. An unknown `client_id` or a
`redirect_uri` that is neither registered nor a loopback URI get GitHub's error page instead
of a redirect. Forms carry a CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from sandbox.core.consent import Choice, ConsentPage, consent_response, message_response
from sandbox.core.guard import CSRF_FIELD, csrf_refusal, csrf_token
from sandbox.core.oauth import redirect_allowed, remember_user, remembered_user, with_query
from sandbox.github.context import GitHubContext
from sandbox.github.oauth import NO_SCOPE, SCOPES, TROUBLESHOOTING, grant_code, parse_scopes

PLATFORM = "GitHub"
PATH = "/login/oauth/authorize"


@dataclass(frozen=True)
class AuthRequest:
    scopes: list[str]
    redirect_uri: str
    state: str | None


class AuthorizeError(Exception):
    def __init__(self, title: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status


def add_authorize_routes(app: web.Application, ctx: GitHubContext) -> None:
    def parse(request: web.Request) -> AuthRequest:
        q = request.query
        if q.get("client_id") != ctx.world.oauth_app.client_id:
            raise AuthorizeError(
                "Page not found",
                f"client_id: no OAuth app has the client id {q.get('client_id', '')!r}.",
                status=404,
            )
        registered = ctx.state.oauth_callback_urls
        redirect_uri = q.get("redirect_uri") or (registered[0] if registered else None)
        if redirect_uri is None:
            raise AuthorizeError(
                "Redirect URI missing",
                "redirect_uri: the link has none and the app has no callback URL "
                "(register one with POST /_sandbox/github/oauth-app/callback-urls).",
            )
        if not redirect_allowed(redirect_uri, registered):
            raise AuthorizeError(
                "Be careful!",
                f"redirect_uri: {redirect_uri!r} is not associated with this application.",
            )
        return AuthRequest(parse_scopes(q.get("scope", "")), redirect_uri, q.get("state"))

    def user(raw: str | None) -> str | None:
        found = ctx.state.users.get((raw or "").lower())
        return found.login if found is not None else None

    def page(
        request: web.Request, auth: AuthRequest, login: str | None, error: str | None = None
    ) -> ConsentPage:
        users = [Choice(u.login, u.login) for u in ctx.state.users.values()]
        return ConsentPage(
            platform=PLATFORM,
            app_name=ctx.world.oauth_app.name,
            action=request.path_qs,
            csrf=csrf_token(request),
            users=users,
            user=None if login is None else Choice(login, login),
            grants=[SCOPES[s] for s in auth.scopes] or [NO_SCOPE],
            redirect_host=urlsplit(auth.redirect_uri).netloc,
            error=error,
        )

    async def show(request: web.Request) -> web.Response:
        try:
            auth = parse(request)
        except AuthorizeError as exc:
            return message_response(PLATFORM, exc.title, exc.message, status=exc.status)
        return consent_response(page(request, auth, user(remembered_user(request, "github"))))

    async def submit(request: web.Request) -> web.StreamResponse:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        refusal = csrf_refusal(request, form.get(CSRF_FIELD))
        if refusal is not None:
            return message_response(PLATFORM, "Request refused", refusal, status=403)
        try:
            auth = parse(request)
        except AuthorizeError as exc:
            return message_response(PLATFORM, exc.title, exc.message, status=exc.status)
        login = user(form.get("user"))
        if login is None:
            return consent_response(page(request, auth, None, "user: pick who you are."), 400)
        response: web.HTTPException
        if form.get("step") == "identity":
            response = web.HTTPSeeOther(request.path_qs)
        elif form.get("decision") == "authorize":
            code = grant_code(ctx, login, auth.scopes, auth.redirect_uri)
            response = web.HTTPFound(
                with_query(auth.redirect_uri, {"code": code, "state": auth.state})
            )
        else:
            denied = {
                "error": "access_denied",
                "error_description": "The user has denied your application access.",
                "error_uri": f"{TROUBLESHOOTING}#access-denied",
                "state": auth.state,
            }
            response = web.HTTPFound(with_query(auth.redirect_uri, denied))
        remember_user(response, "github", login)
        raise response

    app.router.add_get(PATH, show)
    app.router.add_post(PATH, submit)
