"""The Discord claim code binds a server to a course, so it is a secret (DESIGN.md §5): never in
the log, the database or the status; only read-write API tokens (and course admins, see
tests/discord/test_cog.py) are given it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Table

from db.models import AuditEvent, Step
from provisioning.claims.codes import claim_code, normalize_code
from provisioning.courses.spec import parse_course
from tests.e2e.harness import SECRET, Control, Product, Sessions, lecture, logins
from web.services import Services

Client = TestClient[Any, Any]


@pytest.fixture
def services(product: Product) -> Services:
    """The web services of the product, with its claim codes."""
    return product.built.services


@pytest.fixture
async def web(product: Product) -> AsyncIterator[Client]:
    """The product's own web application on a 127.0.0.1 server."""
    async with TestClient(TestServer(product.built.web_app, host="127.0.0.1")) as client:
        yield client


def leaks(code: str, text: str) -> bool:
    """`text` holds the code, as shown or typed without its dashes."""
    return code in text or normalize_code(code) in text.upper()


async def table_text(sessions: Sessions, table: Table) -> list[str]:
    """Every row of `table`, every column, as text."""
    async with sessions() as session:
        return [repr(tuple(row)) for row in (await session.execute(table.select())).all()]


async def assert_not_stored(sessions: Sessions, code: str) -> None:
    for table in (Step.__table__, AuditEvent.__table__):
        assert isinstance(table, Table)
        rows = await table_text(sessions, table)
        assert rows, table.name
        assert not [row for row in rows if leaks(code, row)], table.name


async def test_waiting_server_step_keeps_the_code_out_of_log_database_and_status(
    product: Product,
    control: Control,
    people: dict[str, str],
    services: Services,
    web: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A course runs until its server step waits for a claim, a read-write token reads the code
    from GET /claim (a read-only one gets 403), the server is claimed with it and the course
    finishes: the code is in no log record at any level, no column of the steps or audit
    tables, and no GET /status answer for either token."""
    caplog.set_level(logging.DEBUG)
    data = lecture(people["ada"], people["grace"])
    spec = parse_course(data)
    await control.github_users(logins(spec))
    course_id = await product.create(data)
    await product.run()
    assert (await product.states(course_id))["discord.server"] == "awaiting_action"
    code = claim_code(SECRET, course_id)
    writer = {"Authorization": f"Bearer {await services.tokens.create('writer')}"}
    reader = {"Authorization": f"Bearer {await services.tokens.create('reader', read_only=True)}"}

    for headers in (writer, reader):
        response = await web.get(f"/courses/{course_id}/status", headers=headers)
        assert response.status == 200
        text = await response.text()
        assert not leaks(code, text)
        (action,) = (await response.json())["actions"]
        assert f"GET /courses/{course_id}/claim" in action["hint"]
    await assert_not_stored(product.sessions, code)

    refused = await web.get(f"/courses/{course_id}/claim", headers=reader)
    assert refused.status == 403
    assert not leaks(code, await refused.text())
    given = await web.get(f"/courses/{course_id}/claim", headers=writer)
    assert given.status == 200
    assert given.headers["Cache-Control"] == "no-store"
    assert (await given.json())["code"] == code

    guild = await control.server_with_bot(spec, owner="ada")
    await control.join(guild, "grace")
    await product.claims.claim((await given.json())["code"], guild, people["ada"])
    await product.run()
    assert set((await product.states(course_id)).values()) == {"succeeded"}
    await assert_not_stored(product.sessions, code)
    for headers in (writer, reader):
        response = await web.get(f"/courses/{course_id}/status", headers=headers)
        assert not leaks(code, await response.text())

    # The runner's record of the waiting step (its message is the hint) was captured.
    assert any(
        r.name == "provisioning.runner" and "/claim" in r.getMessage() for r in caplog.records
    )
    assert not [r for r in caplog.records if leaks(code, f"{r.getMessage()} {vars(r)}")]
