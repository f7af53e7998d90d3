"""Load shedding on the product's real server (`bot.build`, SQLite or PostgreSQL): beyond
`WEB_MAX_IN_FLIGHT` requests in flight, 503 with Retry-After at once; probes, metrics and OAuth
callbacks are always answered; a shed change writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from bot.settings import Settings
from provisioning.courses.spec import CourseSpec, parse_course
from sandbox.server import SandboxServer
from tests.conftest import make_course
from tests.e2e.discordpy import Built, build
from tests.fakes.clocks import ManualClock
from tests.web.conftest import SECRET
from tests.web.held_requests import HeldRequest, hold
from tests.web.pages.browser_steps import new_context, shoot
from web.load_shedding import RETRY_AFTER_S
from web.openapi import build_openapi

LIMIT = 2


@pytest.fixture
async def busy(
    database_url: str, sandbox: SandboxServer, clock: ManualClock
) -> AsyncIterator[Built]:
    """The product as `python -m bot` builds it, serving at most LIMIT requests at once."""
    settings = Settings(
        database_url=database_url,
        sandbox_url=sandbox.base_url,
        rate_scale=1e9,
        secret_key=SECRET,
        web_max_in_flight=LIMIT,
    )
    async with AsyncExitStack() as stack:
        yield await build(settings, stack, clock=clock)


@pytest.fixture
async def base_url(busy: Built) -> AsyncIterator[str]:
    server = TestServer(busy.web_app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def token(busy: Built) -> str:
    return await busy.tokens.create("writer")


def saturate(base_url: str, token: str) -> AbstractAsyncContextManager[list[HeldRequest]]:
    """LIMIT held `POST /courses` filling every slot."""
    courses = [make_course(code=f"HELD{i}") for i in range(LIMIT)]
    return hold(base_url, token, courses, probe="/courses")


async def test_over_the_limit_requests_get_503_with_retry_after_and_a_problem(
    busy: Built, base_url: str, token: str, http: aiohttp.ClientSession
) -> None:
    """With every slot held, a burst of status polls all get 503 at once, with Retry-After and
    the documented problem body; /healthz, /readyz and /metrics still answer 200 (the metrics
    count the shed requests); the held requests, admitted before, complete normally, and
    afterwards the polls are served."""
    auth = {"Authorization": f"Bearer {token}"}
    course_id = (await busy.courses.create(_spec("POLLED"), actor="test")).id
    status_url = f"{base_url}/courses/{course_id}/status"

    async def poll() -> tuple[int, str | None, str, dict[str, object]]:
        async with http.get(status_url, headers=auth) as response:
            body = await response.json(content_type=None)
            retry_after = response.headers.get("Retry-After")
            return response.status, retry_after, response.content_type, body

    async with saturate(base_url, token) as held:
        burst = await asyncio.gather(*(poll() for _ in range(20)))
        for status, retry_after, content_type, body in burst:
            assert status == 503
            assert retry_after == str(RETRY_AFTER_S)
            assert content_type == "application/problem+json"
            assert body["status"] == 503
            assert body["title"] == "Service Unavailable"
            assert body["instance"] == f"/courses/{course_id}/status"
            assert f"retry in {RETRY_AFTER_S} s" in str(body["detail"])
        for probe in ("/healthz", "/readyz", "/metrics"):
            async with http.get(f"{base_url}{probe}") as response:
                assert response.status == 200, probe
                text = await response.text()
        # The burst, and the probe that saw the slots full.
        assert _sample(text, 'web_requests_shed_total{kind="api"}') >= 20
        assert [await request.finish() for request in held] == [201] * LIMIT

    answers = await asyncio.gather(*(poll() for _ in range(10)))
    statuses = [status for status, *_ in answers]
    # Ten at once over a limit of two: the first is served, those overlapping it may be shed.
    assert set(statuses) <= {200, 503}
    assert 200 in statuses
    status, *_ = await poll()
    assert status == 200


async def test_a_shed_change_writes_nothing_and_can_be_sent_again(
    busy: Built, base_url: str, token: str, http: aiohttp.ClientSession
) -> None:
    """A POST and a PUT shed while the slots are held leave no row and no change; the POST's
    Idempotency-Key is not spent: the same request sent again after the load creates the
    course (201, not a replayed 503), and the PUT sent again applies."""
    auth = {"Authorization": f"Bearer {token}"}
    course_id = (await busy.courses.create(_spec("KEPT"), actor="test")).id
    new = make_course(code="SHED1")
    changed = {**make_course(code="KEPT"), "title": "Renamed while busy"}
    post_headers = {**auth, "Idempotency-Key": "shed-once"}
    course_url = f"{base_url}/courses/{course_id}"

    async with saturate(base_url, token) as held:
        async with http.post(f"{base_url}/courses", json=new, headers=post_headers) as response:
            assert response.status == 503
            assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
        async with http.put(course_url, json=changed, headers=auth) as response:
            assert response.status == 503
            assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
        assert [await request.finish() for request in held] == [201] * LIMIT

    async with http.get(f"{base_url}/courses?limit=100", headers=auth) as response:
        codes = {course["code"] for course in (await response.json())["items"]}
    assert codes == {"KEPT", "HELD0", "HELD1"}
    async with http.get(course_url, headers=auth) as response:
        assert (await response.json())["title"] == "Introduction to Programming"

    async with http.post(f"{base_url}/courses", json=new, headers=post_headers) as response:
        assert response.status == 201, await response.text()
    async with http.put(course_url, json=changed, headers=auth) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["course"]["title"] == "Renamed while busy"


async def test_pages_get_a_busy_page_and_sign_in_callbacks_are_never_shed(
    busy: Built,
    base_url: str,
    token: str,
    http: aiohttp.ClientSession,
    browser: Browser,
    artifacts: Path,
) -> None:
    """While saturated, a page opens in Chromium as an HTML page (styled: the stylesheet is
    never shed) saying the server is busy and to retry in N seconds (503, Retry-After); the
    OAuth callbacks of the join page and of the Discord sign-in reach their handlers (which
    refuse a forged state) instead, and the files of the pages and of the API docs are served."""
    async with saturate(base_url, token):
        context = await new_context(browser)
        page = await context.new_page()
        response = await page.goto(f"{base_url}/app/courses")
        assert response is not None
        assert response.status == 503
        assert response.headers["retry-after"] == str(RETRY_AFTER_S)
        await page.get_by_role("heading", name="The server is busy").wait_for()
        text = await page.locator("main").inner_text()
        assert f"Try again in {RETRY_AFTER_S} second" in text
        assert "Nothing was changed" in text
        await shoot(page, artifacts, "busy")
        await context.close()

        for callback in ("/join-oauth/github/callback", "/app/sign-in/discord/callback"):
            async with http.get(f"{base_url}{callback}?code=x&state=forged") as response:
                assert response.status in (400, 403), (callback, response.status)
                assert "Retry-After" not in response.headers, callback
        for asset in ("/app/static/app.css", "/docs/static/swagger-ui.css", "/docs/init.js"):
            async with http.get(f"{base_url}{asset}") as response:
                assert response.status == 200, asset
        shed = busy.metrics.registry.get_sample_value("web_requests_shed_total", {"kind": "page"})
        assert shed == 1


def test_the_openapi_document_lists_the_503_of_every_api_operation() -> None:
    """Every operation under /courses and /audit documents 503 with Retry-After and the
    problem body; the probes do not (they are never shed)."""
    paths = build_openapi()["paths"]
    api = [
        op
        for path, ops in paths.items()
        if path.startswith(("/courses", "/audit"))
        for op in ops.values()
    ]
    assert len(api) > 10
    for operation in api:
        busy = operation["responses"]["503"]
        assert busy["headers"]["Retry-After"]["required"] is True
        schema = busy["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}
    assert "503" not in paths["/healthz"]["get"]["responses"]


def _spec(code: str) -> CourseSpec:
    return parse_course(make_course(code=code))


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} is not in /metrics")
