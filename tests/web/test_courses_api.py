"""The courses REST API against a real server: creation, conflicts, idempotency, reads, retry."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from db.models import Step
from tests.web.conftest import Client
from web.services import Services

Factory = Callable[..., dict[str, Any]]


async def _count(client: Client, auth: dict[str, str]) -> int:
    response = await client.get("/courses", params={"limit": 100}, headers=auth)
    return len((await response.json())["items"])


async def test_create_returns_201_location_and_the_course(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """POST /courses answers 201 with a Location that serves the same course."""
    response = await client.post("/courses", json=course_data(), headers=auth)
    assert response.status == 201
    body = await response.json()
    assert response.headers["Location"] == f"/courses/{body['id']}"
    again = await client.get(response.headers["Location"], headers=auth)
    assert again.status == 200
    assert await again.json() == body
    assert body["spec"]["code"] == "CS101"


async def test_same_code_and_term_is_409_with_existing_id(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """Creating the same code and term twice answers 409 naming the existing course."""
    first = await (await client.post("/courses", json=course_data(), headers=auth)).json()
    response = await client.post("/courses", json=course_data(), headers=auth)
    assert response.status == 409
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["course_id"] == first["id"]
    assert problem["status"] == 409


async def test_idempotency_key_replays_first_answer(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """A retried POST with the same key and body gets the first answer; one course exists."""
    headers = {**auth, "Idempotency-Key": "abc-123"}
    first = await client.post("/courses", json=course_data(), headers=headers)
    second = await client.post("/courses", json=course_data(), headers=headers)
    assert (first.status, second.status) == (201, 201)
    assert await first.read() == await second.read()
    assert second.headers["Location"] == first.headers["Location"]
    assert await _count(client, auth) == 1


async def test_idempotency_key_with_other_body_is_422(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """Reusing a key for a different body is refused with 422 and creates nothing."""
    headers = {**auth, "Idempotency-Key": "abc-123"}
    await client.post("/courses", json=course_data(), headers=headers)
    response = await client.post("/courses", json=course_data(code="CS202"), headers=headers)
    assert response.status == 422
    assert (await response.json())["title"] == "Idempotency key reused"
    assert await _count(client, auth) == 1


async def test_idempotency_key_must_be_printable_ascii(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """Keys with spaces or bytes outside ASCII are refused with 400 before anything is stored."""
    for key in ("has space", "k\u00ff"):
        headers = {**auth, "Idempotency-Key": key}
        response = await client.post("/courses", json=course_data(), headers=headers)
        assert response.status == 400, key
    assert await _count(client, auth) == 0


async def test_list_paginates_with_next_link(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """GET /courses pages with `limit` and follows `next` links to the end."""
    for i in range(5):
        await client.post("/courses", json=course_data(code=f"CS{100 + i}"), headers=auth)
    codes: list[str] = []
    url: str | None = "/courses?limit=2"
    while url is not None:
        response = await client.get(url, headers=auth)
        assert response.status == 200
        page = await response.json()
        codes += [c["code"] for c in page["items"]]
        url = page["next"]
    assert codes == [f"CS{100 + i}" for i in range(5)]


async def test_bad_limit_and_cursor_are_400(client: Client, auth: dict[str, str]) -> None:
    """Out-of-range limits and foreign cursors are client errors, as problem+json."""
    crafted = [
        base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
        for body in (["2027-01-01T00:00:00+00:00", "a\u0000b"], ["2027-01-01T00:00:00", "x"])
    ]
    queries = ["limit=0", "limit=101", "limit=abc", "cursor=garbage"]
    for query in [*queries, *(f"cursor={c}" for c in crafted)]:
        response = await client.get(f"/courses?{query}", headers=auth)
        assert response.status == 400, query
        assert response.content_type == "application/problem+json"


async def test_unknown_course_is_404(client: Client, auth: dict[str, str]) -> None:
    """Unknown or malformed course ids answer 404 problem+json on every course route."""
    for path in (
        "/courses/00000000-0000-4000-8000-000000000000",
        "/courses/not-an-id/status",
    ):
        response = await client.get(path, headers=auth)
        assert response.status == 404
        assert (await response.json())["status"] == 404


async def test_status_lists_steps_and_derived_state(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """GET /courses/{id}/status shows the derived state, counts and every step."""
    created = await (await client.post("/courses", json=course_data(), headers=auth)).json()
    response = await client.get(f"/courses/{created['id']}/status", headers=auth)
    assert response.status == 200
    status = await response.json()
    assert status["state"] == "pending"
    assert status["counts"]["pending"] == len(status["steps"]) > 0
    assert {"key", "kind", "state", "attempts", "last_error", "action_hint"} <= set(
        status["steps"][0]
    )


async def test_retry_is_409_with_nothing_failed_and_202_after_a_failure(
    client: Client, auth: dict[str, str], course_data: Factory, services: Services
) -> None:
    """Retry answers 409 when nothing failed, and 202 with the reset steps after a failure and
    the status summary after it (the same as the status's, without steps: a link to them)."""
    created = await (await client.post("/courses", json=course_data(), headers=auth)).json()
    retry_url = f"/courses/{created['id']}/retry"
    assert (await client.post(retry_url, headers=auth)).status == 409
    sessions = services.courses._sessions  # test-only reach-in to simulate the runner failing
    async with sessions.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == created["id"], Step.key == "github.team:students")
            .values(state="failed", last_error="GitHub said no")
        )
    response = await client.post(retry_url, headers=auth)
    assert response.status == 202
    body = await response.json()
    assert body["retried"] == ["github.team:students"]
    status_url = f"/courses/{created['id']}/status"
    assert body["status"]["steps_url"] == status_url
    status = await (await client.get(status_url, headers=auth)).json()
    # The bot's server count (`discord_servers`) is the deployment's, not the course's: only
    # the status page carries it.
    summary = {k: v for k, v in status.items() if k not in ("steps", "next", "discord_servers")}
    assert {k: v for k, v in body["status"].items() if k != "steps_url"} == summary
    assert summary["state"] == "pending"
    assert sum(summary["counts"].values()) == len(status["steps"])
