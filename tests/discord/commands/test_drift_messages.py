"""Drift as staff read it in Discord: the course log's message after a reconcile repaired
changes made by hand, and the last reconcile on `/course status`."""

from __future__ import annotations

from typing import Any

from provisioning.courses.drift_findings import GITHUB_UNKNOWN
from provisioning.courses.spec import parse_course
from sandbox.server import SandboxServer
from tests.e2e.harness import Control, Product, discord_world, laboratory, logins

from .conftest import ADMIN_GUILD, Person, embed_text, running_bot, string
from .test_live_status import server_with_bot


async def log_messages(control: Control) -> list[dict[str, Any]]:
    """The messages of #course-log, oldest first, as members see them."""
    guild = await control.call("GET", f"/discord/guilds/{ADMIN_GUILD}")
    channel = next(c for c in guild["channels"] if c["name"] == "course-log")
    return list(await control.call("GET", f"/discord/channels/{channel['id']}/messages"))


async def test_repairs_are_posted_to_the_course_log_and_shown_on_course_status(
    product: Product, sandbox: SandboxServer, control: Control, ada: Person
) -> None:
    """A provisioned course; Ada takes Grace's TA role away by hand and Grace leaves the TA
    team. `/course status` says the course was never checked; the reconcile repairs both and
    posts one message to #course-log naming what changed, who (Ada, from Discord's audit log;
    GitHub's reason for naming nobody) and where the report is; `/course status` shows the
    last check with the same lines. A reconcile that finds nothing posts nothing."""
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    await product.run()
    guild = await server_with_bot(control, data)
    await product.claim(course_id, guild, people["ada"])
    await product.run()
    assert set((await product.states(course_id)).values()) == {"succeeded"}
    log = product.built.course_log
    await log.post_due()
    before = len(await log_messages(control))

    seen = await ada.run("status", string("course", "CS201 2027-fall"))
    first = await ada.until(seen["id"], lambda v: bool(v["original"]["embeds"]))
    assert "Changes made by hand" not in embed_text(first["original"])

    grace = people["grace"]
    server = discord_world(sandbox).guilds[int(guild)]
    ta_role = next(r.id for r in server.roles.values() if r.name == "TA")
    await control.call(
        "DELETE",
        f"/discord/guilds/{guild}/members/{grace}/roles/{ta_role}",
        json={"actor": "ada", "reason": "end of the TA contract"},
    )
    await product.built.github.remove_team_membership(
        "demo-university", "cs201-2027-fall-tas", "grace"
    )
    await product.built.reconcile.start(course_id)
    await product.run()
    await product.built.reconcile.finish(course_id)
    assert await log.post_due() == 1

    posted = (await log_messages(control))[before:]
    assert len(posted) == 1
    text = embed_text(posted[0])
    assert text.startswith("CS201 · 2027-fall: Changes made by hand repaired")
    assert "found 2 changes made by hand" in text
    assert "- Discord member Grace (@grace): the role TA was taken away by Ada (@ada) on " in text
    assert "· repaired: the role TA given back" in text
    assert (
        "- GitHub team cs201-2027-fall-tas: grace was no longer a member "
        f"(who: {GITHUB_UNKNOWN}) · repaired: grace added back" in text
    )
    assert f"`GET /courses/{course_id}/drift`" in text

    again = await ada.run("status", string("course", "CS201 2027-fall"))
    view = await ada.until(again["id"], lambda v: bool(v["original"]["embeds"]))
    card = embed_text(view["original"])
    assert "Changes made by hand" in card
    assert ": 2 repaired." in card
    assert "the role TA was taken away by Ada (@ada)" in card

    await product.built.reconcile.start(course_id)
    await product.run()
    quiet = await product.built.reconcile.finish(course_id)
    assert quiet.repairs == []
    assert await log.post_due() == 0
    assert len(await log_messages(control)) == before + 1


async def take_ta_role_by_hand(control: Control, sandbox: SandboxServer, guild: str) -> None:
    """Ada takes Grace's TA role away in the course's server, as a person would."""
    grace = (await control.discord_users())["grace"]
    server = discord_world(sandbox).guilds[int(guild)]
    ta_role = next(r.id for r in server.roles.values() if r.name == "TA")
    await control.call(
        "DELETE",
        f"/discord/guilds/{guild}/members/{grace}/roles/{ta_role}",
        json={"actor": "ada", "reason": "end of the TA contract"},
    )


def drift_texts(messages: list[dict[str, Any]]) -> list[str]:
    """The drift messages among #course-log's, as members read them."""
    texts = [embed_text(m) for m in messages]
    return [t for t in texts if ": Changes made by hand" in t.splitlines()[0]]


async def test_a_restart_between_the_reconcile_and_the_post_posts_the_message_once(
    database_url: str, sandbox: SandboxServer, control: Control
) -> None:
    """The bot reconciles a course Ada changed by hand and stops before its course log posts
    (its next tick never comes); the bot started again on the same database posts the
    message once, however often its log runs, and a third start posts nothing more."""
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    async with running_bot(database_url, sandbox) as first:
        course_id = await first.create(data)
        await first.run()
        guild = await server_with_bot(control, data)
        await first.claim(course_id, guild, people["ada"])
        await first.run()
        await first.built.course_log.post_due()
        await take_ta_role_by_hand(control, sandbox, guild)
        await first.built.reconcile.start(course_id)
        await first.run()
        recorded = await first.built.reconcile.finish(course_id)
        assert len(recorded.repairs) == 1
    before = await log_messages(control)
    assert drift_texts(before) == []

    async with running_bot(database_url, sandbox) as second:
        log = second.built.course_log
        assert await log.post_due() == 1
        assert await log.post_due() == 0
    async with running_bot(database_url, sandbox) as third:
        assert await third.built.course_log.post_due() == 0

    after = await log_messages(control)
    assert len(after) == len(before) + 1
    [text] = drift_texts(after)
    assert text.startswith("CS201 · 2027-fall: Changes made by hand repaired")
    assert "found 1 change made by hand" in text
    assert "- Discord member Grace (@grace): the role TA was taken away by Ada (@ada) on " in text
    assert f"`GET /courses/{course_id}/drift`" in text


async def test_a_drift_message_discord_refused_is_posted_on_the_next_round(
    product: Product, sandbox: SandboxServer, control: Control
) -> None:
    """Discord fails the course log's drift message (503): it stays due, and the next round,
    once Discord is back, posts it once."""
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    await product.run()
    guild = await server_with_bot(control, data)
    await product.claim(course_id, guild, people["ada"])
    await product.run()
    log = product.built.course_log
    await log.post_due()
    await take_ta_role_by_hand(control, sandbox, guild)
    await product.built.reconcile.start(course_id)
    await product.run()
    await product.built.reconcile.finish(course_id)

    await control.fault(
        kind="status", platform="discord", method="POST", path="/channels/*/messages", status=503
    )
    assert await log.post_due() == 0
    assert drift_texts(await log_messages(control)) == []
    await control.clear_faults()
    assert await log.post_due() == 1
    assert await log.post_due() == 0
    assert len(drift_texts(await log_messages(control))) == 1
