"""POST /courses/{id}/archive and /unarchive (and their previews) against a real server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Step
from tests.web.conftest import Client, create_course

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]


async def test_archive_preview_archive_refused_change_and_unarchive(
    client: Client, auth: dict[str, str], course_data: Factory, session_factory: Sessions
) -> None:
    """The preview names the repository and channels that change and the invites revoked and
    stores nothing; archive marks the course (`archived_at`) and retires the invites; a PUT is
    then 409 saying to unarchive; unarchive clears the mark and plans the invites again."""
    data = course_data(kind="laboratory", groups=2)
    course_id = await create_course(client, auth, data)
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id)
            .values(state="succeeded", external_id="1", attempts=1)
        )

    response = await client.post(f"/courses/{course_id}/archive/preview", headers=auth)
    assert response.status == 200, await response.text()
    preview = await response.json()
    changes = {(r["key"], r["change"], r["removal"]) for r in preview["resources"]}
    assert ("github.repo:lab-01", "changed", None) in changes
    assert ("discord.channel:general", "changed", None) in changes
    assert ("discord.invite:lab-01", "removed", "invite link revoked") in changes
    course = await (await client.get(f"/courses/{course_id}", headers=auth)).json()
    assert course["archived_at"] is None

    response = await client.post(f"/courses/{course_id}/archive", headers=auth)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["course"]["archived_at"] is not None
    assert sorted(body["retired"]) == [
        "discord.invite:lab-01",
        "discord.invite:lab-02",
        "discord.invite:students",
    ]
    again = await (await client.post(f"/courses/{course_id}/archive", headers=auth)).json()
    assert (again["changed"], again["retired"]) == ([], [])

    changed = {**data, "title": "Another title"}
    refused = await client.put(f"/courses/{course_id}", json=changed, headers=auth)
    assert refused.status == 409
    problem = await refused.json()
    assert problem["type"] == "urn:course-bot:problem:course-archived"
    assert f"POST /courses/{course_id}/unarchive" in problem["detail"]

    response = await client.post(f"/courses/{course_id}/unarchive", headers=auth)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["course"]["archived_at"] is None
    assert "discord.invite:lab-01" in body["changed"]
    assert (await client.put(f"/courses/{course_id}", json=changed, headers=auth)).status == 200


async def test_archive_needs_a_read_write_token_and_an_existing_course(
    client: Client, auth: dict[str, str], ro_auth: dict[str, str], course_data: Factory
) -> None:
    """Read-only tokens get 403 on archive and unarchive; an unknown course is 404."""
    course_id = await create_course(client, auth, course_data())
    for action in ("archive", "unarchive"):
        response = await client.post(f"/courses/{course_id}/{action}", headers=ro_auth)
        assert response.status == 403
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await client.post(f"/courses/{unknown}/archive", headers=auth)).status == 404
