"""Fault injection: each kind, matching by method/path/platform, count, probability."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
import requests
from github import GithubException, RateLimitExceededException

from sandbox.server import SandboxServer
from tests.sandbox.github.conftest import make_client

CREATE = "/api/v3/orgs/demo-university/repos"


async def add_fault(http: aiohttp.ClientSession, **rule: Any) -> dict[str, Any]:
    async with http.post("/_sandbox/faults", json=rule) as resp:
        assert resp.status == 201, await resp.text()
        data: dict[str, Any] = await resp.json()
        return data


async def test_status_fault_fires_count_times(http: aiohttp.ClientSession) -> None:
    """A 502 rule with count=1 fails the first matching request only."""
    await add_fault(http, kind="status", status=502, method="POST", path="/orgs/*/repos", count=1)
    async with http.post(CREATE, json={"name": "x"}) as resp:
        assert resp.status == 502
        assert (await resp.json())["message"] == "Bad Gateway"
    async with http.post(CREATE, json={"name": "x"}) as resp:
        assert resp.status == 201


async def test_regex_and_method_must_match(http: aiohttp.ClientSession) -> None:
    """A rule on POST by regex leaves GETs and other paths alone."""
    await add_fault(http, kind="status", method="POST", path_regex=r"^/orgs/[^/]+/teams$")
    async with http.get("/api/v3/orgs/demo-university/teams") as resp:
        assert resp.status == 200
    async with http.post("/api/v3/orgs/demo-university/teams", json={"name": "t"}) as resp:
        assert resp.status == 500


async def test_probability_zero_never_fires(http: aiohttp.ClientSession) -> None:
    """A rule with probability 0 never interferes."""
    await add_fault(http, kind="status", probability=0.0)
    async with http.get("/api/v3/orgs/demo-university") as resp:
        assert resp.status == 200


async def test_github_rate_limit_fault_is_secondary_403(server: SandboxServer, run: Any) -> None:
    """A GitHub rate_limit fault answers the secondary-limit 403 PyGithub recognises."""
    server.faults.add(_rule(kind="rate_limit", platform="github", retry_after=30))
    client = make_client(server.github_api_url)
    with pytest.raises(RateLimitExceededException) as err:
        await run(client.get_organization, "demo-university")
    client.close()
    assert err.value.headers["retry-after"] == "30"


async def test_discord_rate_limit_fault_has_via_and_retry_after(
    http: aiohttp.ClientSession,
) -> None:
    """A Discord 429 carries Via, Retry-After and JSON retry_after/global, as discord.py needs."""
    await add_fault(http, kind="rate_limit", platform="discord", retry_after=2.5)
    async with http.post("/api/v10/ping") as resp:
        assert resp.status == 429
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.headers["Via"]
        assert resp.headers["Retry-After"] == "3"
        assert await resp.json() == {
            "message": "You are being rate limited.",
            "retry_after": 2.5,
            "global": False,
        }


async def test_reset_drops_the_connection(server: SandboxServer, run: Any) -> None:
    """A reset fault closes the connection without an answer."""
    server.faults.add(_rule(kind="reset"))
    client = make_client(server.github_api_url)
    with pytest.raises(requests.exceptions.ConnectionError):
        await run(client.get_organization, "demo-university")
    client.close()
    entry = server.journal.query()[-1]
    assert entry.status is None
    assert entry.outcome.startswith("fault:reset")


async def test_timeout_hangs_until_the_client_gives_up(http: aiohttp.ClientSession) -> None:
    """A timeout fault never answers in time; the client's own timeout fires."""
    await add_fault(http, kind="timeout", delay=30.0)
    with pytest.raises(TimeoutError):
        await http.get("/api/v3/orgs/demo-university", timeout=aiohttp.ClientTimeout(total=0.2))


async def test_latency_delays_then_answers(http: aiohttp.ClientSession) -> None:
    """A latency fault answers normally after the delay."""
    await add_fault(http, kind="latency", delay=0.01)
    async with http.get("/api/v3/orgs/demo-university") as resp:
        assert resp.status == 200


async def test_apply_then_fail_creates_then_502(
    http: aiohttp.ClientSession, server: SandboxServer, run: Any
) -> None:
    """The repo is created although the answer is 502, so a retry gets the duplicate 422."""
    await add_fault(http, kind="apply_then_fail", status=502, method="POST", count=1)
    client = make_client(server.github_api_url)
    org = await run(client.get_organization, "demo-university")
    with pytest.raises(GithubException) as err:
        await run(org.create_repo, "lab", auto_init=True)
    assert err.value.status == 502
    with pytest.raises(GithubException) as dup:
        await run(org.create_repo, "lab", auto_init=True)
    assert dup.value.status == 422
    assert (await run(client.get_repo, "demo-university/lab")).name == "lab"
    client.close()


async def test_apply_then_drop_applies_the_change(
    http: aiohttp.ClientSession, server: SandboxServer, run: Any
) -> None:
    """status 0 drops the connection after the change was applied."""
    await add_fault(http, kind="apply_then_fail", status=0, method="POST", count=1)
    client = make_client(server.github_api_url)
    org = await run(client.get_organization, "demo-university")
    with pytest.raises(requests.exceptions.ConnectionError):
        await run(org.create_repo, "lab", auto_init=True)
    assert (await run(client.get_repo, "demo-university/lab")).name == "lab"
    client.close()


async def test_faults_can_be_listed_and_deleted(http: aiohttp.ClientSession) -> None:
    """GET lists the rules, DELETE clears them all."""
    rule = await add_fault(http, kind="status")
    async with http.get("/_sandbox/faults") as resp:
        assert [r["id"] for r in await resp.json()] == [rule["id"]]
    async with http.delete("/_sandbox/faults") as resp:
        assert resp.status == 204
    async with http.get("/api/v3/orgs/demo-university") as resp:
        assert resp.status == 200


async def test_invalid_rule_is_400(http: aiohttp.ClientSession) -> None:
    """A rule with an unknown kind or a bad status is refused."""
    async with http.post("/_sandbox/faults", json={"kind": "status", "status": 418}) as resp:
        assert resp.status == 400


def _rule(**fields: Any) -> Any:
    from sandbox.core.faults import FaultRule

    return FaultRule.model_validate(fields)


@pytest.fixture
def run() -> Any:
    def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return asyncio.to_thread(fn, *args, **kwargs)

    return _run


async def test_fault_answers_carry_the_journal_request_id(
    http: aiohttp.ClientSession, server: SandboxServer
) -> None:
    """A GitHub fault answer echoes the request id the journal recorded."""
    await add_fault(http, kind="status", status=503)
    async with http.get("/api/v3/orgs/demo-university") as resp:
        assert resp.status == 503
        assert resp.headers["x-github-request-id"] == server.journal.query()[-1].request_id
