"""A lecture and a 3-group laboratory, provisioned end to end, checked on the platforms."""

from __future__ import annotations

from provisioning.permissions import SEND_MESSAGES
from provisioning.plan import plan_course
from sandbox.server import SandboxServer
from tests.e2e.expect import check_discord, check_github
from tests.e2e.harness import (
    MUTATING,
    Control,
    Product,
    back_to_pending,
    discord_world,
    github_state,
    journal_cursor,
    provision_both,
)


async def test_lecture_and_laboratory_are_provisioned_completely(
    product: Product, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """Every item of the definition of done holds in the sandbox's GitHub and Discord."""
    done = await provision_both(product, control, people)

    state = github_state(sandbox)
    check_github(state, done.lecture)
    check_github(state, done.lab)

    world = discord_world(sandbox)
    lecture = check_discord(world, done.lecture_guild, done.lecture)
    assert lecture.guild.name == "CS101 · Introduction to Programming · 2027-spring"
    lab = check_discord(world, done.lab_guild, done.lab)
    assert lab.guild.name == "CS201 · Systems Lab · 2027-fall"

    joined = await control.accept_invite(lecture.invites["students"], "bob")
    assert str(lecture.roles["Student"]) in joined["roles"]
    assert joined["new_member"]
    for user, invite in (("alan", "lab-01"), ("bob", "lab-02"), ("barbara", "students")):
        await control.accept_invite(lab.invites[invite], user)

    world = discord_world(sandbox)
    lecture = check_discord(world, done.lecture_guild, done.lecture)
    bob, grace = people["bob"], people["grace"]
    assert lecture.can(bob, "announcements")
    assert not lecture.can(bob, "announcements", SEND_MESSAGES)
    assert lecture.can(grace, "announcements", SEND_MESSAGES)
    for channel in ("general", "lectures", "qa-help"):
        assert lecture.can(bob, channel, SEND_MESSAGES)

    lab = check_discord(world, done.lab_guild, done.lab)
    alan, barbara = people["alan"], people["barbara"]
    member_roles = {
        user: {r for r, i in lab.roles.items() if i in lab.guild.members[int(people[user])].roles}
        for user in ("alan", "bob", "barbara")
    }
    assert member_roles == {
        "alan": {"Student", "Lab 01"},
        "bob": {"Student", "Lab 02"},
        "barbara": {"Student"},
    }
    bot = world.bot_user_id
    for group in ("lab-01", "lab-02", "lab-03"):
        assert lab.can(grace, group, SEND_MESSAGES)
        assert lab.can(bot, group)
        assert not lab.can(barbara, group)
    assert lab.can(alan, "lab-01", SEND_MESSAGES)
    assert not lab.can(alan, "lab-02")
    assert not lab.can(alan, "lab-03")
    assert lab.can(bob, "lab-02")
    assert not lab.can(bob, "lab-01")


async def test_running_a_completed_course_again_makes_no_writes(
    product: Product, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """Every step pending again with its ids: the runner verifies with reads only."""
    done = await provision_both(product, control, people)
    before = (github_state(sandbox), discord_world(sandbox))
    cursor = journal_cursor(sandbox)
    planned = len(plan_course(done.lecture)) + len(plan_course(done.lab))
    assert await back_to_pending(product.sessions) == planned
    await product.run()

    again = sandbox.journal.query(since=cursor, limit=100_000)
    assert {e.platform for e in again} == {"github", "discord"}
    writes = [(e.method, e.path) for e in again if e.method in MUTATING]
    assert writes == []
    for course_id in (done.lecture_id, done.lab_id):
        assert set((await product.states(course_id)).values()) == {"succeeded"}
    assert (github_state(sandbox), discord_world(sandbox)) == before
