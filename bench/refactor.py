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
import io
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import tokenize
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from codeassist.config import DiscoveryOptions, RefactorOptions  # noqa: E402
from codeassist.refactor.files import refactor_paths  # noqa: E402
from codeassist.refactor.verify import check_equivalent, pycodestyle_violations  # noqa: E402


def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


def _decode(raw: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    return raw.decode(encoding)


def _load(files: list[Path]) -> list[bytes]:
    """The files as they are on disk, those that CPython compiles: parsing the bytes honours
    the coding cookie, so py2 test data and files with a bogus cookie are no input for any
    tool, while latin-1 files are."""
    sources = []
    for p in files:
        try:
            raw = p.read_bytes()
            ast.parse(raw)
            _decode(raw)
            sources.append(raw)
        except (UnicodeDecodeError, OSError, SyntaxError, ValueError, LookupError):
            continue
    return sources


def _copy(sources: list[bytes], root: Path) -> list[Path]:
    root.mkdir()
    paths = []
    for i, raw in enumerate(sources):
        p = root / f"f{i:05d}.py"
        p.write_bytes(raw)
        paths.append(p)
    return paths


def _score_one(pair: tuple[str, str | None]) -> tuple[bool, collections.Counter]:
    src, out = pair
    if out is None:  # the tool wrote bytes its own coding cookie does not decode
        return True, collections.Counter()
    broken = not check_equivalent(src, out).equal
    return broken, collections.Counter(v.code for v in pycodestyle_violations(out, 79))


def _score(sources: list[bytes], paths: list[Path], jobs: int) -> tuple[int, collections.Counter]:
    texts = [_decode(raw) for raw in sources]
    outs = []
    for p in paths:
        try:
            outs.append(_decode(p.read_bytes()))
        except (UnicodeDecodeError, SyntaxError, LookupError):
            outs.append(None)
    with ProcessPoolExecutor(jobs) as pool:
        scored = list(pool.map(_score_one, zip(texts, outs, strict=True), chunksize=8))
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
    parser.add_argument(
        "--autopep8-jobs",
        default=None,
        help="comma-separated --jobs values to run autopep8 with (default: 1 and --jobs); "
        "the first is the baseline",
    )
    args = parser.parse_args()
    files = _stdlib_files()
    if args.files and args.files < len(files):
        files = random.Random(args.seed).sample(files, args.files)
    sources = _load(files)
    autopep8_jobs = (
        [int(j) for j in args.autopep8_jobs.split(",")] if args.autopep8_jobs else [1, args.jobs]
    )
    load_before = os.getloadavg()[0]
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

        for jobs in autopep8_jobs:
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
    print(
        f"files: {n} that CPython compiles "
        f"({'whole stdlib' if not args.files else f'seed {args.seed}'})"
    )
    print(f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    baseline = rows[1][1]
    print(
        f"\n| tool | seconds | files/s | vs autopep8 (jobs={autopep8_jobs[0]}) | broken "
        "| violations left | of which ambiguous names (E741-E743) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, t, b, codes in rows:
        top = ", ".join(f"{c} {k}" for c, k in codes.most_common(4))
        total = sum(codes.values())
        ambiguous = sum(codes[c] for c in ("E741", "E742", "E743"))
        print(
            f"| {name} | {t:.1f} | {n / t:.1f} | {baseline / t:.1f}x | {b} | "
            f"{total}{f' ({top})' if total else ''} | {ambiguous} |"
        )
    print()
    for line in notes:
        print(line)


if __name__ == "__main__":
    main()
