from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


def test_development_defaults_use_sqlite_and_the_sandbox() -> None:
    """With nothing configured, development runs on SQLite against the sandbox."""
    settings = load_settings({})
    assert settings.uses_sqlite
    assert settings.sandbox
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)


def test_production_lists_every_problem_in_one_message() -> None:
    """Production on SQLite without credentials fails once, naming each variable."""
    with pytest.raises(SettingsError) as info:
        load_settings({"APP_ENV": "production"})
    message = str(info.value)
    for name in ("DATABASE_URL", "DISCORD_TOKEN", "GITHUB_TOKEN", "SECRET_KEY"):
        assert name in message


def test_secrets_never_appear_in_errors() -> None:
    """A bad setting next to a secret reports the bad one and not the secret's value."""
    with pytest.raises(SettingsError) as info:
        load_settings({"APP_ENV": "staging", "DISCORD_TOKEN": "s3cr3t-value", "WEB_PORT": "x"})
    assert "WEB_PORT" in str(info.value)
    assert "s3cr3t-value" not in str(info.value)


def test_staging_accepts_a_complete_configuration() -> None:
    """PostgreSQL plus real credentials is a valid staging deployment."""
    settings = load_settings(
        {
            "APP_ENV": "staging",
            "DATABASE_URL": "postgresql+asyncpg://app@db/app",
            "DISCORD_TOKEN": "discord-secret-1",
            "GITHUB_TOKEN": "github-secret-2",
            "SECRET_KEY": "k" * 40,
        }
    )
    assert not settings.sandbox
    assert "discord-secret-1" not in repr(settings)
    assert "github-secret-2" not in repr(settings)


def test_development_refuses_half_real_credentials() -> None:
    """A Discord token without GitHub credentials would mix real and emulated platforms."""
    with pytest.raises(SettingsError, match="give both"):
        load_settings({"DISCORD_TOKEN": "discord-secret-1"})
