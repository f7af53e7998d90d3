"""Bad input and bad credentials get 4xx problem+json with field paths, and store nothing."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.web.conftest import Client

Factory = Callable[..., dict[str, Any]]
JSON = {"Content-Type": "application/json"}
# Whitespace that takes a body past the size parsed on the event loop (parsed on a thread then).
LARGE = [0, 70_000]


async def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    assert body["status"] == status
    assert body["title"]
    return body


async def _nothing_stored(client: Client, auth: dict[str, str]) -> None:
    response = await client.get("/courses", headers=auth)
    assert (await response.json())["items"] == []


async def test_no_token_is_401_with_challenge(client: Client) -> None:
    """Course routes without a token answer 401 with a Bearer WWW-Authenticate challenge."""
    response = await client.get("/courses")
    await _problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_wrong_token_is_401_invalid_token(client: Client) -> None:
    """An unknown token answers 401 with error=invalid_token."""
    response = await client.post("/courses", json={}, headers={"Authorization": "Bearer cpb_x"})
    await _problem(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_read_only_token_reads_but_cannot_mutate(
    client: Client, ro_token: str, auth: dict[str, str], course_data: Factory
) -> None:
    """A read-only token may list courses but gets 403 on POST, and nothing is stored."""
    headers = {"Authorization": f"Bearer {ro_token}"}
    assert (await client.get("/courses", headers=headers)).status == 200
    await _problem(await client.post("/courses", json=course_data(), headers=headers), 403)
    await _nothing_stored(client, auth)


async def test_ten_megabyte_body_is_413(client: Client, auth: dict[str, str]) -> None:
    """A 10 MB body (above the 8 MiB limit) is refused with 413 problem+json."""
    body = io.BytesIO(b'{"title": "' + b"x" * (10 * 1024 * 1024) + b'"}')
    response = await client.post("/courses", data=body, headers={**auth, **JSON})
    await _problem(response, 413)
    await _nothing_stored(client, auth)


async def test_oversized_chunked_body_is_413(client: Client, auth: dict[str, str]) -> None:
    """A chunked body (no Content-Length) is cut off at 8 MiB with 413 problem+json."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "'
        for _ in range(160):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post("/courses", data=chunks(), headers={**auth, **JSON})
    await _problem(response, 413)
    await _nothing_stored(client, auth)


@pytest.mark.parametrize("padding", LARGE)
async def test_invalid_utf8_is_400(client: Client, auth: dict[str, str], padding: int) -> None:
    """A body that is not UTF-8 is a 400 problem, not a crash (small or large)."""
    raw = b'{"code": "\xff\xfe"}' + b" " * padding
    response = await client.post("/courses", data=raw, headers={**auth, **JSON})
    body = await _problem(response, 400)
    assert "UTF-8" in body["detail"]
    await _nothing_stored(client, auth)


@pytest.mark.parametrize("padding", LARGE)
@pytest.mark.parametrize("raw", [b"{", b'{"code": }', b"", b"NaN", b'{"a": 1} x'])
async def test_malformed_json_is_400(
    client: Client, auth: dict[str, str], raw: bytes, padding: int
) -> None:
    """Malformed JSON (including NaN and trailing garbage) is a 400 problem."""
    response = await client.post("/courses", data=b" " * padding + raw, headers={**auth, **JSON})
    await _problem(response, 400)
    await _nothing_stored(client, auth)


async def test_wrong_media_type_is_415(client: Client, auth: dict[str, str]) -> None:
    """A body that is not declared as JSON is refused with 415."""
    response = await client.post("/courses", data=b"code=CS101", headers=auth)
    await _problem(response, 415)


async def test_unknown_fields_and_wrong_types_are_422_with_paths(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """Unknown fields and wrong types are all reported at once, each with its field path."""
    data = course_data()
    data["colour"] = "blue"
    data["students"][1]["shoe_size"] = 44
    data["staff"][0]["name"] = 17
    response = await client.post("/courses", json=data, headers=auth)
    body = await _problem(response, 422)
    paths = {e["path"] for e in body["errors"]}
    assert {"colour", "students[1].shoe_size", "staff[0].name"} <= paths
    await _nothing_stored(client, auth)


async def test_invalid_logins_are_422_with_every_path(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """Invalid GitHub logins are reported per field, every one, and nothing is stored."""
    data = course_data()
    data["students"][0]["github"] = "-bad-"
    data["students"][2]["github"] = "no spaces"
    data["github_org"] = "x" * 40
    body = await _problem(await client.post("/courses", json=data, headers=auth), 422)
    paths = {e["path"] for e in body["errors"]}
    assert {"students[0].github", "students[2].github", "github_org"} <= paths
    await _nothing_stored(client, auth)


@pytest.mark.parametrize("document", [[], "course", 42, None])
async def test_non_object_body_is_422(
    client: Client, auth: dict[str, str], document: object
) -> None:
    """A JSON document that is not an object is a validation problem, not a crash."""
    response = await client.post("/courses", data=json.dumps(document), headers={**auth, **JSON})
    await _problem(response, 422)


@pytest.mark.parametrize("padding", LARGE)
async def test_nul_and_lone_surrogates_are_422(
    client: Client, auth: dict[str, str], course_data: Factory, padding: int
) -> None:
    """Text no database can store (NUL, unpaired surrogates) is refused with its path."""
    data = course_data()
    raw = json.dumps(data).replace('"Student 0"', '"Stu\\u0000dent"')
    raw = raw.replace('"Student 1"', '"\\ud800"') + " " * padding
    body = await _problem(await client.post("/courses", data=raw, headers={**auth, **JSON}), 422)
    assert {e["path"] for e in body["errors"]} == {"students[0].name", "students[1].name"}
    await _nothing_stored(client, auth)


async def test_unknown_route_and_method_are_problems(client: Client, auth: dict[str, str]) -> None:
    """404 and 405 from routing are problem+json too (405 keeps its Allow header)."""
    await _problem(await client.get("/nowhere"), 404)
    response = await client.delete("/courses", headers=auth)
    await _problem(response, 405)
    assert "POST" in response.headers["Allow"]


async def test_a_large_valid_body_is_parsed_and_stored(
    client: Client, auth: dict[str, str], course_data: Factory
) -> None:
    """A body past the size parsed on the event loop (parsed on a thread) is taken as well."""
    raw = json.dumps(course_data()) + " " * LARGE[-1]
    response = await client.post("/courses", data=raw, headers={**auth, **JSON})
    assert response.status == 201, await response.text()
    listed = await (await client.get("/courses", headers=auth)).json()
    assert len(listed["items"]) == 1
