"""GitHub's daily organization invitations, as the instructor reads about them in Discord: the
preview before Confirm says when a course needs more than a day's, and `/course status` says
how many invitations wait for the window and when the last goes.

The sandbox and the product run sped up by the same factor (GitHub's day lasts 100 s), the
demo organization allowing 50 invitations a day, which the product learns from GitHub's first
refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from provisioning.github.invitations import WAIT_CODE
from sandbox.server import SandboxServer
from tests.e2e.harness import Control, Product, all_steps, lecture
from tests.fakes.invitation_world import invitation_limited_sandbox

from .conftest import Person, attachment, embed_text, running_bot, string

SCALE = 864.0  # GitHub's day: 100 s
LIMIT = 50


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with invitation_limited_sandbox(SCALE, LIMIT) as server:
        yield server


@pytest.fixture
async def product(database_url: str, sandbox: SandboxServer) -> AsyncIterator[Product]:
    async with running_bot(database_url, sandbox, rate_scale=SCALE) as built:
        yield built


def roster(students: int) -> bytes:
    rows = [f"Student {i},,stu-{i:03d},," for i in range(students)]
    return "\n".join(["name,email,github,discord_id,group", *rows]).encode()


async def preview_of(ada: Person, students: int) -> dict[str, Any]:
    opened = await ada.run(
        "create", string("kind", "lecture"), attachment("roster", roster(students))
    )
    details = {
        "code": "CS300",
        "title": "Big Lecture",
        "term": "2027-spring",
        "github_org": "demo-university",
        "github_login": "ada",
    }
    submitted = await ada.submit(opened["id"], details)
    return await ada.reply(submitted["id"])


def field(message: dict[str, Any], name: str) -> str | None:
    fields = message["embeds"][0].get("fields", [])
    return next((f["value"] for f in fields if f["name"] == name), None)


async def test_the_preview_says_when_a_course_needs_more_than_a_days_invitations(
    product: Product, ada: Person
) -> None:
    """520 students and their instructor on an organization allowing 500 a day: the preview
    names the 521 invitations and the day they take; 40 students say nothing of it."""
    message = await preview_of(ada, 520)
    assert field(message, "GitHub invitations") == (
        "521 invitations to demo-university: GitHub allows 500 a day, "
        "the last about 1 day after the first."
    )
    small = await preview_of(ada, 40)
    assert field(small, "GitHub invitations") is None
    assert "GitHub invitations" not in embed_text(small)


async def test_status_says_how_many_invitations_wait_and_when_the_last_goes(
    product: Product, control: Control, ada: Person
) -> None:
    """70 students on an organization allowing 50 a day: once GitHub refused the 51st, the
    status reply says how many invitations wait and when the last goes (a Discord timestamp,
    shown in the reader's zone), and that nobody has to act; the preview of another course
    then counts with the learned 50, the queue of 22 and the 50 sent."""
    people = await control.discord_users()
    students = [{"name": f"Student {i}", "github": f"stu-{i:03d}"} for i in range(70)]
    data = lecture(people["ada"], people["grace"], students=students)
    await control.github_users(s["github"] for s in students)
    course_id = await product.create(data)
    async with asyncio.timeout(30):
        while True:
            await product.runner.run_once()
            steps = await all_steps(product.sessions, course_id)
            waiting = [s for s in steps if s.last_error_code == WAIT_CODE]
            if waiting and all(s.state != "running" for s in steps):
                left = [s for s in steps if s.kind == "github.invite" and s.state == "pending"]
                if len(waiting) == len(left):
                    break
    status = await ada.run("status", string("course", course_id))
    shown = await ada.until(status["id"], lambda v: bool(v["original"]["embeds"]))
    text = field(shown["original"], "GitHub invitations to demo-university")
    assert text is not None, embed_text(shown["original"])
    last = max(s.next_attempt_at for s in waiting if s.next_attempt_at is not None)
    # The time as Discord's timestamp markup, which each reader's client shows in their own
    # time zone (a reply cannot know it), not as UTC text.
    assert text == (
        f"{len(waiting)} GitHub invitations wait for the organization's daily limit; the last "
        f"goes about <t:{int(last.timestamp())}:f>. Nothing to do: they go on their own."
    )
    assert len(waiting) == 72 - LIMIT  # 70 students, Ada and Grace; 50 went
    message = await preview_of(ada, 40)
    assert field(message, "GitHub invitations") == (
        "63 invitations to demo-university: GitHub allows 50 a day and 50 went in the last "
        "one, the last about 2 days from now."
    )
