"""Errors of the web layer and the one table mapping domain errors to HTTP answers.

Every error a caller sees is JSON ``{"error": {"code": ..., "message": ...}}`` with a stable
``code`` (part of the API) and a message saying what to do; never a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass


class WebError(Exception):
    """Root of the web layer's errors: an HTTP status, a stable code and an actionable message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class WebConfigError(WebError):
    """A ``[web]`` setting has the wrong type or value."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"[web] {key}: {message}", status=500, code="bad_configuration")
        self.key = key


class AuthError(WebError):
    """No valid credentials (401)."""

    status = 401
    code = "unauthenticated"


class ForbiddenError(WebError):
    """Valid credentials without the needed scope or role (403)."""

    status = 403
    code = "forbidden"


class IdentityError(WebError):
    """A token or user cannot be created or found (CLI: `moesuite auth`)."""


@dataclass(frozen=True)
class ErrorAnswer:
    """How one domain error class is answered."""

    status: int
    code: str


def domain_error_answer(exc: Exception) -> ErrorAnswer | None:
    """The HTTP status and stable code for a domain error, or None for an unexpected one.

    The most specific class wins; imports are local so the web package loads without them.
    """
    from codeassist.errors import CodeassistError
    from fraud.errors import FraudError
    from fraud.review.errors import (
        CaseNotFound,
        InvalidTransition,
        LeaseExpired,
        NotCaseHolder,
        ReviewDatabaseError,
        StaleCaseVersion,
    )
    from workers.errors import JobNotFoundError, WorkersError

    table: tuple[tuple[type[Exception], ErrorAnswer], ...] = (
        (CaseNotFound, ErrorAnswer(404, "case_not_found")),
        (NotCaseHolder, ErrorAnswer(409, "not_case_holder")),
        (LeaseExpired, ErrorAnswer(409, "lease_expired")),
        (StaleCaseVersion, ErrorAnswer(409, "stale_version")),
        (InvalidTransition, ErrorAnswer(409, "invalid_transition")),
        (ReviewDatabaseError, ErrorAnswer(503, "database_unavailable")),
        (FraudError, ErrorAnswer(422, "invalid_input")),
        (CodeassistError, ErrorAnswer(422, "invalid_source")),
        (JobNotFoundError, ErrorAnswer(404, "job_not_found")),
        (WorkersError, ErrorAnswer(409, "job_error")),
    )
    for cls, answer in table:
        if isinstance(exc, cls):
            return answer
    return None
