"""Errors of the refactor service, one `CodeassistError` subclass per kind of failure.

They live beside `codeassist/errors.py` (shared with the defects engineer) rather than in it,
so two engineers never rewrite the same file at once; each still derives from the package root.
"""

from __future__ import annotations

from pathlib import Path

from codeassist.errors import CodeassistError


class RefactorConfigError(CodeassistError):
    """An option in ``[tool.moesuite.refactor]`` or on the command line cannot be used."""

    def __init__(self, path: Path | str, field: str, reason: str) -> None:
        self.path, self.field, self.reason = str(path), field, reason
        super().__init__(f"{path}: [tool.moesuite.refactor] {field}: {reason}")

    def __reduce__(self):  # picklable across process pools and task queues
        return (type(self), (self.path, self.field, self.reason))


class SourceDecodeError(CodeassistError):
    """A file's bytes do not decode with its declared (PEP 263) or default encoding."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{path}:{line}: cannot decode: {reason}")

    def __reduce__(self):  # picklable across process pools and task queues
        return (type(self), (self.path, self.line, self.reason))


class SourceParseError(CodeassistError):
    """A file is not valid Python, so it cannot be refactored safely."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{path}:{line}: cannot parse: {reason}")

    def __reduce__(self):  # picklable across process pools and task queues
        return (type(self), (self.path, self.line, self.reason))


class VerificationFailed(CodeassistError):
    """A rewrite failed the verification gate; the file is left untouched."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: rewrite rejected, file left untouched: {reason}")

    def __reduce__(self):  # picklable across process pools and task queues
        return (type(self), (self.path, self.reason))


class FormatterError(CodeassistError):
    """The ruff subprocess could not be run or failed unexpectedly."""


class WriteFailed(CodeassistError):
    """A file could not be replaced; the original is untouched and no temporary file is left."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: cannot write: {reason} (original left untouched)")

    def __reduce__(self):  # picklable across process pools and task queues
        return (type(self), (self.path, self.reason))


class ModelRefactorError(CodeassistError):
    """The model used by ``--use-model`` cannot be loaded or run."""
