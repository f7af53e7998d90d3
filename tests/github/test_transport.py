"""Request summaries for the audit log: small, and never a secret."""

from __future__ import annotations

import json

from clients.github.transport import REDACTED, request_summary


def test_summary_keeps_small_values_and_redacts_secrets() -> None:
    """Scalars stay, long strings become lengths, secret-named fields are redacted."""
    body = json.dumps(
        {
            "name": "cs101",
            "private": True,
            "access_token": "ghs_abc",
            "client_secret": "s",
            "private_key": "-----BEGIN",
            "tree": [{"path": "README.md", "content": "x" * 500}],
        }
    )
    summary = request_summary("POST", "/orgs/o/repos", "", body)
    assert summary["method"] == "POST"
    assert summary["path"] == "/orgs/o/repos"
    got = summary["body"]
    assert got["name"] == "cs101"
    assert got["private"] is True
    assert got["access_token"] == REDACTED
    assert got["client_secret"] == REDACTED
    assert got["private_key"] == REDACTED
    assert got["tree"] == [{"path": "README.md", "content": "<500 chars>"}]
    assert "ghs_abc" not in json.dumps(summary)


def test_summary_redacts_secret_query_parameters() -> None:
    """Query parameters are kept apart from the path and redacted by name."""
    summary = request_summary("GET", "/x", "recursive=1&token=abc", None)
    assert summary["query"] == {"recursive": "1", "token": REDACTED}
    assert "body" not in summary
