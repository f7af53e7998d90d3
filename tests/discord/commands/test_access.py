"""Who may run the admin commands, and courses picked by autocomplete."""

from __future__ import annotations

from tests.e2e.harness import Control, Product, laboratory, lecture

from .conftest import ADMIN_GUILD, ADMIN_ROLE, Person, attachment, embed_text, string

ADMIN_COMMANDS = {
    "create": [string("kind", "lecture")],
    "status": [string("course", "CS101 2027-spring")],
    "retry": [string("course", "CS101 2027-spring")],
    "roster": [
        string("course", "CS101 2027-spring"),
        attachment("file", b"name,github\nBob,bob-b\n"),
    ],
    "list": [],
    "invites": [string("course", "CS101 2027-spring")],
}


async def refusal(person: Person, sub: str) -> str:
    """The immediate ephemeral answer to `/course sub` (no defer, no modal, no follow-up)."""
    seen = await person.run(sub, *ADMIN_COMMANDS[sub])
    assert seen["callback"]["type"] == 4, seen
    assert seen["original"]["flags"] & 64
    return str(seen["original"]["content"])


async def test_a_member_without_the_admin_role_is_refused_every_admin_command(
    product: Product, control: Control
) -> None:
    """Bob joins the admin server without the role: each admin command says which role is
    needed, and nothing is stored."""
    await control.call("POST", f"/discord/guilds/{ADMIN_GUILD}/members", json={"user": "bob"})
    bob = Person(control, "bob")
    for sub in ADMIN_COMMANDS:
        text = await refusal(bob, sub)
        assert text == (
            f"Not allowed: this command needs the {ADMIN_ROLE!r} role in this server; ask its owner"
        ), sub
    assert await product.courses.recent() == []


async def test_the_admin_role_in_another_server_is_refused(
    product: Product, control: Control, ada: Person
) -> None:
    """Ada adds the bot to a server of her own and gives herself a role named like the admin
    role: every admin command there names the admin server it runs in."""
    people = await control.discord_users()
    guild = await control.call("POST", "/discord/guilds", json={"name": "Mine", "owner": "ada"})
    await control.call("POST", f"/discord/guilds/{guild['id']}/bot", json={"permissions": 8})
    gateway = product.built.discord
    role = await gateway.create_role(
        guild["id"], name=ADMIN_ROLE, permissions=0, hoist=False, mentionable=False, reason="t"
    )
    await gateway.add_member_role(guild["id"], people["ada"], role.value.id, reason="t")
    elsewhere = ada.at(guild["id"])
    for sub in ADMIN_COMMANDS:
        text = await refusal(elsewhere, sub)
        assert text.startswith(
            f"Not allowed: this command runs only in the admin server (id {ADMIN_GUILD}), by "
            f"members with the {ADMIN_ROLE!r} role there"
        ), sub
    assert await product.courses.recent() == []


async def test_autocomplete_finds_courses_by_code_and_term(
    product: Product, control: Control, ada: Person
) -> None:
    """Typing part of a code or a term lists the matching courses, newest first; the value
    picked is the course id, which the command accepts; a non-admin gets no list at all."""
    people = await control.discord_users()
    lecture_id = await product.create(lecture(people["ada"], people["grace"]))
    lab_id = await product.create(laboratory(people["ada"], people["grace"]))

    choices = await ada.autocomplete("status", "course", "cs1")
    assert choices == [
        {"name": "CS101 · 2027-spring · Introduction to Programming", "value": lecture_id}
    ]
    choices = await ada.autocomplete("retry", "course", "2027")
    assert [c["value"] for c in choices] == [lab_id, lecture_id]
    choices = await ada.autocomplete("roster", "course", "fall")
    assert [c["name"] for c in choices] == ["CS201 · 2027-fall · Systems Lab"]
    assert await ada.autocomplete("status", "course", "cs2 spring") == []

    shown = await ada.run("status", string("course", lab_id))
    await ada.until(shown["id"], lambda v: "CS201 · 2027-fall" in embed_text(v["original"]))
    typed = await ada.run("list")
    listed = embed_text(await ada.reply(typed["id"]))
    assert "**CS201** · 2027-fall · Systems Lab: Waiting to start" in listed

    await control.call("POST", f"/discord/guilds/{ADMIN_GUILD}/members", json={"user": "bob"})
    assert await Person(control, "bob").autocomplete("status", "course", "cs") == []


async def test_every_command_with_a_course_option_suggests_courses(
    product: Product, control: Control, ada: Person
) -> None:
    """Each registered `/course` subcommand with a `course` option is registered with
    autocomplete and suggests the admin's courses; those without one have no suggestions."""
    people = await control.discord_users()
    course_id = await product.create(lecture(people["ada"], people["grace"]))
    registered = await control.call("GET", "/discord/commands")
    (group,) = [c for c in registered if c["name"] == "course"]
    with_course = []
    for sub in group["options"]:
        course = [o for o in sub.get("options", []) if o["name"] == "course"]
        if course:
            assert course[0].get("autocomplete") is True, sub["name"]
            with_course.append(sub["name"])
        else:
            assert not any(o.get("autocomplete") for o in sub.get("options", [])), sub["name"]
    assert set(with_course) >= {"status", "retry", "roster", "invites", "archive"}
    for sub in with_course:
        choices = await ada.autocomplete(sub, "course", "cs1")
        assert [c["value"] for c in choices] == [course_id], sub


async def test_a_course_nobody_has_gets_a_clear_answer(product: Product, ada: Person) -> None:
    """A typed value matching no course: the reply says how to pick one."""
    seen = await ada.run("status", string("course", "CS999 2027-spring"))
    reply = await ada.reply(seen["id"])
    assert reply["content"] == (
        "Course not found: nothing matches 'CS999 2027-spring'. Start typing the course's code "
        "or term and pick it from the list."
    )
    assert reply["flags"] & 64
