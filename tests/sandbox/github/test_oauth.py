"""Sign in with GitHub in the sandbox: the authorize page, the code exchange (JSON or form,
errors answered 200 as GitHub does) and `GET /user` with the person's token."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

from sandbox.core.clock import ManualClock
from sandbox.github.config import OAuthAppSpec
from sandbox.server import SandboxServer
from tests.sandbox.consent import browser_session, decide, open_page
from tests.sandbox.github.conftest import make_client
from tests.sandbox.github.contract import response_errors

APP = OAuthAppSpec()
REDIRECT = "http://127.0.0.1:8080/auth/github/callback"


def authorize_url(server: SandboxServer, **params: str) -> str:
    query = {
        "client_id": APP.client_id,
        "redirect_uri": REDIRECT,
        "scope": "read:user",
        "state": "xyz",
        **params,
    }
    return f"{server.base_url}/login/oauth/authorize?{urlencode(query)}"


async def code_for(server: SandboxServer, login: str, **params: str) -> str:
    async with browser_session() as http:
        status, location, page = await decide(http, authorize_url(server, **params), login)
    assert status == 302, page
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(REDIRECT + "?")
    assert query["state"] == ["xyz"]
    return query["code"][0]


async def exchange(
    server: SandboxServer, form: dict[str, str], *, as_json: bool = True
) -> tuple[int, dict[str, Any]]:
    headers = {"Accept": "application/json"} if as_json else {}
    body = {"client_id": APP.client_id, "client_secret": APP.client_secret, **form}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.base_url}/login/oauth/access_token", data=body, headers=headers) as r,
    ):
        if as_json:
            assert r.content_type == "application/json"
            return r.status, await r.json()
        assert r.content_type == "application/x-www-form-urlencoded"
        return r.status, {k: v[0] for k, v in parse_qs(await r.text()).items()}


async def test_sign_in_with_github_end_to_end(server: SandboxServer, run: Any) -> None:
    code = await code_for(server, "ada")
    status, body = await exchange(server, {"code": code, "redirect_uri": REDIRECT})
    assert status == 200, body
    assert body["token_type"] == "bearer"
    assert body["scope"] == "read:user"
    token = body["access_token"]
    assert token.startswith("gho_")
    for scheme in ("Bearer", "token"):
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{server.github_api_url}/user", headers={"Authorization": f"{scheme} {token}"}
            ) as r,
        ):
            assert r.status == 200
            user = await r.json()
        assert user["login"] == "ada"
        assert isinstance(user["id"], int)
        assert response_errors("GET", "/user", 200, user) == []
    # PyGithub, as the product would use it with the person's token.
    gh = make_client(server.github_api_url, token=token)
    try:
        assert await run(lambda: gh.get_user().login) == "ada"
    finally:
        gh.close()


async def test_form_encoded_answer_without_accept_json(server: SandboxServer) -> None:
    code = await code_for(server, "grace")
    status, body = await exchange(server, {"code": code}, as_json=False)
    assert status == 200
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith("gho_")


async def test_bad_codes_answer_200_with_an_error(
    server: SandboxServer, clock: ManualClock
) -> None:
    code = await code_for(server, "ada")
    assert (await exchange(server, {"code": code}))[1]["access_token"]
    status, body = await exchange(server, {"code": code})
    assert status == 200
    assert body["error"] == "bad_verification_code"
    assert "access_token" not in body
    status, body = await exchange(server, {"code": "0" * 20}, as_json=False)
    assert (status, body["error"]) == (200, "bad_verification_code")

    other = await code_for(server, "ada")
    status, body = await exchange(server, {"code": other, "redirect_uri": "http://127.0.0.1:9/x"})
    assert (status, body["error"]) == (200, "redirect_uri_mismatch")

    late = await code_for(server, "ada")
    clock.advance(601)
    assert (await exchange(server, {"code": late}))[1]["error"] == "bad_verification_code"

    fresh = await code_for(server, "ada")
    status, body = await exchange(server, {"code": fresh, "client_secret": "nope"})
    assert (status, body["error"]) == (200, "incorrect_client_credentials")


async def test_cancel_and_bad_links(server: SandboxServer, http: aiohttp.ClientSession) -> None:
    async with browser_session() as browser:
        status, location, _ = await decide(browser, authorize_url(server), "ada", "cancel")
        assert status == 302
        query = parse_qs(urlsplit(location).query)
        assert query["error"] == ["access_denied"]
        assert query["state"] == ["xyz"]
        assert "code" not in query

        status, page = await open_page(browser, authorize_url(server, client_id="nope"))
        assert status == 404
        assert "<form" not in page
        evil = authorize_url(server, redirect_uri="https://attacker.example/cb")
        status, page = await open_page(browser, evil)
        assert status == 400
        assert "is not associated with this application" in page
        assert "<form" not in page

    # A registered callback URL is accepted, and is the default without redirect_uri.
    registered = "https://course.example.edu/auth/github"
    async with http.post(
        "/_sandbox/github/oauth-app/callback-urls", json={"callback_url": registered}
    ) as r:
        assert r.status == 201
        app = await r.json()
    assert app["callback_urls"] == [registered]
    assert (app["client_id"], app["client_secret"]) == (APP.client_id, APP.client_secret)
    async with browser_session() as browser:
        status, location, _ = await decide(browser, authorize_url(server, redirect_uri=""), "bob-b")
    assert status == 302
    assert location.startswith(registered + "?")


async def test_unknown_scopes_are_dropped_and_the_grant_is_saved(
    server: SandboxServer,
) -> None:
    code = await code_for(server, "ada", scope="read:user,user:email,made:up")
    _status, body = await exchange(server, {"code": code})
    assert body["scope"] == "read:user,user:email"
    github = server.emulator("github")
    saved = github.snapshot()
    github.reset()
    github.restore(saved)
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{server.github_api_url}/user",
            headers={"Authorization": f"Bearer {body['access_token']}"},
        ) as r,
    ):
        assert r.status == 200
