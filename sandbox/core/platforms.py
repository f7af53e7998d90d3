"""Which platform a request path belongs to (the API prefix tells)."""

from __future__ import annotations

API_PREFIXES: dict[str, str] = {"/api/v3": "github", "/api/v10": "discord", "/api/v9": "discord"}


def split_api_path(path: str) -> tuple[str, str] | None:
    """Return (platform, path inside the API) for `/api/...` paths, else None."""
    for prefix, platform in API_PREFIXES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return platform, path[len(prefix) :] or "/"
    return None
