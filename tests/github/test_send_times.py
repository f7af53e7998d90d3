"""Audit rows are timed when their request left, not when its answer came back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clients.github.gateway import PyGithubGateway, TokenCredentials
from db.models import AuditEvent
from provisioning.audit import AuditLog
from provisioning.clock import SystemClock
from provisioning.governor import GovernorLimits, RateGovernor
from provisioning.metrics import Metrics
from sandbox.core.faults import FaultKind, FaultRule
from sandbox.server import SandboxServer
from tests.github.conftest import TOKEN

ORG = "demo-university"
# How long the sandbox holds the request before answering (after stamping its arrival).
HELD_S = 0.3


async def test_a_github_audit_row_is_timed_at_the_send(
    sandbox: SandboxServer, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """A request the sandbox holds 0.3 s: its row's time is no later than the sandbox's
    arrival stamp (matched by request id), far from the answer's time, and its duration is
    still the whole round trip."""
    sandbox.faults.add(
        FaultRule(kind=FaultKind.LATENCY, platform="github", path=f"/orgs/{ORG}", delay=HELD_S)
    )
    audit = AuditLog(session_factory, SystemClock(), Metrics())
    governor = RateGovernor("github", GovernorLimits.github(scale=1e9), SystemClock())
    gateway = PyGithubGateway(
        base_url=sandbox.github_api_url,
        credentials=TokenCredentials(TOKEN),
        governor=governor,
        sink=audit,
        timeout_s=5,
    )
    try:
        await gateway.get_org(ORG)
    finally:
        await gateway.aclose()
    async with session_factory() as session:
        rows = (await session.scalars(select(AuditEvent).where(AuditEvent.kind == "http"))).all()
    (row,) = [r for r in rows if r.path == f"/orgs/{ORG}"]
    (entry,) = [
        e for e in sandbox.journal.query(platform="github") if e.request_id == row.request_id
    ]
    arrived = datetime.fromtimestamp(entry.time, UTC)
    assert row.at <= arrived, (row.at, arrived)
    assert arrived - row.at < timedelta(seconds=HELD_S / 2), (row.at, arrived)
    assert row.duration_ms is not None
    assert row.duration_ms >= HELD_S * 1000
