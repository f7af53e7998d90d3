"""The OpenAPI document and the Swagger UI page, served from files vendored in the package.

Swagger UI 5 (web/static/swagger-ui/, see VERSION.txt there): version 4 cannot read an
OpenAPI 3.1 document and shows "Unable to render this definition".
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from web.services import OPENAPI

STATIC_PREFIX = "/docs/static"
SWAGGER_UI = Path(__file__).resolve().parent.parent / "static" / "swagger-ui"

# No CDN: deployments may have no internet egress for browsers.
_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Course provisioning bot - API</title>
  <link rel="stylesheet" href="{static}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{static}/swagger-ui-bundle.js"></script>
  <script src="{static}/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""

_INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    // The default sends the document's URL to an outside validator: nothing leaves the
    // deployment.
    validatorUrl: null
  });
});
"""


async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document."""
    return web.json_response(text=json.dumps(request.app[OPENAPI]))


async def docs_page(_request: web.Request) -> web.Response:
    """The interactive documentation page."""
    return web.Response(text=_PAGE.format(static=STATIC_PREFIX), content_type="text/html")


async def docs_init(_request: web.Request) -> web.Response:
    """The page's initializer, a file rather than inline so a strict CSP can forbid inline JS."""
    return web.Response(text=_INIT, content_type="application/javascript")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs_page)
    app.router.add_get("/docs/init.js", docs_init)
    app.router.add_static(STATIC_PREFIX, SWAGGER_UI)
