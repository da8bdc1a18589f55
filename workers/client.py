"""Typed client for submitting jobs, following them and cancelling them.

Submission goes by task name (``send_task``), so a client never imports the domain packages.
Paths are made absolute before they are sent: workers resolve them on a shared filesystem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import states
from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult

from moesuite.settings import Settings
from workers.app import SuiteCelery, WorkerOptions, create_app
from workers.errors import JobNotFoundError, WorkersError
from workers.jobs import cancel_marker


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands.

    Attributes:
        id: The job id.
        state: Celery state: PENDING (unknown or queued), STARTED, PROGRESS, RETRY, SUCCESS,
            FAILURE or REVOKED.
        progress: The latest progress report of a running job (chunks done, ...), if any.
        ok: For a finished job, whether it produced a result (False for an error result).
        task: The task name, when the result backend knows it.
    """

    id: str
    state: str
    progress: dict[str, Any] | None = None
    ok: bool | None = None
    task: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "id": self.id,
            "state": self.state,
            "progress": self.progress,
            "ok": self.ok,
            "task": self.task,
        }


def _absolute(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


def _existing_file(path: str | Path) -> str:
    resolved = Path(_absolute(path))
    if not resolved.is_file():
        raise WorkersError(f"{path}: no such file")
    return str(resolved)


class JobClient:
    """Submit jobs to the suite's workers and follow them."""

    def __init__(self, settings: Settings, options: WorkerOptions | None = None) -> None:
        self.app: SuiteCelery = create_app(settings, options)

    def _send(self, name: str, *args: Any) -> str:
        return self.app.send_task(name, args=list(args)).id

    def submit_score(
        self, path: str | Path, output: str | Path, options: dict[str, Any] | None = None
    ) -> str:
        """Queue a file scoring job; returns its id."""
        return self._send(
            "moesuite.fraud.score_file", _existing_file(path), _absolute(output), options or {}
        )

    def submit_score_one(self, transaction: dict[str, Any]) -> str:
        """Queue one transaction for low-latency scoring; returns the task id."""
        return self._send("moesuite.fraud.score_one", transaction)

    def submit_refactor(
        self,
        path: str | Path,
        output: str | Path | None = None,
        options: dict[str, Any] | None = None,
    ) -> str:
        """Queue a refactor of one Python file (in place unless ``output``); returns its id."""
        out = _absolute(output) if output is not None else None
        return self._send("moesuite.code.refactor_source", _existing_file(path), out, options or {})

    def submit_detect(self, path: str | Path, options: dict[str, Any] | None = None) -> str:
        """Queue defect detection on one Python file; returns its id."""
        return self._send("moesuite.code.detect_defects", _existing_file(path), options or {})

    def submit_train(
        self, path: str | Path, output: str | Path, options: dict[str, Any] | None = None
    ) -> str:
        """Queue training of a fraud bundle; returns its id."""
        return self._send(
            "moesuite.train.train_fraud", _existing_file(path), _absolute(output), options or {}
        )

    def _result(self, job_id: str) -> AsyncResult:
        return self.app.AsyncResult(job_id)

    def status(self, job_id: str) -> JobStatus:
        """The job's state, progress and (when finished) whether it succeeded."""
        meta = self.app.backend.get_task_meta(job_id)
        state = meta["status"]
        result = meta.get("result")
        progress = result if state == "PROGRESS" and isinstance(result, dict) else None
        ok = None
        if state == states.SUCCESS:
            ok = bool(result.get("ok", True)) if isinstance(result, dict) else True
        elif state == states.FAILURE:
            ok = False
        return JobStatus(job_id, state, progress, ok, meta.get("name"))

    def result(self, job_id: str, timeout: float | None = 30.0) -> dict[str, Any]:
        """Wait up to ``timeout`` seconds for the job and return its result.

        Raises:
            WorkersError: The job did not finish in time, was cancelled, or crashed.
        """
        async_result = self._result(job_id)
        try:
            value = async_result.get(
                timeout=timeout,
                interval=self.app.options.result_poll_interval,
                propagate=False,
            )
        except CeleryTimeoutError as exc:
            raise WorkersError(
                f"job {job_id} not finished after {timeout} s (state {async_result.state})"
            ) from exc
        state = async_result.state
        if state == states.REVOKED:
            raise WorkersError(f"job {job_id} was cancelled")
        if state == states.FAILURE:
            raise WorkersError(f"job {job_id} failed: {type(value).__name__}: {value}")
        if not isinstance(value, dict):
            raise JobNotFoundError(f"job {job_id}: unexpected result {value!r}")
        return value

    def cancel(self, job_id: str) -> None:
        """Cancel a queued or running job: no task of it starts afterwards, a running one stops.

        The cancellation is recorded in the result backend (every task of a fan-out job checks
        it before starting), broadcast to the workers, and the job is marked REVOKED at once.
        """
        backend = self.app.backend
        state = backend.get_task_meta(job_id)["status"]
        if state in (states.SUCCESS, states.FAILURE):
            raise WorkersError(f"job {job_id} already finished ({state}); nothing to cancel")
        backend.mark_as_revoked(cancel_marker(job_id), reason="cancelled")
        self.app.control.revoke(job_id, terminate=True, signal="SIGTERM")
        backend.mark_as_revoked(job_id, reason="cancelled")

    def close(self) -> None:
        """Release broker and backend connections."""
        self.app.close()
