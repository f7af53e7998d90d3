"""Who is looking at the status page: a signed-in viewer kept in an encrypted cookie session.

The cookie (aiohttp-session, Fernet) holds the viewer's name, rights and expiry, and the
session's CSRF token; nothing in it is a credential that works elsewhere. Sessions expire by
the product's clock (`Services.now`), so a test can let one expire without waiting.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp_session import Session, get_session, new_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from web.services import SERVICES

COOKIE_NAME = "coursebot_session"
SESSION_LIFETIME = timedelta(hours=8)
_VIEWER = "viewer"
_EXPIRES = "expires_at"
_CSRF = "csrf"


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: what they may see (`courses`: None is every course) and do."""

    name: str
    # How they signed in: "token" (an API token) or "discord".
    via: str
    may_write: bool
    courses: frozenset[str] | None = None
    # What they are, in words, for the header ("read-only token", "admin", "TA").
    role: str = ""
    # Courses they may change although `may_write` is False: those they instruct.
    instructs: frozenset[str] = frozenset()

    def may_see(self, course_id: str) -> bool:
        return self.courses is None or course_id in self.courses

    def may_change(self, course_id: str) -> bool:
        """Retry it, read its claim code."""
        return self.may_see(course_id) and (self.may_write or course_id in self.instructs)

    def is_staff_of(self, course_id: str) -> bool:
        """May see what only staff see (the invite links): everyone who may see the course
        but a read-only token."""
        return self.may_change(course_id) or (self.via == "discord" and self.may_see(course_id))

    @property
    def may_archive(self) -> bool:
        """End of term is for the admin role (or a read-write token, which may do it through
        the API anyway), never for a course's own staff."""
        return self.courses is None and self.may_write

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "via": self.via,
            "may_write": self.may_write,
            "courses": None if self.courses is None else sorted(self.courses),
            "role": self.role,
            "instructs": sorted(self.instructs),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Viewer:
        courses = data.get("courses")
        return cls(
            name=str(data["name"]),
            via=str(data["via"]),
            may_write=bool(data["may_write"]),
            courses=None if courses is None else frozenset(str(c) for c in courses),  # type: ignore[attr-defined]
            role=str(data.get("role", "")),
            instructs=frozenset(str(c) for c in data.get("instructs", ())),  # type: ignore[attr-defined]
        )


def session_middleware_for(key: bytes | None, *, secure: bool) -> Middleware:
    """The aiohttp-session middleware with an encrypted, HttpOnly, SameSite=Lax cookie.

    Lax, not Strict: the browser must send the cookie when Discord's sign-in page sends the
    person back to us (a top-level GET from another site).
    """
    storage = EncryptedCookieStorage(
        # 32 raw bytes; the storage encodes them as Fernet wants.
        key if key is not None else secrets.token_bytes(32),
        cookie_name=COOKIE_NAME,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=secure,
    )
    return session_middleware(storage)


async def current_viewer(request: web.Request) -> Viewer | None:
    """The signed-in viewer, or None (never signed in, signed out, or expired)."""
    session = await get_session(request)
    data = session.get(_VIEWER)
    expires = session.get(_EXPIRES)
    if not isinstance(data, dict) or not isinstance(expires, (int, float)):
        return None
    if request.app[SERVICES].now().timestamp() >= expires:
        return None
    return Viewer.from_dict(data)


async def sign_in(request: web.Request, viewer: Viewer) -> None:
    """A new session for `viewer` (a new id and CSRF token: nothing carries over from before)."""
    session = await new_session(request)
    expires = request.app[SERVICES].now() + SESSION_LIFETIME
    session[_VIEWER] = viewer.as_dict()
    session[_EXPIRES] = expires.timestamp()
    session[_CSRF] = secrets.token_urlsafe(32)


async def sign_out(request: web.Request) -> None:
    (await get_session(request)).invalidate()


async def csrf_token(request: web.Request) -> str:
    """This session's CSRF token, made on first use (a sign-in form needs one before sign-in)."""
    session: Session = await get_session(request)
    token = session.get(_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_CSRF] = token
    return token


async def csrf_matches(request: web.Request, sent: str | None) -> bool:
    session = await get_session(request)
    token = session.get(_CSRF)
    return isinstance(token, str) and sent is not None and secrets.compare_digest(token, sent)
