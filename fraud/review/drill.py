"""Concurrency drill: N analyst processes (spawned) claim and decide until the queue is empty.

Used by the concurrency tests and bench/review.py to show that every case is claimed exactly once
under real process-level contention. Each process returns the case ids it claimed.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from dataclasses import dataclass

from fraud.review.db import dispose_engines, get_engine
from fraud.review.queue import claim_next, decide


@dataclass(frozen=True)
class DrillResult:
    """Case ids each analyst claimed (in order) and the drill's wall time after the barrier."""

    claims: dict[str, list[int]]
    seconds: float

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.claims.values())


def _analyst(url: str, name: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    engine = get_engine(url)
    claimed: list[int] = []
    barrier.wait(timeout=120)
    start = time.perf_counter()
    while (case := claim_next(engine, name)) is not None:
        claimed.append(case.id)
        # A fixed, checkable rule: every third case is fraud.
        decide(engine, case.id, name, "fraud" if case.id % 3 == 0 else "legit")
    results.put((name, claimed, time.perf_counter() - start))
    dispose_engines()


def run_drill(url: str, analysts: int) -> DrillResult:
    """Run ``analysts`` spawned processes against the queue at ``url`` until it is empty.

    Raises:
        RuntimeError: A process failed or did not report.
    """
    context = mp.get_context("spawn")
    barrier = context.Barrier(analysts)
    results = context.Queue()
    names = [f"analyst-{i}" for i in range(analysts)]
    processes = [
        context.Process(target=_analyst, args=(url, name, barrier, results)) for name in names
    ]
    for process in processes:
        process.start()
    claims: dict[str, list[int]] = {}
    seconds = 0.0
    try:
        deadline = time.monotonic() + 300
        while len(claims) < analysts:
            try:
                name, claimed, elapsed = results.get(timeout=1.0)
            except queue.Empty:
                dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"analyst processes failed (exit codes {dead})") from None
                continue
            claims[name] = claimed
            seconds = max(seconds, elapsed)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"analyst processes exited with {failed}")
    return DrillResult(claims=claims, seconds=seconds)
