"""In development the join e-mails go to the sandbox's own mail server (no SMTP_HOST): each
person's message lands in its mailbox, and while it refuses mail (451) the steps retry."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.build import build
from db.models import Step
from provisioning.clock import SystemClock
from provisioning.retry import RetryPolicy
from sandbox.server import SandboxServer
from tests.e2e.harness import Control, Product, all_steps, e2e_settings
from tests.students.test_join_email import addresses, create, lab_with_emails


@contextlib.asynccontextmanager
async def sandbox_mailing(
    database_url: str, sandbox: SandboxServer, policy: RetryPolicy
) -> AsyncIterator[Product]:
    settings = e2e_settings(database_url, sandbox)
    assert settings.smtp_host is None
    async with contextlib.AsyncExitStack() as stack:
        yield Product(await build(settings, stack, policy=policy))


async def mailbox(control: Control) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (await control.call("GET", "/mail"))["messages"]
    return messages


@pytest.fixture
async def product(database_url: str, sandbox: SandboxServer) -> AsyncIterator[Product]:
    async with sandbox_mailing(database_url, sandbox, RetryPolicy(base_s=3600)) as built:
        yield built


async def test_join_emails_land_in_the_sandbox_mailbox_and_retry_while_refused(
    product: Product, control: Control, people: dict[str, str]
) -> None:
    """The sandbox refuses mail for a while: the join steps wait for their next attempt saying
    so; once it takes mail again every person has exactly one message, with their join link."""
    await control.call("PUT", "/mail/refusal", json={"active": True})
    data = lab_with_emails(people)
    course_id = await create(product, control, data)
    await product.runner.run_until_idle()
    mails = [s for s in await all_steps(product.sessions, course_id) if s.kind == "email.join"]
    assert {s.state for s in mails} == {"pending"}
    assert all("451" in (s.last_error or "") for s in mails)
    assert await mailbox(control) == []

    await control.call("PUT", "/mail/refusal", json={"active": False})
    async with product.sessions.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.kind == "email.join")
            .values(next_attempt_at=SystemClock().now() - timedelta(seconds=1))
        )
    await product.run()
    received = await mailbox(control)
    assert sorted(r for m in received for r in m["rcpt_tos"]) == addresses(data)
    for message in received:
        assert "/join/" in (message["text"] or "")
        assert message["from_header"].endswith("<course-bot@sandbox.test>")
