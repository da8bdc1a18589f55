"""Exceptions raised by `core_model`: one root class, callers catch it at the edges."""


class CoreModelError(Exception):
    """Root of every error `core_model` raises on purpose; the message is meant for the user."""


class CheckpointError(CoreModelError):
    """A model directory is missing, incomplete, or in a format we refuse to load (pickle)."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class QuantizationError(CoreModelError):
    """A model cannot be quantized as asked (missing backend, unsupported layout)."""


class GenerationError(CoreModelError):
    """A generation request that cannot run as asked (wrong model kind, prompt too long...)."""


class TrainingError(CoreModelError):
    """Training cannot start or diverged (bad data, too little data, non-finite loss)."""
