"""PyGithub on dedicated threads: configured so every attempt is ours, governed, audited.

PyGithub is synchronous and not thread-safe, so its calls run on worker threads, each with a
`Github` of its own, in a copy of the caller's contextvars (the audit context travels with
them). Two lanes, one thread each: writes and reads. A write goes out when the governor gives
it its slot (a second after the previous one, in every process sharing the credential); queued
behind reads on a shared thread it would leave late, and the next one on time, closer than the
spacing. Reads are never spaced, so they only queue behind each other. Its own retries and
sleeps are off (`retry=None`, no spacing): the governor spaces calls before they go out and
learns from every answer's headers, and the audited transport writes one row per request.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from github import Auth, Github
from github.GithubException import GithubException
from github.Requester import Requester

from clients.github import transport
from clients.github.errors import (
    InstallationTokenError,
    from_github_exception,
    from_transport_error,
)
from provisioning.audit_context import AuditContext, HttpAuditSink, HttpExchange
from provisioning.errors import PlatformError
from provisioning.governor import RateGovernor, SendMark

log = logging.getLogger(__name__)

T = TypeVar("T")
API_VERSION = "2022-11-28"
# Every REST call draws on the `core` resource; the governor keys its reset by this bucket.
BUCKET = "core"
PAGE_SIZE = 100
# On close, how long an idle lane may take to close its connections (milliseconds, as a rule).
# A lane still in a call its step gave up on (handed back while stopping) is not waited for:
# it would hold the process for up to the request timeout, and nobody awaits that answer.
CLOSE_WAIT_S = 0.25


@dataclass(frozen=True)
class TokenCredentials:
    token: str

    def __repr__(self) -> str:
        return "TokenCredentials(token=[redacted])"


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App installation; PyGithub fetches and refreshes its 1-hour tokens."""

    app_id: int | str
    private_key: str
    installation_id: int

    def __repr__(self) -> str:
        return f"AppCredentials(app_id={self.app_id}, installation_id={self.installation_id})"


@dataclass(frozen=True)
class AppKeyCredentials:
    """The App itself (its JWT, signed with the key): finds the App's installations."""

    app_id: int | str
    private_key: str

    def __repr__(self) -> str:
        return f"AppKeyCredentials(app_id={self.app_id})"


Credentials = TokenCredentials | AppCredentials | AppKeyCredentials


def _auth(credentials: Credentials) -> Auth.Auth:
    if isinstance(credentials, TokenCredentials):
        return Auth.Token(credentials.token)
    app = Auth.AppAuth(credentials.app_id, sign_func=app_jwt_signer(credentials.private_key))
    if isinstance(credentials, AppKeyCredentials):
        return app
    return app.get_installation_auth(credentials.installation_id)


def app_jwt_signer(private_key: str) -> Callable[[dict[str, Any]], str]:
    """Signs the App's JWTs with its key parsed once. Given the PEM text, PyGithub has PyJWT
    parse and validate the key for every JWT: 46 ms of CPU each (0.3 ms with the key parsed),
    and one is signed for every installation lookup and token (measured: 2.9 CPU seconds of a
    runner's 32 in `bench/department.py`). Parsed at the first JWT, so a bad key fails the
    first call, as before."""

    def sign(payload: dict[str, Any]) -> str:
        return jwt.encode(payload, key=_private_key(private_key), algorithm="RS256")

    return sign


@functools.lru_cache(maxsize=16)
def _private_key(pem: str) -> RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, RSAPrivateKey):  # GitHub makes Apps RSA keys and checks RS256
        raise ValueError("a GitHub App's private key is an RSA key (the .pem GitHub gave)")
    return key


