"""What the audit trace keeps of a request: no tokens, no invite codes, small bodies."""

from __future__ import annotations

import json

from clients.discord.audit import describe_error, redact_path, summarize_body


def test_paths_lose_the_version_prefix_and_every_secret_segment() -> None:
    """Interaction and webhook tokens and invite codes never reach an audit row."""
    assert redact_path("/api/v10/guilds/1/roles") == "/guilds/1/roles"
    assert redact_path("/api/v10/invites/AbCd1234") == "/invites/<redacted>"
    assert (
        redact_path("/api/v10/interactions/5/tok.en-xyz/callback")
        == "/interactions/5/<redacted>/callback"
    )
    assert (
        redact_path("/api/v10/webhooks/7/tok.en/messages/@original")
        == "/webhooks/7/<redacted>/messages/@original"
    )


def test_bodies_keep_small_values_and_hide_codes_and_messages() -> None:
    """Small JSON values stay; `code` is masked; messages to users keep only their keys."""
    body = json.dumps({"name": "TA", "code": "secret", "topic": "x" * 300, "role_ids": ["1"]})
    assert summarize_body("/guilds/1/roles", body.encode()) == {
        "code": "<redacted>",
        "name": "TA",
        "role_ids": ["1"],
        "topic": "<300 chars>",
    }
    message = json.dumps({"type": 4, "data": {"content": "claim code ABCD"}}).encode()
    assert summarize_body("/interactions/5/<redacted>/callback", message) == ["data", "type"]
    assert summarize_body("/guilds/1/roles", b"") is None


def test_error_texts_lose_the_secrets_in_their_urls() -> None:
    """aiohttp names the full URL in timeouts; the audit row keeps only the redacted path."""
    error = TimeoutError(
        "Connection timeout to host https://discord.com/api/v10/webhooks/1/SECRET-TOKEN/messages"
    )
    text = describe_error(error)
    assert "SECRET-TOKEN" not in text
    assert text == "TimeoutError: Connection timeout to host /webhooks/1/<redacted>/messages"
    invite = OSError("reset by https://discord.com/api/v10/invites/STUDENTCODE?with_counts=1")
    assert "STUDENTCODE" not in describe_error(invite)
