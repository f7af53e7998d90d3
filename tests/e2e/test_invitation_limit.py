"""GitHub's daily organization invitations: a course needing more than the organization's limit
waits for the window and ends with every invitation sent, none failed, and never more sent in
any window than the limit, as the sandbox's request journal shows.

The sandbox and the product run sped up by the same factor, so GitHub's day lasts a few
seconds; the organization has the limit of a young free one (50), which the product learns
from GitHub's first refusal (it starts from 500).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from db.models import Step
from provisioning.github.invitations import WAIT_CODE
from sandbox.server import SandboxServer
from tests.e2e.harness import ORG, Product, all_steps, lecture, open_product
from tests.fakes.invitation_world import invitation_limited_sandbox

# GitHub's day lasts 20 s (86,400 s / 4,320): long enough for the product, however loaded the
# machine, to send a day's 50 within it and meet the limit.
SCALE = 4_320.0
WINDOW_S = 24 * 3600 / SCALE
LIMIT = 50
STUDENTS = 70


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """The sandbox sped up by `SCALE`, its demo organization limited to 50 invitations a day."""
    async with invitation_limited_sandbox(SCALE, LIMIT) as server:
        yield server


@contextlib.asynccontextmanager
async def product_on(database_url: str, sandbox: SandboxServer) -> AsyncIterator[Product]:
    async with open_product(database_url, sandbox, rate_scale=SCALE) as product:
        yield product


def course(people: dict[str, str]) -> dict[str, Any]:
    students = [{"name": f"Student {i}", "github": f"stu-{i:03d}"} for i in range(STUDENTS)]
    return lecture(people["ada"], people["grace"], students=students)


def invitations_sent(sandbox: SandboxServer) -> list[float]:
    """Arrival times of the membership PUTs that sent an invitation, from the journal: the
    first one answered 200 for each person (nobody in the course is in the organization)."""
    seen: set[str] = set()
    times: list[float] = []
    for e in sandbox.journal.query(limit=1_000_000):
        path = e.path.removeprefix("/api/v3")
        if e.method != "PUT" or not path.startswith(f"/orgs/{ORG}/teams/") or e.status != 200:
            continue
        login = path.rsplit("/", 1)[-1].lower()
        if "/memberships/" in path and login not in seen:
            seen.add(login)
            times.append(e.time)
    return sorted(times)


def busiest_window(times: list[float], window_s: float) -> int:
    return max(sum(1 for t in times if s - window_s < t <= s) for s in times)


async def github_steps(product: Product) -> list[Step]:
    return [s for s in await all_steps(product.sessions) if s.kind.startswith("github.")]


async def test_a_course_over_the_daily_invitation_limit_waits_and_finishes(
    database_url: str, sandbox: SandboxServer, control: Any, people: dict[str, str]
) -> None:
    """70 students on an organization allowing 50 invitations a day: every GitHub step ends
    succeeded, none failed; meanwhile the waiting ones are pending with the reason and a due
    time, their attempts given back; the journal never shows more than 50 in a day."""
    data = course(people)
    await control.github_users(p["github"] for p in data["students"])
    async with (
        product_on(database_url, sandbox) as product,
        TestClient(TestServer(product.built.web_app, host="127.0.0.1")) as web,
    ):
        course_id = await product.create(data)
        auth = {"Authorization": f"Bearer {await product.built.tokens.create('reader')}"}
        rest_checked = False
        seen_waiting: list[Step] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while True:
            # One round at a time: the waiting steps are seen between rounds.
            ran = await product.runner.run_once()
            steps = await github_steps(product)
            assert not [s.key for s in steps if s.state in ("failed", "blocked")]
            waiting = [s for s in steps if s.last_error_code == WAIT_CODE and s.state == "pending"]
            seen_waiting.extend(waiting)
            if waiting and not rest_checked:
                # As a script reads it: how many wait, when the last goes, and the sentence.
                answer = await web.get(f"/courses/{course_id}/status", headers=auth)
                shown = (await answer.json())["invitations_waiting"]
                assert shown["count"] == len(waiting)
                last = max(s.next_attempt_at for s in waiting if s.next_attempt_at)
                assert datetime.fromisoformat(shown["last_at"]) == last
                assert shown["message"].startswith(f"{len(waiting)} GitHub invitation")
                rest_checked = True
            if all(s.state == "succeeded" for s in steps):
                break
            assert loop.time() < deadline, [(s.key, s.state, s.last_error) for s in steps]
            if not ran:
                await asyncio.sleep(0.1)

    assert seen_waiting, "no step waited for the window"
    for step in seen_waiting:
        assert step.next_attempt_at is not None
        assert step.attempts == 0, (step.key, step.attempts)
        assert step.last_error is not None
        assert step.last_error.startswith(
            f"GitHub allows {LIMIT} organization invitations a day to {ORG}; the next goes at "
        ), step.last_error
        assert step.last_error.endswith(" UTC")
    sent = invitations_sent(sandbox)
    assert len(sent) == STUDENTS + 2  # the students, Ada and Grace: none is a member yet
    assert busiest_window(sent, WINDOW_S) <= LIMIT
    # The second day's invitations went a window after the first day's.
    assert sent[LIMIT] - sent[0] >= WINDOW_S


async def test_steps_failed_on_the_limit_by_an_older_version_are_retried_and_finish(
    database_url: str, sandbox: SandboxServer, control: Any, people: dict[str, str]
) -> None:
    """A database from before: invitation steps failed for good on GitHub's 422 "Over
    invitation rate limit". A retry of the course makes them pending again, and they finish
    like the others, within the limit."""
    data = course(people)
    await control.github_users(p["github"] for p in data["students"])
    async with product_on(database_url, sandbox) as product:
        course_id = await product.create(data)
        failed = [f"github.invite:students:stu-{i:03d}" for i in range(60, 70)]
        async with product.sessions.begin() as session:
            await session.execute(
                update(Step)
                .where(Step.course_id == course_id, Step.key.in_(failed))
                .values(
                    state="failed",
                    attempts=1,
                    last_error_code="github.422",
                    last_error=(
                        "github answered 422: Validation Failed (Over invitation rate limit)"
                    ),
                )
            )
        outcome = await product.courses.retry(course_id, actor="e2e")
        assert set(failed) <= set(outcome.retried)
        states = await product.states(course_id)
        assert {states[key] for key in failed} == {"pending"}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while not all(s.state == "succeeded" for s in await github_steps(product)):
            assert loop.time() < deadline
            if not await product.runner.run_once():
                await asyncio.sleep(0.1)
    assert busiest_window(invitations_sent(sandbox), WINDOW_S) <= LIMIT
