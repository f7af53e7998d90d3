"""The request journal: one entry per request to `/api/*`, for matching against audit logs."""

from __future__ import annotations

import bisect
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from sandbox.core.emulator import Clock
from sandbox.core.platforms import split_api_path

log = logging.getLogger(__name__)

REQUEST_ID = web.RequestKey("sandbox_request_id", str)
"""Set by the journal before any handler runs; emulators echo it (e.g. `x-github-request-id`)."""
FAULT_NOTE = web.RequestKey("sandbox_fault_note", str)
"""Set by the fault middleware when it interfered, so the journal records what happened."""
CREDENTIAL = web.RequestKey("sandbox_credential", str)
"""Set by an emulator once it knows who calls (e.g. `inst:701`, `user:ada`), never the token
itself: which credential made which call (several App installations, one pace each)."""

RATE_BUCKET = web.RequestKey("sandbox_rate_bucket", list[str])
"""Set by an emulator when the request counted against a rate-limit window: the bucket (a
configured rate's name, or the route of one with the default rate) and its major parameters
(`["channel_create", "1310…::"]`), so a test or a bench can tell which window a call used."""

_MAX_STRING = 120
_MAX_BODY = 2000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class JournalEntry:
    """One request as the sandbox saw it."""

    seq: int
    time: float
    platform: str
    method: str
    path: str
    query: str
    status: int | None
    outcome: str
    request_id: str
    body: Any
    duration_ms: float
    credential: str | None = None
    rate_bucket: list[str] | None = None


def _shorten(value: Any) -> Any:
    # Seed files and base64 content would swamp the log; keep a recognisable prefix.
    if isinstance(value, str) and len(value) > _MAX_STRING:
        return value[:_MAX_STRING] + f"…(+{len(value) - _MAX_STRING})"
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    return value


def summarize_body(raw: bytes) -> Any:
    """A compact, JSON-serialisable summary of a request body."""
    if not raw:
        return None
    try:
        return _shorten(json.loads(raw))
    except ValueError:
        text = raw[:_MAX_BODY].decode("utf-8", "replace")
        return _shorten(text)


class Journal:
    """An in-memory, append-only list of requests with a monotonically increasing cursor."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        # In sequence order. A request is numbered when it arrives and recorded when answered:
        # of two in flight together the earlier-numbered may be answered last.
        self._entries: list[JournalEntry] = []
        self._seq = 0
        self._in_flight: set[int] = set()

    def clear(self) -> None:
        """Forget every entry; the cursor keeps counting so old `since` values stay valid."""
        self._entries.clear()

    def record(self, entry: JournalEntry) -> None:
        self._in_flight.discard(entry.seq)
        bisect.insort(self._entries, entry, key=lambda e: e.seq)

    def next_seq(self) -> int:
        """A number for a request that has arrived; `record` its entry whatever happens."""
        self._seq += 1
        self._in_flight.add(self._seq)
        return self._seq

    def cursor(self) -> int:
        """The newest sequence number handed out; pass it as `since` to see only later entries."""
        return self._seq

    def settled(self) -> int:
        """The newest sequence number at and below which every request is recorded: a reader
        that pages with `since` up to here misses none and sees none twice."""
        return min(self._in_flight) - 1 if self._in_flight else self._seq

    def query(
        self,
        since: int = 0,
        method: str | None = None,
        path_contains: str | None = None,
        platform: str | None = None,
        status: int | None = None,
        limit: int = 1000,
        upto: int | None = None,
    ) -> list[JournalEntry]:
        """Entries after cursor `since` (and at or before `upto`) matching every given filter,
        oldest first."""
        out = []
        for e in self._entries:
            if e.seq <= since:
                continue
            if upto is not None and e.seq > upto:
                break
            if method and e.method != method.upper():
                continue
            if path_contains and path_contains not in e.path:
                continue
            if platform and e.platform != platform:
                continue
            if status is not None and e.status != status:
                continue
            out.append(e)
            if len(out) >= limit:
                break
        return out

    def middleware(self) -> Middleware:
        """An aiohttp middleware recording every `/api/*` request, whatever its fate."""

        @web.middleware
        async def journal_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            split = split_api_path(request.path)
            request[REQUEST_ID] = uuid.uuid4().hex[:20].upper()
            if split is None:
                return await handler(request)
            seq = self.next_seq()
            start = self._clock.monotonic()
            wall = self._clock.time()
            body: Any = None
            status: int | None = None
            outcome = "answered"
            try:  # from here on the entry is recorded, whatever happens (see `settled`)
                if request.content_type.startswith("multipart/"):
                    # Reading a multipart body here would leave the handler's reader empty.
                    body = f"<multipart, {request.content_length} bytes>"
                elif request.body_exists:
                    body = summarize_body(await request.read())
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            except BaseException:
                outcome = "dropped"
                raise
            finally:
                outcome = request.get(FAULT_NOTE, outcome)
                self.record(
                    JournalEntry(
                        seq=seq,
                        time=wall,
                        platform=split[0],
                        method=request.method,
                        path=request.path,
                        query=request.query_string,
                        status=status,
                        outcome=outcome,
                        request_id=request[REQUEST_ID],
                        body=body,
                        duration_ms=round((self._clock.monotonic() - start) * 1000, 3),
                        credential=request.get(CREDENTIAL),
                        rate_bucket=request.get(RATE_BUCKET),
                    )
                )

        return journal_middleware


def entry_json(entry: JournalEntry) -> dict[str, Any]:
    return asdict(entry)
