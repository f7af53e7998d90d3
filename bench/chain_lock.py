"""Benchmark: who holds the audit chain's PostgreSQL lock during `department.py`, and for how long.

Runs the department bench (same options, same figures) with a sampler beside it: every few
milliseconds, from a connection and a thread of its own, it reads `pg_locks` for the chain's
advisory lock (`db.audit_chain`'s key) in the bench's database: which backend holds it, in
which transaction, and how many wait for it. From the samples:

- `holds`: transactions seen holding the lock, and how long each was seen holding it (first to
  last sample, plus one interval: a figure at the sampler's resolution, not a precise one);
- `waiting_mean` / `waiting_max`: backends waiting for it, on average over all samples and at
  most; `held_share`: the share of samples in which someone held it.

    .venv/bin/python bench/chain_lock.py --scale 10 --size 0.25

The last line is one JSON object: the department's `wall_ratio`, the Discord-after-claim
seconds per course (min, median, max), `calls_ratio`, and the lock figures above.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import department  # noqa: E402
from claim_waits import PgSampler  # noqa: E402

from db.audit_chain import ADVISORY_LOCK_KEY  # noqa: E402

# pg_locks shows a bigint advisory key as its high and low 32 bits, with objsubid 1.
_CLASSID, _OBJID = ADVISORY_LOCK_KEY >> 32, ADVISORY_LOCK_KEY & 0xFFFFFFFF
QUERY = (
    "SELECT l.pid, l.granted, a.xact_start FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.classid = $1 AND l.objid = $2 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class ChainLockSampler(PgSampler):
    """Samples the chain lock's holder and waiters."""

    def __init__(self, dsn: str, every_s: float = 0.003) -> None:
        super().__init__(dsn, every_s)
        self.held = 0
        self.waiting: list[int] = []
        # (pid, transaction start) -> first and last time seen holding the lock.
        self.holds: dict[tuple[int, Any], list[float]] = {}

    async def sample(self, conn: Any, at: float) -> None:
        waiters = 0
        for pid, granted, xact_start in await conn.fetch(QUERY, _CLASSID, _OBJID):
            if granted:
                self.held += 1
                self.holds.setdefault((pid, xact_start), [at, at])[1] = at
            else:
                waiters += 1
        self.waiting.append(waiters)

    def figures(self) -> dict[str, Any]:
        spans = sorted((last - first + self.every_s) * 1000 for first, last in self.holds.values())

        def pct(q: float) -> float:
            return round(spans[min(len(spans) - 1, int(q * len(spans)))], 1) if spans else 0.0

        return {
            "samples": self.samples,
            "held_share": round(self.held / max(self.samples, 1), 3),
            "waiting_mean": round(statistics.fmean(self.waiting), 2) if self.waiting else 0.0,
            "waiting_max": max(self.waiting, default=0),
            "holds": len(spans),
            "hold_ms_p50": pct(0.5),
            "hold_ms_p90": pct(0.9),
            "hold_ms_max": round(spans[-1], 1) if spans else 0.0,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--size", type=float, default=0.25)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--sandbox", choices=("process", "inline"), default="process")
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--every-ms", type=float, default=3.0, help="sampling interval")
    args = parser.parse_args()
    name = f"chainlock_{uuid.uuid4().hex[:8]}"
    asyncio.run(department.admin(f"{args.server}/postgres", f'CREATE DATABASE "{name}"'))
    url = f"{args.server}/{name}"
    try:
        department.migrate(url)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        with (
            ChainLockSampler(dsn, args.every_ms / 1000) as sampler,
            tempfile.TemporaryDirectory() as workdir,
        ):
            result = asyncio.run(department.run(args, url, Path(workdir)))
    finally:
        asyncio.run(
            department.admin(
                f"{args.server}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            )
        )
    lock = sampler.figures()
    discord = sorted(row["discord_done_s"] for row in result["per_course"].values())
    summary = {
        "scale": args.scale,
        "size": args.size,
        "wall_ratio": result["wall_ratio"],
        "wall_s": result["wall_s"],
        "calls_ratio": result["calls_ratio"],
        "all_succeeded": result["all_succeeded"],
        "stop_s": result["stop_s"],
        "status_p99_ms": result["status_p99_ms"],
        "discord_after_claim_s": {
            "min": discord[0],
            "median": round(statistics.median(discord), 2),
            "max": discord[-1],
        },
        "chain_lock": lock,
    }
    print(
        f"wall {result['wall_s']} s, {result['wall_ratio']} x the lower bound; Discord done after"
        f" the claim: min {discord[0]} s, median {summary['discord_after_claim_s']['median']} s,"
        f" max {discord[-1]} s; calls {result['calls_ratio']} x"
    )
    print(
        f"chain lock: held in {lock['held_share']:.1%} of {lock['samples']} samples, waiting"
        f" {lock['waiting_mean']} on average (at most {lock['waiting_max']}); {lock['holds']}"
        f" holding transactions seen, held p50 {lock['hold_ms_p50']} ms, p90"
        f" {lock['hold_ms_p90']} ms, max {lock['hold_ms_max']} ms"
    )
    print(json.dumps(summary, sort_keys=True))
    return 0 if result["all_succeeded"] else 1


if __name__ == "__main__":
    sys.exit(main())
