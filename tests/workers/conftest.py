"""Real Celery workers for the workers tests: one stack (home, settings, workers) per broker.

Workers are ``cli.py worker`` subprocesses in their own process groups (killed in teardown).
Each stack uses fresh SQLite files, a fresh Redis database or unique queue names, so runs never
see each other's messages.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from moesuite.settings import Settings, load_settings
from workers.client import JobClient

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0  # worker start under a loaded 2-core machine


def _server_url(request: pytest.FixtureRequest, kind: str) -> str:
    # The suite's gating (skip locally, fail under CI) lives in tests/conftest.py's server_url;
    # its fixtures are function-scoped, so call the helper from the registered conftest module.
    for plugin in request.config.pluginmanager.get_plugins():
        helper = getattr(plugin, "server_url", None)
        if callable(helper) and getattr(plugin, "SERVERS", None):
            return helper(kind)
    raise RuntimeError("tests/conftest.py server_url not found")


@dataclass
class Worker:
    """One worker subprocess and its log."""

    name: str
    process: subprocess.Popen
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def child_pids(self) -> list[int]:
        """Pids of the prefork pool processes (children of the worker's main process)."""
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        )
        return [int(p) for p in out.stdout.split()]

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)

    def received(self, task_id: str) -> int:
        return len(re.findall(rf"\[{re.escape(task_id)}\] received", self.text()))


@dataclass
class Stack:
    """A broker/backend pair with its settings, a client and the workers started on it."""

    kind: str
    settings: Settings
    home: Path
    client: JobClient
    workers: list[Worker] = field(default_factory=list)

    def start_worker(self, name: str, queues: str = "fraud,code,train") -> Worker:
        log = self.home / f"worker-{name}.log"
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        env["MOESUITE_HOME"] = str(self.home)
        env["MOESUITE_BROKER_URL"] = self.settings.broker_url
        env["MOESUITE_RESULT_BACKEND"] = self.settings.result_backend
        env["MOESUITE_DATABASE_URL"] = self.settings.database_url
        command = [
            sys.executable,
            str(ROOT / "cli.py"),
            "worker",
            "--queues",
            queues,
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--hostname",
            # unique per run: RabbitMQ keeps a node's pidbox queue exclusive to one connection
            f"{name}-{os.getpid()}-{uuid.uuid4().hex[:6]}@%h",
        ]
        with log.open("wb") as fh:
            process = subprocess.Popen(
                command,
                cwd=self.home,
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(name, process, log)
        self.workers.append(worker)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "ready." not in worker.text():
            if process.poll() is not None or time.monotonic() > deadline:
                worker.kill()
                raise RuntimeError(f"worker {name} did not start:\n{worker.text()[-3000:]}")
            time.sleep(0.1)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.client.close()


def _urls(request: pytest.FixtureRequest, kind: str, home: Path) -> tuple[str, str]:
    if kind == "sqlite":
        return f"sqla+sqlite:///{home / 'broker.db'}", f"db+sqlite:///{home / 'results.db'}"
    if kind == "redis":
        base = _server_url(request, "redis").rsplit("/", 1)[0]
        # A database of its own per run (Redis has 16 by default; 0 is left to other tests).
        db = 1 + uuid.uuid4().int % 15
        return f"{base}/{db}", f"{base}/{db}"
    if kind == "rabbitmq":
        return _server_url(request, "rabbitmq"), f"db+sqlite:///{home / 'results.db'}"
    raise ValueError(kind)


def make_stack(
    request: pytest.FixtureRequest,
    kind: str,
    home: Path,
    workers_table: str = "",
    visibility_timeout: float = 6.0,
    time_limits: tuple[float, float] = (60.0, 90.0),
) -> Stack:
    broker, backend = _urls(request, kind, home)
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    # Small visibility timeout and lease: a killed worker's task comes back within seconds.
    (home / "moesuite.toml").write_text(
        "[workers]\n"
        f'queue_prefix = "{prefix}"\n'
        f"visibility_timeout = {visibility_timeout}\nsqlite_lease_timeout = 3.0\n"
        "restore_interval = 1.0\n"
        f"soft_time_limit = {time_limits[0]}\ntime_limit = {time_limits[1]}\n"
        "result_expires = 600\n" + workers_table,
        encoding="utf-8",
    )
    settings = load_settings(
        overrides={
            "home": home,
            "broker_url": broker,
            "result_backend": backend,
            "database_url": f"sqlite:///{home / 'review.db'}",
        },
        env={"MOESUITE_HOME": str(home)},
    )
    return Stack(kind, settings, home, JobClient(settings))


@pytest.fixture(scope="module", params=["sqlite", "redis", "rabbitmq"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One running worker (prefork, concurrency 1) per broker, shared by a test module."""
    home = tmp_path_factory.mktemp(f"stack-{request.param}")
    built = make_stack(request, request.param, home)
    try:
        built.start_worker("w1", getattr(request.module, "WORKER_QUEUES", "fraud,code,train"))
        yield built
    finally:
        built.stop()


@pytest.fixture
def stack_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Stack]]:
    """Build extra stacks (no worker started) for one test; their workers die in teardown."""
    made: list[Stack] = []

    def build(
        kind: str,
        workers_table: str = "",
        visibility_timeout: float = 6.0,
        time_limits: tuple[float, float] = (60.0, 90.0),
    ) -> Stack:
        home = tmp_path_factory.mktemp(f"extra-{kind}")
        built = make_stack(request, kind, home, workers_table, visibility_timeout, time_limits)
        made.append(built)
        return built

    yield build
    for built in made:
        built.stop()
