"""POST /courses and PUT /courses/{id} share one Idempotency-Key contract (web.idempotent)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.idempotency import IdempotencyStore, StoredResponse
from db.models import Step
from tests.web.conftest import Client, create_course
from web.app import create_app
from web.services import Services

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]
KEY = "order-7"
TWIN_BODY = '{"answered": "by the twin"}'


class TwinCommitsFirst(IdempotencyStore):
    """The real store, except that a concurrent twin of the request stores its answer right
    after the request's own lookup found nothing (the race the decorator must replay)."""

    # Delegates to the real store instead of building a second one on the same database.
    def __init__(self, real: IdempotencyStore, twin: StoredResponse) -> None:
        self._real = real
        self._twin: StoredResponse | None = twin

    async def lookup(self, token_id: int, key: str) -> StoredResponse | None:
        found = await self._real.lookup(token_id, key)
        if self._twin is not None:
            await self._real.save(token_id, key, self._twin)
            self._twin = None
        return found

    async def add(
        self, session: AsyncSession, token_id: int, key: str, response: StoredResponse
    ) -> None:
        await self._real.add(session, token_id, key, response)

    async def save(self, token_id: int, key: str, response: StoredResponse) -> StoredResponse:
        return await self._real.save(token_id, key, response)


def _twin(method: str, path: str, raw: bytes, status: int, course_id: str | None) -> StoredResponse:
    return StoredResponse(
        hashlib.sha256(raw).hexdigest(), method, path, status, TWIN_BODY, course_id
    )


async def _send_racing(
    services: Services,
    auth: dict[str, str],
    method: str,
    path: str,
    raw: bytes,
    twin: StoredResponse,
) -> tuple[int, str, dict[str, str]]:
    """Send ``raw`` with KEY to an app whose store lets ``twin`` commit first."""
    raced = dataclasses.replace(services, idempotency=TwinCommitsFirst(services.idempotency, twin))
    headers = {**auth, "Idempotency-Key": KEY, "Content-Type": "application/json"}
    async with TestClient(TestServer(create_app(raced), host="127.0.0.1")) as racing:
        response = await racing.request(method, path, data=raw, headers=headers)
        return response.status, await response.text(), dict(response.headers)


async def _count(client: Client, auth: dict[str, str]) -> int:
    response = await client.get("/courses", params={"limit": 100}, headers=auth)
    return len((await response.json())["items"])


async def test_post_raced_by_a_twin_replays_the_twin_and_stores_no_course(
    client: Client, services: Services, auth: dict[str, str], course_data: Factory
) -> None:
    """A POST whose key a twin stored during its transaction rolls back and replays the twin."""
    raw = json.dumps(course_data()).encode()
    twin = _twin("POST", "/courses", raw, 201, None)
    status, text, headers = await _send_racing(services, auth, "POST", "/courses", raw, twin)
    assert (status, text) == (201, TWIN_BODY)
    assert headers["Idempotent-Replayed"] == "true"
    assert await _count(client, auth) == 0


async def test_put_raced_by_a_twin_replays_the_twin_and_changes_nothing(
    client: Client, services: Services, auth: dict[str, str], course_data: Factory
) -> None:
    """A PUT whose key a twin stored during its transaction rolls back and replays the twin."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    changed = copy.deepcopy(data)
    changed["students"].append({"name": "Nora New", "github": "nora-n"})
    raw = json.dumps(changed).encode()
    path = f"/courses/{course_id}"
    twin = _twin("PUT", path, raw, 200, course_id)
    status, text, headers = await _send_racing(services, auth, "PUT", path, raw, twin)
    assert (status, text) == (200, TWIN_BODY)
    assert headers["Idempotent-Replayed"] == "true"
    stored = await (await client.get(path, headers=auth)).json()
    assert len(stored["spec"]["students"]) == 3


async def test_conflict_caused_by_a_twin_replays_the_twins_201(
    client: Client, services: Services, auth: dict[str, str], course_data: Factory
) -> None:
    """A keyed POST that conflicts with the course its own twin just created gets the 201."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    raw = json.dumps(data).encode()
    twin = _twin("POST", "/courses", raw, 201, course_id)
    status, text, headers = await _send_racing(services, auth, "POST", "/courses", raw, twin)
    assert (status, text) == (201, TWIN_BODY)
    assert headers["Idempotent-Replayed"] == "true"
    assert headers["Location"] == f"/courses/{course_id}"
    assert await _count(client, auth) == 1


async def test_a_keyed_conflict_is_stored_and_replayed(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """A keyed POST that conflicts answers 409; its retry replays that 409, marked replayed."""
    course_id = await create_course(client, auth, course_data())
    headers = {**auth, "Idempotency-Key": KEY}
    first = await client.post("/courses", json=course_data(), headers=headers)
    again = await client.post("/courses", json=course_data(), headers=headers)
    assert (first.status, again.status) == (409, 409)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content_type == "application/problem+json"
    assert await again.json() == await first.json()
    assert (await first.json())["course_id"] == course_id


async def test_a_key_first_used_on_post_is_422_on_put(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """Keys are shared by both routes: a POST's key sent again with a PUT is refused, 422."""
    data = course_data()
    headers = {**auth, "Idempotency-Key": KEY}
    created = await client.post("/courses", json=data, headers=headers)
    path = created.headers["Location"]
    response = await client.put(path, json=data, headers=headers)
    assert response.status == 422
    assert (await response.json())["title"] == "Idempotency key reused"


async def test_a_refused_put_is_not_stored(
    client: Client, auth: dict[str, str], course_data: Factory, session_factory: Sessions
) -> None:
    """A 409 refusal changed nothing and is not kept: once the obstacle is gone, the same
    keyed PUT succeeds (not replayed)."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    invite = Step.course_id == course_id
    async with session_factory.begin() as session:
        await session.execute(update(Step).where(invite).values(state="succeeded", external_id="1"))
    dropped = copy.deepcopy(data)
    dropped["students"].pop(0)
    headers = {**auth, "Idempotency-Key": KEY}
    path = f"/courses/{course_id}"
    assert (await client.put(path, json=dropped, headers=headers)).status == 409
    async with session_factory.begin() as session:
        await session.execute(
            update(Step).where(invite).values(state="pending", attempts=0, external_id=None)
        )
    response = await client.put(path, json=dropped, headers=headers)
    assert response.status == 200, await response.text()
    assert "Idempotent-Replayed" not in response.headers
    assert (await response.json())["removed"] == [
        "github.invite:students:student-0",
        "email.join:s0@example.edu",
    ]


async def test_a_malformed_course_id_is_404_before_the_key_is_read(
    client: Client, auth: dict[str, str]
) -> None:
    """PUT to an id that cannot name a course is 404 even with a malformed key and no body."""
    headers = {**auth, "Idempotency-Key": "has space"}
    response = await client.put("/courses/not-a-uuid", data=b"", headers=headers)
    assert response.status == 404
