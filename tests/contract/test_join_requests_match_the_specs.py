"""Contract: the join page's own requests, captured at the sandbox, match the official specs.

A student whose roster login was another real account (invited already) signs in with GitHub
and joins Discord through the product's OAuth2 client (`clients/oauth/`) and join actions,
exactly as the join page's callbacks call them, with codes a person's Authorize click gives.
The REST requests this makes (`GET /user`, `GET /users/@me`, `PUT /guilds/{guild_id}/members/
{user_id}`, and the withdrawal of the wrong account's invitation: `GET /orgs/{org}/invitations`,
`DELETE /orgs/{org}/invitations/{invitation_id}`) are validated like every other request
(`specs.py`).

The two token exchanges are not in either REST description: they are OAuth2 form posts
(RFC 6749 §4.1.3). They are checked against the form fields the platforms document instead
(PLATFORM.md §1.13 for Discord, §2.10 for GitHub): the required fields present and non-empty,
no undocumented field, the form content type, and the client authenticated as documented.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import pytest_asyncio
from aiohttp import web

# discord.py first, with its one import-time warning silenced (warnings are errors here).
from tests.sandbox.discord.discordpy import discord  # noqa: F401  # isort: skip
from provisioning.courses.spec import parse_course
from provisioning.retry import RetryPolicy
from sandbox.server import SandboxServer
from tests.contract.capture import NO_BODY, Capture, Captured
from tests.contract.specs import Operation, errors, operation
from tests.e2e.harness import SANDBOX_RATE_SCALE, control_of, logins
from tests.students.conftest import open_mailing_product
from tests.students.mailbox import Mailbox
from tests.students.test_join_email import lab_with_emails

PUBLIC_URL = "https://course-bot.example.edu"
WRONG, RIGHT, ADDRESS = "s-3-1-typo", "s-3-1", "s-3-1@example.edu"
TOKEN = re.compile(r"/join/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")

JOIN_OPERATIONS: list[Operation] = [
    ("github", "GET", "/user"),
    ("github", "GET", "/orgs/{org}/invitations"),
    ("github", "DELETE", "/orgs/{org}/invitations/{invitation_id}"),
    ("github", "GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
    ("discord", "GET", "/users/@me"),
    ("discord", "PUT", "/guilds/{guild_id}/members/{user_id}"),
]


@dataclass(frozen=True)
class FormPost:
    """One OAuth2 token exchange as the platform received it; secrets are reduced to whether
    they were there."""

    path: str
    content_type: str
    accept: str
    fields: dict[str, list[str]]
    # The scheme of the Authorization header ("Basic"), never its value.
    authorization: str | None


@dataclass(frozen=True)
class TokenEndpoint:
    """What the platform documents for its token endpoint."""

    required: frozenset[str]
    optional: frozenset[str]
    # Client credentials: in the form, or by HTTP Basic (Discord accepts both).
    basic_auth_allowed: bool
    accept: str | None = None


# GitHub: POST https://github.com/login/oauth/access_token with client_id, client_secret, code
# (required), redirect_uri, repository_id (optional); `Accept: application/json` for JSON.
GITHUB_TOKEN = TokenEndpoint(
    required=frozenset({"client_id", "client_secret", "code"}),
    optional=frozenset({"redirect_uri", "repository_id"}),
    basic_auth_allowed=False,
    accept="application/json",
)
# Discord: POST /api/v10/oauth2/token with grant_type=authorization_code, code, redirect_uri;
# the client's id and secret by HTTP Basic, or as client_id and client_secret in the form.
DISCORD_TOKEN = TokenEndpoint(
    required=frozenset({"grant_type", "code", "redirect_uri"}),
    optional=frozenset({"client_id", "client_secret"}),
    basic_auth_allowed=True,
)


def form_errors(post: FormPost, endpoint: TokenEndpoint) -> list[str]:
    """Every way a token exchange differs from its documented form."""
    problems = []
    if post.content_type != "application/x-www-form-urlencoded":
        problems.append(f"content type {post.content_type!r}, not a form")
    sent = set(post.fields)
    for name in sorted(endpoint.required - sent):
        problems.append(f"{name}: missing")
    for name in sorted(sent - endpoint.required - endpoint.optional):
        problems.append(f"{name}: not a documented field")
    for name, values in sorted(post.fields.items()):
        if len(values) != 1 or not values[0]:
            problems.append(f"{name}: not one non-empty value")
    if "grant_type" in endpoint.required and post.fields.get("grant_type") != [
        "authorization_code"
    ]:
        problems.append("grant_type: not authorization_code")
    in_form = {"client_id", "client_secret"} <= sent
    if post.authorization is not None and not endpoint.basic_auth_allowed:
        problems.append("client credentials by HTTP Basic, which is not documented here")
    if post.authorization not in (None, "Basic"):
        problems.append(f"Authorization scheme {post.authorization!r}")
    if not in_form and post.authorization != "Basic":
        problems.append("the client is not authenticated (no client_secret, no HTTP Basic)")
    if endpoint.accept is not None and post.accept != endpoint.accept:
        problems.append(f"Accept {post.accept!r}, not {endpoint.accept!r}")
    return problems


class FormCapture:
    """A sandbox middleware keeping the token exchanges (the paths in `endpoints`)."""

    def __init__(self) -> None:
        self.posts: list[FormPost] = []

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.method == "POST" and request.path in (
            "/login/oauth/access_token",
            "/api/v10/oauth2/token",
        ):
            raw = (await request.read()).decode()
            auth = request.headers.get("Authorization")
            self.posts.append(
                FormPost(
                    path=request.path,
                    content_type=request.content_type,
                    accept=request.headers.get("Accept", ""),
                    fields=parse_qs(raw, keep_blank_values=True),
                    authorization=auth.split(" ", 1)[0] if auth else None,
                )
            )
        return await handler(request)


@dataclass(frozen=True)
class JoinRun:
    capture: Capture
    forms: FormCapture
    states: dict[str, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def join_run(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[JoinRun]:
    """The lab provisioned; Barbara corrects her login by signing in with GitHub (the wrong
    account's invitation withdrawn by the runner) and joins the server through Discord."""
    database = tmp_path_factory.mktemp("join-contract") / "app.db"
    shutil.copyfile(sqlite_template, database)
    capture, forms = Capture(), FormCapture()
    sandbox = SandboxServer(
        rate_scale=SANDBOX_RATE_SCALE, middlewares=[capture.middleware, forms.middleware]
    )
    mailbox = Mailbox()
    await mailbox.start()
    try:
        async with (
            sandbox,
            control_of(sandbox) as control,
            open_mailing_product(
                f"sqlite+aiosqlite:///{database}", sandbox, mailbox, RetryPolicy(base_s=0)
            ) as product,
        ):
            people = await control.discord_users()
            data = lab_with_emails(people)
            data["students"][4].update(github=WRONG, email=ADDRESS)
            spec = parse_course(data)
            await control.github_users([*logins(spec), RIGHT])
            course_id = await product.create(data)
            await product.run()
            guild = await control.server_with_bot(spec)
            await product.claim(course_id, guild, people["ada"])
            await product.run()

            [mail] = [m for m in mailbox.received if m.recipients == [ADDRESS]]
            [token] = set(TOKEN.findall(mail.part("text/plain")))
            join = product.built.services.join
            assert join.sign_in is not None
            assert join.actions is not None
            github_uri = join.redirect_uri("github")
            granted = await control.call(
                "POST",
                "/github/oauth-app/authorize",
                json={"login": RIGHT, "scope": "read:user", "redirect_uri": github_uri},
            )
            identity = await join.sign_in.github_identity(granted["code"], github_uri)
            await join.actions.github_signed_in(token, identity)
            await product.run()

            discord_uri = join.redirect_uri("discord")
            granted = await control.call(
                "POST",
                "/discord/oauth2/authorize",
                json={
                    "user": "barbara",
                    "scope": "identify guilds.join",
                    "redirect_uri": discord_uri,
                },
            )
            person = await join.sign_in.discord_identity(granted["code"], discord_uri)
            await join.actions.discord_signed_in(token, person)
            await product.run()
            states = await product.states(course_id)
    finally:
        await mailbox.stop()
    yield JoinRun(capture, forms, states)


def test_the_join_went_through(join_run: JoinRun) -> None:
    """The withdrawal and the new invitation ran: the requests checked are those of a real
    correction and a real join."""
    assert join_run.states[f"github.invite:lab-03:{WRONG}"] == "succeeded"
    assert join_run.states[f"github.invite:lab-03:{RIGHT}"] == "succeeded"
    puts = [
        c
        for c in join_run.capture.requests
        if operation(c) == ("discord", "PUT", "/guilds/{guild_id}/members/{user_id}")
    ]
    assert [c.status for c in puts] == [201]


@pytest.mark.parametrize("op", [pytest.param(op, id=" ".join(op)) for op in JOIN_OPERATIONS])
def test_join_requests_and_answers_validate(join_run: JoinRun, op: Operation) -> None:
    """Every captured request body and answer of the join's operations matches the official
    schemas."""
    captured = [c for c in join_run.capture.requests if operation(c) == op]
    assert captured, "not exercised"
    problems = [
        f"{c.method} {c.path} {c.status}: {problem}" for c in captured for problem in errors(c)
    ]
    assert problems == []
    if op[1] == "PUT":
        assert all(c.body is not NO_BODY for c in captured), "a write without a body"


def test_the_withdrawal_cancels_by_invitation_id(join_run: JoinRun) -> None:
    """The wrong account's invitation is cancelled once, by the id GitHub listed, answered 204."""
    [listed] = [
        c
        for c in join_run.capture.requests
        if operation(c) == ("github", "GET", "/orgs/{org}/invitations")
        and c.status == 200
        and any(i["login"] == WRONG for i in c.response)
    ]
    [invitation_id] = [i["id"] for i in listed.response if i["login"] == WRONG]
    deletes = [
        (c.path, c.status)
        for c in join_run.capture.requests
        if operation(c) == ("github", "DELETE", "/orgs/{org}/invitations/{invitation_id}")
    ]
    assert deletes == [(f"/orgs/demo-university/invitations/{invitation_id}", 204)]


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [("/login/oauth/access_token", GITHUB_TOKEN), ("/api/v10/oauth2/token", DISCORD_TOKEN)],
    ids=["github", "discord"],
)
def test_token_exchanges_send_the_documented_form(
    join_run: JoinRun, path: str, endpoint: TokenEndpoint
) -> None:
    """Each token exchange is one form post with exactly the documented fields."""
    posts = [p for p in join_run.forms.posts if p.path == path]
    assert len(posts) == 1
    assert form_errors(posts[0], endpoint) == []


