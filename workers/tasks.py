"""Celery tasks: ids, paths and plain JSON in, small JSON out; the work is the domain packages'.

Every task is idempotent (a redelivered task rewrites the same files atomically; review cases
are upserted by transaction id by the fraud package), retries only on transient errors
(`TRANSIENT_ERRORS`, exponential backoff), and turns bad input into a structured error result
``{"ok": false, "error": {...}}`` that is not retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from amqp.exceptions import ConnectionError as AMQPConnectionError
from celery import shared_task, states
from celery.exceptions import Ignore, SoftTimeLimitExceeded
from celery.signals import worker_process_init
from celery.utils.log import get_logger
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError as SQLOperationalError

from codeassist.errors import CodeassistError
from core_model.errors import CoreModelError
from fraud.errors import FraudError
from workers import jobs
from workers.errors import TransientError, WorkersError

logger = get_logger(__name__)

#: Errors worth retrying: the database, broker or result store was briefly unavailable.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    RedisConnectionError,
    RedisTimeoutError,
    AMQPConnectionError,
    KombuOperationalError,
    ConnectionError,
)
#: Errors that mean the input (or a missing model) is bad: reported, never retried.
INPUT_ERRORS: tuple[type[BaseException], ...] = (
    FraudError,
    CodeassistError,
    CoreModelError,
    WorkersError,
    OSError,
    UnicodeDecodeError,
    ValueError,
)
_TRANSIENT_SQL_MARKERS = (
    "database is locked",
    "database table is locked",
    "connection",
    "server closed",
    "could not connect",
    "terminating connection",
)

RETRY = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


@contextmanager
def transient_sql_errors() -> Iterator[None]:
    """Re-raise SQLAlchemy OperationalErrors that are locks or lost connections as transient."""
    try:
        yield
    except SQLOperationalError as exc:
        text = str(exc.orig if exc.orig is not None else exc).lower()
        if exc.connection_invalidated or any(m in text for m in _TRANSIENT_SQL_MARKERS):
            raise TransientError(f"transient database error: {text}") from exc
        raise


def error_result(exc: BaseException, attempts: int) -> dict[str, Any]:
    """The structured result of a task whose input could not be processed."""
    path = getattr(exc, "path", None) or getattr(exc, "filename", None)
    return {
        "ok": False,
        "error": {
            "type": type(exc).__name__,
            "message": str(exc),
            "path": str(path) if path is not None else None,
            "line": getattr(exc, "line", None),
            "field": getattr(exc, "field", None),
        },
        "attempts": attempts,
    }


def _run(task: Any, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` with transient errors raised (to be retried) and input errors reported."""
    attempts = task.request.retries + 1
    try:
        with transient_sql_errors():
            result = work()
    except TRANSIENT_ERRORS:
        raise
    except SoftTimeLimitExceeded as exc:
        return error_result(exc, attempts)
    except INPUT_ERRORS as exc:
        return error_result(exc, attempts)
    # A job cancelled while it ran must not report success over its REVOKED state.
    _check_cancelled(task, task.request.id)
    return {"ok": True, **result, "attempts": attempts}


def _check_cancelled(task: Any, job_id: str) -> None:
    """Stop (without storing a result) when the job was cancelled; keep its state REVOKED."""
    if jobs.is_cancelled(task.app, job_id):
        task.app.backend.mark_as_revoked(job_id, reason="cancelled")
        raise Ignore()


@worker_process_init.connect
def _preload(**_: Any) -> None:
    # Load the fraud bundle once per worker process, before the first task arrives.
    from celery import current_app

    app = current_app._get_current_object()
    if getattr(app, "settings", None) is None:
        return
    consuming = app.amqp.queues.consume_from or {}
    if consuming and app.queue_name("fraud") not in consuming:
        return  # a code or train worker never needs the scoring bundle
    try:
        jobs.fraud_bundle(app)
    except Exception as exc:  # noqa: BLE001 - the first task reports it as an error result
        logger.warning("fraud bundle not preloaded: %s", exc)
    else:
        logger.info("fraud bundle preloaded")


