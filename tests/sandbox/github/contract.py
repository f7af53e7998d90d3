"""Validate recorded exchanges against the vendored, trimmed official OpenAPI description."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator

import sandbox

SPEC_PATH = Path(sandbox.__file__).parent / "specs" / "github" / "github.trimmed.json"
# Parameters that may contain slashes in the real API.
_GREEDY = {"path", "ref", "branch"}


@cache
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return data


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for template in spec()["paths"]:
        pattern = re.sub(
            r"\{(\w+)\}",
            lambda m: "(.+)" if m.group(1) in _GREEDY else "([^/]+)",
            template,
        )
        out.append((re.compile(f"^{pattern}$"), template))
    # Longest template first, so ".../branches/{branch}" (greedy) never shadows
    # ".../branches/{branch}/protection".
    out.sort(key=lambda t: -len(t[1]))
    return out


def operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for pattern, template in _templates():
        if pattern.match(path):
            op = spec()["paths"][template].get(method.lower())
            if op is not None:
                return template, op
    return None


def validate(schema: dict[str, Any], instance: Any) -> list[str]:
    root = {**schema, "components": spec()["components"]}
    validator = OAS30Validator(root)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(instance)
        # `nullable` beside `oneOf` (no `type`) is valid OpenAPI 3.0 that the validator misses.
        if not _nullable_none(e)
    ]


def _nullable_none(error: Any) -> bool:
    if error.instance is not None:
        return False
    if isinstance(error.schema, dict) and error.schema.get("nullable"):
        return True
    return any(_nullable_none(sub) for sub in error.context or [])


def response_errors(method: str, path: str, status: int, body: Any) -> list[str]:
    found = operation(method, path)
    if found is None:
        return [f"no operation for {method} {path}"]
    response = found[1]["responses"].get(str(status))
    if response is None:
        return [f"status {status} not documented for {method} {found[0]}"]
    content = response.get("content", {}).get("application/json")
    if content is None:
        return [] if body is None else [f"unexpected body for {status}"]
    return validate(content["schema"], body)


def request_errors(method: str, path: str, body: Any) -> list[str]:
    found = operation(method, path)
    if found is None or body is None:
        return []
    request_body = found[1].get("requestBody")
    if request_body is None:
        return []
    schema = request_body["content"]["application/json"]["schema"]
    if isinstance(body, dict):
        # PyGithub sends omitted optional keys as null (edit_protection); GitHub accepts that.
        required = set(_resolve(schema).get("required", []))
        body = {k: v for k, v in body.items() if v is not None or k in required}
    return validate(schema, body)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        _, _, section, name = ref.split("/", 3)
        resolved: dict[str, Any] = spec()["components"][section][name]
        return resolved
    return schema
