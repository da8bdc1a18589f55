"""Exceptions raised by `core_model`: one root class, callers catch it at the edges."""


class CoreModelError(Exception):
    """Root of every error `core_model` raises on purpose; the message is meant for the user."""
