"""Cut the official Discord OpenAPI description down to the operations the sandbox serves.

Run: python sandbox/specs/discord/trim.py /path/to/discord-v10.openapi.json
Writes `discord-v10.trimmed.json` beside this script: the used operations plus the closure of
their `$ref`s, so tests can validate against the official schemas without the 1 MB original.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OPERATIONS: dict[str, tuple[str, ...]] = {
    "/users/@me": ("get",),
    "/users/@me/guilds": ("get",),
    "/users/@me/guilds/{guild_id}": ("delete",),
    "/oauth2/@me": ("get",),
    "/oauth2/applications/@me": ("get",),
    "/gateway": ("get",),
    "/gateway/bot": ("get",),
    "/guilds/{guild_id}": ("get", "patch"),
    "/guilds/{guild_id}/roles": ("get", "post", "patch"),
    "/guilds/{guild_id}/roles/{role_id}": ("get", "patch", "delete"),
    "/guilds/{guild_id}/channels": ("get", "post"),
    "/channels/{channel_id}": ("get", "patch", "delete"),
    "/channels/{channel_id}/permissions/{overwrite_id}": ("put", "delete"),
    "/channels/{channel_id}/invites": ("post",),
    "/channels/{channel_id}/messages": ("get", "post"),
    "/guilds/{guild_id}/invites": ("get",),
    "/invites/{code}": ("get", "delete"),
    "/guilds/{guild_id}/members": ("get",),
    "/guilds/{guild_id}/members/{user_id}": ("get", "put", "delete"),
    "/guilds/{guild_id}/members/{user_id}/roles/{role_id}": ("put", "delete"),
    "/guilds/{guild_id}/audit-logs": ("get",),
    "/applications/{application_id}/commands": ("get", "put"),
    "/applications/{application_id}/guilds/{guild_id}/commands": ("get", "put"),
    "/interactions/{interaction_id}/{interaction_token}/callback": ("post",),
    "/webhooks/{webhook_id}/{webhook_token}": ("post",),
    "/webhooks/{webhook_id}/{webhook_token}/messages/@original": ("get", "patch"),
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": ("get", "patch"),
}


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


def trim(spec: dict[str, Any]) -> dict[str, Any]:
    """Return the subset of `spec` needed by OPERATIONS."""
    paths: dict[str, Any] = {}
    for path, methods in OPERATIONS.items():
        item = spec["paths"][path]
        kept = {m: item[m] for m in methods}
        if "parameters" in item:
            kept["parameters"] = item["parameters"]
        paths[path] = kept
    pending: set[str] = set()
    _refs(paths, pending)
    done: set[str] = set()
    components: dict[str, dict[str, Any]] = {}
    while pending:
        ref = pending.pop()
        if ref in done:
            continue
        done.add(ref)
        _, _, section, name = ref.split("/", 3)
        node = spec["components"][section][name]
        components.setdefault(section, {})[name] = node
        _refs(node, pending)
    return {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "paths": paths,
        "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: trim.py <discord-v10.openapi.json>", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    out = Path(__file__).with_name("discord-v10.trimmed.json")
    out.write_text(json.dumps(trim(spec), separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
