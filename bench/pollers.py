"""Load generator for the status benchmarks, run as its own process so that the latencies it
reports are the server's, not those of a load generator sharing the server's event loop.

    POLLERS_TOKEN=... .venv/bin/python bench/pollers.py URL [--clients 200] [--seconds 15] [--etag]

CLIENTS pollers each send `GET URL` once a second for SECONDS seconds, open loop (a request
leaves on time whatever the previous one's answer; each runs on its own task), their starts
spread evenly over the first second. With `--etag`, each sends back the ETag it last got
(`If-None-Match`), as a status page does. SIGTERM ends the polling early: no request leaves
after it, those in flight are awaited, and the figures are printed as usual. The last line is
one JSON object: `requests`, `errors` (a status other than 200, 304 or 503, or no answer),
`p50_ms`, `p99_ms`, `max_ms` (every answer), `not_modified` (how many 304s), `shed` (how many
503s: the server's load shedding) with `shed_p99_ms`, and `ok_p50_ms`/`ok_p99_ms` (the 200s
and 304s alone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import aiohttp


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def poll(
    http: aiohttp.ClientSession,
    args: argparse.Namespace,
    offset: float,
    took: list[tuple[int, float]],
    errors: list[str],
    stop: asyncio.Event,
) -> None:
    """One client: a request every second, each on its own task (open loop)."""
    headers = {"Authorization": f"Bearer {os.environ['POLLERS_TOKEN']}"}
    etag: str | None = None
    tasks: list[asyncio.Task[None]] = []

    async def one() -> None:
        nonlocal etag
        sent = dict(headers)
        if args.etag and etag is not None:
            sent["If-None-Match"] = etag
        started = time.perf_counter()
        try:
            async with http.get(args.url, headers=sent) as response:
                await response.read()
                status = response.status
                if status not in (200, 304, 503):
                    errors.append(str(status))
                etag = response.headers.get("ETag", etag)
        except (aiohttp.ClientError, TimeoutError) as exc:
            errors.append(type(exc).__name__)
            return
        took.append((status, (time.perf_counter() - started) * 1000))

    await asyncio.sleep(offset)
    start = time.perf_counter()
    for tick in range(int(args.seconds)):
        # On the second, not after the last request: a slow answer delays no later request.
        delay = max(0.0, start + tick - time.perf_counter())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            break
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)


async def run(args: argparse.Namespace) -> dict[str, float | int | None]:
    took: list[tuple[int, float]] = []
    errors: list[str] = []
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(
            *(poll(http, args, i / args.clients, took, errors, stop) for i in range(args.clients))
        )
    every = [ms for _, ms in took]
    shed = [ms for status, ms in took if status == 503]
    ok = [ms for status, ms in took if status in (200, 304)]
    return {
        # The load generator's own CPU: if it nears one core, it is the bottleneck.
        "pollers_cpu_s": round(time.process_time(), 2),
        "requests": len(took),
        "errors": len(errors),
        "not_modified": sum(1 for status, _ in took if status == 304),
        "shed": len(shed),
        "p50_ms": round(percentile(every, 0.5), 2),
        "p99_ms": round(percentile(every, 0.99), 2),
        "max_ms": round(max(every, default=float("nan")), 2),
        "ok_p50_ms": round(percentile(ok, 0.5), 2) if ok else None,
        "ok_p99_ms": round(percentile(ok, 0.99), 2) if ok else None,
        "shed_p99_ms": round(percentile(shed, 0.99), 2) if shed else None,
    }


async def in_own_process(
    url: str,
    token: str,
    *,
    clients: int,
    seconds: float,
    etag: bool,
    until: asyncio.Event | None = None,
) -> dict[str, Any]:
    """Run the pollers in a process of their own (the token in its environment, not on its
    command line) and return their figures; `until`, once set, stops them early."""
    argv = [__file__, url, "--clients", str(clients), "--seconds", str(seconds)]
    if etag:
        argv.append("--etag")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        env={**os.environ, "POLLERS_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
    )
    answered = asyncio.ensure_future(process.communicate())
    try:
        if until is not None:
            stopped = asyncio.ensure_future(until.wait())
            await asyncio.wait([answered, stopped], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not answered.done():
                process.send_signal(signal.SIGTERM)
        out, _ = await answered
    finally:
        # Interrupted (Ctrl+C on the bench): no pollers left behind.
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"the pollers exited with {process.returncode}")
    figures: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--etag", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
