from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings

MAIL = {
    "SMTP_HOST": "smtp.example.edu",
    "MAIL_FROM": "course-bot@example.edu",
    "PUBLIC_URL": "https://course-bot.example.edu",
    "GITHUB_OAUTH_CLIENT_ID": "Iv1.0123456789abcdef",
    "GITHUB_OAUTH_CLIENT_SECRET": "github-oauth-secret-4",
    "DISCORD_CLIENT_SECRET": "discord-oauth-secret-5",
}


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
    assert "DISCORD_ADMIN_GUILD_ID: required" in message


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
            "DISCORD_ADMIN_GUILD_ID": "1100000000000000001",
            **MAIL,
        }
    )
    assert not settings.sandbox
    assert settings.discord_admin_guild_id == "1100000000000000001"
    assert "discord-secret-1" not in repr(settings)
    assert "github-secret-2" not in repr(settings)


def test_development_refuses_half_real_credentials() -> None:
    """A Discord token without GitHub credentials would mix real and emulated platforms."""
    with pytest.raises(SettingsError, match="give both"):
        load_settings({"DISCORD_TOKEN": "discord-secret-1"})


def test_type_errors_and_deployment_problems_come_in_one_message() -> None:
    """An unparsable value does not hide the other problems of the deployment."""
    with pytest.raises(SettingsError) as info:
        load_settings({"APP_ENV": "production", "GITHUB_APP_ID": "abc", "WEB_PORT": "x"})
    message = str(info.value)
    for name in ("GITHUB_APP_ID", "WEB_PORT", "SECRET_KEY", "DISCORD_TOKEN", "DATABASE_URL"):
        assert name in message


def test_empty_secrets_count_as_missing() -> None:
    """`DISCORD_TOKEN=` (as compose files write it) is not a token."""
    with pytest.raises(SettingsError, match="DISCORD_TOKEN: required"):
        load_settings({"APP_ENV": "production", "DISCORD_TOKEN": "  "})


def test_sync_drivers_and_unknown_log_levels_are_refused() -> None:
    """The URL must name an async driver; the log level must be a level."""
    with pytest.raises(SettingsError) as info:
        load_settings({"DATABASE_URL": "postgresql://app@db/app", "LOG_LEVEL": "verbose"})
    assert "postgresql+asyncpg://" in str(info.value)
    assert "LOG_LEVEL" in str(info.value)
    assert load_settings({"LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_the_process_environment_is_read_only_when_asked() -> None:
    """A mapping given to load_settings is the whole environment (tests stay isolated)."""
    assert load_settings({}).web_port == 8080


def test_production_needs_the_admin_server_and_development_does_not() -> None:
    """Outside development the admin commands need their server's id; development may leave
    it unset (the admin commands are then refused)."""
    complete = {
        "APP_ENV": "production",
        "DATABASE_URL": "postgresql+asyncpg://app@db/app",
        "DISCORD_TOKEN": "discord-secret-1",
        "GITHUB_TOKEN": "github-secret-2",
        "SECRET_KEY": "k" * 40,
        **MAIL,
    }
    with pytest.raises(SettingsError) as info:
        load_settings({**complete, "DISCORD_ADMIN_GUILD_ID": " "})
    assert str(info.value).splitlines()[1:] == [
        "- DISCORD_ADMIN_GUILD_ID: required (the id of the server where the admin commands run)"
    ]
    assert load_settings(complete | {"DISCORD_ADMIN_GUILD_ID": "42"}).discord_admin_guild_id == "42"
    assert load_settings({}).discord_admin_guild_id is None


def test_the_admin_server_id_must_be_a_snowflake() -> None:
    """A server name or a negative number is not a server id; the message says where to get one."""
    for bad in ("Course Admins", "-5", "1e18", str(2**64)):
        with pytest.raises(
            SettingsError, match="DISCORD_ADMIN_GUILD_ID: use the admin server's id"
        ):
            load_settings({"DISCORD_ADMIN_GUILD_ID": bad})


def test_production_needs_a_mail_server_sender_and_public_address() -> None:
    """Outside development the join e-mails need a server, a sender and an https address for
    their links, the join page its two OAuth apps; a password needs a user and an encrypted
    connection. Development needs none of it."""
    complete = {
        "APP_ENV": "production",
        "DATABASE_URL": "postgresql+asyncpg://app@db/app",
        "DISCORD_TOKEN": "discord-secret-1",
        "GITHUB_TOKEN": "github-secret-2",
        "SECRET_KEY": "k" * 40,
        "DISCORD_ADMIN_GUILD_ID": "42",
    }
    with pytest.raises(SettingsError) as info:
        load_settings(complete)
    assert str(info.value).splitlines()[1:] == [
        "- SMTP_HOST: required (the e-mail server that sends the join links)",
        "- MAIL_FROM: required (the sender of the join e-mails)",
        "- PUBLIC_URL: required, https (the product's address in the students' join links)",
        "- GITHUB_OAUTH_CLIENT_ID and GITHUB_OAUTH_CLIENT_SECRET: required (Sign in with GitHub "
        "on the join page)",
        "- DISCORD_CLIENT_SECRET: required (the bot application's OAuth2 secret, for joining "
        "the server from the join page)",
    ]
    with pytest.raises(SettingsError) as info:
        load_settings(complete | MAIL | {"SMTP_SECURITY": "none", "SMTP_PASSWORD": "mail-secret-3"})
    assert "SMTP_USERNAME and SMTP_PASSWORD: give both or neither" in str(info.value)
    assert "SMTP_SECURITY: none would send SMTP_PASSWORD in clear" in str(info.value)
    assert "mail-secret-3" not in str(info.value)
    assert "oauth-secret" not in str(info.value)
    with pytest.raises(SettingsError, match="MAIL_FROM: use a plain e-mail address"):
        load_settings({"MAIL_FROM": "Course Bot <bot@example.edu>"})
    settings = load_settings(complete | MAIL | {"SMTP_PORT": ""})
    assert settings.smtp_port_or_default == 587
    assert settings.join_base_url == "https://course-bot.example.edu"
    assert load_settings({}).join_base_url == "http://127.0.0.1:8080"


def test_the_runner_poll_is_read_and_must_be_positive() -> None:
    """RUNNER_POLL_S sets how often a runner looks unwoken (5 s by default); zero is refused,
    naming the variable."""
    assert load_settings({}).runner_poll_s == 5.0
    assert load_settings({"RUNNER_POLL_S": "120"}).runner_poll_s == 120.0
    with pytest.raises(SettingsError) as info:
        load_settings({"RUNNER_POLL_S": "0"})
    assert "RUNNER_POLL_S" in str(info.value)


def test_the_load_shedding_limit_defaults_to_sixteen_and_refuses_a_negative_count() -> None:
    """WEB_MAX_IN_FLIGHT is 16 unless set, 0 turns shedding off, and a negative count is refused
    naming the variable and the bound."""
    assert load_settings({}).web_max_in_flight == 16
    assert load_settings({"WEB_MAX_IN_FLIGHT": "0"}).web_max_in_flight == 0
    with pytest.raises(SettingsError) as info:
        load_settings({"WEB_MAX_IN_FLIGHT": "-1"})
    assert "WEB_MAX_IN_FLIGHT: Input should be greater than or equal to 0" in str(info.value)
