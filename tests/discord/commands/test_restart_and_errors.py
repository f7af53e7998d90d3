"""Confirm clicked after the bot restarted; an unexpected failure gets a reference id."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import text

from sandbox.server import SandboxServer
from tests.e2e.harness import Control

from .conftest import Person, buttons, embed_text, running_bot, string
from .test_create_flow import DETAILS


async def test_confirm_after_a_restart_creates_the_course_once(
    database_url: str, sandbox: SandboxServer, control: Control, ada: Person
) -> None:
    """The preview is shown, the bot restarts (a new process would build the same), and Confirm
    is clicked then: the new bot creates the course from the stored draft; clicking again
    after another restart changes nothing."""
    async with running_bot(database_url, sandbox):
        opened = await ada.run("create", string("kind", "lecture"))
        submitted = await ada.submit(opened["id"], DETAILS)
        message = await ada.reply(submitted["id"])
    confirm = buttons(message)["Confirm"]
    async with running_bot(database_url, sandbox) as product:
        clicked = await ada.click(message["id"], confirm)
        answer = await ada.reply(clicked["id"])
        assert answer["embeds"][0]["title"] == "Course created: CS101 · 2027-spring"
        courses = await product.courses.recent()
        assert [(c.code, c.term) for c in courses] == [("CS101", "2027-spring")]


async def test_an_unexpected_failure_is_logged_once_with_a_reference_the_person_sees(
    database_url: str,
    sandbox: SandboxServer,
    ada: Person,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The drafts table is gone (a broken deployment): the person reads a reference id and
    nothing else; the log has that id once, with the command, the user and the error."""
    async with running_bot(database_url, sandbox) as product:
        async with product.sessions.begin() as session:
            await session.execute(text("DROP TABLE course_drafts"))
        opened = await ada.run("create", string("kind", "lecture"))
        with caplog.at_level(logging.ERROR, logger="cogs.errors"):
            submitted = await ada.submit(opened["id"], DETAILS)
            reply = await ada.reply(submitted["id"])
    found = re.fullmatch(
        r"Something went wrong on our side \(reference `([0-9a-f]{8})`\)\. Nothing you did "
        r"caused it; give the reference to the operators if it happens again\.",
        reply["content"],
    )
    assert found is not None, reply["content"]
    assert reply["flags"] & 64
    assert "course_drafts" not in reply["content"]
    records = [r for r in caplog.records if found[1] in r.getMessage()]
    assert len(records) == 1
    message = records[0].getMessage()
    assert "course-create:" in message  # the modal's custom id names the command
    people = {u["username"]: u["id"] for u in await ada.control.call("GET", "/discord/users")}
    assert f"by user {people['ada']}" in message
    assert records[0].exc_info is not None
    assert "course_drafts" in str(records[0].exc_info[1])
    assert embed_text(reply) == ""
