"""Timestamps come back aware in UTC, and API tokens are stored only as hashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ApiToken
from provisioning.api_tokens import ApiTokenService, TokenNameTakenError, hash_token
from tests.fakes.clocks import ManualClock


async def test_timestamps_round_trip_as_aware_utc(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A timestamp given in any zone is read back as the same instant, tagged UTC."""
    local = datetime(2027, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    async with session_factory.begin() as session:
        session.add(ApiToken(name="t", token_hash="x" * 64, read_only=False, created_at=local))
    async with session_factory() as session:
        stored = await session.scalar(select(ApiToken.created_at))
    assert stored == local
    assert stored is not None
    assert stored.tzinfo == UTC


async def test_naive_timestamp_is_rejected(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A naive datetime cannot be stored: local time must never slip in."""
    with pytest.raises(StatementError, match="naive datetime"):
        async with session_factory.begin() as session:
            session.add(
                ApiToken(name="t", token_hash="x" * 64, read_only=False, created_at=datetime.now())
            )


async def test_token_authenticates_and_only_its_hash_is_stored(
    session_factory: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """A new token authenticates as its name; the database holds only its sha256."""
    tokens = ApiTokenService(session_factory, clock)
    token = await tokens.create("ci-script", read_only=True)
    info = await tokens.authenticate(token)
    assert info is not None
    assert info.name == "ci-script"
    assert info.read_only
    async with session_factory() as session:
        row = await session.scalar(select(ApiToken))
    assert row is not None
    assert row.token_hash == hash_token(token)
    assert token not in row.token_hash


async def test_unknown_malformed_and_revoked_tokens_are_refused(
    session_factory: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    """Wrong, malformed and revoked tokens do not authenticate."""
    tokens = ApiTokenService(session_factory, clock)
    token = await tokens.create("ops")
    assert await tokens.authenticate(token + "x") is None
    assert await tokens.authenticate("not-a-token") is None
    assert await tokens.revoke("ops")
    assert await tokens.authenticate(token) is None
    assert not await tokens.revoke("ops")


async def test_token_names_are_unique(
    session_factory: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """Two tokens cannot share a name (the name is the actor in the audit log)."""
    tokens = ApiTokenService(session_factory, clock)
    await tokens.create("ops")
    with pytest.raises(TokenNameTakenError):
        await tokens.create("ops")


async def test_bootstrap_token_registration_is_idempotent_and_rotates(
    session_factory: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    """Registering the same token twice keeps one row; a new token replaces the old one."""
    service = ApiTokenService(session_factory, clock)
    first, second = "cpb_" + "a" * 40, "cpb_" + "b" * 40
    await service.register("bootstrap", first)
    await service.register("bootstrap", first)
    info = await service.authenticate(first)
    assert info is not None
    assert info.name == "bootstrap"
    await service.register("bootstrap", second)
    assert await service.authenticate(first) is None
    assert await service.authenticate(second) is not None
    with pytest.raises(ValueError, match="must start with"):
        await service.register("bootstrap", "short")
