"""The suite's one Celery app, built from Settings, with queues, routes and reliability defaults.

``create_app(settings)`` builds it; ``celery -A workers.app worker`` finds the module-level
``app`` (built on first access from ``settings.load_settings()``, so importing this module has
no side effects). Worker options come from the settings file's ``[workers]`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from moesuite.settings import Settings, load_settings
from workers.errors import WorkersError
from workers.housekeeping import Housekeeping
from workers.transport import (
    LEASE_OPTION,
    POLL_OPTION,
    RESTORE_OPTION,
    TRANSPORT_PATH,
    is_sqla_sqlite,
    prepare_sqlite_file,
)

#: Queue names (before ``queue_prefix``) and the task-name prefix routed to each.
QUEUES = {"fraud": "moesuite.fraud.", "code": "moesuite.code.", "train": "moesuite.train."}


@dataclass(frozen=True)
class WorkerOptions:
    """Knobs of the Celery app; defaults live here, overrides in the ``[workers]`` table.

    Attributes:
        soft_time_limit: Seconds before a task gets ``SoftTimeLimitExceeded``.
        time_limit: Seconds before the worker kills the task's process.
        result_expires: Seconds results are kept in the result backend.
        max_retries: Retries of a task that failed on a transient error.
        retry_backoff_max: Cap, in seconds, of the exponential retry backoff.
        polling_interval: Seconds between polls of the SQLite broker.
        result_poll_interval: Seconds between result polls of a database result backend.
        visibility_timeout: Seconds after which Redis redelivers an unacknowledged task (a
            worker that died); counted from delivery, so it must exceed ``time_limit``.
        sqlite_lease_timeout: Seconds after which the SQLite transport redelivers the
            unacknowledged task of a worker that stopped polling (died); a live worker renews
            its leases while it polls, so a task may run longer. With the solo pool the worker
            does not poll while a task runs: set it above ``time_limit`` there.
        restore_interval: Seconds between sweeps (Redis, SQLite) for such tasks.
        queue_prefix: Prefix of every queue name, to share one broker between deployments.
        chunk_rows: Target rows per chunk when a scoring job is fanned out.
        jobs_dir: Where job chunks and chunk results live; default ``<home>/jobs``.
        jobs_retention: Seconds a job folder left behind (a cancelled or crashed job) is kept
            after its last write; a finished job's chunk files are removed at once.
        housekeeping_interval: Seconds between a worker's result and job-folder expiry runs
            (also run at worker start; no celery beat needed).
    """

    soft_time_limit: float = 1800.0
    time_limit: float = 1860.0
    result_expires: int = 7 * 24 * 3600
    max_retries: int = 5
    retry_backoff_max: int = 60
    polling_interval: float = 0.1
    result_poll_interval: float = 0.05
    visibility_timeout: float = 3600.0
    sqlite_lease_timeout: float = 60.0
    restore_interval: float = 10.0
    queue_prefix: str = ""
    chunk_rows: int = 50_000
    jobs_dir: str | None = None
    jobs_retention: float = 7 * 24 * 3600
    housekeeping_interval: float = 3600.0

    def __post_init__(self) -> None:
        if self.time_limit <= self.soft_time_limit:
            raise WorkersError(
                f"[workers] time_limit ({self.time_limit}) must exceed soft_time_limit "
                f"({self.soft_time_limit})"
            )
        if self.housekeeping_interval <= 0:
            raise WorkersError(
                f"[workers] housekeeping_interval must be > 0, got {self.housekeeping_interval}"
            )
        if self.chunk_rows < 1:
            raise WorkersError(f"[workers] chunk_rows must be >= 1, got {self.chunk_rows}")

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> WorkerOptions:
        """Options from a ``[workers]`` table; unknown keys are an error naming the key."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise WorkersError(
                f"[workers] unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**dict(section))


class SuiteCelery(Celery):
    """A Celery app that carries the Settings and WorkerOptions it was built from."""

    settings: Settings
    options: WorkerOptions

    def queue_name(self, area: str) -> str:
        """The broker queue name of ``area`` (``fraud``, ``code``, ``train``)."""
        return f"{self.options.queue_prefix}{area}"

    def jobs_dir(self) -> Path:
        """Where job chunks and chunk results are written."""
        if self.options.jobs_dir:
            return Path(self.options.jobs_dir).expanduser()
        return self.settings.home / "jobs"


