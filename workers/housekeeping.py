"""Periodic worker chores that need no celery beat: expire stored results and old job folders.

Celery expires database-backend results only through beat's ``celery.backend_cleanup`` task,
and job folders (chunks, scored parts) would otherwise stay forever. Every worker runs
`housekeep` at start and then every ``housekeeping_interval`` seconds on its own timer (the
`Housekeeping` bootstep); running it from several workers at once is harmless.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from celery import bootsteps
from celery.utils.log import get_logger

logger = get_logger(__name__)


def expire_results(app: Any) -> bool:
    """Delete results older than ``result_expires`` from a backend that cannot expire them.

    Returns:
        Whether a cleanup ran (False for Redis and other self-expiring backends).
    """
    backend = app.backend
    if backend.supports_autoexpire or not app.conf.result_expires:
        return False
    backend.cleanup()
    return True


def _newest_mtime(directory: Path) -> float:
    newest = directory.stat().st_mtime
    for entry in directory.iterdir():
        try:
            newest = max(newest, entry.stat().st_mtime)
        except FileNotFoundError:  # removed by the job's own cleanup meanwhile
            continue
    return newest


def expire_job_dirs(jobs_dir: Path, retention_s: float, now: float | None = None) -> list[Path]:
    """Remove job folders untouched for more than ``retention_s`` seconds; returns them.

    A folder's age is that of its newest entry, so a running job (writing chunk results)
    is never removed under a retention longer than one chunk's run time.
    """
    if not jobs_dir.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - retention_s
    removed = []
    for directory in jobs_dir.iterdir():
        try:
            if not directory.is_dir() or _newest_mtime(directory) >= cutoff:
                continue
        except FileNotFoundError:
            continue
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory)
    return removed


def housekeep(app: Any) -> dict[str, Any]:
    """Expire results and old job folders once; errors are logged, never raised."""
    report: dict[str, Any] = {"results_cleaned": False, "job_dirs_removed": 0}
    try:
        report["results_cleaned"] = expire_results(app)
    except Exception as exc:  # noqa: BLE001 - a busy database must not stop the worker
        logger.warning("result expiry failed (will retry): %s", exc)
    try:
        removed = expire_job_dirs(app.jobs_dir(), app.options.jobs_retention)
        report["job_dirs_removed"] = len(removed)
    except OSError as exc:
        logger.warning("job folder expiry failed (will retry): %s", exc)
    if report["job_dirs_removed"]:
        logger.info("removed %d expired job folder(s)", report["job_dirs_removed"])
    return report


class Housekeeping(bootsteps.StartStopStep):
    """Worker bootstep running `housekeep` at start and on the worker's timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.entry: Any = None

    def start(self, worker: Any) -> None:
        app = worker.app
        if getattr(app, "options", None) is None:
            return
        housekeep(app)
        self.entry = worker.timer.call_repeatedly(
            app.options.housekeeping_interval, housekeep, (app,)
        )

    def stop(self, worker: Any) -> None:
        if self.entry is not None:
            self.entry.cancel()
            self.entry = None
