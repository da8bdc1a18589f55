"""Progress reporting shared by every long-running job of the suite.

Domain functions (training, evaluation, detection, refactoring a tree) take a
``progress: Progress`` argument, defaulting to ``NULL_PROGRESS``, and report named stages and
counts through it; they never print. The CLI hands in a renderer (a bar on a terminal, periodic
plain lines otherwise, nothing with ``--quiet``), a Celery task one that updates its state. This
module is pure Python and imports nothing heavy, so fraud/ and codeassist/ can share the protocol
through the model core.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    """Receives a job's stages and counts. Implementations must be cheap to call per item."""

    def stage(self, name: str, total: int | None = None, unit: str = "items") -> None:
        """Start stage ``name`` (ending the previous one); ``total`` when the count is known."""
        ...

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more items done in the current stage."""
        ...

    def close(self) -> None:
        """End the last stage."""
        ...


class NullProgress:
    """Reports nothing: the default for library calls and tests."""

    def stage(self, name: str, total: int | None = None, unit: str = "items") -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


NULL_PROGRESS: Progress = NullProgress()


def track(items: Iterable[T], progress: Progress, name: str, total: int | None = None,
          unit: str = "items") -> Iterator[T]:
    """Yield ``items`` as stage ``name``, advancing ``progress`` by one per item."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    progress.stage(name, total=total, unit=unit)
    for item in items:
        yield item
        progress.advance(1)
