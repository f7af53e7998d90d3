"""`python -m sandbox --port N [--state FILE] [--data DIR] [--rate-scale X] [--smtp-port N]`:
serve the emulators on one port of 127.0.0.1, and the mail server on another."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from sandbox.core.guard import SECRET_HEADER
from sandbox.server import SandboxServer, SandboxStartError

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any)")
    parser.add_argument(
        "--state",
        type=Path,
        help="load at start if present; saved after changes and on shutdown; locked while running",
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="folder for the files save/load may name, and for the secret when there is no "
        "--state (default: the state file's folder, else ./data)",
    )
    parser.add_argument(
        "--save-interval",
        type=float,
        default=1.0,
        help="save the state at most once per this many seconds (0 = after every change)",
    )
    parser.add_argument(
        "--smtp-port",
        type=int,
        default=0,
        help="port on 127.0.0.1 of the sandbox's SMTP server (0 = any free port)",
    )
    parser.add_argument(
        "--rate-scale",
        type=float,
        default=1.0,
        help="speed up rate-limit time: windows and retry-after are divided by this",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    data = args.data or (args.state.parent if args.state is not None else Path("data"))
    async with SandboxServer(
        port=args.port,
        rate_scale=args.rate_scale,
        state_path=args.state,
        data_dir=data,
        save_interval=args.save_interval,
        smtp_port=args.smtp_port,
    ) as server:
        print(f"GitHub API:   {server.github_api_url}   (token: sandbox-github-token)")
        print(f"Discord API:  {server.discord_api_url}")
        print(f"Gateway:      {server.gateway_url}")
        print(f"SMTP:         {server.smtp_host}:{server.smtp_port}")
        print(f"Mailbox:      {server.base_url}/_sandbox/mail/")
        print(f"Control/HTML: {server.base_url}/_sandbox/")
        print(f"Control secret ({SECRET_HEADER} header, also in {server.secret_path}):")
        print(server.control_secret, flush=True)
        stop = asyncio.Event()
        # SIGTERM stops as cleanly as Ctrl-C: the world is saved on the way out.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except SandboxStartError as exc:
        sys.exit(f"python -m sandbox: {exc}")
    except KeyboardInterrupt:
        log.info("sandbox stopped")


if __name__ == "__main__":
    main()
