"""The pace ledger on PostgreSQL: every process reserves call slots from one table.

One statement per reservation: an upsert that moves the account's next free slot on by the
spacing and returns the slot it took, atomic under the row's lock. Every statement here commits
on its own (autocommit): a row lock held until a separate COMMIT lasts as long as the sending
process takes to send that COMMIT, and a runner whose event loop is busy with other steps takes
tens of milliseconds; every call of every process with that credential (Discord's one bot: all
of its calls) queued behind it. Autocommit also spares the BEGIN and COMMIT round trips.
Times are on the database server's clock, the one clock every process shares; only the wait
(a difference) leaves the database. SQLite deployments are one process and keep
the ledger in memory (`provisioning.pace.MemoryPaceLedger`).

A write's send mark (`mark`, then `sent`) is a row of the same table: the next send slot, and
the marked write whose send time is not recorded yet (`pending_id`, holding the next mark back
until `pending_until` at most). `sent` moves the slot on to the spacing after the real send,
`clock_timestamp()` less how long ago the write left (measured in the sending process: the
statement's way to the database only makes the estimate later, the next write more patient).

The buckets a platform's headers describe are rows of `pace_buckets`, one per credential and
bucket: a call is counted with one UPDATE … RETURNING before it is sent (so two processes never
send more than the window has left between them), and each answer corrects the row. A process
may count several calls at once (`want`: a block it spends itself, see `provisioning.governor`):
counted and never sent is one call less in the window, never one more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Float, Integer, bindparam, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.send_signals import SendSignals

log = logging.getLogger(__name__)
# How long a writer waits for a send of its own process to be recorded before asking the
# ledger again (the record wakes it at once; this only bounds a record that failed).
OWN_SEND_WAIT_S = 0.5


# The shapes of provisioning.pace's Budget and BucketAnswer (db/ does not import the domain).
class BudgetLike(Protocol):
    @property
    def count(self) -> int: ...
    @property
    def window_s(self) -> float: ...


class SlotLike(Protocol):
    @property
    def account(self) -> str: ...
    @property
    def interval_s(self) -> float: ...
    @property
    def budget(self) -> BudgetLike | None: ...


class AnswerLike(Protocol):
    @property
    def limit(self) -> int | None: ...
    @property
    def remaining(self) -> int | None: ...
    @property
    def reset_after_s(self) -> float | None: ...
    @property
    def retry_after_s(self) -> float | None: ...


# clock_timestamp(), not now(): a reservation that waited for the row's lock must count from
# when it got the row, or it would hand out a slot already past. The clock is the
# database's, not a parameter. The upsert creates the row on the first reservation.
# With a budget (`count` > 0) the row also keeps its last `count` slots: a slot is no earlier
# than `window` after the one `count` reservations back.
# The reservation's upsert without its source row: `VALUES` alone (`_RESERVE`), or the row a
# bucket's count let through (`_TAKE_AND_RESERVE`).
_RESERVE_UPSERT = """
    ON CONFLICT (account) DO UPDATE
    SET next_at = GREATEST(
            a.next_at,
            EXTRACT(EPOCH FROM clock_timestamp())::float8,
            CASE WHEN :count > 0 AND cardinality(a.recent) >= :count
                 THEN a.recent[cardinality(a.recent) - :count + 1] + :window ELSE 0 END
        ) + :interval,
        recent = CASE WHEN :count > 0 THEN (a.recent || GREATEST(
            a.next_at,
            EXTRACT(EPOCH FROM clock_timestamp())::float8,
            CASE WHEN :count > 0 AND cardinality(a.recent) >= :count
                 THEN a.recent[cardinality(a.recent) - :count + 1] + :window ELSE 0 END
        ))[GREATEST(1, COALESCE(cardinality(a.recent), 0) + 2 - :count):] END
    RETURNING a.next_at - :interval - EXTRACT(EPOCH FROM clock_timestamp())::float8
"""
_RESERVE_ROW = """
    :slot, EXTRACT(EPOCH FROM clock_timestamp())::float8 + :interval,
    CASE WHEN :count > 0 THEN ARRAY[EXTRACT(EPOCH FROM clock_timestamp())::float8] END
