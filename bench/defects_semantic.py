"""Semantic engine on clean code it was never designed on: findings per 1,000 lines, against
pylint's checkers for the same bugs and ruff's bug rules, on the same files in the same run.

Files are the HEAD versions of public repositories' non-test modules, read from local git mirrors
(``git show``; their text is other people's code and never enters this repository). Findings are
listed with ``--list`` for a person to judge; on clean released code each one is presumed a false
alarm until read.

    OMP_NUM_THREADS=1 .venv/bin/python bench/defects_semantic.py --mirrors /work/.mirror \
        --per-repo 40 --seed 0 [--list]
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeassist.defects.semantic import check_semantic  # noqa: E402
from codeassist.defects.static import STATIC_THRESHOLD  # noqa: E402

# pylint's checkers for the bugs the semantic engine looks for.
PYLINT_CHECKS = "E1101,E1120,E1121,E1123,E1124,W0631,W0106,E0203"
RUFF_RULES = "F,B,E9,PLE"
_TEST_PARTS = {"test", "tests", "testing", "docs", "doc", "examples", "benchmarks", "scripts"}


def repo_files(repo: Path, per_repo: int, rng: random.Random) -> list[tuple[str, str]]:
    names = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    names = [
        n
        for n in names
        if n.endswith(".py")
        and not _TEST_PARTS & set(Path(n).parts[:-1])
        and not Path(n).name.startswith(("test_", "conftest"))
    ]
    rng.shuffle(names)
    out = []
    for name in names:
        if len(out) == per_repo:
            break
        shown = subprocess.run(
            ["git", "-C", str(repo), "show", f"HEAD:{name}"], capture_output=True, check=False
        )
        if shown.returncode != 0:
            continue  # a file the snapshot lists but does not hold (its largest files)
        text = shown.stdout.decode("utf-8", errors="replace")
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        if 20 <= text.count("\n") <= 5000:
            out.append((name, text))
    return out


def _timed_subprocess(command: list[str]) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.stdout, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--repos", nargs="*", default=None, help="owner+name folders [all]")
    parser.add_argument("--per-repo", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--list", action="store_true", help="print every finding")
    parser.add_argument("--skip-pylint", action="store_true", help="pylint is slow under load")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    repos = sorted(
        p for p in args.mirrors.iterdir() if (p / "repo").is_dir() and p.name != "fetch.sh"
    )
    if args.repos:
        repos = [r for r in repos if r.name in args.repos]
    print(f"command: {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        files: list[Path] = []
        texts: dict[Path, str] = {}
        for repo in repos:
            for name, text in repo_files(repo / "repo", args.per_repo, rng):
                path = Path(tmp) / repo.name / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                files.append(path)
                texts[path] = text
        lines = sum(t.count("\n") + 1 for t in texts.values())
        started = time.perf_counter()
        ours = [f for p in files for f in check_semantic(texts[p], str(p.relative_to(tmp)))]
        ours_s = time.perf_counter() - started
        shown = [f for f in ours if f.confidence >= STATIC_THRESHOLD]
        pylint_out, pylint_s = "[]", float("nan")
        if not args.skip_pylint:
            pylint_out, pylint_s = _timed_subprocess(
                [sys.executable, "-m", "pylint", "--disable=all", f"--enable={PYLINT_CHECKS}",
                 "--output-format=json", "--score=n", "--jobs=1", *map(str, files)]
            )  # fmt: skip
        pylint = [m for m in json.loads(pylint_out or "[]") if m["type"] != "info"]
        ruff_out, ruff_s = _timed_subprocess(
            [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache",
             "--output-format", "json", "--select", RUFF_RULES, *map(str, files)]
        )  # fmt: skip
        ruff = json.loads(ruff_out or "[]")
    print(f"{len(files)} files of {len(repos)} repositories, {lines:,} lines\n")
    print("| tool | findings | per 1,000 lines | seconds | lines/s |")
    print("|---|---|---|---|---|")
    for name, count, seconds in (
        ("semantic engine, shown (confidence >= 0.75)", len(shown), ours_s),
        ("semantic engine, all (--min-confidence 0)", len(ours), ours_s),
        (f"pylint {PYLINT_CHECKS}", len(pylint), pylint_s),
        (f"ruff --select {RUFF_RULES}", len(ruff), ruff_s),
    ):
        print(f"| {name} | {count} | {1000 * count / lines:.2f} | {seconds:.1f} | "
              f"{lines / seconds:,.0f} |")  # fmt: skip
    print("\nsemantic by rule (shown/all):", end=" ")
    every = Counter(f.rule_id for f in ours)
    print(", ".join(f"{r} {sum(f.rule_id == r for f in shown)}/{n}" for r, n in every.items()))
    print("pylint by check:", dict(Counter(m["symbol"] for m in pylint)))
    if args.list:
        for f in ours:
            print(f"ours {f.path}:{f.line}: {f.rule_id} {f.confidence} {f.message} fix={f.fix}")
        for m in pylint:
            print(f"pylint {m['path']}:{m['line']}: {m['symbol']} {m['message']}")


if __name__ == "__main__":
    main()
