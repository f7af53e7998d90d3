"""Prometheus metrics: steps by state, step durations, retries, 429s met, governor waits.

A registry of our own (not the process-global one), built in `main()` and passed down: tests
get fresh counters and nothing is registered at import time.

The governors' figures are labelled by platform (`governor`) and, for a GitHub App's
installations (one governor each), by `installation` and `org`: one series per installation
in use, so as many as the organizations the App works in; empty for a token's governor, the
App's own and Discord's. An installation forgotten (the App uninstalled) leaves the text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import STEP_STATES, Step
from provisioning.discord.server_count import ServerCount
from provisioning.governor import RateGovernor


@dataclass(frozen=True)
class GovernorSeries:
    """A governor and the labels of its samples (empty but for App installations)."""

    governor: RateGovernor
    installation: str = ""
    org: str = ""

    @property
    def labels(self) -> tuple[str, str, str]:
        return (self.governor.name, self.installation, self.org)


# The governors in use when `/metrics` is read: App installations come as organizations are met.
GovernorSource = Callable[[], Iterable[GovernorSeries]]


class Metrics:
    """Counters the runner and gateways update, and the text `/metrics` serves."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.step_seconds = Histogram(
            "provisioning_step_duration_seconds",
            "Time one step attempt took.",
            ["kind", "outcome"],
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.retries = Counter(
            "provisioning_step_retries_total",
            "Step attempts that will be retried.",
            ["kind"],
            registry=self.registry,
        )
        self.http_429 = Counter(
            "provisioning_http_429_total",
            "Rate-limit answers met (429, or GitHub's 403).",
            ["platform"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "provisioning_http_requests_total",
            "HTTP requests made to the platforms.",
            ["platform", "method"],
            registry=self.registry,
        )
        self.shed_requests = Counter(
            "web_requests_shed_total",
            "Requests answered 503 at once because too many were in flight (api or page).",
            ["kind"],
            registry=self.registry,
        )
        for kind in ("api", "page"):
            self.shed_requests.labels(kind)  # shown as 0 from the start, not absent
        self._steps = Gauge(
            "provisioning_steps",
            "Steps by state, all courses.",
            ["state"],
            registry=self.registry,
        )
        self._governor_waits = Gauge(
            "provisioning_governor_waits",
            "Calls the rate governor delayed.",
            ["governor", "installation", "org"],
            registry=self.registry,
        )
        self._governor_seconds = Gauge(
            "provisioning_governor_wait_seconds",
            "Time the rate governor made calls wait.",
            ["governor", "installation", "org"],
            registry=self.registry,
        )
        self._servers: Gauge | None = None
        self._servers_limit: Gauge | None = None

    def count_shed(self, kind: str) -> None:
        """One request shed by the web's load shedding (`kind`: "api" or "page")."""
        self.shed_requests.labels(kind).inc()

    def observe_servers(self, servers: ServerCount) -> None:
        """The bot's server count and its cap (+Inf for a verified app), as last read. The
        gauges exist from the first read on: before it, no figure rather than a false 0."""
        if self._servers is None:
            self._servers = Gauge(
                "discord_bot_servers",
                "Servers the bot is in (the gateway's guild list, else the REST list).",
                registry=self.registry,
            )
            self._servers_limit = Gauge(
                "discord_bot_servers_limit",
                "Servers the bot may be in: 100 for an unverified app, +Inf once verified.",
                registry=self.registry,
            )
        self._servers.set(servers.count)
        assert self._servers_limit is not None
        self._servers_limit.set(math.inf if servers.limit is None else servers.limit)

    async def render(
        self, sessions: async_sessionmaker[AsyncSession], governors: GovernorSource
    ) -> bytes:
        """Refresh the gauges that are read, not counted, and render the exposition text."""
        async with sessions() as session:
            rows = await session.execute(select(Step.state, func.count()).group_by(Step.state))
            counts = {str(state): int(count) for state, count in rows}
        for state in STEP_STATES:
            self._steps.labels(state).set(counts.get(state, 0))
        # Set afresh each time: a forgotten installation's series goes with it.
        self._governor_waits.clear()
        self._governor_seconds.clear()
        for series in governors():
            self._governor_waits.labels(*series.labels).set(series.governor.waits)
            self._governor_seconds.labels(*series.labels).set(series.governor.wait_seconds)
        return generate_latest(self.registry)
