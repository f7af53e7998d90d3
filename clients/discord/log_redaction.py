"""discord.py logs request and response bodies at DEBUG (`discord.http`): those hold invite
codes and, for a person joining from the join page, their OAuth2 access token. This filter
keeps the lines and drops the bodies."""

from __future__ import annotations

import logging

HTTP_LOGGER = "discord.http"
# discord.py's DEBUG lines whose third argument is a request or response body.
_BODY_LINES = frozenset({"%s %s with %s has returned %s", "%s %s has received %s"})
OMITTED = "<body not logged>"


class BodyRedactionFilter(logging.Filter):
    """Replaces the body argument of discord.py's request/response DEBUG lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in _BODY_LINES and isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = OMITTED
            record.args = tuple(args)
        return True


def install() -> None:
    """Attach the filter to discord.py's HTTP logger, once per process."""
    logger = logging.getLogger(HTTP_LOGGER)
    if not any(isinstance(f, BodyRedactionFilter) for f in logger.filters):
        logger.addFilter(BodyRedactionFilter())
