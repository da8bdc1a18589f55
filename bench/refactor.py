"""Benchmark `moesuite refactor --style pep8` against autopep8 and ruff format on the stdlib.

Every tool works on its own temporary copy of the files (the stdlib is never modified), run
the way its users run it: ``moesuite refactor --write`` (all cores, like ruff and black),
``autopep8 --aggressive --in-place`` (one process, its default, and ``--jobs N``) and
``ruff format``. Then each copy is scored the same way: files broken (does not parse, or the
syntax tree changed beyond the gate's named rewrites) and pycodestyle violations left.

Usage: OMP_NUM_THREADS=1 .venv/bin/python bench/refactor.py --files 0   # the whole stdlib
"""

from __future__ import annotations

import argparse
import ast
import collections
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from codeassist.config import DiscoveryOptions, RefactorOptions  # noqa: E402
from codeassist.refactor_files import refactor_paths  # noqa: E402
from codeassist.verify import check_equivalent, pycodestyle_violations  # noqa: E402


def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


def _load(files: list[Path]) -> list[str]:
    sources = []
    for p in files:
        try:
            text = p.read_text(encoding="utf-8")
            ast.parse(text)  # unparsable files (py2 test data) are no input for any tool
            sources.append(text)
        except (UnicodeDecodeError, OSError, SyntaxError, ValueError):
            continue
    return sources


def _copy(sources: list[str], root: Path) -> list[Path]:
    root.mkdir()
    paths = []
    for i, src in enumerate(sources):
        p = root / f"f{i:05d}.py"
        p.write_bytes(src.encode("utf-8"))
        paths.append(p)
    return paths


def _score_one(pair: tuple[str, str]) -> tuple[bool, collections.Counter]:
    src, out = pair
    broken = not check_equivalent(src, out).equal
    return broken, collections.Counter(v.code for v in pycodestyle_violations(out, 79))


def _score(sources: list[str], paths: list[Path], jobs: int) -> tuple[int, collections.Counter]:
    outs = [p.read_bytes().decode("utf-8") for p in paths]
    with ProcessPoolExecutor(jobs) as pool:
        scored = list(pool.map(_score_one, zip(sources, outs, strict=True), chunksize=8))
    codes: collections.Counter = collections.Counter()
    for _, c in scored:
        codes.update(c)
    return sum(b for b, _ in scored), codes


def _bin(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200, help="seeded sample size (0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    files = _stdlib_files()
    if args.files and args.files < len(files):
        files = random.Random(args.seed).sample(files, args.files)
    sources = _load(files)
    n = len(sources)
    rows = []
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        ours = _copy(sources, Path(tmp) / "ours")
        t0 = time.perf_counter()
        report = refactor_paths(
            [ours[0].parent],
            RefactorOptions(style="pep8"),
            DiscoveryOptions(respect_gitignore=False),
            mode="write",
            jobs=args.jobs,
            progress=False,
        )
        elapsed = time.perf_counter() - t0
        broken, codes = _score(sources, ours, args.jobs)
        rows.append((f"moesuite refactor --write (jobs={args.jobs})", elapsed, broken, codes))
        status = collections.Counter(o.status for o in report.outcomes)
        noqa = collections.Counter(code for o in report.outcomes for _, code in o.annotated)
        renames = sum(
            n for o in report.outcomes for name, n in o.rewrites if name == "ambiguous-local-rename"
        )
        naming = sum(len(o.naming) for o in report.outcomes)
        failed = [o for o in report.outcomes if o.status == "failed"]
        notes.append(f"moesuite statuses: {dict(status)}")
        notes.append(f"'# noqa' added (no behaviour-preserving fix): {dict(noqa)}")
        notes.append(f"ambiguous locals renamed (E741): {renames} functions")
        notes.append(f"pep8-naming findings reported (not fixed): {naming}")
        for o in failed[:12]:
            notes.append(f"  left untouched: {o.reason[:150]}")

        for jobs in (1, args.jobs):
            paths = _copy(sources, Path(tmp) / f"autopep8-{jobs}")
            t0 = time.perf_counter()
            subprocess.run(
                [_bin("autopep8"), "--aggressive", "--in-place", "--jobs", str(jobs), "-r"]
                + [str(paths[0].parent)],
                capture_output=True,
                check=False,
            )
            elapsed = time.perf_counter() - t0
            broken, codes = _score(sources, paths, args.jobs)
            rows.append((f"autopep8 --aggressive (jobs={jobs})", elapsed, broken, codes))

        paths = _copy(sources, Path(tmp) / "ruff")
        t0 = time.perf_counter()
        subprocess.run(
            [_bin("ruff"), "format", "--isolated", "--line-length", "79", "--no-cache"]
            + [str(paths[0].parent)],
            capture_output=True,
            check=False,
        )
        elapsed = time.perf_counter() - t0
        broken, codes = _score(sources, paths, args.jobs)
        rows.append(("ruff format", elapsed, broken, codes))

    print("command: OMP_NUM_THREADS=1 " + " ".join([sys.executable, *sys.argv]))
    print(f"files: {n} that parse ({'whole stdlib' if not args.files else f'seed {args.seed}'})")
    baseline = rows[1][1]
    print("\n| tool | seconds | files/s | vs autopep8 (jobs=1) | broken | violations left |")
    print("|---|---|---|---|---|---|")
    for name, t, b, codes in rows:
        top = ", ".join(f"{c} {k}" for c, k in codes.most_common(4))
        total = sum(codes.values())
        print(
            f"| {name} | {t:.1f} | {n / t:.1f} | {baseline / t:.1f}x | {b} | "
            f"{total}{f' ({top})' if total else ''} |"
        )
    print()
    for line in notes:
        print(line)


if __name__ == "__main__":
    main()
