"""Detection speed on 2 CPU cores, quiet and beside a CPU-bound job, against ruff and pylint on
the same files in the same run (issue 17, item 3).

"Loaded" starts ``python -c 'while True: pass'`` beside each measurement, as a CI runner or a
Celery worker shares its cores. The learned part runs with one thread (the default) and the
cheap gate (`codeassist.defects.gate`); "no cheap gate" sends every statement some candidate
edit applies to through the code model; "gate 0.1" is the first-pass gate (off by default);
"2 threads" is the thread count detect-defects used before (torch's default on 2 cores).
``--baseline-tree DIR`` also times the default learned row of another checkout (e.g. ``git
archive`` of the commit before) in a subprocess, in the same run on the same files.

    OMP_NUM_THREADS=1 .venv/bin/python bench/defects_speed.py --files 20
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeassist.defects.corpus import list_corpus  # noqa: E402
from codeassist.defects.detect import detect_source  # noqa: E402
from codeassist.defects.findings import DetectOptions  # noqa: E402

PYLINT_CHECKS = "E1101,E1120,E1121,E1123,E1124,W0631,W0106"
RUFF_RULES = "F,B,E9,PLE"


@contextlib.contextmanager
def _busy(loaded: bool):
    if not loaded:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        yield
    finally:
        spinner.kill()
        spinner.wait()


def _ours(files, options: DetectOptions) -> float:
    started = time.perf_counter()
    for f in files:
        detect_source(f.text, str(f.path), options)
    return time.perf_counter() - started


_BASELINE = """
import sys, time
from pathlib import Path
from codeassist.defects.detect import detect_source
from codeassist.defects.findings import DetectOptions
paths = sys.argv[1:]
detect_source(Path(paths[0]).read_text(encoding="utf-8"), "warm.py", DetectOptions())
started = time.perf_counter()
for p in paths:
    detect_source(Path(p).read_text(encoding="utf-8"), p, DetectOptions(semantic=False))
print(time.perf_counter() - started)
"""


def _baseline(tree: str, paths: list[str]) -> float:
    """Seconds the default static + learned rows of the checkout at `tree` take (models loaded
    and warmed untimed, in its own process)."""
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", _BASELINE, *paths], env=env, cwd=tree,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def _tool(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-ungated", action="store_true", help="skip the 2-thread baseline")
    parser.add_argument("--no-first-pass-gate", action="store_true", help="skip gate 0.1")
    parser.add_argument("--baseline-tree", default=None, help="another checkout to time")
    args = parser.parse_args()
    files = list_corpus("eval", max_files=args.files, seed=args.seed)
    lines = sum(f.text.count("\n") + 1 for f in files)
    print(f"command: {' '.join(sys.argv)}")
    print(f"{len(files)} held-out files, {lines:,} lines; load average before: {os.getloadavg()}")
    engines = [
        ("ours: static (ruff subprocess per file)", DetectOptions(semantic=False, learned=False)),
        ("ours: static + semantic", DetectOptions(learned=False)),
        (
            "ours: static + learned (1 thread, cheap gate: the default)",
            DetectOptions(semantic=False),
        ),
        (
            "ours: static + learned, no cheap gate",
            DetectOptions(semantic=False, cheap_gate=False),
        ),
    ]
    if not args.no_first_pass_gate:
        engines.append(
            ("ours: static + learned, gate 0.1", DetectOptions(semantic=False, gate=0.1))
        )
    if not args.no_ungated:
        engines.append(
            (
                "ours: static + learned, 2 threads (as before)",
                DetectOptions(semantic=False, threads=2),
            )
        )
    detect_source(files[0].text, "warm.py", DetectOptions())  # load the models untimed
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, f in enumerate(files):
            path = Path(tmp) / f"f{i}_{f.path.name}"
            path.write_text(f.text, encoding="utf-8")
            paths.append(str(path))
        tools = [
            ("ruff " + RUFF_RULES, [sys.executable, "-m", "ruff", "check", "--isolated",
                                    "--no-cache", "--select", RUFF_RULES, *paths]),
            (f"pylint {PYLINT_CHECKS}", [sys.executable, "-m", "pylint", "--disable=all",
                                         f"--enable={PYLINT_CHECKS}", "--jobs=1", *paths]),
        ]  # fmt: skip
        print("\n| engine | quiet s | quiet lines/s | loaded s | loaded lines/s | slowdown |")
        print("|---|---|---|---|---|---|")
        for name, command in tools:
            quiet = _tool(command)
            with _busy(True):
                loaded = _tool(command)
            print(f"| {name} | {quiet:.2f} | {lines / quiet:,.0f} | {loaded:.2f} | "
                  f"{lines / loaded:,.0f} | {loaded / quiet:.2f}x |")  # fmt: skip
        for name, options in engines:
            quiet = _ours(files, options)
            with _busy(True):
                loaded = _ours(files, options)
            print(f"| {name} | {quiet:.2f} | {lines / quiet:,.0f} | {loaded:.2f} | "
                  f"{lines / loaded:,.0f} | {loaded / quiet:.2f}x |")  # fmt: skip
        if args.baseline_tree:
            quiet = _baseline(args.baseline_tree, paths)
            with _busy(True):
                loaded = _baseline(args.baseline_tree, paths)
            print(f"| baseline tree {args.baseline_tree}: static + learned | {quiet:.2f} | "
                  f"{lines / quiet:,.0f} | {loaded:.2f} | {lines / loaded:,.0f} | "
                  f"{loaded / quiet:.2f}x |")  # fmt: skip
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
