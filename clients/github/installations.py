"""A GitHub App installed on several organizations: one gateway and one governor per installation.

Each installation is its own credential with its own limits (PLATFORM.md §2.8: 5,000/h and
more with the organization's size, the secondary limits too), so each gets a worker of its own
and a governor keyed by the installation, whose pace the ledger shares across processes. An
organization's installation is found with the App's JWT (`GET /orgs/{org}/installation`, what
PyGithub's `GithubIntegration.get_org_installation` calls) on the first call a step makes for
it, and remembered; an organization without one is a person's to fix (install the App there),
so that call raises `ActionRequiredError` saying where, and the lookup is tried again on retry
or when `usable` (what `provisioning.github.installation_watch` asks on the bot's schedule)
finds it installed.

An installation remembered may be deleted since (an owner uninstalled the App): its token then
answers 401 "Bad credentials" and minting a new one 404. Either refusal means no call took
effect, so the installation is forgotten, looked up once more and the call sent again with
what the lookup found: a new installation (the App installed again) or the same one (only its
token was dead); none, and the step waits with the install link, as for a never-installed
organization. Any other 404 is the resource's (an absent repository), not the installation's.

A suspended installation (its organization's owner, or the App's owner, suspended it) mints no
token (403 "This installation has been suspended") and its live token is refused (403): the
call raises `ActionRequiredError` (`SUSPENDED`) naming the organization and where it is
unsuspended; no call took effect. The installation is kept: unsuspended, the same one works
again. The suspension is read once (who suspended it, its settings page) and logged once, until
a call or `usable` finds the installation working again.

`GITHUB_INSTALLATION_ID` pins one installation for every organization (`pinned`): no lookup,
but the same waits when it is suspended or uninstalled (then the id must change: a new
installation has a new one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from clients.github.errors import InstallationTokenError, is_suspension
from clients.github.gateway import GitHubRestCalls
from clients.github.worker import (
    BUCKET,
    AppCredentials,
    AppKeyCredentials,
    PyGithubWorker,
)
from provisioning.audit_context import HttpAuditSink
from provisioning.errors import ActionRequiredError, PlatformError
from provisioning.github.installation_watch import NOT_INSTALLED, SUSPENDED
from provisioning.governor import RateGovernor

# Names the credential a governor paces (its ledger account): `app:ID` for the App's own JWT
# calls, `app:ID:INSTALLATION` for an installation.
GovernorFactory = Callable[[str], RateGovernor]
T = TypeVar("T")
__all__ = ["NOT_INSTALLED", "SUSPENDED", "Installation", "InstallationGateways"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Installation:
    """An installation in use: its id, its organization (as GitHub spells it), its governor."""

    id: int
    org: str
    governor: RateGovernor


def _installation_refused(exc: PlatformError) -> bool:
    """Whether GitHub refused the installation's credential, not the call: its token dead
    (401) or no token to be had for it (404: the installation was deleted)."""
    if isinstance(exc, InstallationTokenError):
        return exc.status in (401, 404)
    return exc.status == 401


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
        pinned: int | None = None,
    ) -> None:
        self._pinned = pinned
        self._base_url = base_url
        self._web_url = web_url.rstrip("/")
        self._app = app
        self._governor_for = governor_for
        self._sink = sink
        self._timeout_s = timeout_s
        self.app_governor = governor_for(f"app:{app.app_id}")
        self._jwt = self._worker(app, self.app_governor)
        self._installation_of: dict[str, int] = {}  # org, lower-cased → installation id
        self._org_of: dict[int, str] = {}  # installation id → its org's login
        self._workers: dict[int, PyGithubWorker] = {}
        # Workers of forgotten installations: steps may still hold them, so they are closed
        # with the rest, at the end (one per uninstall seen: few).
        self._retired: list[PyGithubWorker] = []
        # Every installation's governor met, kept when it is forgotten: one found again (its
        # token only was dead) keeps its pace and counts.
        self.governors: dict[int, RateGovernor] = {}
        self._gateways: dict[str, InstallationGateway] = {}
        self._lookup = asyncio.Lock()
        self._slug: str | None = None
        # Installations found suspended → the message their steps wait with (read once).
        self._suspensions: dict[int, str] = {}

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
        if self._pinned is not None:
            self._installation_of[org.lower()] = self._pinned
            self._org_of.setdefault(self._pinned, org)
            return self._pinned
        async with self._lookup:
            known = self._installation_of.get(org.lower())
            if known is not None:
                return known
            data = await self._jwt.maybe(f"/orgs/{quote(org, safe='')}/installation")
            if data is None:
                raise ActionRequiredError(NOT_INSTALLED, await self._install_message(org))
            installation = int(data["id"])
            self._installation_of[org.lower()] = installation
            self._org_of[installation] = str((data.get("account") or {}).get("login") or org)
            return installation

    async def worker_for(self, org: str) -> PyGithubWorker:
        """The worker of `org`'s installation: its own token, threads and governor."""
        return self._worker_of(await self.installation_id(org))

    def _worker_of(self, installation: int) -> PyGithubWorker:
        worker = self._workers.get(installation)
        if worker is None:
            governor = self.governors.get(installation)
            if governor is None:
                governor = self._governor_for(f"app:{self._app.app_id}:{installation}")
                self.governors[installation] = governor
            credentials = AppCredentials(self._app.app_id, self._app.private_key, installation)
            worker = self._worker(credentials, governor)
            self._workers[installation] = worker
        return worker

    async def send(self, org: str, request: Callable[[PyGithubWorker], Awaitable[T]]) -> T:
        """`request` sent with `org`'s installation; sent once more, with the installation a
        new lookup finds (a fresh token for a pinned one), when GitHub refused the remembered
        one's credential; refused again, the step waits for the App to be installed."""
        for again in (False, True):
            installation = await self.installation_id(org)
            try:
                return await self._sent(org, installation, request)
            except PlatformError as exc:
                if not _installation_refused(exc):
                    raise
                log.warning(
                    "GitHub refused the App installation's credential; looking it up again",
                    extra={"org": org, "installation": installation, "status": exc.status},
                )
                self._forget(org, installation)
                if again or (self._pinned is not None and isinstance(exc, InstallationTokenError)):
                    # A pinned installation without a token is gone: no lookup finds another.
                    message = await self._install_message(org)
                    raise ActionRequiredError(NOT_INSTALLED, message) from exc
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _sent(
        self, org: str, installation: int, request: Callable[[PyGithubWorker], Awaitable[T]]
    ) -> T:
        try:
            result = await request(self._worker_of(installation))
        except PlatformError as exc:
            if is_suspension(exc):
                raise await self._suspended(org, installation) from exc
            raise
        self._suspensions.pop(installation, None)
        return result

    async def _suspended(self, org: str, installation: int) -> ActionRequiredError:
        message = self._suspensions.get(installation)
        if message is None:
            # Steps refused together read the suspension (and say it) once.
            async with self._lookup:
                message = self._suspensions.get(installation)
                if message is None:
                    data = await self._jwt.maybe(f"/app/installations/{installation}")
                    message = await self._suspension_message(org, installation, data or {})
                    self._suspensions[installation] = message
                    log.warning(
                        "the GitHub App is suspended on %s: its steps wait until it is unsuspended",
                        org,
                        extra={"org": org, "installation": installation},
                    )
        return ActionRequiredError(SUSPENDED, message)

    async def usable(self, org: str) -> bool:
        """Whether the App's installation on `org` (the pinned one, if pinned) exists and is
        not suspended: one call with the App's own credential. A usable one is forgotten if
        it is not the one remembered (installed again), so the next call finds the new one."""
        if self._pinned is not None:
            data = await self._jwt.maybe(f"/app/installations/{self._pinned}")
        else:
            data = await self._jwt.maybe(f"/orgs/{quote(org, safe='')}/installation")
        if data is None or data.get("suspended_at"):
            return False
        installation = int(data["id"])
        self._suspensions.pop(installation, None)
        remembered = self._installation_of.get(org.lower())
        if remembered is not None and remembered != installation:
            self._forget(org, remembered)
        return True

    def _forget(self, org: str, installation: int) -> None:
        # Only if still the one remembered: steps refused together forget it once, and one
        # that comes after a newer installation was found keeps that one.
        if self._installation_of.get(org.lower()) != installation:
            return
        del self._installation_of[org.lower()]
        self._org_of.pop(installation, None)
        worker = self._workers.pop(installation, None)
        if worker is not None:
            self._retired.append(worker)

    def installations(self) -> list[Installation]:
        """The installations in use (one per organization whose calls found one), in the
        order they were found: what `/metrics` labels its GitHub governors by."""
        return [
            Installation(installation, self._org_of[installation], self.governors[installation])
            for installation in dict.fromkeys(self._installation_of.values())
            if installation in self.governors
        ]

    def hourly_limit(self, org: str) -> int | None:
        """The hourly limit `org`'s installation last answered with; None before any call."""
        installation = self._installation_of.get(org.lower())
        governor = self.governors.get(installation) if installation is not None else None
        return governor.limit(BUCKET) if governor is not None else None

    async def _app_slug(self) -> str:
        if self._slug is None:
            self._slug = str((await self._jwt.json("GET", "/app"))["slug"])
        return self._slug

    async def _install_message(self, org: str) -> str:
        slug = await self._app_slug()
        link = f"{self._web_url}/apps/{slug}/installations/new"
        if self._pinned is not None:
            return (
                f"The GitHub App {slug}'s installation {self._pinned} (GITHUB_INSTALLATION_ID) "
                f"is gone: the App was uninstalled, so nothing can be made on {org}. An owner "
                f"of {org} installs it again at {link} (choose {org}, all repositories); then "
                "set GITHUB_INSTALLATION_ID to the new installation's id, or remove it so the "
                "bot finds each organization's installation itself, and restart the bot."
            )
        return (
            f"The GitHub App {slug} is not installed on the organization {org}, so "
            f"nothing can be made there. An owner of {org} installs it at {link} (choose "
            f"{org}, all repositories); then the provisioning continues by itself."
        )

    async def _suspension_message(self, org: str, installation: int, data: dict[str, Any]) -> str:
        slug = str(data.get("app_slug") or await self._app_slug())
        account = str((data.get("account") or {}).get("login") or org)
        settings = str(
            data.get("html_url")
            or f"{self._web_url}/organizations/{account}/settings/installations/{installation}"
        )
        by = (data.get("suspended_by") or {}).get("login")
        who = f" (suspended by {by})" if by else ""
        return (
            f"The GitHub App {slug} is suspended on {account}{who}, so nothing can be made "
            f"there. An owner of {account} unsuspends it in the organization's Settings → "
            f"Third-party Access → GitHub Apps → {slug} → Configure → Unsuspend ({settings}); "
            "if the App's owner suspended it, only they can. Then the provisioning continues "
            "by itself."
        )

    async def aclose(self) -> None:
        for worker in (self._jwt, *self._workers.values(), *self._retired):
            await worker.aclose()


class InstallationGateway(GitHubRestCalls):
    """The gateway of one organization: its calls go out with its installation's token."""

    def __init__(self, gateways: InstallationGateways, org: str) -> None:
        self._gateways = gateways
        self.org = org

    async def _send(self, request: Callable[[PyGithubWorker], Awaitable[Any]]) -> Any:
        return await self._gateways.send(self.org, request)
