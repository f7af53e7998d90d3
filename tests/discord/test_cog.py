"""`/course` slash commands, run by people through the sandbox, reach the services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
import pytest
from discord import app_commands

from clients.discord.audit import make_audit_trace
from clients.discord.gateway import DiscordRestGateway
from cogs.course import CourseCommands, install
from provisioning.claims.codes import ClaimResult, InvalidClaimCodeError, claim_code
from provisioning.courses.changes import CourseChangeNotSupportedError
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.courses.views import (
    CourseRecord,
    CourseStatus,
    CourseSummary,
    CourseUpdate,
    RetryOutcome,
    StepStatus,
)
from provisioning.governor import GovernorLimits, RateGovernor
from tests.fakes.clocks import FastForwardClock
from tests.provisioning.examples import lecture_course

from .conftest import TOKEN, Control, ListSink, World, make_world

ADMIN = "Course Admin"
SECRET = b"cog-secret-" + b"x" * 32


def code_of(course_id: str) -> str:
    """The claim codes the cog is given, as bot.app gives them."""
    return claim_code(SECRET, course_id)


def _record(course_id: str) -> CourseRecord:
    spec = parse_course(lecture_course())
    created = datetime(2027, 1, 1, tzinfo=UTC)
    return CourseRecord(
        course_id, spec.code, spec.term, spec.title, spec.kind, spec.github_org, spec, "d", created
    )


@dataclass
class FakeServices:
    """ClaimService and CourseCommandService, recording their calls."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    refuse_update: bool = False
    # The guild the course's server step is bound to; None while it waits for a claim.
    guild_id: str | None = None

    async def claim(self, code: str, guild_id: str, user_id: str) -> ClaimResult:
        self.calls.append(("claim", code, guild_id, user_id))
        if code == "BAD":
            raise InvalidClaimCodeError
        return ClaimResult("c-1", "CS101 2027-spring")

    async def status(self, course_id: str) -> CourseStatus:
        self.calls.append(("status", course_id))
        step = StepStatus(
            key="discord.server",
            kind="discord.server",
            state="awaiting_action" if self.guild_id is None else "succeeded",
            attempts=1,
            last_error=None,
            last_error_code="discord.claim" if self.guild_id is None else None,
            action_hint="Create a server" if self.guild_id is None else None,
            external_id=self.guild_id,
            next_attempt_at=None,
            updated_at=datetime(2027, 1, 1, tzinfo=UTC),
        )
        if self.guild_id is not None:
            return CourseStatus(course_id, "in_progress", {"succeeded": 4, "pending": 1}, [step])
        counts = {"awaiting_action": 1, "succeeded": 3}
        return CourseStatus(course_id, "awaiting_action", counts, [step])

    async def retry(self, course_id: str, actor: str) -> RetryOutcome:
        self.calls.append(("retry", course_id, actor))
        return RetryOutcome(["discord.server"], await self.status(course_id))

    async def get(self, course_id: str) -> CourseRecord:
        self.calls.append(("get", course_id))
        return _record(course_id)

    async def update(self, course_id: str, spec: CourseSpec, actor: str) -> CourseUpdate:
        self.calls.append(("update", course_id, spec, actor))
        if self.refuse_update:
            raise CourseChangeNotSupportedError(course_id, ["github.invite:students:carol-c"])
        added = ["github.invite:students:nora-n"]
        removed = ["github.invite:students:carol-c", "github.invite:students:dave-d"]
        status = CourseStatus(course_id, "in_progress", {"pending": 1}, [])
        return CourseUpdate(_record(course_id), added, [], removed, [], status)

    async def recent(self, limit: int = 10) -> list[CourseSummary]:
        self.calls.append(("recent", limit))
        at = datetime(2027, 1, 1, tzinfo=UTC)
        return [
            CourseSummary("c-2", "CS201", "2027-fall", "Systems Lab", "awaiting_action", at),
            CourseSummary("c-1", "CS101", "2027-spring", "Intro", "succeeded", at),
        ]


class Bot(discord.Client):
    def __init__(self, sink: ListSink) -> None:
        super().__init__(
            intents=discord.Intents.default(),
            guild_ready_timeout=0.05,
            http_trace=make_audit_trace(sink),
            max_ratelimit_timeout=30.0,
        )
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(self)
        self.ready = asyncio.Event()

    async def on_ready(self) -> None:
        self.ready.set()


@pytest.fixture
def services() -> FakeServices:
    return FakeServices()


@pytest.fixture
def admin_guild_id(world: World) -> str | None:
    """The admin server: the world's, where Ada runs the commands; a test overrides it."""
    return world.guild_id


