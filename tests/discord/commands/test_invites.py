"""`/course invites`: staff see each live link, what it grants and when it expires; the codes
reach neither the audit log nor our logs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import AuditEvent
from provisioning.courses.spec import parse_course
from sandbox.server import SandboxServer
from tests.e2e.harness import (
    Control,
    Product,
    discord_world,
    journal_cursor,
    journal_requests,
    laboratory,
    logins,
)

from .conftest import Person, string
from .test_live_status import server_with_bot


async def test_staff_see_each_invite_link_with_its_roles_and_expiry(
    product: Product,
    sandbox: SandboxServer,
    control: Control,
    ada: Person,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After provisioning, /course invites lists the course invite and one per lab group,
    each with the sandbox's join link, the roles it grants, its expiry and uses."""
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    seen = await ada.run("invites", string("course", course_id))
    assert "No invites yet" in (await ada.reply(seen["id"]))["content"]

    guild = await server_with_bot(control, data)
    await product.claim(course_id, guild, people["ada"])
    await product.run()
    seen = await ada.run("invites", string("course", "CS201 2027-fall"))
    reply = await ada.reply(seen["id"])
    assert reply["flags"] & 64
    embed = reply["embeds"][0]
    assert embed["title"] == "Invite links: CS201 · 2027-fall"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert list(fields) == ["students", "lab-01", "lab-02", "lab-03"]
    codes = {i.code: i for i in discord_world(sandbox).invites.values() if i.guild_id == int(guild)}
    for name, value in fields.items():
        link, grants, expiry = value.splitlines()
        code = link.removeprefix(f"{sandbox.base_url}/invite/")
        assert code in codes, value
        expected = "Grants: " + (f"Lab {name[-2:]}, Student" if name != "students" else "Student")
        assert grants == expected
        assert expiry.startswith("expires 20")
        assert expiry.endswith(" UTC; 0 of 2 uses") or expiry.endswith(" UTC; 0 uses")
    async with product.sessions() as session:
        rows = (await session.scalars(select(AuditEvent))).all()
    audited = " ".join(f"{r.path} {r.request_summary}" for r in rows)
    logged = " ".join(r.getMessage() for r in caplog.records)
    for code in codes:
        assert code not in audited
        assert code not in logged


async def test_invites_not_made_yet_are_not_called_gone(
    product: Product, sandbox: SandboxServer, control: Control, ada: Person
) -> None:
    """Between the claim and the invite steps' run, each link is "not made yet" (it comes by
    itself), not "gone" (which asks staff to retry); the server's invites are read once for
    all the links, not once per link."""
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    guild = await server_with_bot(control, data)
    await product.claim(course_id, guild, people["ada"])
    seen = await ada.run("invites", string("course", course_id))
    reply = await ada.reply(seen["id"])
    fields = {f["name"]: f["value"] for f in reply["embeds"][0]["fields"]}
    assert list(fields) == ["students", "lab-01", "lab-02", "lab-03"]
    for value in fields.values():
        assert value.startswith("Not made yet"), value
        assert "Gone" not in value

    await product.run()
    since = journal_cursor(sandbox)
    seen = await ada.run("invites", string("course", course_id))
    reply = await ada.reply(seen["id"])
    assert all("/invite/" in f["value"] for f in reply["embeds"][0]["fields"])
    reads = {
        key: n
        for key, n in journal_requests(sandbox, since).items()
        if key[1] == "GET" and key[2].endswith("/invites")
    }
    assert sum(reads.values()) == 1, reads
