"""Where the platforms are: the real Discord and GitHub, or the embedded sandbox.

In development without credentials the sandbox runs in this process and both clients are
pointed at it: discord.py by its two class attributes (process-wide, PLATFORM.md §3.1; put back
when the product is closed, so tests can build one product after another), PyGithub by its base
URL.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.errors import StartupError
from bot.settings import Settings
from clients.github.gateway import (
    AppCredentials,
    AppKeyCredentials,
    Credentials,
    TokenCredentials,
)
from clients.oauth.sign_in import OAuthApps
from clients.smtp.gateway import SmtpConfig

log = logging.getLogger(__name__)

SANDBOX_DISCORD_TOKEN = "sandbox-discord-token"  # noqa: S105 - the sandbox's published token
SANDBOX_GITHUB_TOKEN = "sandbox-github-token"  # noqa: S105 - the sandbox's published token
# The sandbox's OAuth apps (`GET /_sandbox/github/oauth-app`, `/_sandbox/discord/oauth2`).
SANDBOX_GITHUB_OAUTH_CLIENT_ID = "Ov23liSandboxCourseBot"
SANDBOX_GITHUB_OAUTH_SECRET = "sandbox-github-client-secret"  # noqa: S105 - published
SANDBOX_DISCORD_CLIENT_SECRET = "sandbox-discord-client-secret"  # noqa: S105 - published
DISCORD_AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
DISCORD_INVITE_URL = "https://discord.gg/"
DISCORD_WEB_URL = "https://discord.com"
# Where the embedded sandbox of a development process says it listens, for the others.
SANDBOX_URL_FILE = Path("data") / "sandbox.url"


@dataclass(frozen=True)
class Endpoints:
    """What the clients connect to, and with which credentials."""

    discord_token: str
    github_api_url: str
    github_credentials: Credentials
    sandbox_url: str | None = None
    sandbox_smtp: tuple[str, int] | None = None
    """(host, port) of the sandbox's SMTP server, where mail goes in development."""
    # Where the bot's install link sends people: Discord's page, or the sandbox's own.
    authorize_url: str = DISCORD_AUTHORIZE_URL
    # Where an invite code becomes a link people open.
    invite_url: str = DISCORD_INVITE_URL
    # The sandbox's admin server, the default DISCORD_ADMIN_GUILD_ID of development.
    admin_guild_id: str | None = None
    # Sign in with Discord: where its authorize page is, and the OAuth2 client secret (None:
    # not configured, the status page offers API tokens only).
    discord_web_url: str = DISCORD_WEB_URL
    discord_client_secret: str | None = None


async def open_endpoints(settings: Settings, stack: AsyncExitStack) -> Endpoints:
    """The real platforms, or a sandbox started now (and stopped when `stack` closes)."""
    if not settings.sandbox:
        assert settings.discord_token is not None  # load_settings() requires it outside dev
        return Endpoints(
            discord_token=settings.discord_token.get_secret_value(),
            github_api_url=settings.github_api_url,
            github_credentials=_github_credentials(settings),
            discord_client_secret=(
                settings.discord_client_secret.get_secret_value()
                if settings.discord_client_secret
                else None
            ),
        )
    base_url = settings.sandbox_url or await _embedded_sandbox(settings, stack)
    base_url = base_url.rstrip("/")
    stack.callback(point_discord_at, Route.BASE, str(DiscordWebSocket.DEFAULT_GATEWAY))
    point_discord_at(f"{base_url}/api/v10", base_url.replace("http", "ws", 1) + "/gateway")
    log.warning(
        "SANDBOX MODE: Discord and GitHub are local emulators at %s; nothing real is touched",
        base_url,
    )
    # Development only: never imported in production.
    from sandbox.discord.config import AdminServer

    return Endpoints(
        discord_token=SANDBOX_DISCORD_TOKEN,
        github_api_url=f"{base_url}/api/v3",
        # The sandbox's App (`GitHubWorld.apps`) when GITHUB_APP_ID and its key are given.
        github_credentials=(
            _github_credentials(settings)
            if settings.has_github_app
            else TokenCredentials(SANDBOX_GITHUB_TOKEN)
        ),
        sandbox_url=base_url,
        sandbox_smtp=await sandbox_smtp(base_url),
        authorize_url=f"{base_url}/oauth2/authorize",
        invite_url=f"{base_url}/invite/",
        admin_guild_id=str(AdminServer().guild_id),
        discord_web_url=base_url,
        discord_client_secret=SANDBOX_DISCORD_CLIENT_SECRET,
    )


async def _embedded_sandbox(settings: Settings, stack: AsyncExitStack) -> str:
    """Start the sandbox in this process, on the world kept in ./data/, and say where it is
    (`data/sandbox.url`); or, when a process started from the same folder runs it already
    (`python -m bot` and then `python -m bot runner`), join that one: every process of a
    deployment must provision into the one world the person sees."""
    # Development only: never imported in production.
    from sandbox.server import SandboxServer, SandboxStartError

    state = Path("data") / "sandbox.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    server = SandboxServer(
        port=settings.sandbox_port, state_path=state, rate_scale=settings.rate_scale
    )
    try:
        await stack.enter_async_context(server)
    except SandboxStartError as exc:
        running = await _running_sandbox()
        if running is not None:
            log.info("joining the sandbox another process runs", extra={"url": running})
            return running
        # One line, as for the web port: a taken port, or a world another sandbox uses.
        raise StartupError(str(exc)) from exc
    SANDBOX_URL_FILE.write_text(server.base_url)
    stack.callback(SANDBOX_URL_FILE.unlink, missing_ok=True)
    return server.base_url


