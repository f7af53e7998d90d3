"""GET /courses/{id}/status: a summary whose cost does not grow with the course, steps a page
at a time, filtered by state, and 304s for pollers while nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Step
from tests.web.conftest import Client, create_course

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]


async def _json(client: Client, url: str, auth: dict[str, str]) -> dict[str, Any]:
    response = await client.get(url, headers=auth)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_pages_walk_every_step_once_in_plan_order(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """Following `next` with limit=7 visits every step exactly once, in plan order; each page
    repeats the same summary, and the counts add up to the steps seen."""
    course_id = await create_course(client, auth, course_data(students=12))
    url: str | None = f"/courses/{course_id}/status?limit=7"
    keys: list[str] = []
    pages = 0
    first: dict[str, Any] = {}
    while url is not None:
        page = await _json(client, url, auth)
        first = first or page
        assert len(page["steps"]) <= 7
        assert page["counts"] == first["counts"]
        keys += [s["key"] for s in page["steps"]]
        url = page["next"]
        pages += 1
    assert len(keys) == len(set(keys)) == sum(first["counts"].values())
    assert pages == -(-len(keys) // 7)
    total = dict.fromkeys(first["counts"], 0)
    for counts in first["platforms"].values():
        for state, n in counts.items():
            total[state] += n
    assert total == first["counts"]
    assert set(first["platforms"]) == {"github", "discord", "email"}


async def test_state_filter_and_actions_beyond_the_shown_fifty(
    client: Client, auth: dict[str, str], course_data: Factory, session_factory: Sessions
) -> None:
    """`state=awaiting_action` lists only waiting steps; the summary names the first 50 and
    counts all 60; an unknown state or a bad limit is a 400 that says what is allowed."""
    course_id = await create_course(client, auth, course_data(students=60))
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id, Step.kind == "github.invite")
            .values(state="awaiting_action", last_error="no GitHub user")
        )
    page = await _json(
        client, f"/courses/{course_id}/status?state=awaiting_action&limit=1000", auth
    )
    waiting = page["steps"]
    assert {s["state"] for s in waiting} == {"awaiting_action"}
    assert len(waiting) == page["actions_total"] == page["counts"]["awaiting_action"] >= 60
    assert len(page["actions"]) == 50
    assert page["actions"][0] == {"step_key": waiting[0]["key"], "hint": "no GitHub user"}
    for query, word in (("state=done", "state must be one of"), ("limit=1001", "limit must")):
        response = await client.get(f"/courses/{course_id}/status?{query}", headers=auth)
        assert response.status == 400
        assert word in (await response.json())["detail"]


async def test_an_unchanged_status_is_304_and_any_step_change_makes_it_200(
    client: Client, auth: dict[str, str], course_data: Factory, session_factory: Sessions
) -> None:
    """The ETag comes back as 304 with no body while nothing changed; a step that changes, or
    another page, gets 200 and a new ETag."""
    course_id = await create_course(client, auth, course_data())
    url = f"/courses/{course_id}/status"
    first = await client.get(url, headers=auth)
    etag = first.headers["ETag"]
    again = await client.get(url, headers={**auth, "If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    other_page = await client.get(f"{url}?limit=3", headers={**auth, "If-None-Match": etag})
    assert other_page.status == 200
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id, Step.key == "github.team:students")
            .values(state="failed", updated_at=Step.updated_at)
        )
    changed = await client.get(url, headers={**auth, "If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert (await changed.json())["state"] == "failed"
