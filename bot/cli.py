"""The command line: serve (default), runner, token create, audit verify.

Each command builds what it needs from the settings and nothing more; `bot.app` is the
composition root of the long-running commands.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, load the settings, run the command; the exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The scheduler logs every 5-second tick at INFO; only its problems are worth reading.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.root.level))
    command = args.command or "serve"
    if command == "token":
        return asyncio.run(_token_create(settings, args.name, args.read_only))
    if command == "audit":
        return asyncio.run(_audit_verify(settings))
    from bot import app  # the heavy imports (discord.py, PyGithub) only where they are used

    try:
        asyncio.run(app.serve(settings, runner_only=command == "runner"))
    except KeyboardInterrupt:
        pass
    except app.StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the bot, the web server and a runner (default)")
    commands.add_parser("runner", help="run a step runner alone (REST-only Discord access)")
    token = commands.add_parser("token", help="manage REST API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token; printed once")
    create.add_argument("name", help="who the token is for (shown in the audit log)")
    create.add_argument("--read-only", action="store_true", help="no mutations allowed")
    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser("verify", help="check the hash chain; exit 1 if broken")
    return parser


async def _token_create(settings: Settings, name: str, read_only: bool) -> int:
    from db.engine import create_engine, create_session_factory, schema_problem
    from provisioning.api_tokens import ApiTokenService, TokenNameTakenError
    from provisioning.clock import SystemClock

    engine = create_engine(settings.database_url)
    try:
        problem = await schema_problem(engine)
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        service = ApiTokenService(create_session_factory(engine), SystemClock())
        token = await service.create(name, read_only=read_only)
    except TokenNameTakenError as exc:
        print(f"error: {exc}; choose another name", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    kind = "read-only" if read_only else "read-write"
    print(f"Created {kind} API token {name!r}. It is shown once; store it now:")
    print(token)
    return 0


async def _audit_verify(settings: Settings) -> int:
    from db import audit_chain
    from db.engine import create_engine, create_session_factory, schema_problem

    engine = create_engine(settings.database_url)
    try:
        problem = await schema_problem(engine)
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        async with create_session_factory(engine)() as session:
            result = await audit_chain.verify(session)
    finally:
        await engine.dispose()
    if result.ok:
        print(f"audit chain intact: {result.checked} rows checked")
        return 0
    print(
        f"audit chain BROKEN at row {result.first_broken_id} "
        f"(after {result.checked - 1} good rows): that row or its predecessor was altered",
        file=sys.stderr,
    )
    return 1
