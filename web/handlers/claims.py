"""`GET /courses/{course_id}/claim`: the Discord claim code, for read-write tokens only.

The code is derived from the course id on each request (`Services.claim_code`), never stored;
`web.auth` refuses read-only tokens on this route, and the answer is never cached.
"""

from __future__ import annotations

import logging

from aiohttp import web

from provisioning.claims.codes import server_step
from provisioning.courses.spec import CourseSpec
from provisioning.discord.steps.server import install_link
from provisioning.errors import ProvisioningError
from web.auth import CLAIM_ROUTE
from web.params import course_id_param
from web.responses import json_response
from web.schemas import ClaimOut
from web.services import SERVICES, Services

log = logging.getLogger(__name__)
NO_STORE = {"Cache-Control": "no-store"}


async def _install_link(services: Services, spec: CourseSpec) -> str | None:
    if services.application_id is None:
        return None
    try:
        return install_link(await services.application_id(), spec, services.authorize_url)
    except ProvisioningError:
        # The code is what the caller came for; a link Discord could not help with can wait.
        log.warning("no install link: the bot's application id is unavailable", exc_info=True)
        return None


async def course_claim(request: web.Request) -> web.Response:
    """GET /courses/{course_id}/claim: the code, whether a server is bound, the install link."""
    services = request.app[SERVICES]
    record = await services.courses.get(course_id_param(request))
    step = server_step(await services.courses.status(record.id))
    guild_id = step.external_id if step is not None else None
    body = ClaimOut(
        course_id=record.id,
        code=services.claim_code(record.id),
        claimed=guild_id is not None,
        guild_id=guild_id,
        install_link=await _install_link(services, record.spec),
    )
    return json_response(200, body.model_dump_json(), NO_STORE)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/courses/{course_id}/claim", course_claim, name=CLAIM_ROUTE)
