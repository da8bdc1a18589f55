"""Exceptions raised by `workers`: one root class, callers catch it at the edges."""


class WorkersError(Exception):
    """Root of every error `workers` raises on purpose; the message is meant for the user."""
