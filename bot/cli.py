"""The command line: serve (default), runner, token create/list/revoke, audit verify.

Each command builds what it needs with `bot.build` and nothing more: `serve` and `runner` the
whole product (`bot.app`), `token` and `audit` only the database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from provisioning.api_tokens import ApiTokenService

log = logging.getLogger(__name__)
_MINUTE = "%Y-%m-%d %H:%M"


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
        return asyncio.run(_token_command(settings, args))
    if command == "audit":
        return asyncio.run(_audit_verify(settings))
    from bot import app  # the heavy imports (discord.py, PyGithub) only where they are used
    from bot.errors import StartupError

    try:
        asyncio.run(app.serve(settings, runner_only=command == "runner"))
    except KeyboardInterrupt:
        pass
    except StartupError as exc:
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
    token_commands.add_parser("list", help="every token: name, rights, created, revoked")
    revoke = token_commands.add_parser("revoke", help="revoke a token at once (it stays listed)")
    revoke.add_argument("name", help="the token's name, as `token list` shows it")
    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser(
        "verify",
        help="seal the rows written so far into the hash chain, check it; exit 1 if broken",
    )
    return parser


async def _token_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.build import open_database, token_service
    from bot.errors import StartupError
    from provisioning.clock import SystemClock

    async with AsyncExitStack() as stack:
        try:
            _, sessions = await open_database(settings, stack)
        except StartupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        tokens = token_service(sessions, SystemClock())
        action: str = args.token_command
        if action == "list":
            return await _token_list(tokens)
        if action == "revoke":
            return await _token_revoke(tokens, args.name)
        return await _token_create(tokens, args.name, args.read_only)


async def _token_create(tokens: ApiTokenService, name: str, read_only: bool) -> int:
    from provisioning.api_tokens import TokenNameTakenError

    try:
        token = await tokens.create(name, read_only=read_only)
    except TokenNameTakenError as exc:
        print(f"error: {exc}; choose another name", file=sys.stderr)
        return 1
    kind = "read-only" if read_only else "read-write"
    print(f"Created {kind} API token {name!r}. It is shown once; store it now:")
    print(token)
    return 0


async def _token_list(tokens: ApiTokenService) -> int:
    listing = await tokens.list_all()
    if not listing:
        print("no API tokens; create one with `python -m bot token create NAME`")
        return 0
    width = max(len("NAME"), *(len(t.name) for t in listing))
    print(f"{'NAME':<{width}}  {'RIGHTS':<10}  {'CREATED (UTC)':<16}  REVOKED (UTC)")
    for t in listing:
        rights = "read-only" if t.read_only else "read-write"
        revoked = t.revoked_at.strftime(_MINUTE) if t.revoked_at else "-"
        print(f"{t.name:<{width}}  {rights:<10}  {t.created_at.strftime(_MINUTE):<16}  {revoked}")
    return 0


async def _token_revoke(tokens: ApiTokenService, name: str) -> int:
    if not await tokens.revoke(name):
        print(
            f"error: no active API token named {name!r}; `python -m bot token list` shows them",
            file=sys.stderr,
        )
        return 1
    print(f"Revoked API token {name!r}: requests carrying it are refused from now on.")
    return 0


async def _audit_verify(settings: Settings) -> int:
    from bot.build import open_database
    from bot.errors import StartupError
    from db import audit_chain

    async with AsyncExitStack() as stack:
        try:
            _, sessions = await open_database(settings, stack)
        except StartupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        async with sessions() as session:
            result = await audit_chain.verify(session)
    if result.ok:
        print(f"audit chain intact: {result.checked} rows checked")
        return 0
    print(
        f"audit chain BROKEN at row {result.first_broken_id} "
        f"(after {result.checked - 1} good rows): that row or its predecessor was altered",
        file=sys.stderr,
    )
    return 1
