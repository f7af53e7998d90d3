"""Authentication, primary and secondary rate limits, pagination and installation tokens."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from github import BadCredentialsException, Github, RateLimitExceededException

from sandbox.core.clock import ManualClock
from sandbox.github.config import GitHubWorld, Limits
from sandbox.github.ratelimit import RateLimiter
from sandbox.server import SandboxServer
from tests.sandbox.github.conftest import make_client


@pytest.fixture
def world() -> GitHubWorld:
    w = GitHubWorld()
    w.limits.primary_per_hour = 6
    w.limits.content_per_minute = 2
    return w


async def test_unknown_token_is_401_bad_credentials(
    server: SandboxServer, run: Callable[..., Any]
) -> None:
    """A token the sandbox does not know answers 401 "Bad credentials"."""
    client = make_client(server.github_api_url, token="not-a-token")
    with pytest.raises(BadCredentialsException) as err:
        await run(client.get_organization, "demo-university")
    client.close()
    assert err.value.data["message"] == "Bad credentials"
    assert "documentation_url" in err.value.data


async def test_bearer_scheme_is_accepted(http: aiohttp.ClientSession) -> None:
    """`Authorization: Bearer X` works like `token X`."""
    headers = {"Authorization": "Bearer sandbox-github-token"}
    async with http.get("/api/v3/user", headers=headers) as resp:
        assert resp.status == 200


async def test_rate_limit_headers_on_every_answer(http: aiohttp.ClientSession) -> None:
    """Successes and errors alike carry x-ratelimit-* and x-github-request-id."""
    for path in ("/api/v3/orgs/demo-university", "/api/v3/repos/demo-university/none"):
        async with http.get(path) as resp:
            for header in ("limit", "remaining", "used", "reset", "resource"):
                assert f"x-ratelimit-{header}" in resp.headers
            assert resp.headers["x-github-request-id"]


async def test_primary_limit_is_403_until_reset(
    gh: Github, run: Callable[..., Any], clock: ManualClock
) -> None:
    """Past the hourly quota, requests answer 403 "API rate limit exceeded" until the reset."""
    for _ in range(6):
        await run(gh.get_organization, "demo-university")
    with pytest.raises(RateLimitExceededException) as err:
        await run(gh.get_organization, "demo-university")
    assert err.value.status == 403
    assert err.value.data["message"].startswith("API rate limit exceeded for user ID")
    assert err.value.headers["x-ratelimit-remaining"] == "0"
    clock.advance(3600)
    await run(gh.get_organization, "demo-university")


async def test_secondary_content_limit_has_retry_after(
    http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """A burst of content-creating requests is answered 403 secondary limit with retry-after."""
    for name in ("a", "b"):
        async with http.post("/api/v3/orgs/demo-university/repos", json={"name": name}) as resp:
            assert resp.status == 201
    async with http.post("/api/v3/orgs/demo-university/repos", json={"name": "c"}) as resp:
        assert resp.status == 403
        assert "secondary rate limit" in (await resp.json())["message"]
        assert int(resp.headers["retry-after"]) >= 1
        assert int(resp.headers["x-ratelimit-remaining"]) > 0
    clock.advance(60)
    async with http.post("/api/v3/orgs/demo-university/repos", json={"name": "c"}) as resp:
        assert resp.status == 201


def test_concurrency_limit_refuses_the_extra_request() -> None:
    """More in-flight requests than allowed per credential are refused until one finishes."""
    limiter = RateLimiter(ManualClock(), Limits(concurrent_requests=2))
    assert limiter.enter("k")
    assert limiter.enter("k")
    assert not limiter.enter("k")
    limiter.leave("k")
    assert limiter.enter("k")


def test_rate_scale_shortens_windows() -> None:
    """With rate_scale=100 the hourly primary window resets after 36 seconds."""
    clock = ManualClock()
    limiter = RateLimiter(clock, Limits(primary_per_hour=1), rate_scale=100)
    assert not limiter.take_primary("k").exceeded
    assert limiter.take_primary("k").exceeded
    clock.advance(36)
    assert not limiter.take_primary("k").exceeded


async def test_link_pagination(
    gh: Github, run: Callable[..., Any], http: aiohttp.ClientSession, world: GitHubWorld
) -> None:
    """List endpoints page with per_page/page and a Link header PyGithub follows."""
    world.limits.content_per_minute = 100
    world.limits.primary_per_hour = 100
    for i in range(5):
        async with http.post("/api/v3/orgs/demo-university/teams", json={"name": f"t{i}"}) as r:
            assert r.status == 201
    async with http.get("/api/v3/orgs/demo-university/teams?per_page=2") as resp:
        assert len(await resp.json()) == 2
        assert 'rel="next"' in resp.headers["Link"]
        assert "page=3" in resp.headers["Link"]
    paged = make_client(gh.requester.base_url, per_page=2)
    org = await run(paged.get_organization, "demo-university")
    assert [t.slug for t in await run(lambda: list(org.get_teams()))] == [f"t{i}" for i in range(5)]
    paged.close()


def _jwt(app_id: int, exp: float) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'iss': app_id, 'exp': exp})}.sig"


async def test_installation_token_works_for_an_hour(
    http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """An app JWT mints an installation token that authenticates until it expires."""
    jwt = _jwt(1, clock.time() + 600)
    url = "/api/v3/app/installations/100/access_tokens"
    async with http.post(url, headers={"Authorization": f"Bearer {jwt}"}) as resp:
        assert resp.status == 201
        token = (await resp.json())["token"]
    auth = {"Authorization": f"token {token}"}
    async with http.get("/api/v3/orgs/demo-university", headers=auth) as resp:
        assert resp.status == 200
    clock.advance(3601)
    async with http.get("/api/v3/orgs/demo-university", headers=auth) as resp:
        assert resp.status == 401


async def test_jwt_for_unknown_app_is_401(http: aiohttp.ClientSession, clock: ManualClock) -> None:
    """A JWT whose issuer is not a configured app is refused."""
    jwt = _jwt(999, clock.time() + 600)
    url = "/api/v3/app/installations/100/access_tokens"
    async with http.post(url, headers={"Authorization": f"Bearer {jwt}"}) as resp:
        assert resp.status == 401