@pytest.fixture
async def bot(
    discord_at_sandbox: None,
    world: World,
    sink: ListSink,
    services: FakeServices,
    admin_guild_id: str | None,
) -> AsyncIterator[Bot]:
    """A connected client with the /course group installed, in Ada's server (the admin one)."""
    client = Bot(sink)
    commands = CourseCommands(
        claims=services,
        courses=services,
        claim_code=code_of,
        admin_role=ADMIN,
        admin_guild_id=admin_guild_id,
    )
    install(client.tree, commands)
    await client.login(TOKEN)
    task = asyncio.create_task(client.connect(reconnect=False))
    try:
        async with asyncio.timeout(5):
            await client.ready.wait()
        yield client
    finally:
        await client.close()
        await asyncio.wait([task], timeout=5)


@dataclass(frozen=True)
class Sent:
    id: str
    mark: int  # audit rows written before the command ran


async def run(
    control: Control, sink: ListSink, world: World, user: str, sub: str, **values: str
) -> Sent:
    """A person runs `/course <sub> …` in the world's server."""
    mark = len(sink.rows)
    options = [{"name": k, "type": 3, "value": v} for k, v in values.items()]
    body = {
        "guild_id": world.guild_id,
        "user": user,
        "name": "course",
        "options": [{"name": sub, "type": 1, "options": options}],
    }
    created = await control("POST", "/interactions", json=body)
    return Sent(str(created["id"]), mark)


async def run_with_file(
    control: Control, sink: ListSink, world: World, user: str, course: str, csv: str
) -> Sent:
    """A person runs `/course roster <course> <file>` with `csv` as the attached file."""
    mark = len(sink.rows)
    attachment = {"filename": "roster.csv", "text": csv, "content_type": "text/csv"}
    options = [
        {"name": "course", "type": 3, "value": course},
        {"name": "file", "type": 11, "attachment": attachment},
    ]
    body = {
        "guild_id": world.guild_id,
        "user": user,
        "name": "course",
        "options": [{"name": "roster", "type": 1, "options": options}],
    }
    created = await control("POST", "/interactions", json=body)
    return Sent(str(created["id"]), mark)


async def make_admin(bot: Bot, world: World, user: str) -> None:
    """The server owner gives `user` the admin role."""
    governor = RateGovernor("discord", GovernorLimits.discord(scale=1e6), FastForwardClock())
    gateway = DiscordRestGateway(bot, governor)
    role = await gateway.create_role(
        world.guild_id, name=ADMIN, permissions=0, hoist=False, mentionable=False, reason="t"
    )
    await gateway.add_member_role(world.guild_id, world.users[user], role.value.id, reason="t")


async def answer(control: Control, sink: ListSink, sent: Sent) -> str:
    """The text the person saw in the follow-up after the defer."""
    await sink.wait_for(lambda x: x.path.startswith("/webhooks/"), after=sent.mark)
    seen = await control("GET", f"/interactions/{sent.id}")
    assert seen["callback"]["data"]["flags"] & 64  # ephemeral
    return str(seen["followups"][0]["content"])


