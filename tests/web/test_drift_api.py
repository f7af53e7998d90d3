"""GET /courses/{id}/drift against a real server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.build import Product as Built
from db.models import Step
from tests.web.conftest import Client, create_course

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]


async def test_drift_before_and_during_a_reconcile(
    client: Client,
    auth: dict[str, str],
    ro_auth: dict[str, str],
    course_data: Factory,
    session_factory: Sessions,
    product: Built,
) -> None:
    """Never reconciled: no start, nothing drifted. Once a reconcile sent the finished steps
    back, the report counts them and is not finished while they wait to run; read-only
    tokens may read it; an unknown course is 404."""
    course_id = await create_course(client, auth, course_data())
    response = await client.get(f"/courses/{course_id}/drift", headers=ro_auth)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert (body["started_at"], body["finished"], body["drifted"]) == (None, True, [])

    async with session_factory.begin() as session:
        await session.execute(
            update(Step).where(Step.course_id == course_id).values(state="succeeded")
        )
    checked = await product.reconcile.start(course_id)
    body = await (await client.get(f"/courses/{course_id}/drift", headers=auth)).json()
    assert body["checked"] == checked > 0
    assert body["started_at"] is not None
    assert body["finished"] is False
    assert (body["drifted"], body["repairs"]) == ([], [])

    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"/courses/{unknown}/drift", headers=auth)).status == 404
