"""Training beside a busy process: wall and CPU time of `train-fraud`, quiet vs one CPU hog.

    python bench/fraud_contention.py --rows 200000

Writes a simulated file, then runs `train-fraud` (a fresh process each time) with the
libraries' default thread pools (baseline) and with ``--threads 1`` (ours), first alone and
then beside one ``python -c 'while True: pass'``, and prints wall and CPU seconds, the busy /
quiet ratio and whether the bundle is the same. Behavioural features unless ``--sequence``;
``--passive`` adds OMP_WAIT_POLICY=PASSIVE (set before the libraries load) as a third variant.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEQUENCE = False


def _train(file: Path, out: Path, home: Path, threads: str | None, env_extra: dict) -> dict:
    cmd = [
        sys.executable,
        str(ROOT / "cli.py"),
        "train-fraud",
        str(file),
        "-o",
        str(out),
        "--until",
        "2026-03-31",
        "--quiet",
    ]
    if threads is not None:
        cmd += ["--threads", threads]
    env = {**os.environ, "MOESUITE_HOME": str(home), "PYTHONPATH": str(ROOT), **env_extra}
    env.pop("OMP_NUM_THREADS", None)  # the point is the libraries' own pools
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    version = json.loads((out / "bundle.json").read_text())["version"]
    return {"wall": wall, "cpu": cpu, "version": version}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--sequence", action="store_true", help="Also pretrain record models.")
    parser.add_argument("--passive", action="store_true", help="Also OMP_WAIT_POLICY=PASSIVE.")
    args = parser.parse_args()
    global SEQUENCE
    SEQUENCE = args.sequence
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        file = tmp_path / "tx.parquet"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "cli.py"),
                "simulate-transactions",
                "-o",
                str(file),
                "--rows",
                str(args.rows),
                "--customers",
                str(args.rows // 40),
                "--days",
                "90",
                "--seed",
                "3",
            ],
            env={**os.environ, "MOESUITE_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
            check=True,
            capture_output=True,
        )
        variants = {
            "default thread pools (baseline)": ("0", {}),
            "--threads 1 (ours)": ("1", {}),
        }
        if args.passive:
            variants["OMP_WAIT_POLICY=PASSIVE, default pools"] = (
                "0",
                {"OMP_WAIT_POLICY": "PASSIVE"},
            )
        rows = []
        for name, (threads, env) in variants.items():
            res = {}
            for busy in (False, True):
                hog = None
                if busy:
                    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                try:
                    out = tmp_path / f"b-{len(rows)}-{busy}"
                    res[busy] = _train(file, out, tmp_path, threads, env)
                finally:
                    if hog is not None:
                        hog.kill()
                        hog.wait()
            rows.append((name, res))
        load = os.getloadavg()
        print(
            f"train-fraud, {args.rows:,} simulated rows; load average {load[0]:.1f} "
            f"(other sessions' jobs included)\n"
        )
        print(
            "| threads | quiet wall / CPU s | beside a busy process wall / CPU s | wall ratio "
            "| same bundle |"
        )
        print("|---|---|---|---|---|")
        for name, res in rows:
            q, b = res[False], res[True]
            print(
                f"| {name} | {q['wall']:.1f} / {q['cpu']:.1f} | {b['wall']:.1f} / "
                f"{b['cpu']:.1f} | {b['wall'] / q['wall']:.2f}x | "
                f"{'yes' if q['version'] == b['version'] else 'no'} ({q['version']}) |"
            )


if __name__ == "__main__":
    main()
