"""Find a captured request's operation in the trimmed official specs and validate it.

`errors(captured)` gives every schema problem of one exchange: the operation must exist, a JSON
request body must match the operation's `requestBody` schema (a body sent to an operation without
one is a problem too), and the answer must match the documented response for its status.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from tests.contract import normalise
from tests.contract.capture import NO_BODY, Captured
from tests.sandbox.discord import contract as discord_contract
from tests.sandbox.github import contract as github_contract

Operation = tuple[str, str, str]
"""(platform, METHOD, path template)."""

_GITHUB_ERROR = {"$ref": "#/components/schemas/basic-error"}
_GITHUB_422 = {"$ref": "#/components/schemas/validation-error"}
# GitHub parameters that may contain slashes (see tests/sandbox/github/contract.py).
_GREEDY = {"path", "ref", "branch"}


@cache
def _templates(platform: str) -> list[tuple[re.Pattern[str], str]]:
    paths = list(
        (github_contract.spec() if platform == "github" else discord_contract.spec())["paths"]
    )
    out = []
    for template in paths:
        pattern = re.sub(
            r"\{(\w+)\}",
            lambda m: "(.+)" if platform == "github" and m.group(1) in _GREEDY else "([^/]+)",
            re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
        )
        out.append((re.compile(f"^{pattern}$"), template))
    # Most literal first: ".../messages/@original" before ".../messages/{message_id}", and
    # ".../branches/{branch}/protection" before the greedy ".../branches/{branch}".
    out.sort(key=lambda t: (t[1].count("{"), -len(t[1])))
    return out


def operation(captured: Captured) -> Operation | None:
    """The operation a request was sent to, or None if the spec has none for it."""
    paths = (github_contract.spec() if captured.platform == "github" else discord_contract.spec())[
        "paths"
    ]
    for pattern, template in _templates(captured.platform):
        if not pattern.match(captured.path):
            continue
        if captured.method.lower() in paths[template]:
            return captured.platform, captured.method, template
    return None


def _resolve(node: Any, components: dict[str, Any]) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        _, _, section, name = node["$ref"].split("/", 3)
        node = components[section][name]
    return node


def _declared(schema: Any, components: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The properties an object schema (and its oneOf/anyOf/allOf branches) declares, and
    whether it admits others."""
    schema = _resolve(schema, components)
    if not isinstance(schema, dict):
        return {}, True
    props = dict(schema.get("properties", {}))
    branches = [
        b
        for key in ("oneOf", "anyOf", "allOf")
        for b in (_resolve(x, components) for x in schema.get(key, []))
        if isinstance(b, dict) and _may_be_object(b)
    ]
    if "properties" in schema:
        open_ = schema.get("additionalProperties") not in (None, False)
    else:
        open_ = not branches
    for branch in branches:
        more, more_open = _declared(branch, components)
        props.update(more)
        open_ = open_ or more_open
    return props, open_


def _may_be_object(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind is None or kind == "object" or (isinstance(kind, list) and "object" in kind)


def undeclared(schema: Any, body: Any, components: dict[str, Any], at: str = "") -> list[str]:
    """Keys of `body` its schema does not declare. The platforms ignore such keys silently (the
    schemas rarely say `additionalProperties: false`), so a misspelt field would pass unseen."""
    schema = _resolve(schema, components)
    if isinstance(body, list) and isinstance(schema, dict):
        items = schema.get("items")
        for branch in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
            items = items or _resolve(branch, components).get("items")
        return [
            p for i, v in enumerate(body) for p in undeclared(items, v, components, f"{at}{i}/")
        ]
    if not isinstance(body, dict):
        return []
    props, open_ = _declared(schema, components)
    problems = [] if open_ else [f"{at}{k}: not in the schema" for k in body if k not in props]
    for key, value in body.items():
        if key in props:
            problems += undeclared(props[key], value, components, f"{at}{key}/")
    return problems


def _github(captured: Captured, template: str) -> list[str]:
    op = github_contract.spec()["paths"][template][captured.method.lower()]
    problems: list[str] = []
    body = normalise.github_request(captured.body)
    if body is not NO_BODY:
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "schema" not in schema:
            problems.append(f"request: a body, but no request schema: {body!r:.200}")
        else:
            problems += [f"request: {e}" for e in github_contract.validate(schema["schema"], body)]
            components = github_contract.spec()["components"]
            problems += [f"request: {e}" for e in undeclared(schema["schema"], body, components)]
    response = None if captured.response is NO_BODY else captured.response
    if captured.status >= 400:
        error_schema = _GITHUB_422 if captured.status == 422 else _GITHUB_ERROR
        problems += [f"response: {e}" for e in github_contract.validate(error_schema, response)]
    else:
        documented = op["responses"].get(str(captured.status))
        content = (documented or {}).get("content", {}).get("application/json")
        if documented is None:
            problems.append(f"response: status {captured.status} not documented")
        elif content is None and response is not None:
            problems.append(f"response: {captured.status} is documented without a body")
        elif content is not None and captured.response is NO_BODY:
            problems.append(f"response: {captured.status} without its documented body")
        elif content is not None:
            errors = github_contract.validate(content["schema"], response)
            problems += [f"response: {e}" for e in errors]
    return problems


def _discord_response(op: dict[str, Any], status: int) -> tuple[str, dict[str, Any] | None]:
    """The documented response for `status` ("429", or a range such as "4XX") and its key."""
    responses = op["responses"]
    key = str(status) if str(status) in responses else f"{status // 100}XX"
    found = responses.get(key)
    if found is not None and "$ref" in found:
        name = found["$ref"].rsplit("/", 1)[1]
        found = discord_contract.spec()["components"]["responses"][name]
    return key, found if isinstance(found, dict) else None


def _discord(captured: Captured, template: str) -> list[str]:
    op = discord_contract.spec()["paths"][template][captured.method.lower()]
    problems: list[str] = []
    body = normalise.discord_request(captured.body)
    if body is not NO_BODY:
        if "requestBody" not in op:
            problems.append(f"request: a body, but no request schema: {body!r:.200}")
        else:
            # request_errors applies the same wire forms again; they are idempotent.
            errors = discord_contract.request_errors(template, captured.method, body)
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            errors += undeclared(schema, body, discord_contract.spec()["components"])
            problems += [f"request: {e}" for e in errors]
    key, documented = _discord_response(op, captured.status)
    content = (documented or {}).get("content", {}).get("application/json")
    if documented is None:
        problems.append(f"response: status {captured.status} not documented")
    elif content is None:
        if captured.response is not NO_BODY:
            problems.append(f"response: {captured.status} is documented without a body")
    elif captured.response is NO_BODY:
        problems.append(f"response: {captured.status} without its documented body")
    else:
        errors = discord_contract.response_errors(template, captured.method, key, captured.response)
        problems += [f"response: {e}" for e in errors]
    return problems


def errors(captured: Captured) -> list[str]:
    """Every way this exchange disagrees with the official description."""
    found = operation(captured)
    if found is None:
        return [f"no operation in the spec for {captured.method} {captured.path}"]
    if captured.platform == "github":
        return _github(captured, found[2])
    return _discord(captured, found[2])
