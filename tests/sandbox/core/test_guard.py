"""The control API refuses what another web page could send: no secret, not JSON, foreign origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from sandbox.console.csrf import CSRF_HEADER, csrf_token
from sandbox.core.guard import SECRET_COOKIE, SECRET_HEADER
from sandbox.server import SandboxServer

TOKEN = {"Authorization": "token sandbox-github-token"}
CREATE = "/api/v3/orgs/demo-university/repos"
NEW_ORG = {"login": "evil-org", "plan": "team"}


@pytest.fixture
async def stranger(server: SandboxServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A client without the secret, as a web page in the developer's browser would be."""
    # unsafe: keep cookies from an IP address host, as a browser does.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(server.base_url, cookie_jar=jar) as session:
        yield session


async def _org_exists(http: aiohttp.ClientSession, login: str) -> bool:
    async with http.get(f"/api/v3/orgs/{login}", headers=TOKEN) as resp:
        return resp.status == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_cross_site_form_post_is_refused_and_changes_nothing(
    stranger: aiohttp.ClientSession, http: aiohttp.ClientSession, content_type: str, tmp_path: Path
) -> None:
    """A form-like post without the secret changes no org, fault, world or file."""
    async with http.post(CREATE, json={"name": "kept"}) as resp:
        assert resp.status == 201
    headers = {"Content-Type": content_type, "Origin": "http://evil.example"}
    posts = [
        ("/_sandbox/github/orgs", '{"login": "evil-org", "plan": "team"}'),
        ("/_sandbox/faults", '{"kind": "status"}'),
        ("/_sandbox/reset", ""),
        ("/_sandbox/save", '{"path": "evil.json"}'),
    ]
    for path, body in posts:
        async with stranger.post(path, data=body, headers=headers) as resp:
            assert resp.status in (401, 403, 415), (path, resp.status)
    assert not await _org_exists(http, "evil-org")
    async with http.get("/_sandbox/faults") as resp:
        assert await resp.json() == []
    async with http.get("/api/v3/repos/demo-university/kept") as resp:
        assert resp.status == 200  # the reset did not happen
    assert not (tmp_path / "evil.json").exists()


async def test_json_without_the_secret_is_401_and_with_a_wrong_one_403(
    stranger: aiohttp.ClientSession, http: aiohttp.ClientSession
) -> None:
    """JSON alone is not enough: no secret → 401 naming the header, a wrong one → 403."""
    async with stranger.post("/_sandbox/github/orgs", json=NEW_ORG) as resp:
        assert resp.status == 401
        assert SECRET_HEADER in (await resp.json())["message"]
    wrong = {SECRET_HEADER: "guessed"}
    async with stranger.post("/_sandbox/github/orgs", json=NEW_ORG, headers=wrong) as resp:
        assert resp.status == 403
    async with stranger.delete("/_sandbox/faults", headers=wrong) as resp:
        assert resp.status == 403
    assert not await _org_exists(http, "evil-org")


async def test_the_secret_with_a_non_json_body_is_415(
    server: SandboxServer, stranger: aiohttp.ClientSession, http: aiohttp.ClientSession
) -> None:
    """Even with the secret, a body that is not application/json is refused (415)."""
    headers = {**server.control_headers, "Content-Type": "text/plain"}
    body = '{"login": "evil-org", "plan": "team"}'
    async with stranger.post("/_sandbox/github/orgs", data=body, headers=headers) as resp:
        assert resp.status == 415
        assert "application/json" in (await resp.json())["message"]
    assert not await _org_exists(http, "evil-org")


async def test_the_secret_with_json_is_accepted(
    server: SandboxServer, stranger: aiohttp.ClientSession, http: aiohttp.ClientSession
) -> None:
    """The header secret and a JSON body (or no body) let a client act."""
    headers = server.control_headers
    async with stranger.post("/_sandbox/github/orgs", json=NEW_ORG, headers=headers) as resp:
        assert resp.status == 201
    async with stranger.post("/_sandbox/reset", headers=headers) as resp:
        assert resp.status == 200
    assert not await _org_exists(http, "evil-org")


