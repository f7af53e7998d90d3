"""`/course create` from the modal to a finished course, as the sandbox's instructor sees it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from provisioning.discord.steps.server import needed_permissions
from sandbox.server import SandboxServer
from tests.e2e.expect import check_discord, check_github
from tests.e2e.harness import Product, discord_world, github_state

from .conftest import ADMIN_GUILD, Person, attachment, buttons, embed_text, ephemeral, string

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
DETAILS = {
    "code": "CS101",
    "title": "Introduction to Programming",
    "term": "2027-spring",
    "github_org": "demo-university",
    "github_login": "ada",
}


async def preview(ada: Person, csv: bytes | None, kind: str = "laboratory") -> dict[str, object]:
    """Ada runs /course create, fills the modal; the preview message she is shown."""
    options = [string("kind", kind)]
    if csv is not None:
        options.append(attachment("roster", csv))
    opened = await ada.run("create", *options)
    assert opened["callback"]["type"] == 9, opened
    fields = {c["components"][0]["custom_id"] for c in opened["modal"]["components"]}
    assert fields == set(DETAILS)
    submitted = await ada.submit(opened["id"], DETAILS)
    return await ada.reply(submitted["id"])


async def test_create_confirm_twice_claim_and_done(
    product: Product, sandbox: SandboxServer, ada: Person
) -> None:
    """The instructor creates a lab course with the example roster: the preview shows what
    will be made; Confirm clicked twice makes one course; the claim instructions lead to a
    server she creates, the claim there, and a status that reaches done. The platforms hold
    exactly what the course describes."""
    message = await preview(ada, (EXAMPLES / "roster.csv").read_bytes())
    assert ephemeral(message)
    text = embed_text(message)
    assert "New course: CS101 · 2027-spring" in text
    assert "1 staff, 2 students, 2 lab groups (lab-01, lab-02)" in text
    assert "- 3 repositories" in text
    assert "writes" in text
    assert "once the course's server is claimed" in text
    assert "Nothing is stored until you confirm." in text
    assert await product.courses.recent() == []
    choice = buttons(message)
    assert set(choice) == {"Confirm", "Cancel"}

    first = await ada.click(message["id"], choice["Confirm"], wait=False)
    second = await ada.click(message["id"], choice["Confirm"], wait=False)
    answers = [await ada.reply(first["id"]), await ada.reply(second["id"])]
    courses = await product.courses.recent()
    assert [(c.code, c.term) for c in courses] == [("CS101", "2027-spring")]
    titles = sorted(a["embeds"][0]["title"] for a in answers)
    assert titles == [
        "Course already created (by an earlier Confirm): CS101 · 2027-spring",
        "Course created: CS101 · 2027-spring",
    ]
    shown = await ada.seen(first["id"])
    assert shown["original"]["components"] == []  # the preview lost its buttons
    assert "Confirmed by" in embed_text(shown["original"])

    claim = answers[0]
    text = embed_text(claim)
    assert "Discord bots cannot create servers, so the course's server is yours to create:" in text
    assert "has to wait" not in text
    code = product.built.claim_code(courses[0].id)
    assert f"/course claim {code}" in text
    spec = (await product.courses.get(courses[0].id)).spec
    link = next(f["value"] for f in claim["embeds"][0]["fields"] if f["name"] == "Install link")
    url = urlsplit(link)
    assert f"{url.scheme}://{url.netloc}" == sandbox.base_url
    assert url.path == "/oauth2/authorize"
    query = parse_qs(url.query)
    assert query["scope"] == ["bot applications.commands"]
    assert query["permissions"] == [str(needed_permissions(spec))]
    assert "Manage Roles" in text

    await product.run()
    states = await product.states(courses[0].id)
    assert states.pop("discord.server") == "awaiting_action"
    assert {s for k, s in states.items() if k.startswith("github.")} == {"succeeded"}

    # Ada creates the course's server and adds the bot with the link's permissions.
    guild = await ada.control.call(
        "POST", "/discord/guilds", json={"name": "CS101", "owner": "ada"}
    )
    body = {"permissions": int(query["permissions"][0])}
    await ada.control.call("POST", f"/discord/guilds/{guild['id']}/bot", json=body)
    claimed = await ada.at(guild["id"]).run("claim", string("code", code))
    reply = await ada.reply(claimed["id"])
    assert ephemeral(reply)
    assert reply["content"].startswith("This server is now the server of CS101")

    await product.run()
    status = await ada.run("status", string("course", courses[0].id))
    shown = await ada.until(
        status["id"],
        lambda v: (
            "Done" in v["original"]["embeds"][0]["title"] if v["original"]["embeds"] else False
        ),
    )
    embed = shown["original"]["embeds"][0]
    assert embed["title"] == "CS101 · 2027-spring: Done"
    assert "100% (" in embed["description"]
    assert ephemeral(shown["original"])
    check_github(github_state(sandbox), spec)
    check_discord(discord_world(sandbox), guild["id"], spec)
    assert guild["id"] != ADMIN_GUILD


async def test_cancel_stores_nothing(product: Product, ada: Person) -> None:
    """Cancel under the preview: the message says so, no course exists, Confirm later fails."""
    message = await preview(ada, None, kind="lecture")
    choice = buttons(message)
    cancelled = await ada.click(message["id"], choice["Cancel"])
    shown = await ada.until(cancelled["id"], lambda v: v["original"]["components"] == [])
    assert "Cancelled by" in embed_text(shown["original"])
    assert "nothing was stored" in embed_text(shown["original"])
    assert await product.courses.recent() == []
    await asyncio.sleep(0)