class _Send:
    """The send of one governed write, recorded with the governor as the request leaves (not
    when its answer comes: the next write may go a spacing after the send, and should)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        governor: RateGovernor,
        mark: SendMark,
        recording: set[asyncio.Task[None]],
    ) -> None:
        self._loop = loop
        self._governor = governor
        self._mark = mark
        # The worker's records under way: the loop keeps a task only weakly, and a record
        # may outlive its call (cancelled while stopping, its request still leaving).
        self._recording = recording
        self._left = False  # set on the worker thread, before the loop hears of it
        self._recorded: asyncio.Task[None] | None = None

    def left(self, sent_perf: float) -> None:
        """On the worker thread, as the request leaves; only the first request counts (a
        write call sends one)."""
        if not self._left:
            self._left = True
            self._loop.call_soon_threadsafe(self._record, sent_perf)

    def _record(self, sent_perf: float) -> None:
        def ago() -> float:
            return time.perf_counter() - sent_perf

        self._recorded = self._loop.create_task(self._governor.sent(self._mark, ago))
        self._recording.add(self._recorded)
        self._recorded.add_done_callback(self._recording.discard)

    async def settle(self, *, finished: bool) -> None:
        """After the call: its send recorded, or (it `finished` and never left) the mark
        released. A call cancelled (stopping) may still leave from its thread: its send is
        then recorded when it does, else its mark holds the next write `SEND_HOLD_S` at most."""
        if self._recorded is not None:
            await self._recorded
        elif finished and not self._left:
            await self._governor.sent(self._mark, None)


@dataclass
class _Lane:
    """One `Github` and the one thread it runs on."""

    github: Github
    # In a call, set and cleared on the lane's thread: a step cancelled while stopping
    # leaves its call running there.
    busy: bool = False
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="pygithub")
    )

    @property
    def requester(self) -> Requester:
        return self.github.requester


class PyGithubWorker:
    """Sends requests through PyGithub's `Requester` on the worker thread."""

    def __init__(
        self,
        *,
        base_url: str,
        credentials: Credentials,
        governor: RateGovernor,
        sink: HttpAuditSink,
        timeout_s: int,
    ) -> None:
        # Before `Github(...)`: the Requester picks its connection class when it is built.
        transport.install()

        def lane() -> _Lane:
            github = Github(
                base_url=base_url,
                auth=_auth(credentials),
                retry=None,
                seconds_between_requests=None,
                seconds_between_writes=None,
                api_version=API_VERSION,
                timeout=timeout_s,
                per_page=PAGE_SIZE,
            )
            return _Lane(github)

        self._lanes = {False: lane(), True: lane()}  # by "writes?"
        self._prefix = urlsplit(base_url).path.rstrip("/")
        self._governor = governor
        self._sink = sink
        self._recording: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        """Close both lanes, each on its thread; wait at most `CLOSE_WAIT_S` for idle ones."""
        loop = asyncio.get_running_loop()
        idle = []
        for lane in self._lanes.values():
            close = loop.run_in_executor(lane.executor, lane.github.close)
            # The thread ends after the close (after the call in flight, on a busy lane).
            lane.executor.shutdown(wait=False)
            if lane.busy:
                log.info("a GitHub call given up on is still in flight; not waiting for it")
            else:
                idle.append(close)
        if idle:
            await asyncio.wait(idle, timeout=CLOSE_WAIT_S)

    async def _on_exchange(
        self, exchange: HttpExchange, context: AuditContext, headers: Mapping[str, str]
    ) -> None:
        # On the loop, so the governor (not thread-safe) is only ever touched from there.
        await self._governor.answered(BUCKET, headers)
        await self._sink.record_http(exchange, context)

    async def call(self, write: bool, fn: Callable[[Requester], T]) -> T:
        """Run `fn` (PyGithub calls) on its lane's thread, after the governor allows it."""
        lane = self._lanes[write]
        mark = await self._governor.acquire(BUCKET, write=write)
        loop = asyncio.get_running_loop()
        bound = transport.TransportBinding(
            loop=loop,
            loop_thread=threading.get_ident(),
            on_exchange=self._on_exchange,
            prefix=self._prefix,
        )
        send = None if mark is None else _Send(loop, self._governor, mark, self._recording)
        # When the write may leave, on this process's clock: the lane's thread waits for it,
        # so neither the loop's wake-up nor the hop to the thread delays the send.
        due = None if mark is None else time.perf_counter() + mark.wait_s

        def run() -> T:
            transport.binding.set(bound)
            lane.busy = True
            try:
                _mint_token(lane.requester)
                if due is not None:
                    time.sleep(max(0.0, due - time.perf_counter()))
                if send is not None:
                    # The governed request, after the App's token (the App's own request).
                    transport.binding.set(dataclasses.replace(bound, on_send=send.left))
                return fn(lane.requester)
            finally:
                lane.busy = False

        context = contextvars.copy_context()
        finished = True
        try:
            try:
                result = await loop.run_in_executor(lane.executor, context.run, run)
            except asyncio.CancelledError:
                finished = False
                raise
            finally:
                # Every request's row written (and its headers observed) before the call
                # returns to the step, answered or failed; a failed write raises from here.
                for delivered in bound.delivered:
                    await asyncio.wrap_future(delivered, loop=loop)
                if send is not None:
                    await send.settle(finished=finished)
            return result
        except GithubException as exc:
            error = from_github_exception(exc)
            if error.rate_limited and error.retry_after:
                # A secondary limit blocks the whole credential, often without a Retry-After
                # header (the 60 s default comes from the error mapping): hold every call back,
                # not only the step that met it (PLATFORM.md §2.8).
                await self._governor.close(BUCKET, error.retry_after)
            raise error from exc
        except (requests.RequestException, OSError) as exc:
            raise from_transport_error(exc) from exc

    async def json(
        self,
        verb: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        parameters: dict[str, Any] | None = None,
    ) -> Any:
        """One request; the decoded JSON answer (None for 204)."""

        def send(requester: Requester) -> Any:
            _, data = requester.requestJsonAndCheck(verb, path, parameters=parameters, input=body)
            return data

        return await self.call(verb != "GET", send)

    async def maybe(self, path: str, **kwargs: Any) -> Any | None:
        """A GET whose 404 means "absent": None instead of an error."""
        try:
            return await self.json("GET", path, **kwargs)
        except PlatformError as exc:
            if exc.status == 404 and not isinstance(exc, InstallationTokenError):
                return None
            raise


def _mint_token(requester: Requester) -> None:
    """An App installation's token, minted (or reused while valid) before the call: PyGithub
    would mint it inside the call, and its refusal would look like the call's own answer (a
    404 taken for an absent resource, when the installation is what is gone)."""
    auth = requester.auth
    if isinstance(auth, Auth.AppInstallationAuth):
        try:
            auth.token  # noqa: B018 - the property mints the token when it has none or it expired
        except GithubException as exc:
            raise InstallationTokenError(auth.installation_id, exc) from exc
