"""The join e-mail as a step: one personal message per person, sent through a real SMTP
server, audited without its link, not sent twice, retried while the server is down."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from db.models import Step
from provisioning.clock import SystemClock
from provisioning.courses.spec import parse_course
from provisioning.retry import RetryPolicy
from provisioning.students.links import JoinLinks
from sandbox.server import SandboxServer
from tests.e2e.harness import (
    SECRET,
    Control,
    Product,
    all_steps,
    audit_rows,
    laboratory,
    logins,
)
from tests.students.conftest import PUBLIC_URL, SENDER, open_mailing_product
from tests.students.mailbox import Mailbox

LINK = re.compile(re.escape(PUBLIC_URL) + r"/join/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


def lab_with_emails(people: dict[str, str], **changes: Any) -> dict[str, Any]:
    """The 3-group laboratory, every student and Ada with an address."""
    data = laboratory(people["ada"], people["grace"])
    data["staff"][0]["email"] = "ada@example.edu"
    for student in data["students"]:
        student["email"] = f"{student['github']}@example.edu"
    data.update(changes)
    return data


def addresses(data: dict[str, Any]) -> list[str]:
    people = [*data["staff"], *data["students"]]
    return sorted(p["email"] for p in people if p.get("email"))


async def create(product: Product, control: Control, data: dict[str, Any]) -> str:
    await control.github_users(logins(parse_course(data)))
    return await product.create(data)


async def test_every_person_gets_one_personal_message(
    product: Product, control: Control, mailbox: Mailbox, people: dict[str, str]
) -> None:
    """Each student and staff member with an address gets exactly one message, in plain text and
    HTML, with a link to their own join page that only they and this course can use; the
    Discord server not being claimed yet holds nothing back."""
    data = lab_with_emails(people)
    course_id = await create(product, control, data)
    await product.run()

    assert sorted(r for m in mailbox.received for r in m.recipients) == addresses(data)
    links = JoinLinks(SECRET)
    now = SystemClock().now()
    persons = set()
    for received in mailbox.received:
        message = received.message
        assert message["From"] == f"Course provisioning bot <{SENDER}>"
        assert message["Subject"].startswith("CS201 Systems Lab (2027-fall)")
        text, html = received.part("text/plain"), received.part("text/html")
        [token] = set(LINK.findall(text))
        assert set(LINK.findall(html)) == {token}
        claim = links.check(token, now, course_id=course_id)
        assert claim.person == links.person(received.recipients[0])
        assert claim.expires_at - now > timedelta(days=29)
        persons.add(claim.person)
        assert "personal" in text
    assert len(persons) == len(mailbox.received)
    alan = next(m for m in mailbox.received if m.recipients == ["s-1-1@example.edu"])
    assert "Student 1-1" in alan.part("text/plain")
    assert "lab group lab-01" in alan.part("text/plain")
    assert "lab group <strong>lab-01</strong>" in alan.part("text/html")

    states = await product.states(course_id)
    assert {s for k, s in states.items() if k.startswith("email.join:")} == {"succeeded"}
    assert states["discord.server"] == "awaiting_action"


async def test_the_audit_names_recipient_and_status_never_the_link(
    product: Product, control: Control, mailbox: Mailbox, people: dict[str, str]
) -> None:
    """One audit row per message with the recipient and the server's answer; the link is in no
    audit row and in no stored step."""
    data = lab_with_emails(people)
    course_id = await create(product, control, data)
    await product.run()

    rows = [r for r in await audit_rows(product.sessions, kind="event") if r.event == "email.sent"]
    assert sorted(r.request_summary["to"] for r in rows if r.request_summary) == addresses(data)
    assert all(set(r.request_summary or {}) == {"to", "status"} for r in rows)
    assert {(r.request_summary or {})["status"] for r in rows} == {
        "sent: 2.0.0 Message accepted for delivery"
    }
    tokens = {t for m in mailbox.received for t in LINK.findall(m.part("text/plain"))}
    assert len(tokens) == len(rows)
    everything = json.dumps(
        [
            [r.path, r.request_summary, r.external_id, r.step_key]
            for r in await audit_rows(product.sessions, kind="http")
            + await audit_rows(product.sessions, kind="event")
        ]
        + [
            [s.params, s.facts, s.external_id, s.last_error]
            for s in await all_steps(product.sessions, course_id)
        ]
    )
    for token in tokens:
        assert token not in everything
        assert token.split(".")[1] not in everything


async def test_a_rerun_or_a_retry_sends_nothing_again(
    product: Product, control: Control, mailbox: Mailbox, people: dict[str, str]
) -> None:
    """Re-verifying every finished step (a course retry) and changing a person's name send no
    second message; a new address gets its own, once."""
    data = lab_with_emails(people)
    course_id = await create(product, control, data)
    await product.run()
    sent = len(mailbox.received)

    await product.courses.retry(course_id, actor="test")
    await product.run()
    assert len(mailbox.received) == sent

    data["students"][0]["name"] = "Student One-One"
    data["students"][1]["email"] = "new-address@example.edu"
    await product.courses.update(course_id, parse_course(data), actor="test")
    await product.run()
    assert [m.recipients for m in mailbox.received[sent:]] == [["new-address@example.edu"]]


async def test_a_refused_address_fails_its_step_alone(
    product: Product, control: Control, mailbox: Mailbox, people: dict[str, str]
) -> None:
    """An address the server refuses (550) fails its step with the server's words and is not
    retried; everybody else gets their message."""
    data = lab_with_emails(people)
    data["students"][0]["email"] = "nobody@example.edu"
    course_id = await create(product, control, data)
    await product.run()

    steps = {s.key: s for s in await all_steps(product.sessions, course_id)}
    bounced = steps["email.join:nobody@example.edu"]
    assert bounced.state == "failed"
    assert bounced.attempts == 1
    assert "550" in (bounced.last_error or "")
    assert len(mailbox.received) == len(addresses(data)) - 1
    rows = [r for r in await audit_rows(product.sessions, kind="event") if r.event]
    [failed] = [r for r in rows if r.event == "email.failed"]
    assert failed.request_summary == {
        "to": "nobody@example.edu",
        "status": "failed: 550 5.1.1 No such user here",
    }


async def test_the_server_down_retries_the_mail_and_nothing_waits(
    database_url: str,
    sandbox: SandboxServer,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
) -> None:
    """With the e-mail server down the join steps wait for their next attempt, saying why, while
    every GitHub step finishes; once it is back, each person gets one message."""
    await mailbox.stop()
    policy = RetryPolicy(base_s=3600)
    async with open_mailing_product(database_url, sandbox, mailbox, policy) as product:
        data = lab_with_emails(people)
        course_id = await create(product, control, data)
        await product.runner.run_until_idle()

        steps = await all_steps(product.sessions, course_id)
        mails = [s for s in steps if s.kind == "email.join"]
        assert {s.state for s in mails} == {"pending"}
        assert all("email answered nothing" in (s.last_error or "") for s in mails)
        assert all(s.next_attempt_at is not None for s in mails)
        github = {s.state for s in steps if s.kind.startswith("github.")}
        assert github == {"succeeded"}
        assert mailbox.received == []

        await mailbox.start()
        async with product.sessions.begin() as session:
            await session.execute(
                update(Step)
                .where(Step.kind == "email.join")
                .values(next_attempt_at=SystemClock().now() - timedelta(seconds=1))
            )
        await product.run()
        assert sorted(r for m in mailbox.received for r in m.recipients) == addresses(data)


async def test_a_send_whose_answer_is_lost_is_sent_again_with_the_same_message_id(
    product: Product, control: Control, mailbox: Mailbox, people: dict[str, str]
) -> None:
    """The server keeps the first message but the connection drops before its answer (for the
    step, the same as a crash between the send and the commit): the retry sends it again,
    at least once in all, with the same Message-ID, so mail clients show one; the step records
    that id, and the link of either copy opens the person's page."""
    data = lab_with_emails(people)
    mailbox.lose_replies(1)
    course_id = await create(product, control, data)
    await product.run()

    by_recipient: dict[str, list[str]] = {}
    for received in mailbox.received:
        by_recipient.setdefault(received.recipients[0], []).append(received.message["Message-ID"])
    [twice] = [address for address, ids in by_recipient.items() if len(ids) == 2]
    assert sorted(by_recipient) == addresses(data)
    assert all(len(ids) == 1 for address, ids in by_recipient.items() if address != twice)
    first, second = by_recipient[twice]
    assert first == second
    steps = {s.key: s for s in await all_steps(product.sessions, course_id)}
    step = steps[f"email.join:{twice}"]
    assert (step.state, step.external_id, step.attempts) == ("succeeded", first, 2)
    assert (step.facts or {})["edition"] == 1
    join = product.built.services.join
    copies = [m for m in mailbox.received if m.recipients == [twice]]
    for copy in copies:
        [token] = set(LINK.findall(copy.part("text/plain")))
        assert (await join.view.view(token)).course_id == course_id
