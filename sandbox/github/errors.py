"""GitHub-shaped error answers, raised from handlers and rendered by the GitHub middleware."""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    """An error answer: `{"message", "documentation_url", "errors"?}` with a status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        documentation_url: str = DOCS,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.documentation_url = documentation_url
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": self.documentation_url}
        if self.errors is not None:
            out["errors"] = self.errors
        out["status"] = str(self.status)
        return out


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(
    resource: str, field: str, code: str = "invalid", message: str | None = None
) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "field": field, "code": code}
    if message is not None:
        error["message"] = message
    return ApiError(422, "Validation Failed", errors=[error])


def missing_field(resource: str, field: str) -> ApiError:
    return validation_failed(resource, field, code="missing_field")


UPGRADE_MESSAGE = "Upgrade to GitHub Pro or make this repository public to enable this feature."
EMPTY_REPO_MESSAGE = "Git Repository is empty."
