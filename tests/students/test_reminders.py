"""The scheduled reminders: the join e-mail again after N days of nothing (a new link that
replaces the old one, twice at most, never to someone who came by), and an expired GitHub
invitation sent again once, after the sandbox's clock moved 8 days."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from cogs.render.roster_status import roster_status_embed
from provisioning.retry import RetryPolicy
from provisioning.students.links import JoinLinkError
from provisioning.students.sign_in import GitHubIdentity
from sandbox.core.clock import ManualClock as SandboxClock
from sandbox.server import SandboxServer
from tests.e2e.harness import (
    ORG,
    SANDBOX_RATE_SCALE,
    Control,
    Product,
    audit_rows,
    control_of,
    github_state,
)
from tests.fakes.clocks import FastForwardClock
from tests.students.conftest import open_mailing_product
from tests.students.mailbox import Mailbox
from tests.students.test_join_email import LINK, addresses, create, lab_with_emails

DAY_S = 24 * 3600.0


@pytest.fixture
def sandbox_clock() -> SandboxClock:
    return SandboxClock(start=time.time())


@pytest.fixture
async def sandbox(sandbox_clock: SandboxClock) -> AsyncIterator[SandboxServer]:
    """The sandbox on a clock the test moves (GitHub's invitations lapse on it)."""
    async with SandboxServer(rate_scale=SANDBOX_RATE_SCALE, clock=sandbox_clock) as server:
        yield server


@pytest.fixture
def clock() -> FastForwardClock:
    return FastForwardClock(start=datetime.now(UTC))


@pytest.fixture
async def product(
    database_url: str, sandbox: SandboxServer, mailbox: Mailbox, clock: FastForwardClock
) -> AsyncIterator[Product]:
    async with open_mailing_product(
        database_url, sandbox, mailbox, RetryPolicy(base_s=0), clock=clock
    ) as built:
        yield built


@pytest.fixture
async def control(sandbox: SandboxServer) -> AsyncIterator[Control]:
    async with control_of(sandbox) as ctl:
        yield ctl


def tokens_to(mailbox: Mailbox, address: str) -> list[str]:
    return [
        LINK.findall(m.part("text/plain"))[0] for m in mailbox.received if m.recipients == [address]
    ]


async def events(product: Product, name: str) -> list[str]:
    return [
        r.step_key or ""
        for r in await audit_rows(product.sessions, kind="event")
        if r.event == name
    ]


async def test_people_who_did_nothing_get_the_email_again_twice_at_most(
    product: Product,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    clock: FastForwardClock,
) -> None:
    """After 7 days without a visit the join e-mail comes again with a new link that replaces
    the old one; someone who signed in gets none; a round right after sends nothing; after the
    second reminder there is no third."""
    data = lab_with_emails(people)
    course_id = await create(product, control, data)
    await product.run()
    first = tokens_to(mailbox, "s-1-1@example.edu")
    came_by = tokens_to(mailbox, "s-2-1@example.edu")[0]
    join = product.built.services.join
    assert join is not None
    assert join.actions is not None
    await join.actions.github_signed_in(came_by, GitHubIdentity(login="s-2-1", id="42"))
    reminders = product.built.reminders

    assert (await reminders.run(clock.now())).emails == []
    clock.advance(8 * DAY_S)
    reminded = await reminders.run(clock.now())
    assert sorted(key for _, key in reminded.emails) == sorted(
        f"email.join:{a}" for a in addresses(data) if a != "s-2-1@example.edu"
    )
    await product.run()
    assert (await reminders.run(clock.now())).emails == []
    second = tokens_to(mailbox, "s-1-1@example.edu")
    assert len(second) == 2
    assert len(tokens_to(mailbox, "s-2-1@example.edu")) == 1
    with pytest.raises(JoinLinkError) as info:
        await join.view.view(first[0])
    assert info.value.problem == "superseded"
    assert (await join.view.view(second[1])).course_id == course_id

    clock.advance(8 * DAY_S)
    assert len((await reminders.run(clock.now())).emails) == len(addresses(data)) - 1
    await product.run()
    clock.advance(8 * DAY_S)
    assert (await reminders.run(clock.now())).emails == []
    assert len(tokens_to(mailbox, "s-1-1@example.edu")) == 3
    assert len(await events(product, "reminder.join_email")) == 2 * (len(addresses(data)) - 1)


async def test_an_expired_invitation_is_sent_again_once(
    product: Product,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    clock: FastForwardClock,
    sandbox: SandboxServer,
    sandbox_clock: SandboxClock,
) -> None:
    """GitHub's 7 days pass (the sandbox's clock moves 8 days): each pending invitation is sent
    again, once, and the reminder is in the audit log."""
    data = lab_with_emails(people)
    await create(product, control, data)
    await product.run()
    invited_before = _invitations(sandbox)
    assert set(invited_before) >= {"s-1-1", "s-3-2"}

    clock.advance(8 * DAY_S)
    sandbox_clock.advance(8 * DAY_S)
    reminded = await product.built.reminders.run(clock.now())
    keys = sorted(key for _, key in reminded.invitations)
    assert keys == sorted(
        f"github.invite:{'instructors' if p == 'ada' else 'tas' if p == 'grace' else g}:{p}"
        for p, g in _people(data)
    )
    await product.run()
    invited_after = _invitations(sandbox)
    assert set(invited_after) == set(invited_before)
    assert all(invited_after[login] > invited_before[login] for login in invited_after)

    assert (await product.built.reminders.run(clock.now())).invitations == []
    assert sorted(await events(product, "reminder.github_invitation")) == keys


def _people(data: dict[str, object]) -> list[tuple[str, str]]:
    staff = [(p["github"], "") for p in data["staff"]]  # type: ignore[attr-defined]
    students = [(s["github"], s["group"]) for s in data["students"]]  # type: ignore[attr-defined]
    return [*staff, *students]


def _invitations(sandbox: SandboxServer) -> dict[str, float]:
    """Login → when the live org invitation was sent."""
    return {i.login: i.created_at for i in github_state(sandbox).org_invitations.values()}


async def test_the_round_reads_invitation_states_live_with_two_lists_per_course(
    product: Product,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    clock: FastForwardClock,
    sandbox: SandboxServer,
    sandbox_clock: SandboxClock,
) -> None:
    """One student accepts, then GitHub's 7 days pass for the others (only GitHub's clock
    moves): one round reads the organization's invitations and members once for the course,
    records the acceptance with the time it was checked, and sends every lapsed invitation
    again at once, without waiting for its own 7 days; REST, the course page's rows and
    `/course roster-status` show when."""
    data = lab_with_emails(people)
    course_id = await create(product, control, data)
    await product.run()
    await control.call("POST", f"/github/orgs/{ORG}/invitations/s-1-1/accept", json={})
    roster = product.built.roster
    before = {p.github: p for p in (await roster.page(course_id)).people}
    assert before["s-1-1"].github_state == "invitation_pending"  # the step's last run

    clock.advance(3600)
    checked_at = clock.now()
    reminded = await product.built.reminders.run(checked_at)
    assert reminded.invitations == []
    after = {p.github: p for p in (await roster.page(course_id)).people}
    assert after["s-1-1"].github_state == "accepted"
    assert {p.github_checked_at for p in after.values()} == {checked_at}
    assert {p.github_state for g, p in after.items() if g != "s-1-1"} == {"invitation_pending"}
    calls = [
        (r.method, r.path)
        for r in await audit_rows(product.sessions)
        if r.actor == "reminders" and r.course_id == course_id
    ]
    assert calls == [("GET", f"/orgs/{ORG}/invitations"), ("GET", f"/orgs/{ORG}/members")]
    summary = await roster.summary(course_id)
    assert summary.github_checked_at == checked_at
    field = next(
        f.value
        for f in roster_status_embed("CS201 2027-fall", summary, []).fields
        if f.name == "GitHub"
    )
    assert f"Pending invitations checked on GitHub <t:{int(checked_at.timestamp())}:R>" in field

    sandbox_clock.advance(8 * DAY_S)
    clock.advance(3600)
    reminded = await product.built.reminders.run(clock.now())
    lapsed = sorted(key for _, key in reminded.invitations)
    assert len(lapsed) == len(_people(data)) - 1
    assert "github.invite:lab-01:s-1-1" not in lapsed
    status = {p.github: p.github_state for p in (await roster.page(course_id)).people}
    assert status["s-1-2"] == "expired"
    assert status["s-1-1"] == "accepted"
    await product.run()
    status = {p.github: p.github_state for p in (await roster.page(course_id)).people}
    assert set(status.values()) == {"accepted", "invitation_pending"}
    assert (await product.built.reminders.run(clock.now())).invitations == []
