"""Claim codes: derived from the course id, checked without storing them.

A course has no Discord server until a person claims one (PLATFORM.md §1.1-1.2): they create a
server, add the bot and run `/course claim <code>` in it. The code is derived, not stored: an
HMAC of the course id under a server-side secret, so nothing new has to be kept secret in the
database and any process holding the secret can show or check it.

Lookup: the code does not contain the course id (ids are UUIDs, too long to type). The claim
service passes the ids of the courses that have a server step as `candidates` (bound ones too,
so reusing a bound course's code gets "already bound", not "unknown"); checking a code costs
one HMAC per candidate, which is nothing next to the database read that found them.
Fifty bits of tag make guessing hopeless, and a claim also needs Manage Server in the guild.

Who sees the code: whoever may bind a server to the course, and nobody else (DESIGN.md §5).
The waiting `discord.server` step only says where to get it, since its message is logged,
stored and shown to every API token; course admins read the code in `/course status` and
read-write API tokens from `GET /courses/{id}/claim`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from provisioning.courses.views import (
    CourseStatus,
    StepStatus,
)
from provisioning.discord.server_count import CAP_REASON
from provisioning.errors import ProvisioningError

CODE_CHARS = 10
_GROUP = 4
# Crockford-like: base32 without the letters people misread; O/I/L typed by mistake still work.
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
SERVER_STEP = "discord.server"

# A course id to its claim code, e.g. `lambda course_id: claim_code(secret, course_id)`: what
# the web and the slash commands are given instead of the secret itself.
ClaimCodes = Callable[[str], str]


class InvalidClaimCodeError(ProvisioningError):
    """The code is not one this deployment handed out for a course waiting for a server."""

    status = 404
    title = "Unknown claim code"

    def __init__(self) -> None:
        super().__init__(
            "this claim code belongs to no course waiting for a server; copy it again from "
            "the course status"
        )


class ClaimCodesUnavailableError(ProvisioningError):
    """This process was not given the secret claim codes derive from."""

    status = 404
    title = "Claim code unavailable"

    def __init__(self) -> None:
        super().__init__(
            "this process cannot show claim codes (it has no claim secret); ask a course admin "
            "to run /course status for the course"
        )


def no_claim_codes(course_id: str) -> str:
    """The `ClaimCodes` of a process without the secret: always `ClaimCodesUnavailableError`."""
    raise ClaimCodesUnavailableError


def claim_code(secret: bytes, course_id: str) -> str:
    """The claim code of a course, e.g. `ABCD-EFGH-JK`: same inputs, same code."""
    digest = hmac.new(secret, b"discord-claim:" + course_id.encode(), hashlib.sha256).digest()
    tag = base64.b32encode(digest).decode().translate(_CONFUSABLE)[:CODE_CHARS]
    return "-".join(tag[i : i + _GROUP] for i in range(0, CODE_CHARS, _GROUP))


def normalize_code(code: str) -> str:
    """What a person typed, without separators, spaces or case; `O`/`I`/`L` read as digits."""
    kept = "".join(ch for ch in code.upper() if ch.isalnum())
    return kept.translate(_CONFUSABLE)


def course_id_from_code(secret: bytes, code: str, candidates: Iterable[str]) -> str:
    """The candidate course whose code this is, or `InvalidClaimCodeError`."""
    typed = normalize_code(code)
    if len(typed) != CODE_CHARS:
        raise InvalidClaimCodeError
    found: str | None = None
    for course_id in candidates:
        expected = normalize_code(claim_code(secret, course_id))
        # Constant time, and no early exit: timing says nothing about which course matched.
        if hmac.compare_digest(expected, typed):
            found = course_id
    if found is None:
        raise InvalidClaimCodeError
    return found


def server_step(status: CourseStatus) -> StepStatus | None:
    """The course's `discord.server` step, which a claim binds to a guild."""
    return next((s for s in status.steps if s.key == SERVER_STEP), None)


def waiting_for_claim(status: CourseStatus) -> bool:
    """The server step waits for a person to create a server and claim it with the code (not
    while the bot is at the cap of unverified apps: no server could add it then)."""
    return server_waits_for_claim(server_step(status))


def server_waits_for_claim(step: StepStatus | None) -> bool:
    """Whether this `discord.server` step (read alone) waits for its claim code."""
    return (
        step is not None
        and step.state == "awaiting_action"
        and step.external_id is None
        and step.last_error_code != CAP_REASON
    )


@dataclass(frozen=True)
class ClaimResult:
    """A server bound to a course: what the reply to `/course claim` shows."""

    course_id: str
    course_name: str
    # True when this guild was already the course's server (a repeated claim changes nothing).
    already_claimed: bool = False
    # The bot's server count when it is near or at the cap of unverified apps: why and what to
    # do (`provisioning.discord.server_count.claim_notice`).
    server_notice: str | None = None
