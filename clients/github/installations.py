"""A GitHub App installed on several organizations: one gateway and one governor per installation.

Each installation is its own credential with its own limits (PLATFORM.md §2.8: 5,000/h and
more with the organization's size, the secondary limits too), so each gets a worker of its own
and a governor keyed by the installation, whose pace the ledger shares across processes. An
organization's installation is found with the App's JWT (`GET /orgs/{org}/installation`, what
PyGithub's `GithubIntegration.get_org_installation` calls) on the first call a step makes for
it, and remembered; an organization without one is a person's to fix (install the App there),
so that call raises `ActionRequiredError` saying where, and the lookup is tried again on retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import quote

from clients.github.gateway import GitHubRestCalls
from clients.github.worker import (
    AppCredentials,
    AppKeyCredentials,
    PyGithubWorker,
)
from provisioning.audit_context import HttpAuditSink
from provisioning.errors import ActionRequiredError
from provisioning.governor import RateGovernor

# Names the credential a governor paces (its ledger account): `app:ID` for the App's own JWT
# calls, `app:ID:INSTALLATION` for an installation.
GovernorFactory = Callable[[str], RateGovernor]
NOT_INSTALLED = "github.installation"


class InstallationGateways:
    """`GitHubGateways` for a GitHub App: `for_org(org)` is the App's installation there."""

    def __init__(
        self,
        *,
        base_url: str,
        web_url: str,
        app: AppKeyCredentials,
        governor_for: GovernorFactory,
        sink: HttpAuditSink,
        timeout_s: int = 15,
    ) -> None:
        self._base_url = base_url
        self._web_url = web_url.rstrip("/")
        self._app = app
        self._governor_for = governor_for
        self._sink = sink
        self._timeout_s = timeout_s
        self.app_governor = governor_for(f"app:{app.app_id}")
        self._jwt = self._worker(AppKeyCredentials(app.app_id, app.private_key), self.app_governor)
        self._installation_of: dict[str, int] = {}  # org, lower-cased → installation id
        self._workers: dict[int, PyGithubWorker] = {}
        self.governors: dict[int, RateGovernor] = {}
        self._gateways: dict[str, InstallationGateway] = {}
        self._lookup = asyncio.Lock()
        self._slug: str | None = None

    def _worker(
        self, credentials: AppKeyCredentials | AppCredentials, governor: RateGovernor
    ) -> PyGithubWorker:
        return PyGithubWorker(
            base_url=self._base_url,
            credentials=credentials,
            governor=governor,
            sink=self._sink,
            timeout_s=self._timeout_s,
        )

    def for_org(self, org: str) -> InstallationGateway:
        gateway = self._gateways.get(org.lower())
        if gateway is None:
            gateway = InstallationGateway(self, org)
            self._gateways[org.lower()] = gateway
        return gateway

    async def installation_id(self, org: str) -> int:
        """The id of the App's installation on `org` (looked up once), or
        `ActionRequiredError` saying how to install it there."""
        known = self._installation_of.get(org.lower())
        if known is not None:
            return known
        async with self._lookup:
            known = self._installation_of.get(org.lower())
            if known is not None:
                return known
            data = await self._jwt.maybe(f"/orgs/{quote(org, safe='')}/installation")
            if data is None:
                raise ActionRequiredError(NOT_INSTALLED, await self._install_message(org))
            self._installation_of[org.lower()] = int(data["id"])
            return int(data["id"])

    async def worker_for(self, org: str) -> PyGithubWorker:
        """The worker of `org`'s installation: its own token, threads and governor."""
        installation = await self.installation_id(org)
        worker = self._workers.get(installation)
        if worker is None:
            governor = self._governor_for(f"app:{self._app.app_id}:{installation}")
            credentials = AppCredentials(self._app.app_id, self._app.private_key, installation)
            worker = self._worker(credentials, governor)
            self._workers[installation] = worker
            self.governors[installation] = governor
        return worker

    async def _install_message(self, org: str) -> str:
        if self._slug is None:
            self._slug = str((await self._jwt.json("GET", "/app"))["slug"])
        link = f"{self._web_url}/apps/{self._slug}/installations/new"
        return (
            f"The GitHub App {self._slug} is not installed on the organization {org}, so "
            f"nothing can be made there. An owner of {org} installs it at {link} (choose "
            f"{org}, all repositories); then retry the course."
        )

    async def aclose(self) -> None:
        for worker in (self._jwt, *self._workers.values()):
            await worker.aclose()


class InstallationGateway(GitHubRestCalls):
    """The gateway of one organization: its calls go out with its installation's token."""

    def __init__(self, gateways: InstallationGateways, org: str) -> None:
        self._gateways = gateways
        self.org = org

    async def _current(self) -> PyGithubWorker:
        return await self._gateways.worker_for(self.org)
