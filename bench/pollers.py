"""Load generator for the status benchmarks, run as its own process so that the latencies it
reports are the server's, not those of a load generator sharing the server's event loop.

    POLLERS_TOKEN=... .venv/bin/python bench/pollers.py URL [--clients 200] [--seconds 15] [--etag]

CLIENTS pollers each send `GET URL` once a second for SECONDS seconds, open loop (a request
leaves on time whatever the previous one's answer; each runs on its own task), their starts
spread evenly over the first second. With `--etag`, each sends back the ETag it last got
(`If-None-Match`), as a status page does. The last line is one JSON object: `requests`,
`errors` (a status other than 200 or 304, or no answer), `p50_ms`, `p99_ms`, `max_ms`,
`not_modified` (how many 304s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import warnings

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
    took: list[float],
    errors: list[str],
    statuses: list[int],
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
                statuses.append(response.status)
                if response.status not in (200, 304):
                    errors.append(str(response.status))
                etag = response.headers.get("ETag", etag)
        except (aiohttp.ClientError, TimeoutError) as exc:
            errors.append(type(exc).__name__)
            return
        took.append((time.perf_counter() - started) * 1000)

    await asyncio.sleep(offset)
    start = time.perf_counter()
    for tick in range(int(args.seconds)):
        # On the second, not after the last request: a slow answer delays no later request.
        await asyncio.sleep(max(0.0, start + tick - time.perf_counter()))
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)


async def run(args: argparse.Namespace) -> dict[str, float | int]:
    took: list[float] = []
    errors: list[str] = []
    statuses: list[int] = []
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(
            *(
                poll(http, args, i / args.clients, took, errors, statuses)
                for i in range(args.clients)
            )
        )
    return {
        # The load generator's own CPU: if it nears one core, it is the bottleneck.
        "pollers_cpu_s": round(time.process_time(), 2),
        "requests": len(took),
        "errors": len(errors),
        "not_modified": statuses.count(304),
        "p50_ms": round(percentile(took, 0.5), 2),
        "p99_ms": round(percentile(took, 0.99), 2),
        "max_ms": round(max(took, default=float("nan")), 2),
    }


async def in_own_process(
    url: str, token: str, *, clients: int, seconds: float, etag: bool
) -> dict[str, float | int]:
    """Run the pollers in a process of their own (the token in its environment, not on its
    command line) and return their figures."""
    argv = [__file__, url, "--clients", str(clients), "--seconds", str(seconds)]
    if etag:
        argv.append("--etag")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        env={**os.environ, "POLLERS_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the pollers exited with {process.returncode}")
    figures: dict[str, float | int] = json.loads(out.decode().strip().splitlines()[-1])
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
