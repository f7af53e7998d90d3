"""Discord OAuth2 in the sandbox: the authorize page, the token endpoint, bearer tokens and
adding a member with a person's token, over real HTTP and validated against the official spec."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

from sandbox.core.guard import CSRF_FIELD
from sandbox.discord import DiscordConfig
from tests.sandbox.consent import browser_session, csrf_of, decide, open_page

from .conftest import BOT_PERMISSIONS, Running, World
from .contract import request_errors, response_errors

APP_ID = str(DiscordConfig().application_id)
SECRET = DiscordConfig().client_secret
REDIRECT = "http://127.0.0.1:8080/auth/discord/callback"


def authorize_url(running: Running, **params: str) -> str:
    query = {
        "client_id": APP_ID,
        "response_type": "code",
        "scope": "identify guilds.join",
        "redirect_uri": REDIRECT,
        "state": "st4te",
        **params,
    }
    return f"{running.base}/oauth2/authorize?{urlencode(query)}"


def basic(client_id: str = APP_ID, secret: str = SECRET) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def exchange(
    running: Running, form: dict[str, str], headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    status, body, response_headers = await running.api(
        "POST", "/oauth2/token", token=None, data=form, headers=headers or basic()
    )
    assert response_headers["Content-Type"] == "application/json"
    return status, body


async def code_for(running: Running, user: str, scope: str = "identify guilds.join") -> str:
    async with browser_session() as http:
        status, location, page = await decide(http, authorize_url(running, scope=scope), user)
    assert status == 302, page
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(REDIRECT + "?")
    assert query["state"] == ["st4te"]
    return query["code"][0]


async def token_for(running: Running, user: str, scope: str = "identify guilds.join") -> str:
    code = await code_for(running, user, scope)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    status, body = await exchange(running, form)
    assert status == 200, body
    return str(body["access_token"])


async def test_code_flow_end_to_end(running: Running) -> None:
    """Pick a person, consent, exchange the code, read who it is with the bearer token."""
    code = await code_for(running, "bob")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    status, body = await exchange(running, form)
    assert status == 200, body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 604800
    assert body["scope"] == "identify guilds.join"
    assert body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    bearer = {"Authorization": f"Bearer {body['access_token']}"}

    status, me, _ = await running.api("GET", "/users/@me", token=None, headers=bearer)
    assert status == 200
    assert me["username"] == "bob"
    assert me["bot"] is False
    assert "email" not in me  # no `email` scope
    assert response_errors("/users/@me", "GET", 200, me) == []

    status, auth, _ = await running.api("GET", "/oauth2/@me", token=None, headers=bearer)
    assert status == 200
    assert auth["scopes"] == ["identify", "guilds.join"]
    assert auth["user"]["id"] == me["id"]
    assert auth["application"]["id"] == APP_ID
    assert response_errors("/oauth2/@me", "GET", 200, auth) == []

    # The bot's own token still answers the bot.
    status, bot, _ = await running.api("GET", "/users/@me")
    assert status == 200
    assert bot["bot"] is True


async def test_client_secret_as_form_fields_and_refresh(running: Running) -> None:
    code = await code_for(running, "grace")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": APP_ID,
        "client_secret": SECRET,
    }
    status, first = await exchange(running, form, headers={})
    assert status == 200, first
    status, second = await exchange(
        running, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert status == 200, second
    assert second["access_token"] != first["access_token"]
    old = {"Authorization": f"Bearer {first['access_token']}"}
    new = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await running.api("GET", "/users/@me", token=None, headers=old))[0] == 401
    status, me, _ = await running.api("GET", "/users/@me", token=None, headers=new)
    assert status == 200
    assert me["username"] == "grace"
    # A refresh token is spent like a code.
    status, body = await exchange(
        running, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_replayed_unknown_expired_and_misdirected_codes_are_refused(
    running: Running,
) -> None:
    code = await code_for(running, "bob")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert (await exchange(running, form))[0] == 200
    status, body = await exchange(running, form)
    assert status == 400
    assert body == {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}
    status, body = await exchange(running, {**form, "code": "made-up"})
    assert (status, body["error"]) == (400, "invalid_grant")

    other = await code_for(running, "bob")
    status, body = await exchange(
        running, {**form, "code": other, "redirect_uri": "http://127.0.0.1:9/other"}
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    assert "redirect_uri" in body["error_description"]
    # The code was spent by the failed attempt: Discord does not let it be retried either.
    assert (await exchange(running, {**form, "code": other}))[0] == 400

    late = await code_for(running, "bob")
    running.clock.advance(601)
    status, body = await exchange(running, {**form, "code": late})
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_wrong_client_and_grant_type(running: Running) -> None:
    code = await code_for(running, "bob")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    status, body = await exchange(running, form, headers=basic(secret="wrong"))
    assert (status, body["error"]) == (401, "invalid_client")
    status, body = await exchange(running, {**form, "grant_type": "password"})
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    status, body, _ = await running.api(
        "POST", "/oauth2/token", token=None, json=form, headers=basic()
    )
    assert (status, body["error"]) == (400, "invalid_request")


async def test_bearer_token_needs_identify_for_the_user(running: Running) -> None:
    token = await token_for(running, "bob", scope="guilds.join")
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await running.api("GET", "/users/@me", token=None, headers=bearer))[0] == 401
    status, auth, _ = await running.api("GET", "/oauth2/@me", token=None, headers=bearer)
    assert status == 200
    assert "user" not in auth
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await running.api("GET", "/oauth2/@me", token=None, headers=bad))[0] == 401
    # A person's token is no bot token: bot routes refuse it.
    status, _, _ = await running.api("GET", "/gateway/bot", token=None, headers=bearer)
    assert status == 401


async def test_cancel_redirects_with_access_denied(running: Running) -> None:
    async with browser_session() as http:
        status, location, _ = await decide(http, authorize_url(running), "bob", "cancel")
    assert status == 302
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st4te"]
    assert "code" not in query


async def test_bad_links_get_discords_error_page(running: Running) -> None:
    async with browser_session() as http:
        cases = {
            "Unknown Application": authorize_url(running, client_id="42"),
            "Invalid Scope": authorize_url(running, scope="identify rule.world"),
            "Invalid OAuth2 redirect_uri": authorize_url(
                running, redirect_uri="https://attacker.example/cb"
            ),
        }
        for title, url in cases.items():
            status, page = await open_page(http, url)
            assert status == 400, title
            assert f"<h1>{title}</h1>" in page
            assert "<form" not in page
        # Registered through the control API, a non-loopback URI is accepted.
        registered = "https://course.example.edu/auth/discord"
        status, app = await running.control(
            "POST", "/oauth2/redirect-uris", json={"redirect_uri": registered}
        )
        assert status == 201
        assert app["redirect_uris"] == [registered]
        assert app["client_secret"] == SECRET
        assert app["client_id"] == APP_ID
        status, page = await open_page(http, authorize_url(running, redirect_uri=registered))
        assert status == 200
        assert "course.example.edu" in page


async def test_forged_form_posts_are_refused(running: Running) -> None:
    url = authorize_url(running)
    async with browser_session() as http:
        _status, page = await open_page(http, url)
        token = csrf_of(page)
        form = {"user": "bob", "decision": "authorize"}
        async with http.post(url, data=form, allow_redirects=False) as r:
            assert r.status == 403
            assert CSRF_FIELD in await r.text()
        async with http.post(
            url,
            data={**form, CSRF_FIELD: token},
            headers={"Origin": "https://attacker.example"},
            allow_redirects=False,
        ) as r:
            assert r.status == 403
    # Another browser (no cookie) copying a token from somewhere is refused too.
    async with (
        aiohttp.ClientSession() as other,
        other.post(url, data={**form, CSRF_FIELD: token}, allow_redirects=False) as r,
    ):
        assert r.status == 403
    assert running.sandbox.state.world.oauth_codes == {}


async def test_install_link_adds_the_bot_with_exactly_the_permissions(running: Running) -> None:
    status, guild = await running.control(
        "POST", "/guilds", json={"name": "CS 202", "owner": "ada"}
    )
    assert status == 201
    params = {"client_id": APP_ID, "scope": "bot applications.commands"}
    url = f"{running.base}/oauth2/authorize?{urlencode({**params, 'permissions': 268520625})}"
    async with browser_session() as http:
        # Bob has Manage Server nowhere: the page offers no server and no Authorize.
        status, _, page = await decide(http, url, "bob", extra={"guild_id": guild["id"]})
        assert status == 400
        assert "guild_id" in page
        status, page = await open_page(http, url)
        assert "has Manage Server in no server" in page
        status, _location, page = await decide(http, url, "ada", extra={"guild_id": guild["id"]})
    assert status == 200, page
    assert "Course Bot has been added to CS 202." in page
    status, after = await running.control("GET", f"/guilds/{guild['id']}")
    bot_role = next(r for r in after["roles"] if r.get("tags", {}).get("bot_id") == APP_ID)
    assert bot_role["managed"] is True
    assert int(bot_role["permissions"]) == BOT_PERMISSIONS
    assert APP_ID in {m["user"]["id"] for m in after["members"]}
    # Opened again, the page shows that server as already added and cannot pick it.
    async with browser_session() as http:
        status, page = await open_page(http, url)
        form = {CSRF_FIELD: csrf_of(page), "user": "ada", "step": "identity"}
        async with http.post(url, data=form) as r:
            page = await r.text()
    assert f'<option value="{guild["id"]}" disabled>CS 202 (already added)</option>' in page


async def test_install_page_lists_the_permissions_asked(running: Running) -> None:
    await running.control("POST", "/guilds", json={"name": "CS 303", "owner": "ada"})
    query = {"client_id": APP_ID, "scope": "bot", "permissions": str(1 << 28 | 1 << 0)}
    async with browser_session() as http:
        _status, page = await open_page(http, f"{running.base}/oauth2/authorize?{urlencode(query)}")
        form = {CSRF_FIELD: csrf_of(page), "user": running_user(running, "ada"), "step": "identity"}
        url = f"{running.base}/oauth2/authorize?{urlencode(query)}"
        async with http.post(url, data=form) as r:
            page = await r.text()
    assert "with these permissions: Create Invite, Manage Roles" in page
    assert "CS 303" in page


def running_user(running: Running, name: str) -> str:
    return str(running.sandbox.state.user_by_name(name).id)


async def test_put_member_201_then_204_without_changing_roles(
    running: Running, world: World
) -> None:
    g = world.guild_id
    status, role, _ = await running.api("POST", f"/guilds/{g}/roles", json={"name": "Lab 1"})
    assert status == 200
    token = await token_for(running, "bob")
    bob = world.users["bob"]
    path = f"/guilds/{g}/members/{bob}"
    spec_path = "/guilds/{guild_id}/members/{user_id}"
    body = {"access_token": token, "roles": [role["id"]]}
    assert request_errors(spec_path, "PUT", body) == []
    status, member, _ = await running.api("PUT", path, json=body)
    assert status == 201, member
    assert member["roles"] == [role["id"]]
    assert member["user"]["username"] == "bob"
    assert response_errors(spec_path, "PUT", 201, member) == []

    status, again, _ = await running.api("PUT", path, json={"access_token": token, "roles": []})
    assert status == 204
    assert again == ""
    status, member, _ = await running.api("GET", path)
    assert member["roles"] == [role["id"]]


async def test_put_member_refusals(running: Running, world: World) -> None:
    g, bob = world.guild_id, world.users["bob"]
    path = f"/guilds/{g}/members/{bob}"
    no_join = await token_for(running, "bob", scope="identify")
    graces = await token_for(running, "grace")
    for token in (no_join, graces, "made-up"):
        status, body, _ = await running.api("PUT", path, json={"access_token": token})
        assert (status, body["code"]) == (403, 50025), token
    status, body, _ = await running.api("PUT", path, json={})
    assert (status, body["code"]) == (400, 50035)
    assert "access_token" in body["errors"]

    # A role above the bot's own is refused (the hierarchy), and nothing is added.
    status, high, _ = await running.api("POST", f"/guilds/{g}/roles", json={"name": "Staff"})
    await running.api("PATCH", f"/guilds/{g}/roles", json=[{"id": high["id"], "position": 5}])
    await running.control("POST", f"/guilds/{g}/bot-role", json={"position": 1})
    token = await token_for(running, "bob")
    status, body, _ = await running.api(
        "PUT", path, json={"access_token": token, "roles": [high["id"]]}
    )
    assert (status, body["code"]) == (403, 50013)
    assert (await running.api("GET", path))[0] == 404

    # A nickname needs MANAGE_NICKNAMES, which the install link's set lacks.
    status, body, _ = await running.api("PUT", path, json={"access_token": token, "nick": "B"})
    assert (status, body["code"]) == (403, 50013)

    # The owner takes CREATE_INSTANT_INVITE away from everyone, the bot's role included.
    guild = running.sandbox.state.world.guilds[int(g)]
    for role in guild.roles.values():
        role.permissions &= ~1
    status, body, _ = await running.api("PUT", path, json={"access_token": token})
    assert (status, body["code"]) == (403, 50013)
    assert (await running.api("GET", path))[0] == 404


async def test_grants_are_saved_with_the_world(running: Running) -> None:
    token = await token_for(running, "bob")
    await running.control("PUT", "/oauth2/redirect-uris", json={"redirect_uris": [REDIRECT]})
    sandbox = running.sandbox
    saved = sandbox.snapshot()
    sandbox.reset()
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await running.api("GET", "/users/@me", token=None, headers=bearer))[0] == 401
    sandbox.restore(saved)
    status, me, _ = await running.api("GET", "/users/@me", token=None, headers=bearer)
    assert status == 200
    assert me["username"] == "bob"
    assert sandbox.state.world.redirect_uris == [REDIRECT]
