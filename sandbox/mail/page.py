"""The mailbox page, `GET /_sandbox/mail/`: every message as a person reads it, newest first.

The text part is shown with its links made clickable; the HTML part is rendered in a
sandboxed iframe (no scripts, no same-origin access; its links open in the top window), under
a Content-Security-Policy that lets nothing load from elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import jinja2
from aiohttp import web

from sandbox.mail.models import MailMessage

_URL = re.compile(r"https?://[^\s<>\"')\]]+")
# Scripts never run in a message; its links replace the mailbox page when clicked, as a mail
# client's would open them.
IFRAME_SANDBOX = (
    "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
)
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class Segment:
    text: str
    link: bool


@dataclass(frozen=True)
class Shown:
    """A message as the page shows it."""

    message: MailMessage
    received: str
    text: list[Segment] | None
    html_doc: str | None


def linkified(text: str) -> list[Segment]:
    """The text cut into plain runs and URLs (the template escapes both)."""
    out: list[Segment] = []
    last = 0
    for match in _URL.finditer(text):
        if match.start() > last:
            out.append(Segment(text[last : match.start()], link=False))
        out.append(Segment(match.group(0), link=True))
        last = match.end()
    if last < len(text):
        out.append(Segment(text[last:], link=False))
    return out


def _shown(message: MailMessage) -> Shown:
    received = datetime.fromtimestamp(message.received_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    html_doc = None
    if message.html is not None:
        # `<base target="_top">`: a click leaves the iframe for the whole tab.
        html_doc = '<base target="_top">' + message.html
    return Shown(
        message=message,
        received=received,
        text=None if message.text is None else linkified(message.text),
        html_doc=html_doc,
    )


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sandbox.mail", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def mailbox_page(
    request: web.Request, messages: Sequence[MailMessage], host: str | None, port: int | None
) -> web.Response:
    shown = [_shown(m) for m in sorted(messages, key=lambda m: m.id, reverse=True)]
    text = (
        _templates()
        .get_template("mailbox.html")
        .render(messages=shown, host=host, port=port, iframe_sandbox=IFRAME_SANDBOX)
    )
    response = web.Response(text=text, content_type="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
