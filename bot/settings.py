"""Settings: one `Settings`, read from the environment once, in `main()`.

`load_settings()` reports every problem in one message, naming the variables and never their
secret values, so an operator fixes a deployment in one go.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

AppEnv = Literal["development", "staging", "production"]
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/app.db"


class SettingsError(Exception):
    """The environment does not describe a runnable deployment; the message lists why."""


class Settings(BaseSettings):
    """Every setting of the product; environment variables have the upper-case names."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    app_env: AppEnv = "development"
    database_url: str = DEFAULT_DATABASE_URL
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    # A token to create (by its hash) at start-up, for deployments that cannot run the CLI.
    bootstrap_api_token: SecretStr | None = None
    discord_token: SecretStr | None = None
    # The application's OAuth2 client secret (developer portal, OAuth2 page): "Sign in with
    # Discord" on the status page and "Join the Discord server" on the join page. The sandbox
    # has its own.
    discord_client_secret: SecretStr | None = None
    discord_admin_role: str = "Course Admin"
    # The server (guild) id where the admin commands may run; the role alone is not enough,
    # since anyone can make a role of that name in a server of their own.
    discord_admin_guild_id: str | None = None
    # The channel of the admin server where the bot posts each course's milestones; empty: off.
    discord_log_channel: str = "course-log"
    # Whether Discord verified the bot's application: an unverified app joins 100 servers at
    # most (PLATFORM.md §1.2), so the product warns at 90 and waits at 100.
    discord_app_verified: bool = False
    github_token: SecretStr | None = None
    # A GitHub App instead of a token: each course organization's installation is found with
    # the App's key, and each is its own credential with its own limits. GITHUB_INSTALLATION_ID
    # pins one installation for every organization (one credential, as with a token).
    github_app_id: int | None = None
    github_app_private_key: SecretStr | None = None
    github_installation_id: int | None = None
    github_api_url: str = "https://api.github.com"
    # Seconds to wait for one GitHub answer before the call counts as failed (and is retried).
    github_timeout_s: int = Field(default=15, ge=1, le=600)
    # Port of the embedded sandbox in development; 0 picks a free one.
    sandbox_port: int = Field(default=8081, ge=0, le=65535)
    # A sandbox already running (e.g. `python -m sandbox`), shared by several processes;
    # development only. Unset: the bot starts its own.
    sandbox_url: str | None = None
    # Divides the rate governors' spacing and the retry backoffs; set it to the sandbox's
    # --rate-scale.
    rate_scale: float = Field(default=1.0, gt=0)
    # How long a runner holds a step before another may take it over (renewed while working).
    runner_lease_s: float = Field(default=60.0, gt=0)
    runner_concurrency: int = Field(default=8, ge=1, le=64)
    # How often a runner looks for due work without being woken (a backoff that ended, work
    # whose wake it missed). On PostgreSQL new work wakes every runner at once.
    runner_poll_s: float = Field(default=5.0, gt=0)
    # Web requests served at once; beyond it a request gets 503 with Retry-After at once, so
    # API load cannot starve the runner sharing the event loop. 0: no limit.
    web_max_in_flight: int = Field(default=16, ge=0, le=10_000)
    log_level: str = "INFO"
    # The safety limit of course changes: dropping more than this share of a course's
    # students, or (when true) archiving any repository, needs `confirm_removals`.
    change_confirm_share: float = Field(default=0.10, ge=0, le=1)
    change_confirm_archive: bool = True
    # A person dropped from a course leaves its GitHub organization too (or their invitation
    # is cancelled) when the course invited them and no other course there lists them.
    dropped_leave_org: bool = True
    # The drift reconcile: one active course re-verified every interval (0: never), the
    # course reconciled longest ago first; each run starts up to `reconcile_jitter_s` late.
    reconcile_interval_s: float = Field(default=86400.0, ge=0)
    reconcile_jitter_s: float = Field(default=600.0, ge=0)
    # Derives the Discord claim codes and signs the join links. Development keeps a generated
    # one in ./data/.
    secret_key: SecretStr | None = None
    # The e-mail server of the join e-mails. Development without one: the sandbox's.
    smtp_host: str | None = None
    # Unset: 465 for tls, 587 for starttls, 25 for none.
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # The sender of the join e-mails, e.g. course-bot@example.edu.
    mail_from: str | None = None
    # The product's address as students reach it (join links point there). Development:
    # http://WEB_HOST:WEB_PORT.
    public_url: str | None = None
    # How long a personal join link works.
    join_link_days: int = Field(default=30, ge=1, le=365)
    # Days without a visit to the join page after which the join e-mail is sent again
    # (twice at most).
    reminder_days: int = Field(default=7, ge=1, le=90)
    # The OAuth apps of the join page: "Sign in with GitHub" (an OAuth app whose callback URL
    # is PUBLIC_URL/join-oauth/github/callback) and "Join the Discord server" (the bot's own
    # application, with PUBLIC_URL/join-oauth/discord/callback as a redirect). Development on
    # the sandbox uses the sandbox's.
    # (The Discord side is DISCORD_CLIENT_SECRET above, shared with Sign in with Discord.)
    github_oauth_client_id: str | None = None
    github_oauth_client_secret: SecretStr | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() reads the environment itself, once, so that it can report every
        # problem together and tests can hand it an environment of their own.
        return (init_settings,)

    @field_validator(
        "bootstrap_api_token",
        "discord_token",
        "discord_client_secret",
        "github_token",
        "github_app_private_key",
        "secret_key",
        "sandbox_url",
        "discord_admin_guild_id",
        "github_app_id",
        "github_installation_id",
        "smtp_host",
        "smtp_port",
        "smtp_username",
        "smtp_password",
        "mail_from",
        "public_url",
        "github_oauth_client_id",
        "github_oauth_client_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `DISCORD_TOKEN=` in a compose file means "not given", not "the empty token".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("discord_admin_guild_id")
    @classmethod
    def _snowflake(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or not 0 < int(value) < 2**64:
            raise ValueError(
                "use the admin server's id, digits only (Discord: Developer Mode, then right-click "
                "the server, Copy Server ID)"
            )
        return value

    @field_validator("mail_from")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", value):
            raise ValueError("use a plain e-mail address, e.g. course-bot@example.edu")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("use the address people open, e.g. https://course-bot.example.edu")
        return value.rstrip("/") if value is not None else None

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB (the "
                "async drivers the product ships with)"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def has_github_credentials(self) -> bool:
        return bool(self.github_token or self.has_github_app)

    @property
    def has_github_app(self) -> bool:
        return bool(self.github_app_id and self.github_app_private_key)

    @property
    def join_base_url(self) -> str:
        """Where join links point: PUBLIC_URL, or this process's own web server."""
        return self.public_url or f"http://{self.web_host}:{self.web_port}"

    @property
    def smtp_port_or_default(self) -> int:
        default = {"tls": 465, "starttls": 587, "none": 25}[self.smtp_security]
        return self.smtp_port or default

    @property
    def sandbox(self) -> bool:
        """Development without real credentials runs against the embedded sandbox. A GitHub
        App with SANDBOX_URL is the sandbox's App (its installations on several orgs)."""
        if self.app_env != "development" or self.discord_token or self.github_token:
            return False
        return not self.has_github_app or self.sandbox_url is not None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check the settings (from `environ`, default the process environment); raise
    `SettingsError` listing every problem, invalid values and missing deployment needs alike."""
    source = os.environ if environ is None else environ
    values = {k.lower(): v for k, v in source.items() if k.lower() in Settings.model_fields}
    errors: list[str] = []
    bad: set[str] = set()
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            name = str(error["loc"][0]) if error["loc"] else "settings"
            bad.add(name)
            errors.append(f"{name.upper()}: {error['msg'].removeprefix('Value error, ')}")
        # Check the rest with defaults in place of the invalid values, to report it all at once.
        settings = Settings.model_validate({k: v for k, v in values.items() if k not in bad})
    problems = errors + [
        p for p in deployment_problems(settings) if not p.startswith(tuple(n.upper() for n in bad))
    ]
    if problems:
        raise SettingsError(
            f"APP_ENV={settings.app_env} cannot start:\n" + "\n".join(f"- {p}" for p in problems)
        )
    return settings


def deployment_problems(settings: Settings) -> list[str]:
    """What staging and production need that development does without."""
    problems = []
    if bool(settings.github_app_id) != bool(settings.github_app_private_key):
        problems.append(
            "GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY: give both (the App's id and its private "
            "key, from the App's settings page) or neither"
        )
    if settings.app_env == "development":
        if not settings.sandbox and bool(settings.discord_token) != settings.has_github_credentials:
            problems.append(
                "DISCORD_TOKEN and GitHub credentials: give both (real platforms) or neither "
                "(the sandbox); the two cannot be mixed"
            )
        return problems
    if settings.uses_sqlite:
        problems.append(
            "DATABASE_URL: SQLite is for development; use postgresql+asyncpg://USER@HOST/DB"
        )
    if settings.secret_key is None or len(settings.secret_key.get_secret_value()) < 32:
        problems.append("SECRET_KEY: required, at least 32 random characters")
    if settings.discord_token is None:
        problems.append("DISCORD_TOKEN: required (the bot token from the developer portal)")
    if settings.discord_admin_guild_id is None:
        problems.append(
            "DISCORD_ADMIN_GUILD_ID: required (the id of the server where the admin commands run)"
        )
    if not settings.has_github_credentials:
        problems.append(
            "GITHUB_TOKEN, or GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY (a GitHub App; "
            "GITHUB_INSTALLATION_ID optional): required"
        )
    if "127.0.0.1" in settings.github_api_url or "localhost" in settings.github_api_url:
        problems.append("GITHUB_API_URL: the sandbox is refused outside development")
    if settings.sandbox_url is not None:
        problems.append("SANDBOX_URL: the sandbox is refused outside development; unset it")
    if settings.rate_scale != 1.0:
        problems.append("RATE_SCALE: only the sandbox runs faster than the real platforms")
    return problems + mail_problems(settings)


def mail_problems(settings: Settings) -> list[str]:
    """What sending the join e-mails needs outside development (which has the sandbox's)."""
    problems = []
    if settings.smtp_host is None:
        problems.append("SMTP_HOST: required (the e-mail server that sends the join links)")
    if settings.mail_from is None:
        problems.append("MAIL_FROM: required (the sender of the join e-mails)")
    if settings.public_url is None or not settings.public_url.startswith("https://"):
        problems.append(
            "PUBLIC_URL: required, https (the product's address in the students' join links)"
        )
    if (settings.smtp_username is None) != (settings.smtp_password is None):
        problems.append("SMTP_USERNAME and SMTP_PASSWORD: give both or neither")
    if settings.github_oauth_client_id is None or settings.github_oauth_client_secret is None:
        problems.append(
            "GITHUB_OAUTH_CLIENT_ID and GITHUB_OAUTH_CLIENT_SECRET: required (Sign in with "
            "GitHub on the join page)"
        )
    if settings.discord_client_secret is None:
        problems.append(
            "DISCORD_CLIENT_SECRET: required (the bot application's OAuth2 secret, for joining "
            "the server from the join page)"
        )
    if settings.smtp_security == "none" and settings.smtp_password is not None:
        problems.append(
            "SMTP_SECURITY: none would send SMTP_PASSWORD in clear; use starttls or tls"
        )
    return problems
