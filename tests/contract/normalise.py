"""The one place where the official specs and what the platforms really accept part ways.

Every rule here names what the spec says, what the platform does, and where that is recorded.
Validation applies these to the captured request bodies before checking them; nothing else in
`tests/contract` bends a schema.

GitHub (`sandbox/specs/github/github.trimmed.json`, OpenAPI 3.0): request bodies are checked as
sent; no rule has been needed. Error answers: the trimmed spec keeps success answers only, so
errors are checked against `basic-error`, and 422s against `validation-error` (PLATFORM.md §2.1).
`GET /repositories/{repository_id}` (the repo step's lookup after a rename) is not in the
description (PLATFORM.md §2.1); if a run ever sends it, it fails as "no operation" until a rule
for it is added here.

Discord (`sandbox/specs/discord/discord-v10.trimmed.json`, OpenAPI 3.1), the normalisation
agreed in `tests/sandbox/discord/contract.py` (PLATFORM.md §1.3, §3.2), applied through it:
- permission sets (`permissions`, `allow`, `deny`): spec integer; Discord and discord.py use
  decimal strings, and Discord accepts both;
- snowflakes (`id`, `*_id`): spec string; discord.py sends overwrite ids as integers, and Discord
  accepts both.
"""

from __future__ import annotations

from typing import Any

from tests.contract.capture import NO_BODY
from tests.sandbox.discord.contract import _wire_forms


def github_request(body: Any) -> Any:
    """GitHub request bodies are validated as sent: no rule has been needed."""
    return body


def discord_request(body: Any) -> Any:
    """Discord request bodies with the agreed wire forms (permission strings, int snowflakes)."""
    return body if body is NO_BODY else _wire_forms(body)
