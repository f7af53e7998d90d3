"""The course log: one message per milestone of each course in the admin server's #course-log,
each saying why the course waits and what to do."""

from __future__ import annotations

from provisioning.courses.spec import parse_course
from tests.e2e.harness import Control, Product, laboratory, logins

from .conftest import ADMIN_GUILD, embed_text
from .test_live_status import server_with_bot
from .test_server_count import set_servers


async def log_messages(control: Control) -> list[str]:
    """The titles of the messages in #course-log, oldest first, as members see them."""
    guild = await control.call("GET", f"/discord/guilds/{ADMIN_GUILD}")
    channel = next(c for c in guild["channels"] if c["name"] == "course-log")
    messages = await control.call("GET", f"/discord/channels/{channel['id']}/messages")
    return [m["embeds"][0]["title"] for m in messages]


async def test_each_milestone_is_posted_once(product: Product, control: Control) -> None:
    """Created and waiting for its server, then claimed and done: four messages, each once,
    however often the log is run."""
    log = product.built.course_log
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    assert await log.post_due() == 1
    await product.run()
    assert await log.post_due() == 1
    assert await log.post_due() == 0
    assert await log_messages(control) == [
        "CS201 · 2027-fall: Course created",
        "CS201 · 2027-fall: Waiting for its server",
    ]
    guild = await server_with_bot(control, data)
    await product.claim(course_id, guild, people["ada"])
    await product.run()
    assert await log.post_due() == 2
    assert await log.post_due() == 0
    assert (await log_messages(control))[2:] == [
        "CS201 · 2027-fall: Server claimed",
        "CS201 · 2027-fall: Done",
    ]


async def test_a_person_needed_is_posted_with_what_to_do(
    product: Product, control: Control
) -> None:
    """Students whose GitHub logins do not exist: the log says a person is needed, how many
    steps, and the first step's hint."""
    people = await control.discord_users()
    await control.github_users(["ada", "grace"])
    await product.create(laboratory(people["ada"], people["grace"]))
    await product.run()
    log = product.built.course_log
    await log.post_due()
    titles = await log_messages(control)
    assert titles == [
        "CS201 · 2027-fall: Course created",
        "CS201 · 2027-fall: Waiting for its server",
        "CS201 · 2027-fall: Needs a person",
    ]


async def log_texts(control: Control) -> list[str]:
    """Everything members read in each message of #course-log, oldest first."""
    guild = await control.call("GET", f"/discord/guilds/{ADMIN_GUILD}")
    channel = next(c for c in guild["channels"] if c["name"] == "course-log")
    messages = await control.call("GET", f"/discord/channels/{channel['id']}/messages")
    return [embed_text(m) for m in messages if m.get("embeds")]


async def test_at_the_server_cap_the_log_says_why_the_course_waits_not_to_add_the_bot(
    product: Product, control: Control
) -> None:
    """The bot is in 100 servers (an unverified app's cap): the course's waiting message says
    so and what to do (verify the app, or archive old courses and remove the bot), with no
    word of adding the bot or claiming; at 99 the log asks for the server and the claim."""
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    log = product.built.course_log
    await set_servers(product, control, 100)
    await product.built.servers.check()
    await product.run()
    await log.post_due()
    texts = [t for t in await log_texts(control) if t.startswith("CS201")]
    assert [t.splitlines()[0] for t in texts] == [
        "CS201 · 2027-fall: Course created",
        "CS201 · 2027-fall: Waiting: the bot is at Discord's server cap",
    ]
    waiting = texts[1]
    assert "The bot is in 100 servers, and unverified Discord apps stop at 100" in waiting
    assert "verify the app in the Discord Developer Portal" in waiting
    assert "archive old courses and remove the bot from their servers" in waiting
    assert "add the bot" not in waiting.lower()
    assert "/course claim" not in waiting
    assert f"Course id {course_id}" in waiting

    await set_servers(product, control, 99)
    await product.built.servers.check()
    await product.run()
    assert await log.post_due() == 1
    latest = (await log_texts(control))[-1]
    assert latest.startswith("CS201 · 2027-fall: Waiting for its server")
    assert "Create a server, add the bot and run /course claim there" in latest
