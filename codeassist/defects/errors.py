"""Errors raised by defect detection: subclasses of the codeassist root error."""

from __future__ import annotations

from codeassist.errors import CodeassistError


class DefectsError(CodeassistError):
    """Root of the errors defect detection raises on purpose."""


class SourceError(DefectsError):
    """A file to analyse cannot be read or decoded."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class StaticEngineError(DefectsError):
    """The static engine (ruff) could not run or returned output we cannot read."""


class DetectorArtifactError(DefectsError):
    """A shipped or user-supplied detector artifact is missing or malformed."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason} (rebuild it with `moesuite train-defects`)")
        self.path = path
        self.reason = reason


class TrainingDataError(DefectsError):
    """The training rows cannot fit a detector (too few seeded bugs or clean statements)."""
