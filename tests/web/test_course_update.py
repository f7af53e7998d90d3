"""PUT, DELETE and preview of /courses/{id} against a real server: the difference applied,
the safety limit on removals, the delete rule, auth."""

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
    """PUT with one student more: 200 naming the one new step and the status summary after it
    (no steps: a link to them), the stored description follows, and the runner is woken once."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    response = await client.put(f"/courses/{course_id}", json=_with_new_student(data), headers=auth)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["added"] == ["github.invite:students:nora-n"]
    assert (body["changed"], body["removed"], body["unblocked"]) == ([], [], [])
    assert body["status"]["state"] == "pending"
    assert body["status"]["steps_url"] == f"/courses/{course_id}/status"
    assert "steps" not in body["status"]
    status = await (await client.get(f"/courses/{course_id}/status", headers=auth)).json()
    assert body["status"]["counts"] == status["counts"]
    assert body["status"]["platforms"] == status["platforms"]
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


async def _provisioned(client: Client, auth: dict[str, str], sessions: Sessions, data: Any) -> str:
    course_id = await create_course(client, auth, data)
    async with sessions.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id)
            .values(state="succeeded", external_id="1")
        )
    return course_id


async def test_dropping_a_third_of_the_students_needs_the_confirmation_naming_its_number(
    client: Client, auth: dict[str, str], course_data: Factory, session_factory: Sessions
) -> None:
    """Dropping 1 of 3 provisioned students (over 10%): the preview says so and stores nothing;
    PUT without `confirm_removals`, or with another number, is 409 with `removals` and the
    steps, nothing changed; with the number it is 200 and the invite step is retired."""
    data = course_data()
    course_id = await _provisioned(client, auth, session_factory, data)
    dropped = copy.deepcopy(data)
    dropped["students"].pop(0)

    preview = await client.post(f"/courses/{course_id}/preview", json=dropped, headers=auth)
    assert preview.status == 200, await preview.text()
    seen = await preview.json()
    assert seen["confirmation_needed"] is True
    assert seen["removals"] == 1
    assert seen["people"]["students_dropped"] == ["student-0"]
    assert seen["reasons"] == ["1 of 3 students dropped, over the limit of 10%"]
    assert {
        "key": "github.invite:students:student-0",
        "kind": "github.invite",
        "change": "removed",
        "removal": "team membership ended",
    } in seen["resources"]
    stored = await (await client.get(f"/courses/{course_id}", headers=auth)).json()
    assert len(stored["spec"]["students"]) == 3

    for query in ("", "?confirm_removals=2"):
        response = await client.put(f"/courses/{course_id}{query}", json=dropped, headers=auth)
        problem = await _problem(response, 409)
        assert problem["type"] == "urn:course-bot:problem:confirmation-required"
        assert problem["removals"] == 1
        assert problem["steps"] == ["github.invite:students:student-0"]
        assert "confirm_removals: 1" in problem["detail"]
    stored = await (await client.get(f"/courses/{course_id}", headers=auth)).json()
    assert len(stored["spec"]["students"]) == 3

    confirmed = {**dropped, "confirm_removals": 1}
    response = await client.put(f"/courses/{course_id}", json=confirmed, headers=auth)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["retired"] == ["github.invite:students:student-0"]
    # The dropped student's join e-mail step goes too: a sent e-mail has nothing to undo.
    assert sorted(body["removed"]) == [
        "email.join:s0@example.edu",
        "github.invite:students:student-0",
    ]
    assert "confirm_removals" not in body["course"]["spec"]


async def test_confirm_removals_must_be_a_whole_number(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """A `confirm_removals` that is not a whole number is 422 naming it."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    for bad in ("x", -1, True, 1.5):
        response = await client.put(
            f"/courses/{course_id}", json={**data, "confirm_removals": bad}, headers=auth
        )
        problem = await _problem(response, 422)
        assert [e["path"] for e in problem["errors"]] == ["confirm_removals"], bad


async def test_delete_removes_a_course_nothing_was_made_for(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """DELETE before any step made something: 204, then the course is gone (404) and a course
    of the same code and term can be created again."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    response = await client.delete(f"/courses/{course_id}", headers=auth)
    assert response.status == 204, await response.text()
    assert (await client.get(f"/courses/{course_id}", headers=auth)).status == 404
    assert (await client.delete(f"/courses/{course_id}", headers=auth)).status == 404
    again = await client.post("/courses", json=data, headers=auth)
    assert again.status == 201, await again.text()


async def test_delete_after_something_was_made_is_409_pointing_to_archive(
    client: Client, auth: dict[str, str], course_data: Factory, session_factory: Sessions
) -> None:
    """DELETE once a repository exists: 409 naming the steps and saying to archive; the course
    stays."""
    data = course_data()
    course_id = await _provisioned(client, auth, session_factory, data)
    problem = await _problem(await client.delete(f"/courses/{course_id}", headers=auth), 409)
    assert problem["type"] == "urn:course-bot:problem:course-delete-refused"
    assert "github.repo:lecture" in problem["steps"]
    assert f"POST /courses/{course_id}/archive" in problem["detail"]
    assert (await client.get(f"/courses/{course_id}", headers=auth)).status == 200


async def test_put_validates_like_post_and_takes_a_new_code_before_github_has_anything(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """An invalid body is 422 with field paths; a new code is taken while GitHub has nothing."""
    data = course_data()
    course_id = await create_course(client, auth, data)
    bad = {**data, "students": [{"name": "X", "github": "-bad-"}]}
    problem = await _problem(await client.put(f"/courses/{course_id}", json=bad, headers=auth), 422)
    assert [e["path"] for e in problem["errors"]] == ["students[0].github"]
    renamed = {**data, "code": "CS999"}
    response = await client.put(f"/courses/{course_id}", json=renamed, headers=auth)
    assert response.status == 200, await response.text()
    assert (await response.json())["course"]["code"] == "CS999"


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
