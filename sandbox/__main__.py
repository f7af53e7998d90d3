"""`python -m sandbox --port N [--state FILE] [--rate-scale X]`: serve the emulators on one port."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from sandbox.server import SandboxServer

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any)")
    parser.add_argument("--state", type=Path, help="load at start if present; save on shutdown")
    parser.add_argument(
        "--rate-scale",
        type=float,
        default=1.0,
        help="speed up rate-limit time: windows and retry-after are divided by this",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    async with SandboxServer(
        port=args.port, rate_scale=args.rate_scale, state_path=args.state
    ) as server:
        print(f"GitHub API:   {server.github_api_url}   (token: sandbox-github-token)")
        print(f"Discord API:  {server.discord_api_url}")
        print(f"Gateway:      {server.gateway_url}")
        print(f"Control/HTML: {server.base_url}/_sandbox/", flush=True)
        await asyncio.Event().wait()  # until Ctrl-C cancels the run


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        log.info("sandbox stopped")


if __name__ == "__main__":
    main()
