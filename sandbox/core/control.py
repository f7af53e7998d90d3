"""Common control routes under `/_sandbox/`: journal, reset, save/load and the HTML overview."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.core.emulator import PlatformEmulator
from sandbox.core.faults import FaultInjector, rules_json
from sandbox.core.guard import set_secret_cookie
from sandbox.core.journal import Journal, entry_json
from sandbox.core.persistence import UnsafePathError, confined_path, write_atomically

log = logging.getLogger(__name__)

STATE_VERSION = 1
EXPECTED_BODY = 'body: expected a JSON object such as {"path": "saved.json"}'


def snapshot_all(emulators: Sequence[PlatformEmulator]) -> dict[str, Any]:
    return {"version": STATE_VERSION, "emulators": {e.name: e.snapshot() for e in emulators}}


def restore_all(emulators: Sequence[PlatformEmulator], data: dict[str, Any]) -> None:
    """Restore each emulator present in `data`; emulators absent from the file are reset."""
    if data.get("version") != STATE_VERSION:
        raise ValueError(f"unsupported sandbox state version {data.get('version')!r}")
    saved = data.get("emulators", {})
    for emulator in emulators:
        if emulator.name in saved:
            emulator.restore(saved[emulator.name])
        else:
            emulator.reset()


def save_file(emulators: Sequence[PlatformEmulator], path: Path) -> None:
    # Write then rename, so a crash mid-save never leaves a truncated state file behind.
    write_atomically(path, json.dumps(snapshot_all(emulators), indent=1))


def load_file(emulators: Sequence[PlatformEmulator], path: Path) -> None:
    restore_all(emulators, json.loads(path.read_text(encoding="utf-8")))


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"message": message}), content_type="application/json"
    )


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def render_page(emulators: Sequence[PlatformEmulator], injector: FaultInjector) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Sandbox</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style></head><body>",
        "<h1>Sandbox</h1><p>Read-only overview. Journal: <a href='/_sandbox/requests'>"
        "/_sandbox/requests</a>; faults: <a href='/_sandbox/faults'>/_sandbox/faults</a>.</p>",
    ]
    for emulator in emulators:
        parts.append(f"<section id='{html.escape(emulator.name)}'>")
        parts.append(f"<h2>{html.escape(emulator.name)}</h2>")
        parts.append(emulator.render_html())
        parts.append("</section>")
    rules = rules_json(injector)
    parts.append(f"<h2>Active faults ({len(rules)})</h2><pre>")
    parts.append(html.escape(json.dumps(rules, indent=1)))
    parts.append("</pre></body></html>")
    return "".join(parts)


def add_control_routes(
    app: web.Application,
    emulators: Sequence[PlatformEmulator],
    journal: Journal,
    injector: FaultInjector,
    state_path: Path | None,
    data_dir: Path | None,
    secret: str,
) -> None:
    """Register journal, reset, save/load and overview routes.

    Save and load take a `path` relative to `data_dir` (none outside it: the control API must
    not become a way to write files anywhere); without one they use `state_path`.
    """

    async def requests(request: web.Request) -> web.Response:
        q = request.query
        entries = journal.query(
            since=_int(q.get("since")) or 0,
            method=q.get("method"),
            path_contains=q.get("path"),
            platform=q.get("platform"),
            status=_int(q.get("status")),
            limit=_int(q.get("limit")) or 1000,
        )
        cursor = entries[-1].seq if entries else (_int(q.get("since")) or 0)
        return web.json_response({"requests": [entry_json(e) for e in entries], "cursor": cursor})

    async def reset(request: web.Request) -> web.Response:
        for emulator in emulators:
            emulator.reset()
        injector.clear()
        if request.query.get("journal") in ("1", "true"):
            journal.clear()
        return web.json_response({"reset": [e.name for e in emulators]})

    async def _target(request: web.Request) -> Path | None:
        try:
            body = await request.json() if request.body_exists else {}
        except ValueError as exc:
            raise _bad_request(EXPECTED_BODY) from exc
        if not isinstance(body, dict):
            raise _bad_request(EXPECTED_BODY)
        raw = body.get("path")
        if raw is None:
            return state_path
        if data_dir is None:
            raise _bad_request("path: this sandbox has no data directory; start it with --data")
        try:
            return confined_path(data_dir, raw)
        except UnsafePathError as exc:
            raise _bad_request(str(exc)) from exc

    async def save(request: web.Request) -> web.Response:
        target = await _target(request)
        if target is None:
            return web.json_response(
                {"message": 'path: no state file; pass {"path": "saved.json"}'}, status=400
            )
        try:
            save_file(emulators, target)
        except OSError as exc:
            raise _bad_request(f"path: cannot write {target.name} ({exc.strerror})") from exc
        return web.json_response({"saved": str(target)})

    async def load(request: web.Request) -> web.Response:
        target = await _target(request)
        if target is None or not target.is_file():
            return web.json_response({"message": f"no state file at {target}"}, status=404)
        try:
            load_file(emulators, target)
        except (ValueError, KeyError, TypeError) as exc:
            raise _bad_request(f"path: {target.name} is not a saved sandbox world ({exc})") from exc
        return web.json_response({"loaded": str(target)})

    async def overview(request: web.Request) -> web.Response:
        response = web.Response(text=render_page(emulators, injector), content_type="text/html")
        set_secret_cookie(response, request, secret)
        return response

    app.router.add_get("/_sandbox/requests", requests)
    app.router.add_post("/_sandbox/reset", reset)
    app.router.add_post("/_sandbox/save", save)
    app.router.add_post("/_sandbox/load", load)
    app.router.add_get("/_sandbox/", overview)
    app.router.add_get("/_sandbox", overview)