"""
_RESERVE_PARAMS = (
    bindparam("interval", type_=Float),
    bindparam("window", type_=Float),
    bindparam("count", type_=Integer),
)
_RESERVE = text(
    f"""
    INSERT INTO pace_accounts AS a (account, next_at, recent)
    VALUES ({_RESERVE_ROW})
    {_RESERVE_UPSERT}
    """  # noqa: S608 - constant SQL of this module, no input
).bindparams(*_RESERVE_PARAMS)
# The row as inserted carries this statement's time once (`excluded.next_at - :interval`):
# clock_timestamp() read once, so every comparison below sees the same now. Another write's
# mark still pending (not sent, not released, its hold not over) takes nothing: RETURNING
# gives NULL, the pending mark's token and how long until its slot (when it leaves), and the
# caller asks again once that send may be recorded.
_MARK = text(
    """
    INSERT INTO pace_accounts AS a (account, next_at, pending_id, pending_until)
    SELECT :account, t.now + :interval, :token, t.now + :hold
    FROM (SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now) AS t
    ON CONFLICT (account) DO UPDATE SET
      next_at = CASE WHEN a.pending_id IS NOT NULL AND a.pending_id <> :token
                          AND a.pending_until > excluded.next_at - :interval
                     THEN a.next_at
                     ELSE GREATEST(a.next_at, excluded.next_at - :interval) + :interval END,
      pending_until = CASE WHEN a.pending_id IS NOT NULL AND a.pending_id <> :token
                                AND a.pending_until > excluded.next_at - :interval
                           THEN a.pending_until
                           ELSE GREATEST(a.next_at, excluded.next_at - :interval) + :hold END,
      pending_id = CASE WHEN a.pending_id IS NOT NULL AND a.pending_id <> :token
                             AND a.pending_until > excluded.next_at - :interval
                        THEN a.pending_id ELSE :token END
    RETURNING CASE WHEN a.pending_id = :token
                   THEN a.pending_until - :hold - EXTRACT(EPOCH FROM clock_timestamp())::float8
              END,
              a.pending_id,
              a.next_at - :interval - EXTRACT(EPOCH FROM clock_timestamp())::float8
    """
).bindparams(bindparam("interval", type_=Float), bindparam("hold", type_=Float))
# GREATEST ignores a NULL `ago` (the write never left): then only the mark is released.
_SENT = text(
    """
    UPDATE pace_accounts AS a SET
      next_at = GREATEST(a.next_at, t.now - :ago + :interval),
      pending_until = CASE WHEN a.pending_id = :token THEN NULL ELSE a.pending_until END,
      pending_id = CASE WHEN a.pending_id = :token THEN NULL ELSE a.pending_id END
    FROM (SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now) AS t
    WHERE a.account = :account
    """
).bindparams(bindparam("interval", type_=Float), bindparam("ago", type_=Float))
_HOLD = text(
    """
    INSERT INTO pace_accounts AS a (account, next_at)
    VALUES (:account, EXTRACT(EPOCH FROM clock_timestamp())::float8 + :seconds)
    ON CONFLICT (account) DO UPDATE
    SET next_at = GREATEST(a.next_at, EXTRACT(EPOCH FROM clock_timestamp())::float8 + :seconds)
    """
).bindparams(bindparam("seconds", type_=Float))

# Calls counted, or a wait: computed from the row as it was (every SET reads the old row),
# kept in `wait_s` and `granted` so RETURNING can hand them back. A bucket never answered lets
# one call through (the probe) and holds the others until its answer says what the limit is; a
# window whose reset has passed starts afresh at this call, as the platform's does at its
# arrival. Up to `want` calls are counted at once, never more than a tenth of what the window
# has left (at least one): near a window's end every process gets its share, call by call.
# RETURNING also says for how long the count is good: until the window's end.
# The calls a take counts when `left` remain in the window (`granted`, and off `remaining`).
_BLOCK_OF = "LEAST(:want, GREATEST(1, {left} / 10))"
_TAKE_SQL = f"""
    UPDATE pace_buckets AS b SET
      granted = CASE
        WHEN b.closed_until > t.now THEN 0
        WHEN b.limit_n IS NULL THEN CASE WHEN b.probe_until > t.now THEN 0 ELSE 1 END
        WHEN t.now >= b.reset_at + :margin THEN {_BLOCK_OF.format(left="b.limit_n")}
        WHEN b.remaining > 0 THEN {_BLOCK_OF.format(left="b.remaining")}
        ELSE 0
      END,
      wait_s = CASE
        WHEN b.closed_until > t.now THEN b.closed_until - t.now
        WHEN b.limit_n IS NULL THEN
          CASE WHEN b.probe_until > t.now THEN LEAST(:poll, b.probe_until - t.now) ELSE 0 END
        WHEN t.now >= b.reset_at + :margin OR b.remaining > 0 THEN 0
        ELSE b.reset_at + :margin - t.now
      END,
      probe_until = CASE
        WHEN b.closed_until <= t.now AND b.limit_n IS NULL AND b.probe_until <= t.now
        THEN t.now + :learn ELSE b.probe_until END,
      remaining = CASE
        WHEN b.closed_until > t.now OR b.limit_n IS NULL THEN b.remaining
        WHEN t.now >= b.reset_at + :margin
        THEN b.limit_n - {_BLOCK_OF.format(left="b.limit_n")}
        WHEN b.remaining > 0 THEN b.remaining - {_BLOCK_OF.format(left="b.remaining")}
        ELSE b.remaining
      END,
      reset_at = CASE
        WHEN b.closed_until <= t.now AND b.limit_n IS NOT NULL AND t.now >= b.reset_at + :margin
        THEN t.now + b.window_s ELSE b.reset_at END
    FROM (SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now) AS t
    WHERE b.account = :account AND b.bucket = :bucket
    RETURNING b.wait_s, b.granted, b.reset_at - t.now AS good_for
    """  # noqa: S608 - constant SQL of this module, no input
_TAKE_PARAMS = (
    bindparam("want", type_=Integer),
    bindparam("poll", type_=Float),
    bindparam("margin", type_=Float),
    bindparam("learn", type_=Float),
)
_TAKE = text(_TAKE_SQL).bindparams(*_TAKE_PARAMS)
# The count and, if the bucket lets the call through, the slot, in one statement: the slot's
# upsert takes its row from the count's RETURNING (none when the call must wait). No row at
# all: the bucket has none yet. Two statements before, one round trip each, for every call of
# Discord's and every GitHub write.
_TAKE_AND_RESERVE = text(
    f"""
    WITH taken AS ({_TAKE_SQL}),
    reserved AS (
        INSERT INTO pace_accounts AS a (account, next_at, recent)
        SELECT {_RESERVE_ROW} FROM taken WHERE taken.wait_s <= 0
        {_RESERVE_UPSERT}
    )
    SELECT taken.wait_s, (SELECT * FROM reserved), taken.granted, taken.good_for FROM taken
    """  # noqa: S608 - constant SQL of this module, no input
).bindparams(*_TAKE_PARAMS, *_RESERVE_PARAMS)
_CREATE = text(
    """
    INSERT INTO pace_buckets (account, bucket, reset_at, window_s, closed_until, probe_until,
                              wait_s, granted)
    VALUES (:account, :bucket, 0, 0, 0, 0, 0, 0)
    ON CONFLICT (account, bucket) DO NOTHING
    """
)
# An answer with a window: its end, `at`, is now + Reset-After. An answer from an earlier
# window (its end half a window before the row's) says nothing about this one; one from a
# window the row has not counted (the row's is over) starts it; otherwise it is the row's
# window: believe the smaller count (the row counts calls sent, the answer calls arrived,
# and calls of anyone else) and the later end (the platform's window began at its arrival).
_LEARN = text(
    """
    UPDATE pace_buckets AS b SET
      closed_until = CASE WHEN :retry_after > 0
        THEN GREATEST(b.closed_until, t.now + :retry_after + :margin) ELSE b.closed_until END,
      probe_until = 0,
      limit_n = COALESCE(:limit, b.limit_n, :remaining + 1),
      window_s = GREATEST(b.window_s, :reset_after),
      remaining = CASE
        WHEN b.limit_n IS NULL THEN :remaining
        WHEN t.now + :reset_after < b.reset_at - b.window_s / 2 THEN b.remaining
        WHEN t.now + :reset_after > b.reset_at + :same AND t.now >= b.reset_at THEN :remaining
        ELSE LEAST(b.remaining, :remaining)
      END,
      reset_at = CASE
        WHEN b.limit_n IS NULL THEN t.now + :reset_after
        WHEN t.now + :reset_after < b.reset_at - b.window_s / 2 THEN b.reset_at
        WHEN t.now + :reset_after > b.reset_at + :same AND t.now >= b.reset_at
        THEN t.now + :reset_after
        ELSE GREATEST(b.reset_at, t.now + :reset_after)
      END
    FROM (SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now) AS t
    WHERE b.account = :account AND b.bucket = :bucket
    """
).bindparams(
    bindparam("retry_after", type_=Float),
    bindparam("margin", type_=Float),
    bindparam("limit", type_=Integer),
    bindparam("remaining", type_=Integer),
    bindparam("reset_after", type_=Float),
    bindparam("same", type_=Float),
)
# An answer without a window (no headers, or only Retry-After): the probe is over either way.
_LEARN_BARE = text(
    """
    UPDATE pace_buckets AS b SET
      closed_until = CASE WHEN :retry_after > 0
        THEN GREATEST(b.closed_until, t.now + :retry_after + :margin) ELSE b.closed_until END,
      probe_until = 0
    FROM (SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now) AS t
    WHERE b.account = :account AND b.bucket = :bucket
    """
).bindparams(bindparam("retry_after", type_=Float), bindparam("margin", type_=Float))


# The buckets no call touched for `idle` seconds. Every time a row keeps (its window's end,
# Retry-After's end, a probe's deadline) then lies that far back, so it says nothing about any
# call to come; the next call recreates it as a bucket never answered. A count at t leaves the
# greatest of the three no earlier than t less the margin (`_TAKE`), so a row in use stays.
# No index: the table holds the buckets used within `idle` (one row per credential and bucket),
# and an index on times the first call of every window rewrites would cost each call a write.
_PRUNE = text(
    """
    DELETE FROM pace_buckets
    WHERE GREATEST(reset_at, closed_until, probe_until)
          < EXTRACT(EPOCH FROM clock_timestamp())::float8 - :idle
    """
).bindparams(bindparam("idle", type_=Float))


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The engine (same pool) whose connections commit each statement on their own."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


async def _reserve(
    conn: AsyncConnection, account: str, interval_s: float, budget: BudgetLike | None
) -> float:
    values = {
        "slot": account,
        "interval": interval_s,
        "count": budget.count if budget else 0,
        "window": budget.window_s if budget else 0.0,
    }
    return max(0.0, float((await conn.execute(_RESERVE, values)).scalar_one()))


class Counted(NamedTuple):
    """What a take gave: a wait before asking again (nothing counted), or `granted` calls
    counted (the first is the caller's; the others good for `good_for_s` seconds, until the
    window's end) and the wait for the slot reserved with them."""

    wait_s: float
    slot_wait_s: float
    granted: int
    good_for_s: float


class DatabaseBuckets:
    """A `BucketLedger` (provisioning/pace.py) shared by every process on this database."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        margin_s: float,
        same_window_s: float,
        learn_timeout_s: float,
        poll_s: float,
    ) -> None:
        self._engine = autocommit(engine)
        self._margin = margin_s
        self._same = same_window_s
        self._learn = learn_timeout_s
        self._poll = poll_s

    async def take(
        self, account: str, bucket: str, slot: SlotLike | None = None, *, want: int = 1
    ) -> Counted:
        names = {"account": account, "bucket": bucket}
        values = {
            **names,
            "want": max(1, want),
            "poll": self._poll,
            "margin": self._margin,
            "learn": self._learn,
        }
        # The count, and the slot of a call its bucket let through, committed at once (see the
        # module's docstring). A process stopped after it has counted a call it never sends:
        # one call less in the window, never one more.
        statement = _TAKE
        if slot is not None:
            statement = _TAKE_AND_RESERVE
            values.update(
                slot=slot.account,
                interval=slot.interval_s,
                count=slot.budget.count if slot.budget else 0,
                window=slot.budget.window_s if slot.budget else 0.0,
            )
        async with self._engine.connect() as conn:
            row = (await conn.execute(statement, values)).first()
            if row is None:  # the bucket's first call anywhere
                await conn.execute(_CREATE, names)
                row = (await conn.execute(statement, values)).one()
        if slot is None:
            wait, granted, good_for = row
            slot_wait = 0.0
        else:
            wait, slot_wait, granted, good_for = row
        if wait > 0:
            return Counted(float(wait), 0.0, 0, 0.0)
        return Counted(
            0.0, max(0.0, float(slot_wait or 0.0)), int(granted), max(0.0, float(good_for))
        )

    async def learn(self, account: str, bucket: str, answer: AnswerLike) -> None:
        values: dict[str, Any] = {
            "account": account,
            "bucket": bucket,
            "retry_after": answer.retry_after_s or 0.0,
            "margin": self._margin,
        }
        windowed = answer.remaining is not None and answer.reset_after_s is not None
        if windowed:
            values.update(
                limit=answer.limit,
                remaining=answer.remaining,
                reset_after=answer.reset_after_s,
                same=self._same,
            )
        try:
            async with self._engine.connect() as conn:
                await self._learn_in(conn, _LEARN if windowed else _LEARN_BARE, values)
        except SQLAlchemyError:
            # The call itself went and was answered; the counts taken before it still hold.
            log.warning("rate-limit headers not recorded", extra={"bucket": bucket}, exc_info=True)

    async def prune(self, idle_s: float) -> int:
        """Delete the buckets no call touched for `idle_s` seconds; how many went."""
        async with self._engine.begin() as conn:
            return int((await conn.execute(_PRUNE, {"idle": idle_s})).rowcount)

    @staticmethod
    async def _learn_in(conn: AsyncConnection, statement: Any, values: dict[str, Any]) -> None:
        if (await conn.execute(statement, values)).rowcount == 0:
            await conn.execute(_CREATE, {"account": values["account"], "bucket": values["bucket"]})
            await conn.execute(statement, values)


class DatabasePaceLedger:
    """A `PaceLedger` (provisioning/pace.py) shared by every process on this database."""

    def __init__(self, engine: AsyncEngine, buckets: DatabaseBuckets | None = None) -> None:
        self._engine = autocommit(engine)
        self._buckets = buckets
        # Marks this process may hold whose send is not recorded yet: token -> (account,
        # spacing). Entered before the mark's statement (a step cancelled while it runs may
        # hold the mark without knowing), left when `sent` is recorded.
        self._open: dict[str, tuple[str, float]] = {}
        # The mark that held the last `mark` of an account back: its token, and when its slot
        # comes (loop time).
        self._held_by: dict[str, tuple[str, float]] = {}
        self._sends = SendSignals()

    @property
    def buckets(self) -> DatabaseBuckets | None:
        return self._buckets

    async def reserve(
        self, account: str, interval_s: float, budget: BudgetLike | None = None
    ) -> float:
        async with self._engine.connect() as conn:
            return await _reserve(conn, account, interval_s, budget)

    async def hold(self, account: str, seconds: float) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(_HOLD, {"account": account, "seconds": seconds})

    async def mark(
        self, account: str, interval_s: float, token: str, hold_s: float
    ) -> float | None:
        values = {"account": account, "interval": interval_s, "token": token, "hold": hold_s}
        self._open[token] = (account, interval_s)
        async with self._engine.connect() as conn:
            wait, holder, slot_in = (await conn.execute(_MARK, values)).one()
        if wait is None:
            self._open.pop(token, None)  # not taken
            loop = asyncio.get_running_loop()
            self._held_by[account] = (str(holder), loop.time() + max(0.0, float(slot_in)))
            return None
        return max(0.0, float(wait))

    async def wait_sent(self, account: str, poll_s: float) -> None:
        # Read, not taken: several writers of this process may wait on one account at once.
        holder, slot_at = self._held_by.get(account, ("", 0.0))
        if holder in self._open:
            # Our own write: its record wakes us (or, were it lost, the next look).
            timeout = OWN_SEND_WAIT_S
        else:
            # Another process's write, which leaves at its slot; recorded a little after.
            timeout = max(poll_s, slot_at - asyncio.get_running_loop().time() + poll_s)
        await self._sends.wait(account, asyncio.sleep(timeout))

    async def sent(
        self, account: str, interval_s: float, token: str, ago: Callable[[], float] | None
    ) -> None:
        try:
            async with self._engine.connect() as conn:
                # How long ago, asked once the connection is ours: only the statement's way to
                # the database makes the send look later than it was.
                values = {"account": account, "interval": interval_s, "token": token}
                await conn.execute(_SENT, {**values, "ago": None if ago is None else ago()})
            self._open.pop(token, None)
            self._sends.recorded(account)
        except SQLAlchemyError:
            # The write went (or never will); its call must not fail for this. Unrecorded,
            # its mark holds the next write until its hold is over (or this process stops).
            log.warning("send not recorded", extra={"account": account}, exc_info=True)

    async def close(self) -> None:
        """Release the marks this process still holds, as if their writes left now: stopping
        cancels writes between their mark and their send record (waiting for their slot,
        their statement under way, their request leaving on its thread), and a mark never
        released held every other process's next write of that credential `SEND_HOLD_S`
        (10 s; seen twice in one stop of `bench/department.py`). "Now" is no earlier than
        any such write really left, so the spacing after it is kept. Called on shutdown,
        after the runner has stopped and the GitHub clients are closed."""
        for token, (account, interval_s) in list(self._open.items()):
            await self.sent(account, interval_s, token, lambda: 0.0)
        if self._open:
            log.warning("send marks not released; they expire", extra={"marks": len(self._open)})
