"""The emulator's state. Pydantic models so that snapshot/restore are a dump and a validate."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class User(BaseModel):
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False


class Role(BaseModel):
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None


class Overwrite(BaseModel):
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0


class Channel(BaseModel):
    id: int
    guild_id: int
    type: int
    name: str
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    overwrites: list[Overwrite] = Field(default_factory=list)


class Member(BaseModel):
    user_id: int
    roles: list[int] = Field(default_factory=list)
    joined_at: float
    nick: str | None = None


class Invite(BaseModel):
    code: str
    guild_id: int
    channel_id: int
    inviter_id: int
    created_at: float
    max_age: int = 86400
    max_uses: int = 0
    uses: int = 0
    temporary: bool = False
    unique: bool = False
    role_ids: list[int] = Field(default_factory=list)
    target_user_ids: list[int] | None = None

    def expires_at(self) -> float | None:
        return None if self.max_age == 0 else self.created_at + self.max_age


class AuditEntry(BaseModel):
    id: int
    action_type: int
    user_id: int
    target_id: str | None
    reason: str | None = None
    changes: list[dict[str, Any]] = Field(default_factory=list)
    # Overwrite entries name the role or member: {"id", "type" ("0" role, "1" member), ...}.
    options: dict[str, str] | None = None


class Guild(BaseModel):
    id: int
    name: str
    owner_id: int
    created_at: float
    description: str | None = None
    system_channel_id: int | None = None
    preferred_locale: str = "en-US"
    verification_level: int = 0
    default_message_notifications: int = 0
    explicit_content_filter: int = 0
    roles: dict[int, Role] = Field(default_factory=dict)
    channels: dict[int, Channel] = Field(default_factory=dict)
    members: dict[int, Member] = Field(default_factory=dict)
    audit_log: list[AuditEntry] = Field(default_factory=list)
    # A stand-in for another community the bot is in (`sandbox.discord.bot_guilds`).
    filler: bool = False


class Command(BaseModel):
    id: int
    name: str
    type: int = 1
    description: str = ""
    guild_id: int | None = None
    version: int
    payload: dict[str, Any] = Field(default_factory=dict)


class Message(BaseModel):
    id: int
    channel_id: int
    content: str = ""
    flags: int = 0
    embeds: list[dict[str, Any]] = Field(default_factory=list)
    components: list[dict[str, Any]] = Field(default_factory=list)
    created_at: float
    edited_at: float | None = None


class Attachment(BaseModel):
    id: int
    filename: str
    content_type: str
    data_b64: str
    size: int


class Interaction(BaseModel):
    id: int
    token: str
    created_at: float
    guild_id: int | None
    channel_id: int
    user_id: int
    name: str
    # 2 APPLICATION_COMMAND, 3 MESSAGE_COMPONENT, 4 AUTOCOMPLETE, 5 MODAL_SUBMIT
    type: int = 2
    payload: dict[str, Any] = Field(default_factory=dict)
    callback: dict[str, Any] | None = None
    original: Message | None = None
    followups: list[Message] = Field(default_factory=list)
    # The message whose component was used (type 3), or that held the modal's button (type 5):
    # callback types 6 and 7 update it, and it becomes the interaction's @original.
    source_message_id: int | None = None
    # The modal the bot opened with callback type 9, until the person submits it.
    modal: dict[str, Any] | None = None
    # A modal submit (type 5): the interaction that opened the modal (Discord's
    # `triggering_interaction_metadata`; the client names that command above the reply).
    triggered_by: int | None = None


class OAuthGrant(BaseModel):
    """An authorization code a person granted, waiting to be exchanged (single use)."""

    user_id: int
    scopes: list[str]
    redirect_uri: str | None
    expires_at: float


class OAuthToken(BaseModel):
    """A person's access token for the application (`Authorization: Bearer`)."""

    user_id: int
    scopes: list[str]
    expires_at: float
    refresh_token: str


class World(BaseModel):
    """Everything the emulator knows; `snapshot()` is `World.model_dump(mode="json")`."""

    bot_user_id: int
    application_id: int
    users: dict[int, User] = Field(default_factory=dict)
    guilds: dict[int, Guild] = Field(default_factory=dict)
    invites: dict[str, Invite] = Field(default_factory=dict)
    commands: dict[int, Command] = Field(default_factory=dict)
    interactions: dict[int, Interaction] = Field(default_factory=dict)
    attachments: dict[int, Attachment] = Field(default_factory=dict)
    redirect_uris: list[str] = Field(default_factory=list)
    """The application's registered OAuth2 redirect URIs (loopback ones are always accepted)."""
    oauth_codes: dict[str, OAuthGrant] = Field(default_factory=dict)
    oauth_tokens: dict[str, OAuthToken] = Field(default_factory=dict)
    """access token → what it grants; refresh tokens are looked up through these."""
    # Messages the bot posted in channels (not interaction answers), by channel id.
    messages: dict[int, list[Message]] = Field(default_factory=dict)
