"""Exceptions raised by `codeassist`: one root class, callers catch it at the edges."""


class CodeassistError(Exception):
    """Root of every error `codeassist` raises on purpose; the message is meant for the user."""
