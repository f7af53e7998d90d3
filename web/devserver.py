"""The REST API alone on one database, for API fuzzing and local trials (no bot, no runner).

    python -m web.devserver token --database-url URL [--name NAME] [--read-only]
    python -m web.devserver serve --database-url URL [--host 127.0.0.1] [--port 8080]

The database must be migrated already (``alembic upgrade head``). ``serve`` stops on SIGTERM
or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence

from aiohttp import web

from db.engine import create_engine
from web.app import create_app
from web.services import build_services

log = logging.getLogger(__name__)


async def create_token(database_url: str, name: str, read_only: bool) -> str:
    """Issue a token on ``database_url`` and return it."""
    engine = create_engine(database_url)
    try:
        return await build_services(engine).tokens.create(name, read_only=read_only)
    finally:
        await engine.dispose()


async def serve(database_url: str, host: str, port: int) -> None:
    """Serve the API until SIGTERM or SIGINT."""
    engine = create_engine(database_url)
    runner = web.AppRunner(create_app(build_services(engine)), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("serving the REST API", extra={"host": host, "port": port})
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.devserver", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="create an API token and print it")
    token.add_argument("--database-url", required=True)
    token.add_argument("--name", default="devserver")
    token.add_argument("--read-only", action="store_true")
    run = commands.add_parser("serve", help="serve the REST API")
    run.add_argument("--database-url", required=True)
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "token":
        print(asyncio.run(create_token(args.database_url, args.name, args.read_only)))
    else:
        asyncio.run(serve(args.database_url, args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
