"""The course log: one message per milestone of each course in the admin server's #course-log."""

from __future__ import annotations

from provisioning.courses.spec import parse_course
from tests.e2e.harness import Control, Product, laboratory, logins

from .conftest import ADMIN_GUILD
from .test_live_status import server_with_bot


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
