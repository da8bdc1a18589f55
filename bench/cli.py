"""CLI start-up: wall time of everyday commands against `python -c pass`, in one run.

    python bench/cli.py [--repeat 7] [--before DIR]

Each command runs in a fresh interpreter (as a shell, a pre-commit hook or a completion does);
the table shows the best of N runs (the least disturbed by other load), the median and the CPU
time (user + system, which other load disturbs less than wall time), with the load average before
and after. Baselines from the same run: `python -c pass` (the floor) and
`--help` with every command module imported up front (the start-up before the lazy group).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOALS = {"--help": 0.25, "review": 0.5, "refactor": 0.5}

_EAGER = (
    "import sys; import moesuite.cli as c; "
    "[c.cli.get_command(None, n) for n in c.COMMANDS]; "
    "sys.argv = ['moesuite', '--help']; c.main()"
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(
    argv: list[str], env: dict[str, str], repeat: int, cwd: str
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (user + system) of each run; CPU time is less distorted by other
    load on the machine than wall time."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, start = _cpu(), time.perf_counter()
        subprocess.run(
            argv,
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--before", type=Path, help="An earlier checkout to time the same way.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(REPO), "MOESUITE_HOME": tmp}
        one_file = Path(tmp) / "one_file.py"
        one_file.write_text("def f(a, b):\n    return a + b\n")
        cli = [sys.executable, "-m", "moesuite.cli"]
        # Create the review schema first: every later review command finds it current.
        # cwd is the temporary directory: `python -m` puts the cwd first on sys.path, which
        # would shadow PYTHONPATH (and make --before time this checkout).
        subprocess.run([*cli, "db", "upgrade"], env=env, cwd=tmp, check=True, capture_output=True)
        commands = [
            ("moesuite --help", ["--help"], GOALS["--help"]),
            ("moesuite review stats", ["review", "stats"], GOALS["review"]),
            ("moesuite review list --limit 1", ["review", "list", "--limit", "1"], GOALS["review"]),
            (
                "moesuite refactor --style pep8 --check one_file.py",
                ["refactor", "--style", "pep8", "--check", str(one_file)],
                GOALS["refactor"],
            ),
        ]
        rows = [
            ("python -c pass", [sys.executable, "-c", "pass"], env, None),
            (
                "moesuite --help, all command modules imported",
                [sys.executable, "-c", _EAGER],
                env,
                None,
            ),
        ]
        for label, argv, goal in commands:
            rows.append((label, [*cli, *argv], env, goal))
            if args.before is not None:
                before_env = {**env, "PYTHONPATH": str(args.before.resolve())}
                rows.append((f"{label} (before)", [*cli, *argv], before_env, None))
        load_before = os.getloadavg()
        results = [
            (label, _time(argv, run_env, args.repeat, tmp), goal)
            for label, argv, run_env, goal in rows
        ]
        load_after = os.getloadavg()

    before = f" --before {args.before}" if args.before else ""
    print(f"command: python bench/cli.py --repeat {args.repeat}{before}")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    print()
    print(
        f"| command | wall, best of {args.repeat} (s) | wall, median (s) | CPU, best (s) "
        "| goal, wall (s) |"
    )
    print("|---|---|---|---|---|")
    for label, (walls, cpus), goal in results:
        goal_text = f"<= {goal}" if goal else "-"
        print(
            f"| `{label}` | {min(walls):.3f} | {statistics.median(walls):.3f} | "
            f"{min(cpus):.3f} | {goal_text} |"
        )


if __name__ == "__main__":
    main()
