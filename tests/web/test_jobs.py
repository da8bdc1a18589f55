"""Jobs API with a real Celery worker (SQLite broker): upload, status, result, cancel, limits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fraud.review.db import dispose_engines
from moesuite.web.config import WebOptions
from tests.web.support import Web, build_web

ROOT = Path(__file__).resolve().parents[2]
UGLY = b"x=1\nif x==1 :\n  print( x )\n"


@pytest.fixture(scope="module")
def jobs_web(tmp_path_factory) -> Iterator[Web]:
    home = tmp_path_factory.mktemp("jobs") / "home"
    home.mkdir()
    (home / "moesuite.toml").write_text(
        f'[workers]\nqueue_prefix = "w{uuid.uuid4().hex[:8]}-"\n', encoding="utf-8"
    )
    web = build_web(
        home, f"sqlite:///{home / 'suite.db'}", options=WebOptions(max_upload_bytes=4_000)
    )
    log = home / "worker.log"
    env = dict(os.environ, MOESUITE_HOME=str(home), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("MOESUITE_DATABASE_URL", None)
    with log.open("wb") as fh:
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "worker", "--queues", "code",
             "--concurrency", "1", "--pool", "solo",
             "--hostname", f"web-{uuid.uuid4().hex[:6]}@%h"],
            cwd=home, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "ready." not in log.read_text(errors="replace"):
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield web
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        web.app.state.web.close()
        dispose_engines()


def _wait_done(web: Web, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while True:
        status = web.client.get(f"/v1/jobs/{job_id}", headers=web.auth("jobs")).json()
        if status["state"] in ("SUCCESS", "FAILURE", "REVOKED") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


@pytest.mark.slow
def test_refactor_job_runs_on_a_worker_and_returns_its_result(jobs_web):
    submitted = jobs_web.client.post(
        "/v1/jobs/refactor?format=py", headers=jobs_web.auth("jobs"), content=UGLY
    )
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert job["kind"] == "refactor" and job["status_url"] == f"/v1/jobs/{job['id']}"
    assert _wait_done(jobs_web, job["id"])["state"] == "SUCCESS"
    result = jobs_web.client.get(
        f"/v1/jobs/{job['id']}/result?wait=5", headers=jobs_web.auth("jobs")
    ).json()["result"]
    output = Path(result["output"])
    assert output.read_text() == "x = 1\nif x == 1:\n    print(x)\n"
    assert output.is_relative_to(jobs_web.home / "web-jobs")
    finished = jobs_web.client.post(f"/v1/jobs/{job['id']}/cancel", headers=jobs_web.auth("jobs"))
    assert finished.status_code == 409 and "already finished" in finished.json()["error"]["message"]
    metrics = jobs_web.client.get("/metrics", headers=jobs_web.auth("admin")).text
    assert 'moesuite_jobs_submitted_total{kind="refactor"} 1.0' in metrics


@pytest.mark.slow
def test_cancelled_job_never_runs_and_its_result_says_so(jobs_web):
    # Score jobs go to the fraud queue, which this worker does not consume: it stays queued.
    job = jobs_web.client.post(
        "/v1/jobs/score?format=csv", headers=jobs_web.auth("jobs"),
        content=b"transaction_id,timestamp,customer_id,amount\nt1,2026-03-01,c1,10\n",
    ).json()  # fmt: skip
    cancelled = jobs_web.client.post(f"/v1/jobs/{job['id']}/cancel", headers=jobs_web.auth("jobs"))
    assert cancelled.json()["state"] == "REVOKED"
    answer = jobs_web.client.get(f"/v1/jobs/{job['id']}/result", headers=jobs_web.auth("jobs"))
    assert answer.status_code == 409 and "cancelled" in answer.json()["error"]["message"]


def test_uploads_over_the_limit_are_refused_and_leave_nothing(jobs_web):
    before = set((jobs_web.home / "web-jobs").glob("*"))
    answer = jobs_web.client.post(
        "/v1/jobs/detect?format=py", headers=jobs_web.auth("jobs"), content=b"x = 1\n" * 2_000
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "request_too_large"
    assert set((jobs_web.home / "web-jobs").glob("*")) == before
    wrong = jobs_web.client.post(
        "/v1/jobs/detect?format=csv", headers=jobs_web.auth("jobs"), content=b"x = 1\n"
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "bad_format"
