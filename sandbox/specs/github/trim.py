"""Cut GitHub's official OpenAPI description down to the operations the sandbox serves.

Run: python sandbox/specs/github/trim.py /path/to/api.github.com.openapi.json
Writes `github.trimmed.json` beside this script: the used operations (parameters, request body,
responses) plus the closure of their `$ref`s. Prose (descriptions, examples, x-github metadata)
is dropped because only the schemas are used, and the original is 13 MB.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OPERATIONS: dict[str, tuple[str, ...]] = {
    "/user": ("get",),
    "/users/{username}": ("get",),
    "/orgs/{org}": ("get",),
    "/orgs/{org}/repos": ("post",),
    "/repos/{owner}/{repo}": ("get", "patch", "delete"),
    "/repos/{owner}/{repo}/topics": ("get", "put"),
    "/repos/{owner}/{repo}/git/blobs": ("post",),
    "/repos/{owner}/{repo}/git/blobs/{file_sha}": ("get",),
    "/repos/{owner}/{repo}/git/trees": ("post",),
    "/repos/{owner}/{repo}/git/trees/{tree_sha}": ("get",),
    "/repos/{owner}/{repo}/git/commits": ("post",),
    "/repos/{owner}/{repo}/git/commits/{commit_sha}": ("get",),
    "/repos/{owner}/{repo}/git/ref/{ref}": ("get",),
    "/repos/{owner}/{repo}/git/refs": ("post",),
    "/repos/{owner}/{repo}/git/refs/{ref}": ("patch",),
    "/repos/{owner}/{repo}/branches/{branch}": ("get",),
    "/repos/{owner}/{repo}/contents/{path}": ("get", "put"),
    "/repos/{owner}/{repo}/pulls": ("get", "post"),
    "/repos/{owner}/{repo}/pulls/{pull_number}": ("get", "patch"),
    "/repos/{owner}/{repo}/branches/{branch}/protection": ("get", "put", "delete"),
    "/repos/{owner}/{repo}/rulesets": ("get", "post"),
    "/repos/{owner}/{repo}/rulesets/{ruleset_id}": ("get", "put"),
    "/orgs/{org}/teams": ("get", "post"),
    "/orgs/{org}/teams/{team_slug}": ("get", "patch"),
    "/orgs/{org}/teams/{team_slug}/memberships/{username}": ("get", "put", "delete"),
    "/orgs/{org}/teams/{team_slug}/repos": ("get",),
    "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}": ("get", "put", "delete"),
    "/orgs/{org}/invitations": ("get",),
    "/orgs/{org}/invitations/{invitation_id}": ("delete",),
    "/orgs/{org}/members": ("get",),
    "/orgs/{org}/memberships/{username}": ("get", "put", "delete"),
    "/repos/{owner}/{repo}/collaborators/{username}": ("put",),
    "/repos/{owner}/{repo}/invitations": ("get",),
    "/app": ("get",),
    "/orgs/{org}/installation": ("get",),
    "/app/installations/{installation_id}": ("get", "delete"),
    "/app/installations/{installation_id}/suspended": ("put", "delete"),
    "/app/installations/{installation_id}/access_tokens": ("post",),
    "/rate_limit": ("get",),
}

_PROSE = {"description", "summary", "examples", "example", "externalDocs", "title"}


def _strip(node: Any) -> Any:
    """Drop prose and vendor metadata; keep everything a validator reads."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _PROSE or key.startswith("x-"):
                # A property may legitimately be called "description" or "title" (a pull
                # request's): keep it there; prose is never a dict.
                if key in ("description", "title") and isinstance(value, dict):
                    out[key] = _strip(value)
                continue
            out[key] = _strip(value)
        return out
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _operation(op: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {"operationId": op["operationId"]}
    for key in ("parameters", "requestBody"):
        if key in op:
            kept[key] = op[key]
    # Only success answers are validated; error bodies are basic-error/validation-error.
    kept["responses"] = {
        code: resp for code, resp in op["responses"].items() if code.startswith("2")
    }
    return _strip(kept)  # type: ignore[no-any-return]


def trim(spec: dict[str, Any]) -> dict[str, Any]:
    """Return the subset of `spec` needed by OPERATIONS, plus the two error schemas."""
    paths: dict[str, Any] = {}
    for path, methods in OPERATIONS.items():
        item = spec["paths"][path]
        paths[path] = {m: _operation(item[m]) for m in methods}
    pending: set[str] = {
        "#/components/schemas/basic-error",
        "#/components/schemas/validation-error",
    }
    _refs(paths, pending)
    done: set[str] = set()
    components: dict[str, dict[str, Any]] = {}
    while pending:
        ref = pending.pop()
        if ref in done:
            continue
        done.add(ref)
        _, _, section, name = ref.split("/", 3)
        node = _strip(spec["components"][section][name])
        components.setdefault(section, {})[name] = node
        _refs(node, pending)
    return {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "paths": paths,
        "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: trim.py /path/to/api.github.com.openapi.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    out = Path(__file__).with_name("github.trimmed.json")
    out.write_text(
        json.dumps(trim(spec), separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
