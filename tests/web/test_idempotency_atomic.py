"""An Idempotency-Key's stored answer commits in the course's own transaction, or not at all."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.idempotency import IdempotencyKeyRacedError, StoredResponse
from provisioning.courses.service import CourseRecord, CourseService
from provisioning.courses.spec import parse_course
from tests.fakes.clocks import ManualClock
from tests.web.conftest import Client
from web.app import create_app
from web.idempotent import IdempotentRequest
from web.services import Services

Factory = Callable[..., dict[str, Any]]
KEY = "order-42"


class CrashBeforeCommitError(Exception):
    """Stands in for the process dying inside the transaction."""


async def _course_count(client: Client, auth: dict[str, str]) -> int:
    response = await client.get("/courses", params={"limit": 100}, headers=auth)
    return len((await response.json())["items"])


async def _keyed(services: Services, token: str, body: bytes) -> IdempotentRequest:
    info = await services.tokens.authenticate(token)
    assert info is not None
    return IdempotentRequest(
        store=services.idempotency,
        token_id=info.id,
        key=KEY,
        method="POST",
        path="/courses",
        request_hash=hashlib.sha256(body).hexdigest(),
    )


async def test_answer_lost_after_commit_is_replayed(
    client: Client,
    services: Services,
    auth: dict[str, str],
    course_data: Factory,
    session_factory: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    """A failure after the commit (the 201 never reaches the client) is healed by a replay."""

    def crash() -> None:
        raise RuntimeError("the process died after the commit")

    body = json.dumps(course_data())
    headers = {**auth, "Idempotency-Key": KEY, "Content-Type": "application/json"}
    # The service wakes the runner right after its commit: dying there loses only the answer.
    courses = CourseService(session_factory, clock, on_change=crash)
    crashing = create_app(dataclasses.replace(services, courses=courses))
    async with TestClient(TestServer(crashing, host="127.0.0.1")) as lost:
        assert (await lost.post("/courses", data=body, headers=headers)).status == 500
    replay = await client.post("/courses", data=body, headers=headers)
    assert replay.status == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    created = await replay.json()
    assert replay.headers["Location"] == f"/courses/{created['id']}"
    stored = await client.get(replay.headers["Location"], headers=auth)
    assert await stored.json() == created
    assert await _course_count(client, auth) == 1


async def test_failure_inside_the_transaction_stores_neither(
    client: Client, services: Services, token: str, auth: dict[str, str], course_data: Factory
) -> None:
    """If the transaction fails after the answer is written, neither course nor answer remains."""
    body = json.dumps(course_data()).encode()
    keyed = await _keyed(services, token, body)

    async def store_then_crash(session: AsyncSession, record: CourseRecord) -> None:
        await keyed.remember_within(session, 201, "{}", record.id)
        raise CrashBeforeCommitError

    with pytest.raises(CrashBeforeCommitError):
        await services.courses.create(
            parse_course(json.loads(body)), actor="api:writer", within=store_then_crash
        )
    assert await keyed.lookup() is None
    assert await _course_count(client, auth) == 0
    headers = {**auth, "Idempotency-Key": KEY, "Content-Type": "application/json"}
    retried = await client.post("/courses", data=body, headers=headers)
    assert retried.status == 201
    assert "Idempotent-Replayed" not in retried.headers


async def test_key_taken_inside_the_transaction_rolls_the_course_back(
    client: Client, services: Services, token: str, auth: dict[str, str], course_data: Factory
) -> None:
    """A key a concurrent request stored first makes the course's transaction roll back."""
    body = json.dumps(course_data()).encode()
    keyed = await _keyed(services, token, body)
    winner = StoredResponse(keyed.request_hash, "POST", "/courses", 201, '{"id": "x"}', None)
    await services.idempotency.save(keyed.token_id, KEY, winner)

    async def remember(session: AsyncSession, record: CourseRecord) -> None:
        await keyed.remember_within(session, 201, "{}", record.id)

    with pytest.raises(IdempotencyKeyRacedError):
        await services.courses.create(
            parse_course(json.loads(body)), actor="api:writer", within=remember
        )
    assert await _course_count(client, auth) == 0
    assert await keyed.lookup() == winner