def _router(prefix: str) -> Any:
    """A Celery router sending ``moesuite.<area>.*`` to queue ``<prefix><area>``."""

    def route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> Any:
        for area, task_prefix in QUEUES.items():
            if name.startswith(task_prefix):
                return {"queue": f"{prefix}{area}"}
        return None

    return route


def create_app(settings: Settings, options: WorkerOptions | None = None) -> SuiteCelery:
    """Build the Celery app for ``settings``.

    Args:
        settings: The suite's settings (broker, result backend, home).
        options: Worker options; default: read from the settings file's ``[workers]`` table.

    Returns:
        The configured app; the tasks in ``workers.tasks`` are registered on it.
    """
    if options is None:
        options = WorkerOptions.from_section(settings.section("workers"))
    broker = settings.broker_url
    conf: dict[str, Any] = {}
    if is_sqla_sqlite(broker):
        prepare_sqlite_file(broker)
        # The URL prefix would win over broker_transport, so drop it and name the class.
        broker = broker[len("sqla+") :]
        conf["broker_transport"] = TRANSPORT_PATH
        conf["broker_transport_options"] = {
            POLL_OPTION: options.polling_interval,
            LEASE_OPTION: options.sqlite_lease_timeout,
            RESTORE_OPTION: options.restore_interval,
        }
    elif broker.startswith(("redis://", "rediss://")):
        conf["broker_transport_options"] = {
            "visibility_timeout": options.visibility_timeout,
            "unacked_restore_interval": options.restore_interval,
            "unacked_restore_throttle": 1,
        }
    if settings.result_backend.startswith("db+"):
        prepare_sqlite_file(settings.result_backend)
        conf["database_engine_options"] = {"connect_args": {"timeout": 30}}
        conf["database_short_lived_sessions"] = True

    app = SuiteCelery(
        "moesuite", broker=broker, backend=settings.result_backend, set_as_current=False
    )
    app.settings = settings
    app.options = options
    queues = [
        Queue(app.queue_name(a), Exchange(app.queue_name(a)), app.queue_name(a)) for a in QUEUES
    ]
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # Reliability: a task is acknowledged after it ran, and a task whose worker process died
        # goes back to the queue; one message in flight per process so a dead worker strands
        # at most one task.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=options.soft_time_limit,
        task_time_limit=options.time_limit,
        task_track_started=True,
        result_expires=options.result_expires,
        result_extended=True,
        broker_connection_retry_on_startup=True,
        task_queues=queues,
        # Chord bookkeeping (celery.chord_unlock on database backends) runs with the fraud jobs.
        task_default_queue=app.queue_name("fraud"),
        task_default_exchange=app.queue_name("fraud"),
        task_default_routing_key=app.queue_name("fraud"),
        task_routes=(_router(options.queue_prefix),),
        worker_hijack_root_logger=False,
        imports=("workers.tasks",),
        **conf,
    )
    # Expiry of results and job folders without celery beat.
    app.steps["worker"].add(Housekeeping)
    # Registers the shared tasks on this app too (they bind to every app).
    import workers.tasks  # noqa: F401

    return app


_APP: SuiteCelery | None = None


def __getattr__(name: str) -> Any:
    # ``celery -A workers.app`` reads ``app``; build it on first access, not at import.
    global _APP
    if name in ("app", "celery"):
        if _APP is None:
            _APP = create_app(load_settings())
        return _APP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run_worker(
    settings: Settings,
    queues: list[str],
    concurrency: int = 1,
    pool: str = "prefork",
    loglevel: str = "INFO",
    hostname: str | None = None,
) -> None:
    """Run a Celery worker on ``queues`` (area names) until it is stopped.

    Raises:
        WorkersError: A queue name is not one of the suite's areas.
    """
    unknown = [q for q in queues if q not in QUEUES]
    if unknown or not queues:
        raise WorkersError(
            f"unknown queue(s) {', '.join(unknown) or '(none)'}; known: {', '.join(QUEUES)}"
        )
    app = create_app(settings)
    # The solo pool sends worker_process_init without making the app current; the preloader
    # in workers.tasks looks the app up through current_app.
    app.set_current()
    app.set_default()
    argv = [
        "worker",
        f"--queues={','.join(app.queue_name(q) for q in queues)}",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--loglevel={loglevel}",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)
