"""Exceptions raised by `fraud`: one root class, callers catch it at the edges."""


class FraudError(Exception):
    """Root of every error `fraud` raises on purpose; the message is meant for the user."""


class InputFileError(FraudError):
    """A whole input file cannot be used (unreadable, unknown format, required column missing).

    Row-level problems are not errors: they become `fraud.schema.Rejection` records.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class ConfigError(FraudError):
    """An option given to the fraud data layer is invalid (column map, simulation settings)."""
