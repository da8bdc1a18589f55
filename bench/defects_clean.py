"""False alarms of the default engines on clean code no rule was chosen on, beside ruff's.

Files are drawn (seeded) from directories of released code, by default the standard library of
the running Python (no test modules): code in no split of the real-fixes data set, on which no
rule was chosen. Every finding on it is presumed false until read (``--list`` prints them).

    OMP_NUM_THREADS=1 .venv/bin/python bench/defects_clean.py --files 150 --seed 0 --list
"""

from __future__ import annotations

import argparse
import random
import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeassist.defects.detect import detect_source  # noqa: E402
from codeassist.defects.findings import DetectOptions  # noqa: E402
from codeassist.defects.fixes_eval import pylint_checks_found, ruff_found  # noqa: E402

_SKIPPED = {"test", "tests", "idlelib", "lib2to3", "site-packages", "__pycache__", "turtledemo"}


def sample_files(roots: list[Path], count: int, seed: int) -> list[tuple[str, str]]:
    """`count` parseable non-test modules of 20-5,000 lines under `roots`, drawn with `seed`."""
    names = sorted(
        p
        for root in roots
        for p in root.rglob("*.py")
        if not _SKIPPED & set(p.relative_to(root).parts[:-1]) and not p.name.startswith("test")
    )
    random.Random(seed).shuffle(names)
    out = []
    for path in names:
        if len(out) == count:
            break
        try:
            text = path.read_text(encoding="utf-8")
            compile(text, str(path), "exec", dont_inherit=True)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        if 20 <= text.count("\n") <= 5000:
            out.append((str(path), text))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="*", type=Path)
    parser.add_argument("--files", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pylint", action="store_true", help="also the pylint engine")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    roots = args.roots or [Path(sysconfig.get_paths()["stdlib"])]
    files = sample_files(roots, args.files, args.seed)
    lines = sum(t.count("\n") for _, t in files)
    print(f"{len(files)} files, {lines} lines from {', '.join(map(str, roots))}")
    rows = []
    started = time.perf_counter()
    options = DetectOptions(learned=False)
    ours = [detect_source(text, path, options) for path, text in files]
    rows.append(("static + semantic (default, no learned)", ours, time.perf_counter() - started))
    if args.pylint:
        started = time.perf_counter()
        found = pylint_checks_found([t for _, t in files])
        rows.append(("pylint-checks (shown tier)", found, time.perf_counter() - started))
    started = time.perf_counter()
    rows.append(
        ("ruff F,B,E9,PLE", ruff_found([t for _, t in files]), time.perf_counter() - started)
    )
    print("| engine | findings | per 1k lines | seconds |\n|---|---|---|---|")
    for name, found, seconds in rows:
        total = sum(len(f) for f in found)
        print(f"| {name} | {total} | {1000 * total / lines:.2f} | {seconds:.1f} |")
    for name, found, _ in rows:
        rules = Counter(f.rule_id if hasattr(f, "rule_id") else f[1] for per in found for f in per)
        print(f"{name}: {dict(rules.most_common(12))}")
    if args.list:
        for (path, text), per in zip(files, ours, strict=True):
            for f in per:
                print(f"{path}:{f.line}: {f.rule_id} {f.message[:100]}")
                print(f"    {text.splitlines()[f.line - 1].strip()[:120]}")


if __name__ == "__main__":
    main()
