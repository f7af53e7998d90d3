"""Settings: one `Settings`, read from the environment once, in `main()`.

`load_settings()` reports every problem in one message, naming the variables and never their
secret values, so an operator fixes a deployment in one go.
"""

from __future__ import annotations

import os
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
    # The application's OAuth2 client secret (developer portal, OAuth2 page): enables "Sign in
    # with Discord" on the status page. The sandbox has its own; without one, tokens only.
    discord_client_secret: SecretStr | None = None
    discord_admin_role: str = "Course Admin"
    # The server (guild) id where the admin commands may run; the role alone is not enough,
    # since anyone can make a role of that name in a server of their own.
    discord_admin_guild_id: str | None = None
    github_token: SecretStr | None = None
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
    log_level: str = "INFO"
    # Derives the Discord claim codes. Development keeps a generated one in ./data/.
    secret_key: SecretStr | None = None

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
        app = self.github_app_id and self.github_app_private_key and self.github_installation_id
        return bool(self.github_token or app)

    @property
    def sandbox(self) -> bool:
        """Development without real credentials runs against the embedded sandbox."""
        return self.app_env == "development" and not (
            self.discord_token or self.has_github_credentials
        )


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
    if settings.app_env == "development":
        if bool(settings.discord_token) != settings.has_github_credentials:
            return [
                "DISCORD_TOKEN and GitHub credentials: give both (real platforms) or neither "
                "(the sandbox); the two cannot be mixed"
            ]
        return []
    problems = []
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
            "GITHUB_TOKEN, or GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY + GITHUB_INSTALLATION_ID: "
            "required"
        )
    if "127.0.0.1" in settings.github_api_url or "localhost" in settings.github_api_url:
        problems.append("GITHUB_API_URL: the sandbox is refused outside development")
    if settings.sandbox_url is not None:
        problems.append("SANDBOX_URL: the sandbox is refused outside development; unset it")
    if settings.rate_scale != 1.0:
        problems.append("RATE_SCALE: only the sandbox runs faster than the real platforms")
    return problems
