"""The CLI's renderer of `core_model.progress.Progress`: what a long command shows while it works.

On a terminal, a tqdm bar per stage (name, count, rate, ETA); when stderr is a file or a pipe
(CI logs, ``nohup``), one plain line when a stage starts, at most every ``interval`` seconds
while it runs (``MOESUITE_PROGRESS_INTERVAL``, default 10), and when it ends; with ``--quiet``,
nothing. Progress always goes to stderr: stdout carries the command's result and stays
machine-readable. A counted stage that is over within ``delay`` seconds (one file in a
pre-commit hook) shows nothing at all; a stage without a count is announced at once, since it
is usually one long step.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import click

from core_model.progress import NULL_PROGRESS, Progress

_QUIET_KEY = "moesuite.quiet"
DEFAULT_INTERVAL_S = 10.0
DEFAULT_DELAY_S = 2.0


def _seconds(value: float) -> str:
    value = max(0.0, value)
    if value < 60:
        return f"{value:.0f} s"
    minutes, seconds = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


class LineProgress:
    """Plain progress lines for logs: start, periodic counts with ETA, end of each stage."""

    def __init__(
        self,
        stream: TextIO,
        interval: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        delay: float = DEFAULT_DELAY_S,
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._delay = min(delay, interval)
        self._clock = clock
        self._name: str | None = None
        self._announced = False

    def _write(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()

    def stage(self, name: str, total: int | None = None, unit: str = "items") -> None:
        self.close()
        self._name, self._total, self._unit, self._done = name, total, unit, 0
        self._start = self._last = self._clock()
        self._announced = False
        if total is None or self._delay <= 0:
            self._announce()

    def _announce(self) -> None:
        size = f" ({self._total:,} {self._unit})" if self._total is not None else ""
        self._write(f"{self._name}: started{size}")
        self._announced = True

    def _counts(self) -> str:
        if self._total:
            return f"{self._done:,}/{self._total:,} {self._unit} ({self._done / self._total:.0%})"
        return f"{self._done:,} {self._unit}"

    def advance(self, n: int = 1) -> None:
        if self._name is None:
            return
        self._done += n
        now = self._clock()
        if not self._announced:
            if now - self._start < self._delay:
                return
            self._announce()
        if now - self._last < self._interval:
            return
        self._last = now
        elapsed = now - self._start
        eta = ""
        if self._total and self._done:
            eta = f", ETA {_seconds(elapsed * (self._total - self._done) / self._done)}"
        self._write(f"{self._name}: {self._counts()}, {_seconds(elapsed)} elapsed{eta}")

    def close(self) -> None:
        if self._name is None:
            return
        if not self._announced and self._clock() - self._start < self._delay:
            self._name = None  # over at once: nothing worth a line
            return
        elapsed = _seconds(self._clock() - self._start)
        counts = f"{self._counts()} " if self._done else ""
        self._write(f"{self._name}: done, {counts}in {elapsed}")
        self._name = None


class BarProgress:
    """A tqdm bar per stage on a terminal (tqdm redraws in place, at most 10 times a second)."""

    def __init__(self, stream: TextIO, delay: float = DEFAULT_DELAY_S) -> None:
        self._stream = stream
        self._delay = delay
        self._bar: Any = None

    def stage(self, name: str, total: int | None = None, unit: str = "items") -> None:
        from tqdm import tqdm

        self.close()
        self._bar = tqdm(
            total=total,
            desc=name,
            unit=f" {unit}",
            file=self._stream,
            dynamic_ncols=True,
            mininterval=0.1,
            leave=True,
            delay=self._delay if total is not None else 0,
        )

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def make_progress(
    quiet: bool, stream: TextIO | None = None, interval: float | None = None
) -> Progress:
    """The renderer for ``stream`` (default: the current stderr): a bar, lines or nothing.

    ``interval`` (seconds between plain lines) defaults to ``$MOESUITE_PROGRESS_INTERVAL`` or 10.
    """
    if interval is None:
        try:
            interval = float(os.environ.get("MOESUITE_PROGRESS_INTERVAL", DEFAULT_INTERVAL_S))
        except ValueError:
            interval = DEFAULT_INTERVAL_S
    if quiet:
        return NULL_PROGRESS
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return BarProgress(stream, delay=min(DEFAULT_DELAY_S, interval))
    return LineProgress(stream, interval=interval)


def set_quiet(ctx: click.Context, quiet: bool) -> None:
    """Record ``--quiet`` for the whole invocation (the group's or a command's flag)."""
    if quiet:
        ctx.find_root().meta[_QUIET_KEY] = True


def _quiet_callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    set_quiet(ctx, value)


def quiet_option() -> click.Option:
    """A ``--quiet`` flag for a command: silences progress, keeps results and errors."""
    return click.Option(
        ["-q", "--quiet"],
        is_flag=True,
        expose_value=False,
        callback=_quiet_callback,
        help="Show no progress on stderr.",
    )


def command_progress() -> Progress:
    """The progress renderer for the running command; closed when the command ends."""
    ctx = click.get_current_context()
    progress = make_progress(bool(ctx.find_root().meta.get(_QUIET_KEY)))
    ctx.call_on_close(progress.close)
    return progress
