"""Settings: one `Settings`, read from the environment once, in `main()`.

`load_settings()` reports every problem in one message, naming the variables and never their
secret values, so an operator fixes a deployment in one go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    discord_admin_role: str = "Course Admin"
    github_token: SecretStr | None = None
    github_app_id: int | None = None
    github_app_private_key: SecretStr | None = None
    github_installation_id: int | None = None
    github_api_url: str = "https://api.github.com"
    # Port of the embedded sandbox in development; 0 picks a free one.
    sandbox_port: int = Field(default=8081, ge=0, le=65535)
    # A sandbox already running (e.g. `python -m sandbox`), shared by several processes;
    # development only. Unset: the bot starts its own.
    sandbox_url: str | None = None
    # Divides the rate governors' spacing; set it to the sandbox's --rate-scale.
    rate_scale: float = Field(default=1.0, gt=0)
    # How long a runner holds a step before another may take it over (renewed while working).
    runner_lease_s: float = Field(default=60.0, gt=0)
    runner_concurrency: int = Field(default=8, ge=1, le=64)
    log_level: str = "INFO"
    # Derives the Discord claim codes. Development keeps a generated one in ./data/.
    secret_key: SecretStr | None = None

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
    """Read and check the settings; raise `SettingsError` listing every problem."""
    try:
        settings = (
            Settings()
            if environ is None
            else Settings.model_validate({k.lower(): v for k, v in environ.items()})
        )
    except ValidationError as exc:
        lines = [
            f"- {'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None
    problems = deployment_problems(settings)
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
