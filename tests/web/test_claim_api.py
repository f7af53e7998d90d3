"""`GET /courses/{id}/claim`: the Discord claim code for read-write tokens, 403 for read-only
ones, never cached, never stored; documented in /openapi.json."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Step
from provisioning.claims.codes import claim_code, no_claim_codes
from provisioning.courses.spec import parse_course
from provisioning.discord.steps.server import DISCORD_AUTHORIZE_URL, install_link
from provisioning.errors import ProvisioningError
from tests.web.conftest import Client, create_course
from web.app import create_app
from web.services import Services

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]
SECRET = b"web-claim-secret-" + b"x" * 32
APPLICATION_ID = "424242"


def codes(course_id: str) -> str:
    """The claim codes the web is given, as bot.app gives them."""
    return claim_code(SECRET, course_id)


async def application_id() -> str:
    return APPLICATION_ID


@pytest.fixture
async def claims(services: Services) -> AsyncIterator[Client]:
    """The application with a claim secret and the bot's application id, as `python -m bot`
    builds it (same database and tokens as `client`)."""
    # Discord's own authorize page: the link as a deployment gives it.
    configured = dataclasses.replace(
        services,
        claim_code=codes,
        application_id=application_id,
        authorize_url=DISCORD_AUTHORIZE_URL,
    )
    async with TestClient(TestServer(create_app(configured), host="127.0.0.1")) as client:
        yield client


async def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    assert body["status"] == status
    return body


async def test_read_write_token_gets_the_code_uncached(
    claims: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """A read-write token gets the code, no server yet, and the install link; no-store."""
    data = course_data()
    course_id = await create_course(claims, auth, data)
    response = await claims.get(f"/courses/{course_id}/claim", headers=auth)
    assert response.status == 200
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert await response.json() == {
        "course_id": course_id,
        "code": codes(course_id),
        "claimed": False,
        "guild_id": None,
        "install_link": install_link(APPLICATION_ID, parse_course(data)),
    }


async def test_read_only_token_is_refused_like_a_mutation(
    claims: Client, auth: dict[str, str], ro_auth: dict[str, str], course_data: Factory
) -> None:
    """A read-only token gets 403 problem+json without the code, on GET and HEAD alike."""
    course_id = await create_course(claims, auth, course_data())
    url = f"/courses/{course_id}/claim"
    response = await claims.get(url, headers=ro_auth)
    body = await _problem(response, 403)
    assert "read-only" in body["detail"]
    assert codes(course_id) not in await response.text()
    assert (await claims.head(url, headers=ro_auth)).status == 403
    assert (await claims.get(url)).status == 401


async def test_a_claimed_course_names_its_server(
    claims: Client, auth: dict[str, str], course_data: Factory, session_factory: Sessions
) -> None:
    """Once a server is bound to the course, `claimed` is true and `guild_id` names it."""
    course_id = await create_course(claims, auth, course_data())
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course_id, Step.key == "discord.server")
            .values(external_id="777000111", state="succeeded")
        )
    body = await (await claims.get(f"/courses/{course_id}/claim", headers=auth)).json()
    assert (body["claimed"], body["guild_id"]) == (True, "777000111")
    assert body["code"] == codes(course_id)


async def test_unknown_course_is_404(claims: Client, auth: dict[str, str]) -> None:
    """An id that names no course, UUID or not, is 404 problem+json."""
    for course_id in (str(uuid.uuid4()), "not-a-course"):
        response = await claims.get(f"/courses/{course_id}/claim", headers=auth)
        assert (await _problem(response, 404))["title"] == "Course not found"


async def test_without_a_claim_secret_the_code_is_unavailable(
    client: Client, services: Services, auth: dict[str, str], course_data: Factory
) -> None:
    """Services without the claim secret answer 404 with a reason, never a made-up code."""
    course_id = await create_course(client, auth, course_data())
    secretless = dataclasses.replace(services, claim_code=no_claim_codes)
    async with TestClient(TestServer(create_app(secretless), host="127.0.0.1")) as web_client:
        response = await web_client.get(f"/courses/{course_id}/claim", headers=auth)
        body = await _problem(response, 404)
    assert body["title"] == "Claim code unavailable"
    assert "/course status" in body["detail"]


async def test_an_unknown_application_leaves_the_install_link_out(
    services: Services, auth: dict[str, str], course_data: Factory
) -> None:
    """When Discord cannot say the bot's application id, the code still comes, the link null."""

    async def unavailable() -> str:
        raise ProvisioningError("Discord did not answer")

    configured = dataclasses.replace(services, claim_code=codes, application_id=unavailable)
    async with TestClient(TestServer(create_app(configured), host="127.0.0.1")) as client:
        course_id = await create_course(client, auth, course_data())
        body = await (await client.get(f"/courses/{course_id}/claim", headers=auth)).json()
    assert body["code"] == codes(course_id)
    assert body["install_link"] is None


async def test_status_never_shows_the_code(
    claims: Client,
    auth: dict[str, str],
    ro_auth: dict[str, str],
    course_data: Factory,
) -> None:
    """GET /status, for read-write and read-only tokens alike, carries no claim code."""
    course_id = await create_course(claims, auth, course_data())
    for headers in (auth, ro_auth):
        response = await claims.get(f"/courses/{course_id}/status", headers=headers)
        assert response.status == 200
        assert codes(course_id) not in await response.text()


async def test_openapi_documents_the_claim_route_for_write_tokens(claims: Client) -> None:
    """/openapi.json (valid 3.1) has the claim route: secured, 403 for read-only tokens and
    why, the ClaimOut schema and the no-store header."""
    document = await (await claims.get("/openapi.json")).json()
    validate(document)
    operation = document["paths"]["/courses/{course_id}/claim"]["get"]
    assert operation["operationId"] == "getCourseClaim"
    assert operation["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "403", "404"} <= set(operation["responses"])
    assert "Read-write tokens only" in operation["description"]
    assert "bind a server" in operation["description"]
    ok = operation["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/ClaimOut")
    assert "Cache-Control" in ok["headers"]
    schema = document["components"]["schemas"]["ClaimOut"]
    assert set(schema["required"]) == {"course_id", "code", "claimed", "guild_id"}