async def test_a_foreign_origin_is_refused_even_with_the_secret(
    server: SandboxServer, stranger: aiohttp.ClientSession, http: aiohttp.ClientSession
) -> None:
    """A request whose Origin is not the sandbox itself is refused (403)."""
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{server.port + 1}"):
        headers = {**server.control_headers, "Origin": origin}
        async with stranger.post("/_sandbox/github/orgs", json=NEW_ORG, headers=headers) as resp:
            assert resp.status == 403, origin
    same = {**server.control_headers, "Origin": server.base_url}
    async with stranger.post("/_sandbox/github/orgs", json=NEW_ORG, headers=same) as resp:
        assert resp.status == 201


async def test_a_rebound_host_name_is_refused(
    server: SandboxServer, stranger: aiohttp.ClientSession
) -> None:
    """A name other than 127.0.0.1/localhost (DNS rebinding) gets neither pages nor actions."""
    evil = {"Host": f"evil.example:{server.port}"}
    async with stranger.get("/_sandbox/", headers=evil) as resp:
        assert resp.status == 403
        assert SECRET_COOKIE not in resp.cookies
    headers = {**server.control_headers, **evil}
    async with stranger.post("/_sandbox/github/orgs", json=NEW_ORG, headers=headers) as resp:
        assert resp.status == 403


async def test_reads_stay_open_and_the_page_sets_the_cookie(
    server: SandboxServer, stranger: aiohttp.ClientSession, http: aiohttp.ClientSession
) -> None:
    """The pages and the journal need no secret; the page's cookie, with the CSRF token its
    forms carry, then lets JSON posts act (without the token: 403)."""
    async with stranger.get("/_sandbox/requests") as resp:
        assert resp.status == 200
    async with stranger.get("/_sandbox/") as resp:
        assert resp.status == 200
        cookie = resp.cookies[SECRET_COOKIE]
    assert cookie.value == server.control_secret
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    # The session now carries the cookie, as the browser that opened the page would.
    async with stranger.post("/_sandbox/github/orgs", json=NEW_ORG) as resp:
        assert resp.status == 403
        assert CSRF_HEADER in (await resp.json())["message"]
    token = {CSRF_HEADER: csrf_token(server.control_secret)}
    async with stranger.post("/_sandbox/github/orgs", json=NEW_ORG, headers=token) as resp:
        assert resp.status == 201
    assert await _org_exists(http, "evil-org")


async def test_the_cookie_alone_needs_a_json_content_type(
    server: SandboxServer, stranger: aiohttp.ClientSession, http: aiohttp.ClientSession
) -> None:
    """With the cookie but no header, a form post or a bodiless post is refused (415)."""
    async with http.post(CREATE, json={"name": "kept"}):
        pass
    stranger.cookie_jar.update_cookies({SECRET_COOKIE: server.control_secret})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with stranger.post("/_sandbox/reset", data="", headers=form) as resp:
        assert resp.status == 415
    async with stranger.post("/_sandbox/reset") as resp:
        assert resp.status == 415
    async with http.get("/api/v3/repos/demo-university/kept") as resp:
        assert resp.status == 200


async def test_platform_apis_keep_their_own_token_auth(
    stranger: aiohttp.ClientSession,
) -> None:
    """/api/v3 needs its token as before, and no control secret."""
    async with stranger.post(CREATE, json={"name": "lab"}) as resp:
        assert resp.status == 401
    async with stranger.post(CREATE, json={"name": "lab"}, headers=TOKEN) as resp:
        assert resp.status == 201


async def test_the_secret_is_written_for_the_developer(
    server: SandboxServer, state_file: Path
) -> None:
    """The file next to the state file holds this run's secret, readable by its owner only."""
    assert server.secret_path == state_file.with_suffix(".secret")
    assert server.secret_path is not None
    assert server.secret_path.read_text().strip() == server.control_secret
    assert server.secret_path.stat().st_mode & 0o777 == 0o600


async def test_each_run_has_its_own_secret(server: SandboxServer) -> None:
    """A new server makes a new secret, so an old one leaked from a past run is useless."""
    other = SandboxServer([])
    assert other.control_secret != server.control_secret
    assert len(server.control_secret) >= 32


def test_the_sandbox_listens_on_loopback_only() -> None:
    """Asking for another interface is refused, naming the field."""
    with pytest.raises(ValueError, match="host"):
        SandboxServer([], host="0.0.0.0")
