"""PUT /courses/{id} of a big description, prepared in the product's worker process: the same
answers a description validated in this process gets."""

from __future__ import annotations

import copy
import multiprocessing
from collections.abc import Callable
from typing import Any

from provisioning.courses.plan_worker import IN_PROCESS_STUDENTS
from provisioning.courses.spec import parse_course
from provisioning.plan import plan_course, plan_digest
from tests.web.conftest import Client, create_course

Factory = Callable[..., dict[str, Any]]


def _big(course_data: Factory) -> dict[str, Any]:
    return course_data(kind="laboratory", students=IN_PROCESS_STUDENTS + 20, groups=4)


def _worker_processes() -> int:
    return len(multiprocessing.active_children())


async def test_invalid_big_put_gets_the_422_body_a_create_of_it_gets(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """A big description with bad fields, sent as PUT (validated in the worker process) and as
    POST /courses (validated in this process): the same problem body, every field named."""
    data = _big(course_data)
    course_id = await create_course(client, auth, data)
    bad = copy.deepcopy(data)
    bad["students"][5]["github"] = "-bad-"
    bad["students"][8]["group"] = "lab-99"
    bad["students"][9]["email"] = "not-an-address"
    bad["staff"][0]["nickname"] = "Ada"
    before = _worker_processes()
    put = await client.put(f"/courses/{course_id}", json=bad, headers=auth)
    assert _worker_processes() == before + 1
    post = await client.post("/courses", json={**bad, "code": "CS999"}, headers=auth)
    assert (put.status, post.status) == (422, 422), await put.text()
    assert put.content_type == post.content_type == "application/problem+json"
    put_body, post_body = await put.json(), await post.json()
    assert put_body.pop("instance") == f"/courses/{course_id}"
    assert post_body.pop("instance") == "/courses"
    assert put_body == post_body
    paths = [error["path"] for error in put_body["errors"]]
    assert paths == [
        "staff[0].nickname",
        "students[5].github",
        "students[9].email",
        "students[8].group",
    ]


async def test_big_put_through_the_worker_applies_the_difference(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """A big PUT (a login fixed, one student more) prepared in the worker: 200 naming the new
    invites, and the stored course has the plan digest of the new description."""
    data = _big(course_data)
    course_id = await create_course(client, auth, data)
    new = copy.deepcopy(data)
    new["students"][0]["github"] = "student-0-fixed"
    new["students"].append({"name": "Nora New", "github": "nora-n", "group": "lab-02"})
    response = await client.put(f"/courses/{course_id}", json=new, headers=auth)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert "github.invite:lab-02:nora-n" in body["added"]
    assert "github.invite:lab-01:student-0-fixed" in body["added"]
    assert "github.invite:lab-01:student-0" in body["removed"]
    assert body["course"]["spec"] == parse_course(new).model_dump(mode="json")
    stored = await (await client.get(f"/courses/{course_id}", headers=auth)).json()
    assert stored["plan_digest"] == plan_digest(plan_course(parse_course(new)))
    assert stored["spec"] == body["course"]["spec"]
