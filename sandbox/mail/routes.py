"""The mailbox's routes under `/_sandbox/mail`:

- `GET /_sandbox/mail/info` → `{"host", "port"}`: where the SMTP server listens;
- `GET /_sandbox/mail[?to=address]` → `{"messages": [...]}`, newest first (envelope, headers,
  subject, text and HTML parts). Messages carry people's personal links, so this read needs
  the control secret like a change (`X-Sandbox-Secret`, or the sandbox pages' cookie);
- `DELETE /_sandbox/mail` empties the mailbox;
- `PUT /_sandbox/mail/refusal` `{"active": true, "count": 2}` makes the server answer 451
  (a temporary failure) to the next `count` messages, or to all until `{"active": false}`;
- `GET /_sandbox/mail/` is the mailbox page (`sandbox/mail/page.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.core.guard import SECRET_HEADER, has_control_secret
from sandbox.mail.models import MailState, Refusal
from sandbox.mail.page import mailbox_page

if TYPE_CHECKING:
    from sandbox.mail.emulator import MailSandbox

PREFIX = "/_sandbox/mail"


def _bad(message: str) -> web.Response:
    return web.json_response({"message": message}, status=400)


def _listed(state: MailState, to: str | None) -> list[dict[str, Any]]:
    wanted = to.lower() if to else None
    return [
        m.model_dump(mode="json")
        for m in reversed(state.messages)
        if wanted is None or wanted in (r.lower() for r in m.rcpt_tos)
    ]


def add_mail_routes(app: web.Application, mail: MailSandbox) -> None:
    async def info(request: web.Request) -> web.Response:
        return web.json_response({"host": mail.host, "port": mail.port})

    async def messages(request: web.Request) -> web.Response:
        if not has_control_secret(request):
            return web.json_response(
                {
                    "message": f"{SECRET_HEADER}: the mailbox holds people's personal links; "
                    "send the sandbox's secret (see data/sandbox.secret)"
                },
                status=401,
            )
        return web.json_response({"messages": _listed(mail.state, request.query.get("to"))})

    async def clear(request: web.Request) -> web.Response:
        mail.state.messages.clear()
        return web.Response(status=204)

    async def refusal(request: web.Request) -> web.Response:
        try:
            data = await request.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("active"), bool):
            return _bad('active: true or false, e.g. {"active": true, "count": 1}')
        count = data.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            return _bad("count: a whole number ≥ 1 (leave it out to refuse until switched off)")
        active: bool = data["active"]
        mail.state.refusal = Refusal(active=active, remaining=count if active else None)
        return web.json_response(mail.state.refusal.model_dump())

    async def page(request: web.Request) -> web.Response:
        return mailbox_page(request, mail.state.messages, mail.host, mail.port)

    app.router.add_get(f"{PREFIX}/info", info)
    app.router.add_get(PREFIX, messages)
    app.router.add_delete(PREFIX, clear)
    app.router.add_put(f"{PREFIX}/refusal", refusal)
    app.router.add_get(f"{PREFIX}/", page)