# --- fraud -------------------------------------------------------------------------------


@shared_task(bind=True, name="moesuite.fraud.score_file", **RETRY)
def score_file(self: Any, path: str, output: str, options: dict[str, Any] | None = None) -> Any:
    """Score a transaction file: split by customer, fan chunks out, aggregate one summary.

    Each chunk is queued as soon as it is written. The job id is this task's id: the
    aggregation runs under the same id (queued by whichever chunk finishes last), so
    ``AsyncResult(job_id)`` ends with the summary; this task stores no result of its own.
    """
    job_id = self.request.id
    _check_cancelled(self, job_id)
    options = dict(options or {})

    def enqueue(index: int, chunk: str) -> None:
        score_chunk.apply_async(
            (job_id, index, chunk, options), task_id=f"{job_id}-chunk-{index:05d}"
        )

    def split() -> dict[str, Any]:
        return jobs.split_job(self.app, job_id, Path(path), Path(output), options, enqueue)

    manifest = _run(self, split)
    if not manifest["ok"]:
        return manifest
    if not manifest["chunks"]:
        aggregate_job.apply_async((job_id,), task_id=job_id)
    raise Ignore()


@shared_task(bind=True, name="moesuite.fraud.score_chunk", **RETRY)
def score_chunk(
    self: Any, job_id: str, index: int, chunk: str, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Score one chunk of a job; the last chunk to finish queues the aggregation."""
    _check_cancelled(self, job_id)
    result = _run(self, lambda: jobs.score_chunk(self.app, job_id, index, Path(chunk), options))
    if not result["ok"]:
        jobs.record_chunk_error(self.app, job_id, index, result)
    if jobs.is_cancelled(self.app, job_id):
        return result
    done = jobs.chunks_done(self.app, job_id)
    if self.app.backend.get_task_meta(job_id)["status"] not in states.READY_STATES:
        self.update_state(task_id=job_id, state="PROGRESS", meta=done)
    if done["chunks"] is not None and done["chunks_done"] >= done["chunks"]:
        # Two chunks finishing together may both get here; the aggregation is idempotent.
        aggregate_job.apply_async((job_id,), task_id=job_id)
    return result


@shared_task(bind=True, name="moesuite.fraud.aggregate", **RETRY)
def aggregate_job(self: Any, job_id: str) -> dict[str, Any]:
    """Join the chunk results into the output file and one summary (the job's result)."""
    _check_cancelled(self, job_id)
    return _run(self, lambda: jobs.aggregate(self.app, job_id))


@shared_task(bind=True, name="moesuite.fraud.score_one", **RETRY)
def score_one(self: Any, transaction: dict[str, Any]) -> dict[str, Any]:
    """Score one transaction against its customer's history in the review database."""
    return _run(self, lambda: jobs.score_one(self.app, transaction))


# --- code --------------------------------------------------------------------------------


@shared_task(bind=True, name="moesuite.code.refactor_source", **RETRY)
def refactor_source(
    self: Any, path: str, output: str | None = None, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Refactor one Python file; write the result to ``output`` (default: in place)."""
    _check_cancelled(self, self.request.id)
    return _run(self, lambda: jobs.refactor_file(Path(path), output, options or {}))


@shared_task(bind=True, name="moesuite.code.detect_defects", **RETRY)
def detect_defects(self: Any, path: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Detect suspected defects in one Python file; return the findings."""
    _check_cancelled(self, self.request.id)
    return _run(self, lambda: jobs.detect_file(Path(path), options or {}))


# --- training ----------------------------------------------------------------------------


@shared_task(bind=True, name="moesuite.train.train_fraud", **RETRY)
def train_fraud(
    self: Any, path: str, output: str, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Train a fraud bundle from a labelled transaction file into ``output``."""
    _check_cancelled(self, self.request.id)

    def progress(meta: dict[str, Any]) -> None:
        self.update_state(state="PROGRESS", meta=meta)

    return _run(
        self, lambda: jobs.train_fraud(self.app, Path(path), Path(output), options or {}, progress)
    )
