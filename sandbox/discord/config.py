"""Configuration of the Discord emulator: the starting world, limits and rate limits."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BucketRate:
    """One rate-limit bucket: `limit` requests per `window` seconds (before rate_scale)."""

    limit: int
    window: float


def _default_buckets() -> dict[str, BucketRate]:
    # Values modelled on what Discord answers today; "role_create" is the observed ~28 h bucket
    # (PLATFORM.md §1.4). Unlisted routes use "default".
    return {
        "default": BucketRate(50, 10.0),
        "channel_create": BucketRate(10, 10.0),
        "role_create": BucketRate(250, 101995.0),
        "role_modify": BucketRate(20, 10.0),
        "member_role": BucketRate(10, 10.0),
        "invite_create": BucketRate(5, 15.0),
        "overwrite": BucketRate(10, 10.0),
        "commands": BucketRate(2, 60.0),
        "message_create": BucketRate(5, 5.0),
    }


@dataclass(frozen=True)
class RateConfig:
    """Per-route buckets, the global per-bot limit and the invalid-request window."""

    buckets: dict[str, BucketRate] = field(default_factory=_default_buckets)
    global_per_second: int = 50
    invalid_window: float = 600.0


@dataclass(frozen=True)
class Limits:
    """Platform limits (PLATFORM.md §1.6)."""

    channels_per_guild: int = 500
    channels_per_category: int = 50
    roles_per_guild: int = 250
    invites_per_guild: int = 1000
    overwrites_per_channel: int = 100
    attachment_size_limit: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class AdminServer:
    """The department's admin server of the starting world (`sandbox.discord.admin_server`)."""

    guild_id: int = 1310000000000000100
    name: str = "Department Admin"
    role: str = "Course Admin"
    instructor: str = "ada"
    log_channel: str = "course-log"


@dataclass(frozen=True)
class DiscordConfig:
    """The starting world: one bot application, a few people and the admin server (None: no
    guilds at all)."""

    bot_token: str = "sandbox-discord-token"  # noqa: S105 - the documented sandbox token
    client_secret: str = "sandbox-discord-client-secret"  # noqa: S105 - documented, like the token
    application_id: int = 1310000000000000001
    bot_username: str = "Course Bot"
    users: tuple[str, ...] = ("ada", "grace", "bob", "alan", "barbara")
    admin_server: AdminServer | None = field(default_factory=AdminServer)
    rates: RateConfig = field(default_factory=RateConfig)
    limits: Limits = field(default_factory=Limits)
    interaction_response_window: float = 3.0
    interaction_token_ttl: float = 15 * 60.0
    heartbeat_interval_ms: int = 41250
    heartbeat_ack_delay_ms: int = 20
    """How long a heartbeat's acknowledgement takes, as a network round trip to Discord does:
    discord.py measures from when its heartbeat thread saw the frame sent, and an answer that
    arrived before that was measured from the heartbeat before (warning "Can't keep up")."""
    app_verified: bool = False
    """Whether Discord verified the application: unverified apps join 100 servers at most."""
    oauth_token_ttl: int = 604800
    """Seconds an OAuth2 access token lives (`expires_in`, 7 days as on Discord)."""
