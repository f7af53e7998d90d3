"""`/course roster-status`: counts per state, the stuck people and why, strangers who joined."""

from __future__ import annotations

from provisioning.courses.spec import parse_course
from tests.e2e.harness import Control, Product, laboratory, logins, until

from .conftest import Person, embed_text, ephemeral, string


async def test_counts_stuck_people_and_unknown_joiners(
    product: Product, control: Control, ada: Person
) -> None:
    """Student 1-1's GitHub login does not exist: the reply counts them as an unknown login and
    names them with what is wrong; Barbara joined the server without a roster line and is listed."""
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    spec = parse_course(data)
    await control.github_users(login for login in logins(spec) if login != "s-1-1")
    course_id = await product.create(data)
    await product.run()
    guild = await control.server_with_bot(spec, owner="ada")
    await product.claim(course_id, guild, people["ada"])
    await product.run()
    await control.join(guild, "barbara")
    joins = product.built.member_joins

    async def listed() -> bool:
        return bool(await joins.unknown_joiners(course_id))

    await until(listed, timeout_s=15, what="Barbara listed")

    seen = await ada.run("roster-status", string("course", course_id))
    message = await ada.reply(seen["id"])
    assert ephemeral(message)
    text = embed_text(message)
    assert "Roster status: CS201 · 2027-fall" in text
    assert "8 people on the roster; 1 stuck." in text
    assert "E-mail\n8 no address\n" in text
    assert "GitHub\n7 invitation pending · 1 unknown login\n" in text
    # When those states were read from GitHub (a Discord timestamp, in the reader's zone).
    assert "\nPending invitations checked on GitHub <t:" in text
    assert "Stuck (1)\n- Student 1-1 (`s-1-1`): " in text
    barbara = people["barbara"]
    joined = f"Joined the server, not on the roster (1)\n- barbara (id {barbara}), joined <t:"
    assert joined in text


async def test_nobody_stuck_says_so(product: Product, control: Control, ada: Person) -> None:
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    await product.run()
    seen = await ada.run("roster-status", string("course", course_id))
    text = embed_text(await ada.reply(seen["id"]))
    assert "nobody is stuck." in text
    assert "Stuck" not in text
    assert "not on the roster" not in text
