"""Exceptions raised by `workers`: one root class, callers catch it at the edges."""


class WorkersError(Exception):
    """Root of every error `workers` raises on purpose; the message is meant for the user."""


class TransientError(WorkersError):
    """A database, broker or result store was briefly unavailable; the task is retried."""


class JobInputError(WorkersError):
    """A job's input cannot be used (missing file, unknown option); names the path and field."""

    def __init__(self, path: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.field = field
        self.line = None


class JobNotFoundError(WorkersError):
    """No job with this id is known to the result backend."""


class ChunksPending(TransientError):
    """A job's aggregation ran before all of its chunk results were written; retried."""
