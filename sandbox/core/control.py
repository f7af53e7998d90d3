"""Common control routes under `/_sandbox/`: journal, reset, save/load (pages: sandbox/console)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.core.emulator import PlatformEmulator
from sandbox.core.faults import FaultInjector
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


def add_control_routes(
    app: web.Application,
    emulators: Sequence[PlatformEmulator],
    journal: Journal,
    injector: FaultInjector,
    state_path: Path | None,
    data_dir: Path | None,
) -> None:
    """Register journal, reset and save/load routes.

    Save and load take a `path` relative to `data_dir` (none outside it: the control API must
    not become a way to write files anywhere); without one they use `state_path`.
    """

    async def requests(request: web.Request) -> web.Response:
        q = request.query
        since = _int(q.get("since")) or 0
        limit = _int(q.get("limit")) or 1000
        # Only up to the settled point: an entry numbered before a request still in flight
        # would otherwise be handed out now and that request's, recorded later, never.
        settled = journal.settled()
        entries = journal.query(
            since=since,
            method=q.get("method"),
            path_contains=q.get("path"),
            platform=q.get("platform"),
            status=_int(q.get("status")),
            limit=limit,
            upto=settled,
        )
        cursor = entries[-1].seq if len(entries) == limit else max(since, settled)
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

    app.router.add_get("/_sandbox/requests", requests)
    app.router.add_post("/_sandbox/reset", reset)
    app.router.add_post("/_sandbox/save", save)
    app.router.add_post("/_sandbox/load", load)
