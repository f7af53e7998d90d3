"""Personal join links: signed, expiring, bound to one course and one person, stored nowhere.

A link is `<payload>.<signature>`, both base64url: the payload names the course, an opaque
reference to the person (a keyed hash of their e-mail address, so the link does not show the
address) and when it expires; the signature is an HMAC-SHA256 with a key derived from the
product's secret. Nothing is stored: a link is checked by recomputing its signature, so a
database leak reveals no link, and the product's secret rotating invalidates them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from provisioning.errors import ProvisioningError

_VERSION = 1
# Separates this key from every other use of the product's secret (claim codes).
_KEY_LABEL = b"course-bot/join-link/v1"

JoinLinkProblem = Literal[
    "malformed", "altered", "expired", "other_course", "not_on_roster", "superseded"
]


class JoinLinkError(ProvisioningError):
    """A join link that cannot be used; `problem` says why, `detail` says it to a person."""

    status = 400
    title = "This join link cannot be used"

    def __init__(self, problem: JoinLinkProblem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem


@dataclass(frozen=True)
class JoinClaim:
    """What a valid link says: this course, this person, until then."""

    course_id: str
    person: str
    expires_at: datetime
    edition: int


class JoinLinks:
    """Signs and checks join links with one key; pure (no I/O, the time is passed in)."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()

    def person(self, email: str) -> str:
        """The opaque reference of the person with this e-mail address (case-insensitive)."""
        digest = hmac.new(self._key, b"person:" + email.lower().encode(), hashlib.sha256)
        return _b64(digest.digest()[:12])

    def sign(self, course_id: str, email: str, expires_at: datetime, edition: int = 1) -> str:
        """The token of a personal link (the last part of `/join/{token}`)."""
        payload = {
            "v": _VERSION,
            "c": course_id,
            "p": self.person(email),
            "x": int(expires_at.timestamp()),
            "n": edition,
        }
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._signature(body)}"

    def check(self, token: str, now: datetime, course_id: str | None = None) -> JoinClaim:
        """The claim of a valid token, or `JoinLinkError` saying why it is not one."""
        body, dot, signature = token.partition(".")
        if not dot or not body or not signature or len(token) > 512:
            raise JoinLinkError("malformed", "This is not a complete join link.")
        if not hmac.compare_digest(signature, self._signature(body)):
            raise JoinLinkError("altered", "This join link was changed after it was sent.")
        try:
            payload = json.loads(_unb64(body))
            claim = JoinClaim(
                course_id=str(payload["c"]),
                person=str(payload["p"]),
                expires_at=datetime.fromtimestamp(int(payload["x"]), UTC),
                edition=int(payload["n"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            # Signed by us but unreadable: only a link of another version could be.
            raise JoinLinkError("malformed", "This join link is not one we can read.") from exc
        if course_id is not None and claim.course_id != course_id:
            raise JoinLinkError("other_course", "This join link belongs to another course.")
        if now >= claim.expires_at:
            raise JoinLinkError(
                "expired",
                f"This join link expired on {claim.expires_at:%d %B %Y}. Ask your course staff "
                "to send you a new one.",
            )
        return claim

    def _signature(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
