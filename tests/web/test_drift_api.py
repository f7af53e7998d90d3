"""GET /courses/{id}/drift against a real server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.build import Product as Built
from db import audit_chain
from db.models import Step
from provisioning.courses.drift_findings import GITHUB_UNKNOWN, NO_SERVER
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


async def test_drift_report_and_status_say_what_was_repaired_and_who(
    client: Client,
    auth: dict[str, str],
    course_data: Factory,
    session_factory: Sessions,
    product: Built,
) -> None:
    """A settled reconcile whose steps wrote twice (a member's role, a team membership): the
    report explains each write, says why nobody is named (this course has no server; GitHub
    has no audit log for it), and the status's `last_reconcile` counts them and points to the
    report; its ETag changed with it."""
    course_id = await create_course(client, auth, course_data())
    async with session_factory.begin() as session:
        await session.execute(
            update(Step).where(Step.course_id == course_id).values(state="succeeded")
        )
    before = await client.get(f"/courses/{course_id}/status", headers=auth)
    assert (await before.json())["last_reconcile"] is None
    await product.reconcile.start(course_id)
    async with session_factory.begin() as session:
        await session.execute(
            update(Step).where(Step.course_id == course_id).values(state="succeeded")
        )
        for key, path in (
            ("discord.member-role:42", "/guilds/7/members/42/roles/9"),
            ("github.invite:tas:grace", "/orgs/demo-university/teams/cs101-tas/memberships/grace"),
        ):
            await audit_chain.append(
                session,
                audit_chain.AuditEntry(
                    at=datetime.now(UTC),
                    actor="runner",
                    kind="http",
                    course_id=course_id,
                    step_key=key,
                    method="PUT",
                    path=path,
                    status=204,
                ),
            )
    running = await (await client.get(f"/courses/{course_id}/status", headers=auth)).json()
    assert running["last_reconcile"]["finished_at"] is None
    assert running["last_reconcile"]["repaired"] is None
    await product.reconcile.finish(course_id)

    body = await (await client.get(f"/courses/{course_id}/drift", headers=auth)).json()
    assert body["finished"] is True
    role, team = body["repairs"]
    assert role["resource"] == "Discord member 42"
    assert role["differed"] == "a course role was taken away"
    assert role["repaired"] == "the role given back"
    assert role["changed_by"] is None
    assert role["unknown_why"] == NO_SERVER
    assert team["resource"] == "GitHub team cs101-tas"
    assert team["differed"] == "grace was no longer a member"
    assert team["unknown_why"] == GITHUB_UNKNOWN

    status = await client.get(f"/courses/{course_id}/status", headers=auth)
    last = (await status.json())["last_reconcile"]
    assert last["finished_at"] is not None
    assert (last["repaired"], last["writes"], last["failed"]) == (2, 2, 0)
    assert last["report"] == f"/courses/{course_id}/drift"
    assert status.headers["ETag"] != before.headers["ETag"]
