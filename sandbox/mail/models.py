"""The mailbox's state; pydantic so that snapshot/restore are a dump and a validate."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MailMessage(BaseModel):
    """One message as received: the envelope, the headers and the readable parts."""

    id: int
    received_at: float
    peer: str
    mail_from: str
    rcpt_tos: list[str]
    headers: list[tuple[str, str]]
    subject: str
    from_header: str
    to_header: str
    date_header: str | None
    text: str | None
    html: str | None
    size: int


class Refusal(BaseModel):
    """The fault switch: refuse mail with a temporary error (451), `remaining` times or, when
    None, until switched off."""

    active: bool = False
    remaining: int | None = None


class MailState(BaseModel):
    next_id: int = 0
    messages: list[MailMessage] = Field(default_factory=list)
    refusal: Refusal = Field(default_factory=Refusal)
