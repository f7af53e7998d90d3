"""Upkeep of the shared pace on PostgreSQL: `pace_buckets` rows of buckets long unused go.

A row is made for every credential and bucket a call meets (Discord's per-route buckets come
with the channels and servers courses make; each App installation is a credential), and
nothing else ever removes one. The bot process deletes, hourly, those no call touched for a
day: rows whose window ended, whose Retry-After ran out and whose probe expired a day ago or
more (`db.pace_ledger`), so whatever a bucket's window (GitHub's hour, Discord's seconds to a
day) a row deleted holds nothing a coming call needs, and the table keeps a day's buckets.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler

from bot.scheduled import stoppable
from db.pace_ledger import DatabaseBuckets

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 3600.0
BUCKET_IDLE_S = 86400.0
# The first round soon after start: a process restarted more often than hourly still prunes.
FIRST_AFTER_S = 60.0
JOB_ID = "pace-prune"


async def prune_buckets(buckets: DatabaseBuckets) -> None:
    """One round; a failure is logged and the next round tries again."""
    try:
        pruned = await buckets.prune(BUCKET_IDLE_S)
    except Exception:
        log.warning("unused rate-limit buckets could not be pruned", exc_info=True)
        return
    if pruned:
        log.info("pruned %d rate-limit buckets unused for a day", pruned)


def schedule_pruning(scheduler: BaseScheduler, buckets: DatabaseBuckets | None) -> None:
    """Prune hourly when the buckets are shared in the database (None: in memory)."""
    if buckets is None:
        return
    scheduler.add_job(
        stoppable(prune_buckets),
        "interval",
        args=[buckets],
        seconds=PRUNE_EVERY_S,
        next_run_time=datetime.now(UTC) + timedelta(seconds=FIRST_AFTER_S),
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
    )
