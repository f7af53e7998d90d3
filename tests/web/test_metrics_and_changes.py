"""/metrics for scrapers, the runner's wake-up hook, and the actions a status asks of people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Step
from tests.web.conftest import Built, ChangeCounter, Client, create_course

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]
CLAIM_HINT = (
    "Create a server, add the bot with this link: https://discord.test/install , "
    "then run /course claim <code> in it"
)


def _steps_gauge(text: str) -> dict[str, float]:
    return {
        sample.labels["state"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "provisioning_steps"
        for sample in family.samples
    }


async def test_metrics_counts_pending_steps_without_a_token(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """/metrics needs no token, is Prometheus text 0.0.4, and counts the new course's steps."""
    course_id = await create_course(client, auth, course_data())
    status = await (await client.get(f"/courses/{course_id}/status", headers=auth)).json()
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = await response.text()
    gauge = _steps_gauge(text)
    assert gauge["pending"] == len(status["steps"]) > 0
    assert gauge["succeeded"] == 0
    assert f'provisioning_steps{{state="pending"}} {len(status["steps"])}.0' in text
    assert course_id not in text


async def test_metrics_are_the_processs_own(client: Client, product: Built) -> None:
    """/metrics renders the registry the runner and gateways write to, with both governors."""
    product.metrics.retries.labels(kind="github.repo").inc(3)
    text = await (await client.get("/metrics")).text()
    assert 'provisioning_step_retries_total{kind="github.repo"} 3.0' in text
    waits = {
        sample.labels["governor"]
        for family in text_string_to_metric_families(text)
        if family.name == "provisioning_governor_waits"
        for sample in family.samples
    }
    assert waits == {"github", "discord"}


async def test_on_change_wakes_on_create_and_retry_only(
    client: Client,
    auth: dict[str, str],
    course_data: Factory,
    changes: ChangeCounter,
    session_factory: Sessions,
) -> None:
    """The runner is woken once per created course and per successful retry, never for refusals."""
    headers = {**auth, "Idempotency-Key": "wake-1"}
    course_id = await create_course(client, headers, course_data())
    assert changes.calls == 1
    assert (await client.post("/courses", json=course_data(), headers=headers)).status == 201
    assert (await client.post("/courses", json=course_data(), headers=auth)).status == 409
    assert (await client.post("/courses", json={}, headers=auth)).status == 422
    retry_url = f"/courses/{course_id}/retry"
    assert (await client.post(retry_url, headers=auth)).status == 409
    assert changes.calls == 1
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id, Step.key == "github.team:students")
            .values(state="failed", last_error="GitHub said no")
        )
    assert (await client.post(retry_url, headers=auth)).status == 202
    assert changes.calls == 2


async def test_status_lists_the_actions_people_must_take(
    client: Client, auth: dict[str, str], course_data: Factory, session_factory: Sessions
) -> None:
    """Steps awaiting action appear in `actions` with their hint, and keep it in `steps`."""
    course_id = await create_course(client, auth, course_data())
    url = f"/courses/{course_id}/status"
    assert (await (await client.get(url, headers=auth)).json())["actions"] == []
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id, Step.key == "discord.server")
            .values(state="awaiting_action", action_hint=CLAIM_HINT)
        )
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id, Step.key == "github.invite:students:student-1")
            .values(state="awaiting_action", last_error="no GitHub user student-1")
        )
    status = await (await client.get(url, headers=auth)).json()
    assert status["state"] == "awaiting_action"
    keys = [s["key"] for s in status["steps"]]
    actions = sorted(status["actions"], key=lambda a: keys.index(a["step_key"]))
    assert status["actions"] == actions
    assert {a["step_key"]: a["hint"] for a in actions} == {
        "discord.server": CLAIM_HINT,
        "github.invite:students:student-1": "no GitHub user student-1",
    }
    server = next(s for s in status["steps"] if s["key"] == "discord.server")
    assert server["action_hint"] == CLAIM_HINT
