"""What the slow claims of `big_course.py` waited for: a course update's locks, or the event loop.

Three recorders run beside the claims, and `explain` lines them up against each slow claim:

- `Timeline`: every statement of a tagged task (`ROLE.set("update")` in the task that changes
  the course, `"claim"` in the runner), with its start and end, and each transaction's end, from
  SQLAlchemy's engine events. The role follows the task into SQLAlchemy's greenlet (context
  variables do), so the update's phases are seen without touching the product's code.
- `LoopLag`: when the event loop did not turn for more than a few milliseconds (the claims
  share one loop with the update: its Python work delays them as surely as a lock does).
- `PgLockSampler` (PostgreSQL): every few milliseconds, from a connection of its own on a
  thread of its own (so a blocked event loop does not stop it), which backends wait on a lock,
  of what kind (`advisory`: the audit chain; `transactionid`, `tuple`: a row), and who holds it.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Self

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

ROLE: contextvars.ContextVar[str | None] = contextvars.ContextVar("bench_role", default=None)
SLOW_MS = 20.0


@dataclass
class Statement:
    role: str
    pid: int | None
    sql: str
    start: float
    end: float | None = None


@dataclass
class Timeline:
    """Statements and transaction ends of the tagged tasks, in perf_counter seconds."""

    statements: list[Statement] = field(default_factory=list)
    # (time, role, "begin" | "commit" | "rollback")
    marks: list[tuple[float, str, str]] = field(default_factory=list)

    def attach(self, engine: AsyncEngine) -> None:
        sync = engine.sync_engine
        open_: dict[int, Statement] = {}

        def before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            role = ROLE.get()
            if role is None:
                return
            row = Statement(
                role, _server_pid(conn), " ".join(statement.split())[:90], time.perf_counter()
            )
            self.statements.append(row)
            open_[id(conn)] = row

        def after(conn: Any, *_: Any) -> None:
            row = open_.pop(id(conn), None)
            if row is not None:
                row.end = time.perf_counter()

        def mark(kind: str) -> Any:
            def record(_conn: Any) -> None:
                role = ROLE.get()
                if role is not None:
                    self.marks.append((time.perf_counter(), role, kind))

            return record

        event.listen(sync, "before_cursor_execute", before)
        event.listen(sync, "after_cursor_execute", after)
        for kind in ("begin", "commit", "rollback"):
            event.listen(sync, kind, mark(kind))

    def transactions(self, role: str) -> list[tuple[float, float, list[Statement]]]:
        """The role's transactions that wrote or locked: (begin, commit or rollback, their
        statements); a transaction that only read (`read_plan`) holds nothing others wait for."""
        found = []
        marks = sorted((t, kind) for t, r, kind in self.marks if r == role)
        begun: float | None = None
        for at, kind in marks:
            if kind == "begin":
                begun = at
            elif begun is not None:
                inside = [s for s in self.statements if s.role == role and begun <= s.start <= at]
                if any(
                    not s.sql.upper().startswith("SELECT") or "FOR UPDATE" in s.sql.upper()
                    for s in inside
                ):
                    found.append((begun, at, inside))
                begun = None
        return found

    def role_at(self, pid: int, at: float) -> str | None:
        """Whose statement the backend `pid` ran last before `at` (pooled connections serve
        every role in turn)."""
        before = [s.role for s in self.statements if s.pid == pid and s.start <= at]
        return before[-1] if before else None


def _server_pid(conn: Any) -> int | None:
    driver = getattr(conn.connection, "driver_connection", None)
    get_pid = getattr(driver, "get_server_pid", None)
    return int(get_pid()) if get_pid is not None else None


class LoopLag:
    """Spans (start, end) in which the event loop turned late by more than `over_s`, and what
    the loop's thread was running meanwhile: a watchdog thread samples its stack while the
    loop is late (the innermost frame of our code, and the innermost of all)."""

    def __init__(self, tick_s: float = 0.001, over_s: float = 0.004) -> None:
        self.tick_s, self.over_s = tick_s, over_s
        self.stalls: list[tuple[float, float]] = []
        self.stacks: list[tuple[float, str]] = []
        self._last_tick = time.perf_counter()

    async def run(self, stop: asyncio.Event) -> None:
        loop_thread = threading.get_ident()
        watching = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(loop_thread, watching), daemon=True)
        watchdog.start()
        try:
            while not stop.is_set():
                before = self._last_tick = time.perf_counter()
                await asyncio.sleep(self.tick_s)
                after = time.perf_counter()
                if after - before - self.tick_s > self.over_s:
                    self.stalls.append((before + self.tick_s, after))
        finally:
            watching.set()
            watchdog.join()

    def _watch(self, loop_thread: int, stop: threading.Event) -> None:
        while not stop.wait(0.002):
            if time.perf_counter() - self._last_tick > self.tick_s + self.over_s:
                frames = sys._current_frames()
                frame = frames.get(loop_thread)
                if frame is not None:
                    # The loop's thread waiting for the GIL shows as the selector or a socket
                    # write; then the thread holding it says what the loop waits for.
                    busy = [
                        _where(other)
                        for ident, other in frames.items()
                        if ident not in (loop_thread, threading.get_ident())
                        and other.f_code.co_name not in _IDLE | _SYSCALLS
                    ]
                    where = _where(frame)
                    if frame.f_code.co_name in _SYSCALLS:
                        # Back from a system call, waiting to run again: for the GIL, held
                        # by a busy thread of ours, or for a CPU, if none is busy.
                        where = f"GIL held by {busy[0]}" if busy else "waiting for a CPU"
                    self.stacks.append((time.perf_counter(), where))

    def blocked_in(self, span: tuple[float, float]) -> Counter[str]:
        return Counter(where for at, where in self.stacks if span[0] <= at <= span[1])


# Innermost functions of a thread that waits (a pool's idle worker, a selector, a sleep).
_IDLE = frozenset({"wait", "_worker", "select", "poll", "_sample", "get", "sleep", "acquire"})
# Innermost functions of the loop's thread when it is in (or just back from) a system call.
_SYSCALLS = frozenset({"select", "write", "send", "_sock_connect", "_read_ready", "recv"})
_OURS = str(Path(__file__).resolve().parent.parent)


def _where(frame: FrameType) -> str:
    """`ours (innermost)`: the innermost frame of this repository's code and the innermost."""
    inner = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
    ours = None
    current: FrameType | None = frame
    while current is not None:
        name = current.f_code.co_filename
        if (
            name.startswith(_OURS)
            and ".venv" not in name
            and "claim_waits" not in name
            and current.f_code.co_name != "<module>"
        ):
            ours = f"{Path(name).name}:{current.f_code.co_name}:{current.f_lineno}"
            break
        current = current.f_back
    return f"{ours} ({inner})"


