"""PUT /courses/{id} against a real server: apply the difference, refuse removals, auth."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from aiohttp import ClientResponse
from openapi_spec_validator import validate
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Step
from tests.web.conftest import ChangeCounter, Client, create_course

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]
NEW_STUDENT = {"name": "Nora New", "github": "nora-n"}


def _with_new_student(data: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    changed["students"].append(NEW_STUDENT)
    return changed


async def _problem(response: ClientResponse, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    assert body["status"] == status
    return body


async def test_put_applies_the_difference_and_wakes_the_runner(
    client: Client, auth: dict[str, str], course_data: Factory, changes: ChangeCounter
) -> None:
    """PUT with one student more: 200 naming the one new step, the stored description follows,
    and the runner is woken once."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    response = await client.put(f"/courses/{course_id}", json=_with_new_student(data), headers=auth)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["added"] == ["github.invite:students:nora-n"]
    assert (body["changed"], body["removed"], body["unblocked"]) == ([], [], [])
    assert body["status"]["state"] == "pending"
    assert body["course"]["spec"]["students"][-1]["github"] == "nora-n"
    assert changes.calls == 2
    stored = await (await client.get(f"/courses/{course_id}", headers=auth)).json()
    assert stored["plan_digest"] == body["course"]["plan_digest"]


async def test_put_of_the_same_description_changes_nothing_and_wakes_nobody(
    client: Client, auth: dict[str, str], course_data: Factory, changes: ChangeCounter
) -> None:
    """Sending the stored description again is a 200 with nothing added, changed or removed."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    response = await client.put(f"/courses/{course_id}", json=data, headers=auth)
    assert response.status == 200
    body = await response.json()
    assert (body["added"], body["changed"], body["removed"]) == ([], [], [])
    assert changes.calls == 1


async def test_removing_a_provisioned_student_is_409_with_the_step_keys(
    client: Client, auth: dict[str, str], course_data: Factory, session_factory: Sessions
) -> None:
    """Dropping a student whose invite succeeded: 409 problem+json listing that step in
    `steps`, saying what to do; the course is unchanged."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id)
            .values(state="succeeded", external_id="1")
        )
    dropped = copy.deepcopy(data)
    dropped["students"].pop(0)
    response = await client.put(f"/courses/{course_id}", json=dropped, headers=auth)
    problem = await _problem(response, 409)
    assert problem["steps"] == ["github.invite:students:student-0"]
    assert problem["course_id"] == course_id
    assert problem["type"] == "urn:course-bot:problem:course-change-not-supported"
    assert "by hand" in problem["detail"]
    stored = await (await client.get(f"/courses/{course_id}", headers=auth)).json()
    assert len(stored["spec"]["students"]) == 3


async def test_put_validates_like_post_and_refuses_a_new_code(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """An invalid body is 422 with field paths; a changed code is 422 naming `code`."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    bad = {**data, "students": [{"name": "X", "github": "-bad-"}]}
    problem = await _problem(await client.put(f"/courses/{course_id}", json=bad, headers=auth), 422)
    assert [e["path"] for e in problem["errors"]] == ["students[0].github"]
    renamed = {**data, "code": "CS999"}
    problem = await _problem(
        await client.put(f"/courses/{course_id}", json=renamed, headers=auth), 422
    )
    assert [e["path"] for e in problem["errors"]] == ["code"]


async def test_put_of_an_unknown_course_is_404(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """A well-formed id no course has, and an id that is no UUID, are both 404."""
    for course_id in ("00000000-0000-4000-8000-000000000000", "not-an-id"):
        response = await client.put(f"/courses/{course_id}", json=course_data(), headers=auth)
        await _problem(response, 404)


async def test_read_only_token_cannot_put(
    client: Client, auth: dict[str, str], ro_auth: dict[str, str], course_data: Factory
) -> None:
    """A read-only token gets 403 on PUT, and the course is unchanged."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    response = await client.put(
        f"/courses/{course_id}", json=_with_new_student(data), headers=ro_auth
    )
    await _problem(response, 403)
    stored = await (await client.get(f"/courses/{course_id}", headers=auth)).json()
    assert len(stored["spec"]["students"]) == 3


async def test_idempotency_key_replays_the_first_update_summary(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """The same key and body again replays the first summary (not an empty one); the same key
    with another body is 422."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    headers = {**auth, "Idempotency-Key": "put-1"}
    url = f"/courses/{course_id}"
    first = await client.put(url, json=_with_new_student(data), headers=headers)
    second = await client.put(url, json=_with_new_student(data), headers=headers)
    assert (first.status, second.status) == (200, 200)
    assert await first.read() == await second.read()
    assert second.headers["Idempotent-Replayed"] == "true"
    other = await client.put(url, json=data, headers=headers)
    assert (await _problem(other, 422))["title"] == "Idempotency key reused"


async def test_openapi_documents_the_update(client: Client) -> None:
    """PUT /courses/{course_id} is in the valid OpenAPI document: CourseSpec in, CourseUpdateOut
    out, 409 among the problems, and Problem carries `steps`."""
    document = await (await client.get("/openapi.json")).json()
    validate(document)
    put = document["paths"]["/courses/{course_id}"]["put"]
    assert put["operationId"] == "updateCourse"
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CourseSpec"
    )
    ok = put["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/CourseUpdateOut")
    assert {"403", "404", "409", "422"} <= set(put["responses"])
    assert "steps" in document["components"]["schemas"]["Problem"]["properties"]