async def _running_sandbox() -> str | None:
    """The URL in `data/sandbox.url`, if a sandbox answers there."""
    try:
        url = SANDBOX_URL_FILE.read_text().strip()
    except OSError:
        return None
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.get(f"{url}/_sandbox/") as response,
        ):
            return url if response.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def sandbox_smtp(base_url: str) -> tuple[str, int] | None:
    """Where the sandbox at `base_url` takes mail (`GET /_sandbox/mail/info`), the same for an
    embedded sandbox and one another process runs; None when it has no mail server."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.get(f"{base_url}/_sandbox/mail/info") as response,
        ):
            info = await response.json() if response.status == 200 else {}
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    host, port = info.get("host"), info.get("port")
    if isinstance(host, str) and isinstance(port, int):
        return host, port
    log.warning("the sandbox at %s has no mail server", base_url)
    return None


def point_discord_at(api_url: str, gateway_url: str) -> None:
    """Send discord.py's REST calls and gateway connection to `api_url` / `gateway_url`."""
    Route.BASE = api_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def load_secret_key(settings: Settings) -> bytes:
    """The key claim codes derive from; development keeps a generated one under ./data/."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = Path("data") / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()


# The sender of the join e-mails on the sandbox when MAIL_FROM is not set.
SANDBOX_MAIL_FROM = "course-bot@sandbox.test"


def smtp_config(settings: Settings, endpoints: Endpoints) -> SmtpConfig | None:
    """The e-mail server of the join e-mails: SMTP_HOST, else in development the sandbox's
    mail server; or none (the join e-mail steps then wait, saying what to set). Staging and
    production refuse to start without SMTP_HOST and MAIL_FROM."""
    if settings.smtp_host is not None and settings.mail_from is not None:
        return SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port_or_default,
            security=settings.smtp_security,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value()
                if settings.smtp_password is not None
                else None
            ),
        )
    if settings.smtp_host is None and endpoints.sandbox_smtp is not None:
        host, port = endpoints.sandbox_smtp
        sender = settings.mail_from or SANDBOX_MAIL_FROM
        return SmtpConfig(host=host, port=port, security="none", sender=sender)
    return None


def github_web_url(settings: Settings) -> str:
    """GitHub's pages for people (sign-in, invitations): github.com, or the Enterprise Server
    whose API is GITHUB_API_URL (`https://HOST/api/v3` → `https://HOST`)."""
    api = settings.github_api_url.rstrip("/")
    if api == "https://api.github.com":
        return "https://github.com"
    return api.removesuffix("/api/v3")


def oauth_apps(settings: Settings, endpoints: Endpoints) -> OAuthApps | None:
    """The join page's OAuth apps: the sandbox's, the configured ones, or none (the page then
    offers no sign-in; staging and production refuse to start without them)."""
    if endpoints.sandbox_url is not None:
        base = endpoints.sandbox_url
        return OAuthApps(
            github_authorize_url=f"{base}/login/oauth/authorize",
            github_token_url=f"{base}/login/oauth/access_token",
            github_api_url=endpoints.github_api_url,
            github_client_id=SANDBOX_GITHUB_OAUTH_CLIENT_ID,
            github_client_secret=SANDBOX_GITHUB_OAUTH_SECRET,
            discord_authorize_url=f"{base}/oauth2/authorize",
            discord_token_url=f"{base}/api/v10/oauth2/token",
            discord_api_url=f"{base}/api/v10",
            discord_client_secret=SANDBOX_DISCORD_CLIENT_SECRET,
        )
    github_id, github_secret = settings.github_oauth_client_id, settings.github_oauth_client_secret
    discord_secret = settings.discord_client_secret
    if github_id is None or github_secret is None or discord_secret is None:
        return None
    web = github_web_url(settings)
    return OAuthApps(
        github_authorize_url=f"{web}/login/oauth/authorize",
        github_token_url=f"{web}/login/oauth/access_token",
        github_api_url=endpoints.github_api_url,
        github_client_id=github_id,
        github_client_secret=github_secret.get_secret_value(),
        discord_authorize_url="https://discord.com/oauth2/authorize",
        discord_token_url="https://discord.com/api/v10/oauth2/token",  # noqa: S106 - a URL
        discord_api_url="https://discord.com/api/v10",
        discord_client_secret=discord_secret.get_secret_value(),
    )


def _github_credentials(settings: Settings) -> Credentials:
    if settings.github_token is not None:
        return TokenCredentials(settings.github_token.get_secret_value())
    # load_settings() refused a deployment without a token or the App's id and key.
    assert settings.github_app_id is not None
    assert settings.github_app_private_key is not None
    key = settings.github_app_private_key.get_secret_value()
    if settings.github_installation_id is None:
        # Each course organization's installation is found when its first step runs.
        return AppKeyCredentials(settings.github_app_id, key)
    return AppCredentials(settings.github_app_id, key, settings.github_installation_id)
