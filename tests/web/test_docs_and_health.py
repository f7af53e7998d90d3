"""The OpenAPI document, the local docs page and its assets, and the health probes."""

from __future__ import annotations

import dataclasses
import re

from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from provisioning.courses.spec import CourseSpec
from tests.web.conftest import Client
from web.app import create_app
from web.services import Services


async def test_openapi_document_is_valid_31(client: Client) -> None:
    """/openapi.json is a valid OpenAPI 3.1 document whose request schema is CourseSpec's."""
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    schema = document["components"]["schemas"]["CourseSpec"]
    assert set(schema["properties"]) == set(CourseSpec.model_fields)
    body = document["paths"]["/courses"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/CourseSpec")


async def test_openapi_lists_audit_and_metrics_routes(client: Client) -> None:
    """The audit, verify and metrics routes are documented; only the audit ones need a token."""
    document = await (await client.get("/openapi.json")).json()
    validate(document)
    paths = document["paths"]
    audit = paths["/courses/{course_id}/audit"]["get"]
    assert audit["security"] == [{"bearerAuth": []}]
    assert {p["name"] for p in audit["parameters"]} == {"course_id", "after", "limit"}
    page = audit["responses"]["200"]
    assert page["content"]["application/json"]["schema"]["$ref"].endswith("/AuditPageOut")
    assert "Link" in page["headers"]
    assert paths["/audit/verify"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in paths["/metrics"]["get"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    schemas = document["components"]["schemas"]
    assert {"AuditPageOut", "AuditRowOut", "AuditVerifyOut", "ActionOut"} <= set(schemas)
    assert "actions" in schemas["CourseStatusOut"]["required"]


async def test_docs_page_and_every_asset_load_locally(client: Client) -> None:
    """/docs loads, and every script and stylesheet it references is served by us (no CDN)."""
    response = await client.get("/docs")
    assert response.status == 200
    page = await response.text()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(assets) == 4
    for asset in assets:
        assert asset.startswith("/docs/")
        loaded = await client.get(asset)
        assert loaded.status == 200, asset
        assert len(await loaded.read()) > 0


async def test_healthz_and_readyz(client: Client) -> None:
    """/healthz and /readyz answer 200 when the database is reachable, with no token."""
    for path in ("/healthz", "/readyz"):
        response = await client.get(path)
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_readyz_is_503_when_the_database_is_unreachable(services: Services) -> None:
    """/readyz answers 503 problem+json when the readiness probe fails."""

    async def down() -> bool:
        return False

    broken = dataclasses.replace(services, readiness=down)
    async with TestClient(TestServer(create_app(broken), host="127.0.0.1")) as client:
        response = await client.get("/readyz")
        assert response.status == 503
        assert response.content_type == "application/problem+json"
