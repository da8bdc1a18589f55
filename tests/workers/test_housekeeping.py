"""Result and job-folder expiry without celery beat: the functions, and a real worker's timer."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from moesuite.settings import load_settings
from workers.app import WorkerOptions, create_app
from workers.housekeeping import expire_job_dirs, expire_results

DAY = 24 * 3600.0


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    for entry in [path, *path.iterdir()]:
        os.utime(entry, (then, then))


def _job_dir(root: Path, name: str, age_s: float) -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "chunk-00000.parquet").write_bytes(b"x")
    _age(directory, age_s)
    return directory


def test_expire_job_dirs_removes_only_folders_untouched_past_retention(tmp_path: Path) -> None:
    old = _job_dir(tmp_path, "old", 2 * DAY)
    fresh = _job_dir(tmp_path, "fresh", 60)
    # An old folder with one fresh file is a running job: kept.
    running = _job_dir(tmp_path, "running", 2 * DAY)
    (running / "chunk-00001.json").write_text("{}", encoding="utf-8")
    removed = expire_job_dirs(tmp_path, retention_s=DAY)
    assert removed == [old]
    assert not old.exists() and fresh.exists() and running.exists()
    assert expire_job_dirs(tmp_path / "missing", retention_s=DAY) == []


def _stale_result(results_db: Path, task_id: str, age_s: float) -> None:
    with sqlite3.connect(results_db) as conn:
        conn.execute(
            "UPDATE celery_taskmeta SET date_done = datetime('now', ?) WHERE task_id = ?",
            (f"-{int(age_s)} seconds", task_id),
        )


def test_expire_results_cleans_the_database_backend(tmp_path: Path) -> None:
    settings = load_settings(overrides={"home": tmp_path}, env={})
    app = create_app(settings, WorkerOptions(result_expires=3600))
    backend = app.backend
    backend.store_result("old-task", {"n": 1}, "SUCCESS")
    backend.store_result("new-task", {"n": 2}, "SUCCESS")
    _stale_result(Path(settings.result_backend.split("sqlite:///", 1)[1]), "old-task", 7200)
    assert expire_results(app) is True
    assert backend.get_task_meta("old-task")["status"] == "PENDING"
    assert backend.get_task_meta("new-task")["status"] == "SUCCESS"


def test_expire_results_leaves_self_expiring_backends_alone(tmp_path: Path) -> None:
    settings = load_settings(
        overrides={"home": tmp_path, "result_backend": "redis://127.0.0.1:6379/3"}, env={}
    )
    app = create_app(settings)
    assert app.backend.supports_autoexpire
    assert expire_results(app) is False


def test_worker_expires_results_and_job_folders_without_beat(stack_factory) -> None:
    stack = stack_factory("sqlite", "housekeeping_interval = 0.5\njobs_retention = 3600.0\n")
    backend = stack.client.app.backend
    backend.store_result("stale-task", {"n": 1}, "SUCCESS")
    backend.store_result("recent-task", {"n": 2}, "SUCCESS")
    _stale_result(stack.home / "results.db", "stale-task", 2 * DAY)
    jobs = stack.client.app.jobs_dir()
    stale = _job_dir(jobs, "stale-job", 2 * 3600)
    fresh = _job_dir(jobs, "fresh-job", 60)
    stack.start_worker("h1", "fraud")
    # At start ...
    deadline = time.monotonic() + 30
    while stale.exists() or backend.get_task_meta("stale-task")["status"] != "PENDING":
        assert time.monotonic() < deadline, "worker did not expire at start"
        time.sleep(0.1)
    assert fresh.exists()
    assert backend.get_task_meta("recent-task")["status"] == "SUCCESS"
    # ... and on its timer, while it runs.
    later = _job_dir(jobs, "later-job", 2 * 3600)
    deadline = time.monotonic() + 30
    while later.exists():
        assert time.monotonic() < deadline, "worker's timer did not expire the folder"
        time.sleep(0.1)
    assert fresh.exists()