@dataclass(frozen=True)
class LockWait:
    at: float
    pid: int
    wait_event: str
    blockers: tuple[int, ...]


class PgSampler:
    """Runs `sample` every `every_s` on a PostgreSQL connection and a thread of its own, each
    with its own event loop (a blocked event loop of the product does not stop it), for the
    span of a `with` block. Subclasses say what one sample reads and keeps."""

    def __init__(self, dsn: str, every_s: float) -> None:
        self.dsn, self.every_s = dsn, every_s
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    async def sample(self, conn: Any, at: float) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not self._stop.is_set():
                await self.sample(conn, time.perf_counter())
                self.samples += 1
                await asyncio.sleep(self.every_s)
        finally:
            await conn.close()


class PgLockSampler(PgSampler):
    """Lock waits of this database's backends."""

    QUERY = (
        "SELECT pid, wait_event, pg_blocking_pids(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock' "
        "AND pid <> pg_backend_pid()"
    )

    def __init__(self, dsn: str, every_s: float = 0.002) -> None:
        super().__init__(dsn, every_s)
        self.waits: list[LockWait] = []

    async def sample(self, conn: Any, at: float) -> None:
        for pid, wait_event, blockers in await conn.fetch(self.QUERY):
            self.waits.append(LockWait(at, pid, wait_event, tuple(blockers)))


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def explain(
    claims: list[tuple[float, float]],
    timeline: Timeline,
    lag: LoopLag,
    sampler: PgLockSampler | None,
    shown: int = 8,
) -> list[str]:
    """Lines saying what the claims slower than `SLOW_MS` waited for: the slowest `shown`
    one by one, then a count per cause."""
    updates = timeline.transactions("update")
    slow = sorted((c for c in claims if (c[1] - c[0]) * 1000 > SLOW_MS), key=lambda c: c[0] - c[1])
    spans = ", ".join(f"{(end - start) * 1000:.0f} ms" for start, end, _ in updates)
    lines = [
        f"  slow claims (> {SLOW_MS:.0f} ms): {len(slow)} of {len(claims)}; "
        f"the update's write transactions took {spans or '-'}"
    ]
    for begun, ended, statements in updates:
        longest = sorted(statements, key=lambda s: s.start - (s.end or ended))[:3]
        lines.append(
            f"    update transaction {(ended - begun) * 1000:.0f} ms, {len(statements)} "
            "statements, the longest: "
            + "; ".join(
                f"{((s.end or ended) - s.start) * 1000:.0f} ms {s.sql[:50]}" for s in longest
            )
        )
    causes: Counter[str] = Counter()
    for index, (start, end) in enumerate(slow):
        took = (end - start) * 1000
        in_update = sum(_overlap((start, end), (s, e)) for s, e, _ in updates) * 1000
        stalled = sum(_overlap((start, end), stall) for stall in lag.stalls) * 1000
        waits = Counter[str]()
        for wait in sampler.waits if sampler is not None else []:
            if start <= wait.at <= end and timeline.role_at(wait.pid, wait.at) == "claim":
                holders = sorted({timeline.role_at(p, wait.at) or "other" for p in wait.blockers})
                waits[f"{wait.wait_event} lock held by {'+'.join(holders)}"] += 1
        blocked = lag.blocked_in((start, end))
        if waits:
            cause = waits.most_common(1)[0][0]
        elif stalled > took / 2 and blocked:
            top = blocked.most_common(1)[0][0].split(" (")[0]
            cause = top if top.startswith(("GIL", "waiting")) else f"event loop busy in {top}"
        elif stalled > took / 2:
            cause = "event loop held (not sampled)"
        elif in_update > took / 2 and sampler is None:
            cause = "the update's transaction (SQLite's write lock)"
        else:
            cause = "none found (the process's share of the CPU)"
        causes[cause] += 1
        if index < shown:
            busy = ", ".join(f"{k} x{n}" for k, n in blocked.most_common(2)) or "-"
            lines.append(
                f"    {took:6.1f} ms: {in_update:5.1f} ms in an update's write transaction, "
                f"loop held {stalled:5.1f} ms (by {busy}); {cause}"
            )
    lines.append("  causes: " + ("; ".join(f"{n} x {c}" for c, n in causes.most_common()) or "-"))
    if sampler is not None:
        kinds: Counter[str] = Counter()
        for w in sampler.waits:
            held_by = "+".join(sorted({timeline.role_at(p, w.at) or "other" for p in w.blockers}))
            kinds[f"{timeline.role_at(w.pid, w.at) or 'other'} on {w.wait_event} ({held_by})"] += 1
        lines.append(
            f"  lock waits sampled every {sampler.every_s * 1000:.0f} ms: "
            + (", ".join(f"{k} x{n}" for k, n in kinds.most_common()) or "none")
        )
    return lines
