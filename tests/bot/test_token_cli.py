"""`python -m bot token list` and `token revoke NAME`: a leaked token is removed without SQL."""

from __future__ import annotations

from pathlib import Path

from db.engine import create_engine, create_session_factory
from provisioning.api_tokens import ApiTokenService
from provisioning.clock import SystemClock
from tests.e2e.harness import bot_cli, product_env


async def test_token_list_shows_rights_and_revocation_and_never_the_token(
    database_url: str, tmp_path: Path
) -> None:
    """Created tokens are listed by name with their rights; after `revoke` the row shows when,
    a second revoke fails naming the token, and no listing ever prints a token's value."""
    env = product_env(database_url)
    empty = await bot_cli("token", "list", env=env, cwd=tmp_path)
    assert empty.returncode == 0, empty.stderr
    assert "no API tokens" in empty.stdout

    created = await bot_cli("token", "create", "ci-runner", env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    reader = await bot_cli("token", "create", "dashboard", "--read-only", env=env, cwd=tmp_path)
    assert reader.returncode == 0, reader.stderr

    listed = await bot_cli("token", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert lines[0].split() == ["NAME", "RIGHTS", "CREATED", "(UTC)", "REVOKED", "(UTC)"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert (rows["ci-runner"][1], rows["ci-runner"][-1]) == ("read-write", "-")
    assert (rows["dashboard"][1], rows["dashboard"][-1]) == ("read-only", "-")
    assert secret not in listed.stdout

    revoked = await bot_cli("token", "revoke", "ci-runner", env=env, cwd=tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    assert "Revoked API token 'ci-runner'" in revoked.stdout
    after = await bot_cli("token", "list", env=env, cwd=tmp_path)
    rows = {line.split()[0]: line.split() for line in after.stdout.strip().splitlines()[1:]}
    assert rows["ci-runner"][-1] != "-"  # the time it was revoked
    assert rows["dashboard"][-1] == "-"

    again = await bot_cli("token", "revoke", "ci-runner", env=env, cwd=tmp_path)
    assert again.returncode == 1
    assert "no active API token named 'ci-runner'" in again.stderr
    unknown = await bot_cli("token", "revoke", "nobody", env=env, cwd=tmp_path)
    assert unknown.returncode == 1
    assert "'nobody'" in unknown.stderr


async def test_a_token_revoked_on_the_command_line_no_longer_authenticates(
    database_url: str, tmp_path: Path
) -> None:
    """The token `token create` printed authenticates until `token revoke` names it."""
    env = product_env(database_url)
    created = await bot_cli("token", "create", "leaked", env=env, cwd=tmp_path)
    secret = created.stdout.strip().splitlines()[-1]
    engine = create_engine(database_url)
    try:
        tokens = ApiTokenService(create_session_factory(engine), SystemClock())
        assert await tokens.authenticate(secret) is not None
        revoked = await bot_cli("token", "revoke", "leaked", env=env, cwd=tmp_path)
        assert revoked.returncode == 0, revoked.stderr
        assert await tokens.authenticate(secret) is None
    finally:
        await engine.dispose()
