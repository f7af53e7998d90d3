"""The ready signal on PostgreSQL: one wake per burst of notifications, a reconnect (and a
wake) after its connection is terminated, one log line per outage however long, a quick
close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine
from db.ready_signal import APPLICATION_NAME, CHANNEL, ReadySignal, SignalTiming
from tests.conftest import pg_admin, postgres_server_url

T = TypeVar("T")
# Reconnects a few milliseconds apart: an outage of a fraction of a second is many attempts.
FAST = SignalTiming(retry_first_s=0.005, retry_max_s=0.02)


def on_postgres(test: T) -> T:
    marked: T = pytest.mark.postgres(
        pytest.mark.parametrize("database_url", ["postgres"], indirect=True)(test)
    )
    return marked


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = 10) -> None:
    """Wait for what the signal's own connection does (real I/O, no clock to move)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


class Woken:
    """The runner's side: how many notifications the signal had heard at each wake."""

    def __init__(self) -> None:
        self.signal: ReadySignal | None = None
        self.at: list[int] = []
        self.platforms: list[Collection[str] | None] = []

    def __call__(self, platforms: Collection[str] | None) -> None:
        assert self.signal is not None
        self.at.append(self.signal.notifications)
        self.platforms.append(platforms)

    @property
    def started(self) -> ReadySignal:
        assert self.signal is not None
        return self.signal


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[Any]:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()


async def _listening(engine: AsyncEngine, timing: SignalTiming | None = None) -> Woken:
    woken = Woken()
    signal = ReadySignal.for_engine(engine, woken, timing)
    assert signal is not None
    woken.signal = signal
    signal.start()
    await until(lambda: signal.listening, "the first connection")
    return woken


@on_postgres
async def test_a_burst_of_notifications_gives_one_wake(engine: AsyncEngine, admin: Any) -> None:
    """Twenty platforms made ready in one commit arrive together: the runner is woken once,
    after all of them; a later commit wakes it again."""
    woken = await _listening(engine)
    signal = woken.started
    try:
        burst = "; ".join(f"NOTIFY {CHANNEL}, 'p{i}'" for i in range(20))
        await admin.execute(f"BEGIN; {burst}; COMMIT")
        await until(lambda: signal.wakes == 1, "the wake")
        assert woken.at == [20]
        await admin.execute(f"NOTIFY {CHANNEL}, 'github'")
        await until(lambda: signal.wakes == 2, "the second wake")
        assert woken.at == [20, 21]
        # Each wake names the platforms with a step ready (the runner asks only those again).
        assert woken.platforms == [{f"p{i}" for i in range(20)}, {"github"}]
    finally:
        await signal.close()


@on_postgres
async def test_a_terminated_connection_is_replaced_and_the_runner_woken(
    engine: AsyncEngine, admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """`pg_terminate_backend` of the listening connection: it reconnects at once, wakes the
    runner (notifications sent meanwhile were lost), says so in one line, and hears the
    notifications sent after."""
    caplog.set_level(logging.INFO, logger="db.ready_signal")
    woken = await _listening(engine, FAST)
    signal = woken.started
    try:
        first = signal.backend_pid
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        await until(lambda: signal.connects == 2 and signal.listening, "the reconnect")
        await until(lambda: signal.wakes == 1, "the wake after reconnecting")
        assert signal.backend_pid != first
        assert woken.at == [0]
        await admin.execute(f"NOTIFY {CHANNEL}, 'discord'")
        await until(lambda: signal.wakes == 2, "a wake by a notification")
        # After a reconnect every platform may have work (what was sent meanwhile is lost).
        assert woken.platforms == [None, {"discord"}]
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert warnings == ["the connection listening for ready steps was lost; reconnecting"]
    finally:
        await signal.close()


@on_postgres
async def test_an_outage_is_logged_once_and_the_end_of_it_once(
    engine: AsyncEngine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The database refuses connections for many reconnect attempts: one warning that it was
    lost, one that it cannot listen, one line when it listens again; then a wake."""
    caplog.set_level(logging.INFO, logger="db.ready_signal")
    name = make_url(database_url).database
    server = postgres_server_url()
    woken = await _listening(engine, FAST)
    signal = woken.started
    try:
        pg_admin(
            server,
            f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
            f"SELECT pg_terminate_backend({signal.backend_pid})",
        )
        await until(lambda: signal.failed_attempts >= 10, "ten refused attempts")
        assert not signal.listening
        assert signal.wakes == 0
        pg_admin(server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await until(lambda: signal.listening and signal.wakes == 1, "the reconnect and wake")
    finally:
        pg_admin(server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await signal.close()
    lines = [r.getMessage() for r in caplog.records if "listen" in r.getMessage()]
    assert len(lines) == 4, lines
    assert lines[0].startswith("listening for ready steps: runners in other processes")
    assert lines[1] == "the connection listening for ready steps was lost; reconnecting"
    assert lines[2].startswith("cannot listen for ready steps (")
    assert lines[3].startswith("listening for ready steps again after ")


@on_postgres
async def test_close_ends_the_connection_at_once(engine: AsyncEngine, admin: Any) -> None:
    """Closing (the shutdown phase) takes milliseconds and leaves no listening connection on
    the server."""
    woken = await _listening(engine)
    signal = woken.started
    loop = asyncio.get_running_loop()
    started = loop.time()
    await signal.close()
    assert loop.time() - started < 0.5
    assert not signal.listening
    left = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE application_name = $1 AND datname = current_database()",
        APPLICATION_NAME,
    )
    assert left == 0


async def test_there_is_no_signal_on_sqlite(tmp_path: Any) -> None:
    """SQLite is one process per file: no listener is made."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        assert ReadySignal.for_engine(engine, lambda _platforms: None) is None
    finally:
        await engine.dispose()
