"""`/course claim` in the server a person created: clear answers for wrong and used codes."""

from __future__ import annotations

from tests.e2e.harness import Control, Product, lecture

from .conftest import Person, string


async def new_server(control: Control, owner: str = "ada") -> str:
    guild = await control.call("POST", "/discord/guilds", json={"name": "New", "owner": owner})
    await control.call("POST", f"/discord/guilds/{guild['id']}/bot", json={"permissions": 8})
    return str(guild["id"])


async def test_a_wrong_code_says_where_to_find_the_right_one(
    product: Product, control: Control, ada: Person
) -> None:
    """A code no course has: the reply says so and where the code is shown."""
    guild = await new_server(control)
    seen = await ada.at(guild).run("claim", string("code", "ABCD-EFGH-JK"))
    reply = await ada.reply(seen["id"])
    assert reply["flags"] & 64
    assert reply["content"].startswith(
        "Unknown claim code: this claim code belongs to no course waiting for a server"
    )


async def test_a_code_used_for_another_server_is_refused(
    product: Product, control: Control, ada: Person
) -> None:
    """The course is claimed in one server; its code run in a second server is refused and
    the first server stays the course's; in the first server again it just says so."""
    people = await control.discord_users()
    course_id = await product.create(lecture(people["ada"], people["grace"]))
    code = product.built.claim_code(course_id)
    first, second = await new_server(control), await new_server(control)
    seen = await ada.at(first).run("claim", string("code", code))
    assert "is now the server of CS101" in (await ada.reply(seen["id"]))["content"]
    seen = await ada.at(second).run("claim", string("code", code))
    refused = (await ada.reply(seen["id"]))["content"]
    assert refused.startswith("Already claimed: "), refused
    seen = await ada.at(first).run("claim", string("code", code))
    assert "already was the server of CS101" in (await ada.reply(seen["id"]))["content"]


async def test_claiming_needs_manage_server(
    product: Product, control: Control, ada: Person
) -> None:
    """A member without Manage Server is told who can claim."""
    guild = await new_server(control)
    await control.call("POST", f"/discord/guilds/{guild}/members", json={"user": "bob"})
    seen = await Person(control, "bob", guild).run("claim", string("code", "ABCD-EFGH-JK"))
    assert seen["original"]["content"] == (
        "Not allowed: claiming a server needs Manage Server in it: ask its owner to run the command"
    )
