"""REST API bearer tokens: issued once in clear, stored only as a sha256 hash."""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, String, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import reading
from db.models import ApiToken
from provisioning.clock import Clock
from provisioning.shared_reads import SharedReads

log = logging.getLogger(__name__)

# A recognisable prefix lets secret scanners and humans spot a leaked token.
TOKEN_PREFIX = "cpb_"  # noqa: S105 - a public prefix, not a secret


class TokenNameTakenError(ValueError):
    """A token with this name exists already (names identify the actor in the audit log)."""


@functools.cache
def _lookup_query() -> Select[int, str, bool, datetime | None]:
    """A token's row by its hash, for every authenticated request: built once, on the table's
    columns, the hash a parameter (built per request through the ORM, building it cost as
    much CPU as the rest of the request's authentication)."""
    tokens = ApiToken.__table__.c
    return select(tokens.id, tokens.name, tokens.read_only, tokens.revoked_at).where(
        tokens.token_hash == bindparam("digest", type_=String)
    )


@dataclass(frozen=True)
class ApiTokenInfo:
    """Who a valid token belongs to and what it may do."""

    id: int
    name: str
    read_only: bool


@dataclass(frozen=True)
class ApiTokenListing:
    """A token as an operator sees it in a list: never its value, which is not stored."""

    name: str
    read_only: bool
    created_at: datetime
    revoked_at: datetime | None


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiTokenService:
    """Issues, checks and revokes API tokens."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._lookups: SharedReads[ApiTokenInfo | None] = SharedReads()

    async def create(self, name: str, read_only: bool = False) -> str:
        """Issue a token named ``name``; the clear token is returned once and never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            async with self._sessions.begin() as session:
                session.add(
                    ApiToken(
                        name=name,
                        token_hash=hash_token(token),
                        read_only=read_only,
                        created_at=self._clock.now(),
                    )
                )
        except IntegrityError as exc:
            raise TokenNameTakenError(f"an API token named {name!r} exists already") from exc
        log.info("api token created", extra={"token_name": name, "read_only": read_only})
        return token

    async def register(self, name: str, token: str, read_only: bool = False) -> None:
        """Make `token` valid under `name` (the deployment's bootstrap token).

        Idempotent: a restart with the same token changes nothing; a new token under the same
        name replaces the old one, which stops working (rotation by redeploying).
        """
        if not token.startswith(TOKEN_PREFIX) or len(token) < len(TOKEN_PREFIX) + 32:
            raise ValueError(
                f"a bootstrap token must start with {TOKEN_PREFIX!r} and have at least 32 "
                "random characters after it; create one with `python -m bot token create`"
            )
        digest = hash_token(token)
        async with self._sessions.begin() as session:
            row = await session.scalar(select(ApiToken).where(ApiToken.name == name))
            if row is None:
                session.add(
                    ApiToken(
                        name=name,
                        token_hash=digest,
                        read_only=read_only,
                        created_at=self._clock.now(),
                    )
                )
            elif (row.token_hash, row.read_only, row.revoked_at) != (digest, read_only, None):
                row.token_hash, row.read_only, row.revoked_at = digest, read_only, None
                row.created_at = self._clock.now()
        log.info("bootstrap api token registered", extra={"token_name": name})

    async def authenticate(self, token: str) -> ApiTokenInfo | None:
        """The token's owner, or None if the token is unknown, malformed or revoked."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = hash_token(token)
        # Requests with the same token at the same time (a script polling hard) share one
        # lookup; none is kept, so a revocation counts for every request that starts after it.
        return await self._lookups.read(digest, lambda: self._lookup(digest))

    async def _lookup(self, digest: str) -> ApiTokenInfo | None:
        # One statement, outside a transaction: no BEGIN and ROLLBACK round trips per request.
        async with reading(self._sessions) as session:
            row = (await session.execute(_lookup_query(), {"digest": digest})).first()
        # The lookup is by hash, so timing does not reveal how much of a guess was right.
        if row is None or row.revoked_at is not None:
            return None
        return ApiTokenInfo(id=row.id, name=row.name, read_only=row.read_only)

    async def list_all(self) -> list[ApiTokenListing]:
        """Every token, active or revoked, oldest first."""
        async with self._sessions() as session:
            rows = (await session.scalars(select(ApiToken).order_by(ApiToken.id))).all()
        return [ApiTokenListing(r.name, r.read_only, r.created_at, r.revoked_at) for r in rows]

    async def is_active(self, name: str) -> bool:
        """A token of this name exists and is not revoked (sessions it started live on)."""
        async with self._sessions() as session:
            revoked_at = await session.execute(
                select(ApiToken.revoked_at).where(ApiToken.name == name)
            )
            row = revoked_at.first()
        return row is not None and row[0] is None

    async def revoke(self, name: str) -> bool:
        """Revoke the token named ``name``; False if there is no such active token."""
        async with self._sessions.begin() as session:
            row = await session.scalar(select(ApiToken).where(ApiToken.name == name))
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = self._clock.now()
        log.info("api token revoked", extra={"token_name": name})
        return True
