"""GitHub App settings: the installation id is optional, the App's id and key go together, and
development may run the sandbox's App."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings
from tests.bot.test_settings import MAIL

PRODUCTION = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql+asyncpg://app@db/app",
    "DISCORD_TOKEN": "discord-secret-1",
    "SECRET_KEY": "k" * 40,
    "DISCORD_ADMIN_GUILD_ID": "1100000000000000001",
    **MAIL,
}
KEY = "-----BEGIN PRIVATE KEY-----\nnot-checked-here\n-----END PRIVATE KEY-----\n"


def test_an_app_without_an_installation_id_is_a_complete_deployment() -> None:
    """GITHUB_APP_ID and its key suffice: each organization's installation is found."""
    settings = load_settings(
        {**PRODUCTION, "GITHUB_APP_ID": "12345", "GITHUB_APP_PRIVATE_KEY": KEY}
    )
    assert settings.has_github_app
    assert settings.github_installation_id is None
    assert "not-checked-here" not in repr(settings)


def test_an_app_id_without_its_key_is_named_with_the_other_problems() -> None:
    """The App's id without its private key (or the reverse) is one problem among the rest."""
    for given in ({"GITHUB_APP_ID": "12345"}, {"GITHUB_APP_PRIVATE_KEY": KEY}):
        environ = {**PRODUCTION, "SECRET_KEY": "short", **given}
        with pytest.raises(SettingsError) as info:
            load_settings(environ)
        message = str(info.value)
        assert "GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY: give both" in message
        assert "SECRET_KEY" in message
        assert "not-checked-here" not in message


def test_development_runs_the_sandboxs_app_with_sandbox_url() -> None:
    """An App with SANDBOX_URL and no Discord token is the sandbox, driven by the App; without
    SANDBOX_URL it would mix a real GitHub App with the emulated Discord."""
    app = {"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": KEY}
    settings = load_settings({**app, "SANDBOX_URL": "http://127.0.0.1:8765"})
    assert settings.sandbox
    with pytest.raises(SettingsError, match="give both"):
        load_settings(app)
