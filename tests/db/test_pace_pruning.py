"""`pace_buckets` on PostgreSQL keeps a day's buckets: the bot's hourly job deletes the rows no
call touched for a day, never one in use or still closed, and a bucket pruned is counted again
from scratch by its next call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.pace_upkeep import BUCKET_IDLE_S, JOB_ID, PRUNE_EVERY_S, schedule_pruning
from db.engine import create_engine
from db.pace_ledger import DatabaseBuckets
from tests.db.test_pace_buckets import Answer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]
DAY = 86400.0
ACCOUNT = "discord:abc"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def buckets(engine: AsyncEngine) -> DatabaseBuckets:
    return DatabaseBuckets(
        engine, margin_s=0.05, same_window_s=0.01, learn_timeout_s=5.0, poll_s=0.02
    )


async def age(engine: AsyncEngine, bucket: str, seconds: float, **columns: float) -> None:
    """Move every time of the row `seconds` into the past (a row last used then), then set
    `columns` (seconds from now) as given."""
    now = "EXTRACT(EPOCH FROM clock_timestamp())::float8"
    times = ("reset_at", "closed_until", "probe_until")
    sets = [f"{c} = LEAST({c}, {now} - :ago)" for c in times if c not in columns]
    sets += [f"{c} = {now} + :{c}" for c in columns]
    async with engine.begin() as conn:
        result = await conn.execute(
            text(f"UPDATE pace_buckets SET {', '.join(sets)} WHERE bucket = :bucket"),
            {"ago": seconds, "bucket": bucket, **columns},
        )
        assert result.rowcount == 1


async def rows(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.scalars(text("SELECT bucket FROM pace_buckets"))).all())


async def used(buckets: DatabaseBuckets, bucket: str, *, answered: bool = True) -> None:
    """One call counted on the bucket and, if `answered`, its answer's headers learned."""
    assert (await buckets.take(ACCOUNT, bucket))[0] == 0.0
    if answered:
        await buckets.learn(ACCOUNT, bucket, Answer(limit=5, remaining=4, reset_after_s=2.0))


async def test_the_rows_unused_for_a_day_go_and_the_others_stay(
    engine: AsyncEngine, buckets: DatabaseBuckets
) -> None:
    """Rows last used 25 h ago go (an answered bucket, and one whose only call got no headers);
    rows used now, used 23 h ago, or idle but closed by a Retry-After still running stay."""
    for bucket in ("now", "yesterday-ish", "idle", "idle-unanswered", "closed"):
        await used(buckets, bucket, answered=bucket != "idle-unanswered")
    await age(engine, "yesterday-ish", DAY - 3600)
    await age(engine, "idle", DAY + 3600)
    await age(engine, "idle-unanswered", DAY + 3600)
    await age(engine, "closed", DAY + 3600, closed_until=600.0)
    assert await buckets.prune(BUCKET_IDLE_S) == 2
    assert await rows(engine) == {"now", "yesterday-ish", "closed"}
    assert await buckets.prune(BUCKET_IDLE_S) == 0


async def test_a_pruned_bucket_is_counted_afresh(
    engine: AsyncEngine, buckets: DatabaseBuckets
) -> None:
    """A bucket's next call after its row went: let through as the probe of a bucket never
    answered, the others held until its answer; the answer makes the row a counted one again."""
    await used(buckets, "again")
    await age(engine, "again", DAY + 1)
    assert await buckets.prune(BUCKET_IDLE_S) == 1
    assert (await buckets.take(ACCOUNT, "again"))[0] == 0.0
    assert (await buckets.take(ACCOUNT, "again"))[0] > 0.0  # waiting for the probe's answer
    await buckets.learn(ACCOUNT, "again", Answer(limit=2, remaining=1, reset_after_s=5.0))
    assert (await buckets.take(ACCOUNT, "again"))[0] == 0.0
    assert (await buckets.take(ACCOUNT, "again"))[0] > 0.0  # the window's two calls spent


async def test_the_bot_prunes_hourly_on_postgresql_only(
    engine: AsyncEngine, buckets: DatabaseBuckets
) -> None:
    """The job the bot process schedules runs hourly and prunes these buckets when it runs;
    with the buckets in memory (SQLite: None) no job is scheduled."""
    scheduler = AsyncIOScheduler()
    schedule_pruning(scheduler, None)
    assert scheduler.get_jobs() == []
    schedule_pruning(scheduler, buckets)
    job = scheduler.get_job(JOB_ID)
    assert job is not None
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(seconds=PRUNE_EVERY_S)
    await used(buckets, "old")
    await used(buckets, "new")
    await age(engine, "old", DAY + 60)
    await job.func(*job.args)  # as the scheduler runs it
    assert await rows(engine) == {"new"}