def test_the_form_check_can_fail() -> None:
    """Missing and undocumented fields, JSON bodies, a wrong grant and no client
    authentication are each reported."""
    good = FormPost(
        "/api/v10/oauth2/token",
        "application/x-www-form-urlencoded",
        "",
        {"grant_type": ["authorization_code"], "code": ["c"], "redirect_uri": ["u"]},
        "Basic",
    )
    assert form_errors(good, DISCORD_TOKEN) == []
    bad = FormPost(
        good.path,
        "application/json",
        "",
        {"grant_type": ["client_credentials"], "code": [""], "scope": ["x"]},
        None,
    )
    assert form_errors(bad, DISCORD_TOKEN) == [
        "content type 'application/json', not a form",
        "redirect_uri: missing",
        "scope: not a documented field",
        "code: not one non-empty value",
        "grant_type: not authorization_code",
        "the client is not authenticated (no client_secret, no HTTP Basic)",
    ]
    github = FormPost(
        "/login/oauth/access_token",
        "application/x-www-form-urlencoded",
        "*/*",
        {"client_id": ["i"], "code": ["c"]},
        "Basic",
    )
    assert form_errors(github, GITHUB_TOKEN) == [
        "client_secret: missing",
        "client credentials by HTTP Basic, which is not documented here",
        "Accept '*/*', not 'application/json'",
    ]


def test_unknown_captures_are_still_unknown() -> None:
    """The join operations are in the trimmed specs; an unlisted path is not."""
    cancel = Captured(
        "github", "DELETE", "/orgs/o/invitations/7", {}, "", "", NO_BODY, 204, NO_BODY
    )
    assert errors(cancel) == []
    stray = Captured("github", "DELETE", "/orgs/o/invitations", {}, "", "", NO_BODY, 204, NO_BODY)
    assert errors(stray) == ["no operation in the spec for DELETE /orgs/o/invitations"]
