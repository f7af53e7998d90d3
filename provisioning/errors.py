"""The errors of the domain. One root, `ProvisioningError`; adapters map them to replies.

Each error carries what an adapter needs to answer without guessing: an HTTP-like `status`, a
short `title`, and structured fields. Errors that wrap a platform error keep its status and are
raised `from` it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field of an input, e.g. `students[3].github`."""

    path: str
    message: str


class ProvisioningError(Exception):
    """Root of every error the product raises on purpose."""

    status: int = 500
    title: str = "Provisioning error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class CourseValidationError(ProvisioningError):
    """A course description (or roster) is invalid; `problems` lists every problem at once."""

    status = 422
    title = "Invalid course description"

    def __init__(self, problems: list[FieldProblem]) -> None:
        count = len(problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the course description")
        self.problems = problems


class CourseConflictError(ProvisioningError):
    """A course with the same code and term exists already."""

    status = 409
    title = "Course already exists"

    def __init__(self, course_id: str, code: str, term: str) -> None:
        super().__init__(
            f"course {code} for term {term} exists already (id {course_id}); "
            "change it instead of creating it again"
        )
        self.course_id = course_id


class CourseNotFoundError(ProvisioningError):
    """No course has this id."""

    status = 404
    title = "Course not found"

    def __init__(self, course_id: str) -> None:
        super().__init__(f"no course has the id {course_id!r}")
        self.course_id = course_id


class NothingToRetryError(ProvisioningError):
    """A retry was asked for a course with no failed, blocked or waiting step."""

    status = 409
    title = "Nothing to retry"

    def __init__(self, course_id: str) -> None:
        super().__init__(
            f"course {course_id} has no failed, blocked or waiting step; nothing to retry"
        )
        self.course_id = course_id


class PlatformError(ProvisioningError):
    """Discord or GitHub answered with an error. Gateways raise it `from` the client's error.

    `status` is the platform's HTTP status (0 when no answer came: reset, timeout), `code` the
    platform's error code when it has one (Discord's JSON `code`, e.g. 50013), `retry_after` the
    wait the platform asked for (Retry-After, reset headers), in seconds.
    """

    title = "Platform error"

    def __init__(
        self,
        platform: str,
        status: int,
        message: str,
        *,
        code: int | None = None,
        retry_after: float | None = None,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(f"{platform} answered {status or 'nothing'}: {message}")
        self.platform = platform
        self.status = status
        self.message = message
        self.code = code
        self.retry_after = retry_after
        self.rate_limited = rate_limited

    @property
    def retryable(self) -> bool:
        """No answer, 5xx, 408, 409 (still being created) and rate limits are worth another try."""
        return self.rate_limited or self.status in (0, 408, 409, 429) or self.status >= 500


class ActionRequiredError(ProvisioningError):
    """A person must act before the step can go on (claim a server, upgrade a plan, …).

    The step waits in `awaiting_action` with `message`, which says exactly what to do; the rest
    of the plan goes on. `reason` is a stable machine-readable code, e.g. `github.plan`.
    """

    status = 409
    title = "Action required"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class StepFailedError(ProvisioningError):
    """A step cannot succeed as described, and retrying would not change that."""

    status = 422
    title = "Step failed"


class WaitForLimitError(ProvisioningError):
    """A step's next call may not go for a while (GitHub's daily invitation limit): the step
    goes back to `pending`, due in `retry_after` seconds, without using up an attempt, and
    `message` says why and when. Nothing is wrong; nothing is failed for it."""

    status = 429
    title = "Waiting for a platform limit"

    def __init__(self, code: str, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
