"""Exceptions raised by `fraud`: one root class, callers catch it at the edges."""


class FraudError(Exception):
    """Root of every error `fraud` raises on purpose; the message is meant for the user."""
