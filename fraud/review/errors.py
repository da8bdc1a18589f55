"""Errors of the manual-review queue; all are `FraudError`s, so cli.py shows them in one line."""

from __future__ import annotations

from fraud.errors import FraudError


class ReviewError(FraudError):
    """Root of the review queue's errors."""


class ReviewDatabaseError(ReviewError):
    """The review database cannot be opened or migrated."""


class ReviewConfigError(ReviewError):
    """A `[review]` setting has the wrong type or value."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"[review] {key}: {message}")


class CaseNotFound(ReviewError):
    """No case has this id."""

    def __init__(self, case_id: int) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} does not exist; `review list` shows the open cases")


class NotCaseHolder(ReviewError):
    """The analyst acting on a case does not hold its lease."""

    def __init__(self, case_id: int, analyst: str, holder: str | None) -> None:
        self.case_id = case_id
        self.analyst = analyst
        self.holder = holder
        if holder is None:
            detail = "nobody holds it; claim it first with `review next`"
        else:
            detail = f"it is held by {holder!r}"
        super().__init__(f"case {case_id}: {analyst!r} does not hold this case ({detail})")


class LeaseExpired(ReviewError):
    """The analyst's lease ran out before they acted; the case went back to the queue."""

    def __init__(self, case_id: int, analyst: str) -> None:
        self.case_id = case_id
        self.analyst = analyst
        super().__init__(
            f"case {case_id}: the lease of {analyst!r} expired and the case went back to the "
            "queue; claim it again with `review next`"
        )


class StaleCaseVersion(ReviewError):
    """The case changed since the caller read it (optimistic concurrency check)."""

    def __init__(self, case_id: int, expected: int, actual: int) -> None:
        self.case_id = case_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"case {case_id} changed since you read it (version {expected}, now {actual}); "
            "run `review show` again before deciding"
        )


class InvalidTransition(ReviewError):
    """The requested action is not allowed in the case's current status."""

    def __init__(self, case_id: int, action: str, status: str, hint: str = "") -> None:
        self.case_id = case_id
        self.action = action
        self.status = status
        suffix = f"; {hint}" if hint else ""
        super().__init__(f"case {case_id}: cannot {action} a case that is {status}{suffix}")


class InvalidCaseInput(ReviewError):
    """A case or history row handed to the queue is malformed."""

    def __init__(self, row: int | str, field: str, reason: str) -> None:
        self.row = row
        self.field = field
        self.reason = reason
        super().__init__(f"row {row}, field {field!r}: {reason}")
