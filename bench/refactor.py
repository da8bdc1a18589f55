"""Benchmark `moesuite refactor` against autopep8 --aggressive and ruff format on the stdlib.

Works on copies held in memory / a temp dir; the stdlib is never modified.

Usage: OMP_NUM_THREADS=1 .venv/bin/python bench/refactor.py --files 60 --seed 0
"""

from __future__ import annotations

import argparse
import ast
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

from codeassist.refactor import RefactorOptions, refactor_source  # noqa: E402
from codeassist.verify import check_equivalent, pycodestyle_violations  # noqa: E402


def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


def _ours(src: str) -> tuple[str, str]:
    try:
        result = refactor_source(src, RefactorOptions(style="pep8"), "-")
    except Exception as exc:  # noqa: BLE001 - its errors do not pickle; report as failed
        return f"failed: {type(exc).__name__}", src
    return result.status, result.output if result.status == "changed" else src


def _autopep8(src: str) -> str:
    import autopep8

    return autopep8.fix_code(src, options={"aggressive": 1})


def _score(sources: list[str], outputs: list[str]) -> tuple[int, int]:
    broken = violations = 0
    for src, out in zip(sources, outputs, strict=True):
        if not check_equivalent(src, out).equal:
            broken += 1
        violations += len(pycodestyle_violations(out, 79))
    return broken, violations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=60, help="seeded sample size (0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = _stdlib_files()
    if args.files and args.files < len(files):
        files = random.Random(args.seed).sample(files, args.files)
    sources = []
    for p in files:
        try:
            text = p.read_text(encoding="utf-8")
            ast.parse(text)  # unparsable files (py2 test data) are no input for any tool
            sources.append(text)
        except (UnicodeDecodeError, OSError, SyntaxError, ValueError):
            continue
    rows = []

    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        ours = list(pool.map(_ours, sources, chunksize=4))
    t_ours = time.perf_counter() - t0
    outs = [o for _, o in ours]
    untouched = [i for i, (s, _) in enumerate(ours) if s != "changed"]
    broken, viol = _score(sources, outs)
    changed_viol = sum(
        len(pycodestyle_violations(o, 79)) for i, (s, o) in enumerate(ours) if s == "changed"
    )
    rows.append(("moesuite (jobs=2)", t_ours, broken, f"{changed_viol} changed / {viol} all"))

    t0 = time.perf_counter()
    outs = [_autopep8(s) for s in sources]
    t_ap = time.perf_counter() - t0
    broken, viol = _score(sources, outs)
    rows.append(("autopep8 --aggressive", t_ap, broken, str(viol)))

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, src in enumerate(sources):
            p = Path(tmp) / f"f{i}.py"
            p.write_text(src, encoding="utf-8")
            paths.append(p)
        ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
        t0 = time.perf_counter()
        subprocess.run(
            [ruff, "format", "--line-length", "79", "--no-cache", tmp],
            capture_output=True,
            check=False,
        )
        t_ruff = time.perf_counter() - t0
        outs = [p.read_text(encoding="utf-8") for p in paths]
    broken, viol = _score(sources, outs)
    rows.append(("ruff format", t_ruff, broken, str(viol)))

    n = len(sources)
    print("command: OMP_NUM_THREADS=1 " + " ".join([sys.executable, *sys.argv]))
    print(f"files: {n} (seed {args.seed}); moesuite left {len(untouched)} untouched\n")
    print("| tool | files/s | broken | pycodestyle violations left |")
    print("|---|---|---|---|")
    for name, t, b, v in rows:
        print(f"| {name} | {n / t:.1f} | {b} | {v} |")


if __name__ == "__main__":
    main()
