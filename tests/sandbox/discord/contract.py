"""Validation against the trimmed official OpenAPI description (sandbox/specs/discord)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SPEC_PATH = (
    Path(__file__).resolve().parents[3]
    / "sandbox"
    / "specs"
    / "discord"
    / "discord-v10.trimmed.json"
)


@cache
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return data


def _validate(sub: dict[str, Any], instance: Any) -> list[str]:
    # The sub-schema's "#/components/..." refs resolve against this same document.
    root = {"components": spec()["components"], "$defs": {"target": sub}, "$ref": "#/$defs/target"}
    validator = jsonschema.Draft202012Validator(root)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in validator.iter_errors(instance)
    ]


def response_errors(path: str, method: str, status: int | str, body: Any) -> list[str]:
    """Schema errors of a JSON response body for `method path` (path as in the spec)."""
    response = spec()["paths"][path][method.lower()]["responses"][str(status)]
    if "$ref" in response:  # shared answers such as 4XX and 429 live in components/responses
        response = spec()["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    return _validate(schema, body)


_PERMISSION_KEYS = frozenset({"permissions", "allow", "deny"})


def _wire_forms(node: Any) -> Any:
    # Discord accepts both forms of two things that the spec types one way only (PLATFORM.md
    # §1.3, §3.2): permission sets (spec: integer; discord.py: decimal strings) and snowflakes
    # (spec: string; discord.py: ints in overwrites). Compare like with like.
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k in _PERMISSION_KEYS and isinstance(v, str) and v.isdigit():
                out[k] = int(v)
            elif (
                (k == "id" or k.endswith("_id")) and isinstance(v, int) and not isinstance(v, bool)
            ):
                out[k] = str(v)
            else:
                out[k] = _wire_forms(v)
        return out
    if isinstance(node, list):
        return [_wire_forms(v) for v in node]
    return node


def request_errors(path: str, method: str, body: Any) -> list[str]:
    """Schema errors of a JSON request body for `method path`."""
    op = spec()["paths"][path][method.lower()]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    return _validate(schema, _wire_forms(body))


def has_request_schema(path: str, method: str) -> bool:
    op = spec()["paths"].get(path, {}).get(method.lower())
    return bool(op and "requestBody" in op)
