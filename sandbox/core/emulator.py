"""The contract between the sandbox server and each platform emulator (Discord, GitHub).

The server (`sandbox/server.py`) owns what is common: the request journal, fault injection,
state save/load. Each platform emulator owns its API routes, its rules, its rate limits and its
own `/_sandbox/<name>/…` control routes; the pages people see are the web app's
(`sandbox/console/`), which reads the emulators' state.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from aiohttp import web


class Clock(Protocol):
    """Time source for rate-limit windows and expiries; tests inject a fake one."""

    def time(self) -> float:
        """Seconds since the epoch (wall clock, used for headers such as reset times)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic clock (used for windows and leases)."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class PlatformEmulator(Protocol):
    """One emulated platform, mounted into the sandbox's aiohttp application."""

    name: str
    """Short name: "discord" or "github"; control routes live under `/_sandbox/<name>/`."""

    def add_routes(self, app: web.Application) -> None:
        """Register the API routes (e.g. `/api/v10/...`) and the control routes on `app`."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-serialisable data (for save to file)."""
        ...

    def restore(self, data: dict[str, Any]) -> None:
        """Replace the state with one produced by `snapshot()`."""
        ...

    def reset(self) -> None:
        """Go back to the configured starting world."""
        ...