async def test_claim_in_the_new_server_reaches_the_claim_service(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """The owner runs /course claim: the service gets code, guild and user; the reply says so."""
    sent = await run(control, sink, world, "ada", "claim", code="ABCD-EFGH-JK")
    text = await answer(control, sink, sent)
    assert services.calls == [("claim", "ABCD-EFGH-JK", world.guild_id, world.users["ada"])]
    assert "CS101 2027-spring" in text
    follow_up, context = next((x, c) for x, c in sink.rows if x.path.startswith("/webhooks/"))
    assert context.actor == f"discord:{world.users['ada']}"
    assert "ABCD" not in str(follow_up.request_summary)


async def test_claim_without_manage_server_is_refused(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """A member without Manage Server gets a short ephemeral refusal; nothing is claimed."""
    await control("POST", f"/guilds/{world.guild_id}/members", json={"user": "bob"})
    sent = await run(control, sink, world, "bob", "claim", code="ABCD-EFGH-JK")
    await sink.wait_for(lambda x: x.path.startswith("/interactions/"), after=sent.mark)
    seen = await control("GET", f"/interactions/{sent.id}")
    assert seen["callback"]["type"] == 4
    assert seen["callback"]["data"]["flags"] & 64
    assert "Manage Server" in seen["callback"]["data"]["content"]
    assert services.calls == []


async def test_status_and_retry_need_the_admin_role(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """Without the admin role: refused. With it: status renders the waiting step's hint."""
    refused = await run(control, sink, world, "ada", "status", course="c-1")
    await sink.wait_for(lambda x: x.path.startswith("/interactions/"), after=refused.mark)
    seen = await control("GET", f"/interactions/{refused.id}")
    assert ADMIN in seen["callback"]["data"]["content"]

    governor = RateGovernor("discord", GovernorLimits.discord(scale=1e6), FastForwardClock())
    gateway = DiscordRestGateway(bot, governor)
    role = await gateway.create_role(
        world.guild_id, name=ADMIN, permissions=0, hoist=False, mentionable=False, reason="t"
    )
    ada = world.users["ada"]
    await gateway.add_member_role(world.guild_id, ada, role.value.id, reason="t")

    sent = await run(control, sink, world, "ada", "retry", course="c-1")
    text = await answer(control, sink, sent)
    assert services.calls == [("retry", "c-1", f"discord:{ada}"), ("status", "c-1")]
    assert "Retrying 1 step(s)" in text
    assert "`discord.server` awaiting_action: Create a server" in text


async def test_status_shows_an_admin_the_claim_code_while_the_server_waits(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """An admin's /course status shows the code to run /course claim with while the server
    step waits for a claim; the audit row of that reply keeps only the message's keys."""
    await make_admin(bot, world, "ada")
    sent = await run(control, sink, world, "ada", "status", course="c-1")
    text = await answer(control, sink, sent)
    code = code_of("c-1")
    assert f"Claim code: `{code}`: run `/course claim {code}`" in text
    assert "`discord.server` awaiting_action: Create a server" in text
    rows = [x for x, _ in sink.rows[sent.mark :]]
    assert rows
    assert all(code not in f"{x.path} {x.request_summary}" for x in rows)


async def test_status_shows_no_claim_code_once_the_server_is_claimed(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """After the claim, /course status no longer shows a code: there is nothing to claim."""
    await make_admin(bot, world, "ada")
    services.guild_id = world.guild_id
    sent = await run(control, sink, world, "ada", "status", course="c-1")
    text = await answer(control, sink, sent)
    assert text.startswith("Course c-1: **in_progress**")
    assert "Claim code" not in text
    assert code_of("c-1") not in text


async def test_a_service_error_becomes_a_short_ephemeral_reply(
    control: Control, world: World, bot: Bot, sink: ListSink
) -> None:
    """An unknown claim code: the person reads the error's title and detail, nothing else."""
    sent = await run(control, sink, world, "ada", "claim", code="BAD")
    text = await answer(control, sink, sent)
    assert text.startswith("Unknown claim code: this claim code belongs to no course")


async def test_roster_upload_replaces_the_students_and_reports_counts(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """An admin attaches a roster CSV: the stored description gets exactly those students,
    the update runs as that person, and the reply counts students and steps."""
    await make_admin(bot, world, "ada")
    csv = "name,github\nBob,bob-b\nNora New,nora-n\n"
    sent = await run_with_file(control, sink, world, "ada", "c-1", csv)
    text = await answer(control, sink, sent)
    (_, course_id, spec, actor) = services.calls[-1]
    assert (course_id, actor) == ("c-1", f"discord:{world.users['ada']}")
    assert [s.github for s in spec.students] == ["bob-b", "nora-n"]
    assert spec.staff == parse_course(lecture_course()).staff
    assert "CS101 2027-spring: 2 students (1 added, 2 removed, 0 moved" in text
    assert "Steps: 1 added, 0 changed, 2 removed." in text
    assert "in_progress" in text


async def test_roster_with_bad_rows_lists_each_row_and_column(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """A roster with a bad login and a missing name: the reply names each row and column, and
    nothing is updated."""
    await make_admin(bot, world, "ada")
    csv = "name,github\nBob,bob-b\nEve,-eve-\n,nora-n\n"
    sent = await run_with_file(control, sink, world, "ada", "c-1", csv)
    text = await answer(control, sink, sent)
    assert text.startswith("Invalid course description:")
    assert "- row 3, column github:" in text
    assert "- row 4, column name:" in text
    assert not [c for c in services.calls if c[0] == "update"]


async def test_roster_refused_removal_says_what_to_do(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """A roster that drops a provisioned student: the reply is the refusal, naming the step."""
    await make_admin(bot, world, "ada")
    services.refuse_update = True
    sent = await run_with_file(control, sink, world, "ada", "c-1", "name,github\nBob,bob-b\n")
    text = await answer(control, sink, sent)
    assert text.startswith("Course change not supported:")
    assert "github.invite:students:carol-c" in text
    assert "by hand" in text


async def test_roster_and_list_need_the_admin_role(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """Without the admin role both are refused before any service call."""
    for sent in (
        await run_with_file(control, sink, world, "ada", "c-1", "name,github\nBob,bob-b\n"),
        await run(control, sink, world, "ada", "list"),
    ):
        await sink.wait_for(lambda x: x.path.startswith("/interactions/"), after=sent.mark)
        seen = await control("GET", f"/interactions/{sent.id}")
        assert ADMIN in seen["callback"]["data"]["content"]
    assert services.calls == []


async def test_list_shows_the_newest_courses_with_state_and_id(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """/course list asks for the newest 10 and shows code, term, state and id per line."""
    await make_admin(bot, world, "ada")
    sent = await run(control, sink, world, "ada", "list")
    text = await answer(control, sink, sent)
    assert services.calls == [("recent", 10)]
    assert text.splitlines() == [
        "Newest courses:",
        "- **CS201** 2027-fall: awaiting_action (`c-2`)",
        "- **CS101** 2027-spring: succeeded (`c-1`)",
    ]


def test_the_group_offers_every_course_subcommand(services: FakeServices) -> None:
    """One course service gives the group all five subcommands."""
    group = CourseCommands(
        claims=services, courses=services, claim_code=code_of, admin_role=ADMIN, admin_guild_id="1"
    )
    assert sorted(c.name for c in group.commands) == ["claim", "list", "retry", "roster", "status"]


async def refusal(control: Control, sink: ListSink, sent: Sent) -> str:
    """The text of the immediate ephemeral refusal (no defer, no follow-up)."""
    await sink.wait_for(lambda x: x.path.startswith("/interactions/"), after=sent.mark)
    seen = await control("GET", f"/interactions/{sent.id}")
    assert seen["callback"]["type"] == 4
    assert seen["callback"]["data"]["flags"] & 64
    assert not seen["followups"]
    return str(seen["callback"]["data"]["content"])


async def test_admin_commands_are_refused_in_another_server_with_a_role_of_that_name(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """Ada adds the bot to a server of her own and makes a "Course Admin" role there: every
    admin command is refused before any service call; in the admin server the same works."""
    own = await make_world(control)
    await make_admin(bot, own, "ada")
    for sub, values in (("status", {"course": "c-1"}), ("retry", {"course": "c-1"}), ("list", {})):
        sent = await run(control, sink, own, "ada", sub, **values)
        assert "only in the admin server" in await refusal(control, sink, sent)
    sent = await run_with_file(control, sink, own, "ada", "c-1", "name,github\nBob,bob-b\n")
    assert "only in the admin server" in await refusal(control, sink, sent)
    assert services.calls == []

    await make_admin(bot, world, "ada")
    sent = await run(control, sink, world, "ada", "list")
    assert (await answer(control, sink, sent)).startswith("Newest courses:")
    assert services.calls == [("recent", 10)]


async def test_claim_works_in_any_server(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """/course claim is run in the course's new server, which is not the admin server."""
    new = await make_world(control)
    assert new.guild_id != world.guild_id
    sent = await run(control, sink, new, "ada", "claim", code="ABCD-EFGH-JK")
    assert "is now the server of CS101 2027-spring" in await answer(control, sink, sent)
    assert services.calls == [("claim", "ABCD-EFGH-JK", new.guild_id, world.users["ada"])]


async def test_the_defer_and_the_refusal_are_audited_as_the_person(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """The interaction callback (the defer, or an error reply) names the person who ran the
    command as its actor, not the runner."""
    ada = f"discord:{world.users['ada']}"
    refused = await run(control, sink, world, "ada", "status", course="c-1")
    _, context = await sink.wait_for(
        lambda x: x.path.startswith("/interactions/"), after=refused.mark
    )
    assert context.actor == ada

    await make_admin(bot, world, "ada")
    sent = await run(control, sink, world, "ada", "status", course="c-1")
    await answer(control, sink, sent)
    callbacks = [c for x, c in sink.rows[sent.mark :] if x.path.startswith("/interactions/")]
    assert [c.actor for c in callbacks] == [ada]


@pytest.mark.parametrize("admin_guild_id", [None])
async def test_without_an_admin_server_the_admin_commands_are_refused(
    control: Control, world: World, bot: Bot, sink: ListSink, services: FakeServices
) -> None:
    """No DISCORD_ADMIN_GUILD_ID (development): even a role holder is told to set it."""
    await make_admin(bot, world, "ada")
    sent = await run(control, sink, world, "ada", "list")
    assert "set DISCORD_ADMIN_GUILD_ID" in await refusal(control, sink, sent)
    assert services.calls == []
