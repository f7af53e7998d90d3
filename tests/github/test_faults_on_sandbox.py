"""Faults on the way: lost answers, dropped connections, rate limits, App credentials."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clients.github.gateway import AppCredentials, PyGithubGateway
from provisioning.clock import SystemClock
from provisioning.courses.spec import parse_course
from provisioning.errors import PlatformError
from provisioning.governor import GovernorLimits, RateGovernor
from provisioning.step import StepResult
from sandbox.core.faults import FaultKind, FaultRule
from sandbox.server import SandboxServer
from tests.github.harness import ListSink, github_steps, run_step
from tests.provisioning.examples import lecture_course

ORG = "demo-university"
REPO = "cs101-2027-spring"


def _repo_creates(sandbox: SandboxServer) -> list[int | None]:
    return [
        e.status
        for e in sandbox.journal.query(method="POST", platform="github", limit=10_000)
        if e.path.endswith(f"/orgs/{ORG}/repos")
    ]


@pytest.mark.parametrize("status", [502, 0])
async def test_repo_create_applied_then_failed_ends_in_one_repo(
    sandbox: SandboxServer, gateway: PyGithubGateway, sink: ListSink, status: int
) -> None:
    """A create whose answer is lost (5xx or dropped) is adopted, not repeated."""
    sandbox.faults.add(
        FaultRule(
            kind=FaultKind.APPLY_THEN_FAIL,
            platform="github",
            method="POST",
            path=f"/orgs/{ORG}/repos",
            count=1,
            status=status,
        )
    )
    spec = parse_course(lecture_course())
    step = next(s for s in github_steps(spec) if s.key == "github.repo:lecture")
    results: dict[str, StepResult] = {}
    result = await run_step(gateway, spec, step, results)
    again = await run_step(gateway, spec, step, results)
    assert result.external_id == again.external_id
    assert _repo_creates(sandbox) == [None if status == 0 else status]
    repo = await gateway.get_repo(ORG, REPO)
    assert repo is not None
    assert str(repo.id) == result.external_id
    lost = [x for x, _ in sink.rows if x.method == "POST" and x.path == f"/orgs/{ORG}/repos"]
    assert len(lost) == 1
    assert lost[0].status == (None if status == 0 else status)
    assert lost[0].error


async def test_secondary_rate_limit_is_a_retryable_platform_error(
    sandbox: SandboxServer, gateway: PyGithubGateway
) -> None:
    """GitHub's secondary limit surfaces as rate limited with its retry-after, not retried."""
    sandbox.faults.add(
        FaultRule(kind=FaultKind.RATE_LIMIT, platform="github", retry_after=30, count=1)
    )
    with pytest.raises(PlatformError) as info:
        await gateway.get_org(ORG)
    assert info.value.rate_limited
    assert info.value.retryable
    assert info.value.retry_after == 30.0
    assert len(sandbox.journal.query(platform="github")) == 1


async def test_app_installation_credentials_work_and_are_audited(
    sandbox: SandboxServer,
) -> None:
    """An App installation mints its token through the audited transport, then calls work."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    sink = ListSink()
    gateway = PyGithubGateway(
        base_url=sandbox.github_api_url,
        credentials=AppCredentials(app_id=1, private_key=pem, installation_id=100),
        governor=RateGovernor("github-app", GovernorLimits.github(scale=1e9), SystemClock()),
        sink=sink,
    )
    try:
        org = await gateway.get_org(ORG)
    finally:
        await gateway.aclose()
    assert org.login == ORG
    paths = [(x.method, x.path) for x, _ in sink.rows]
    assert paths == [("POST", "/app/installations/100/access_tokens"), ("GET", f"/orgs/{ORG}")]
    assert "token" not in repr(sink.rows[0][0].request_summary).replace("access_tokens", "")
