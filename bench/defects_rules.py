"""Which ruff rules and pylint checks pay on real bug fixes: a per-rule table.

For every rule of a wide candidate selection (ruff's families that claim to find defects, and
pylint's error and warning checks run in process), on the real fixes of the chosen splits
(training and validation by default: the rules are chosen there, the test repositories only
measure them) it counts

- hits: cases with a finding of the rule on a buggy line of the buggy version,
- fixed: cases whose fixed version still gets a finding of the rule,

and on clean released code of the same repositories (their HEAD's non-test modules, read from
the local git mirrors with ``git show``; never stored here) the rule's findings per 1,000 lines,
each presumed a false alarm. A rule is kept when it hits at least ``--min-hits`` bugs, flags at
most ``--max-fixed-per-hit`` fixed files per hit, and raises at most ``--max-clean`` alarms per
1,000 clean lines.

    OMP_NUM_THREADS=1 .venv/bin/python bench/defects_rules.py --fixes /work/data/fixes.jsonl \
        --mirrors /work/.mirror --per-repo 12 --pylint-cases 1200 --json /tmp/rules.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.defects_semantic import _repo_files  # noqa: E402
from codeassist.defects.fixes import HEADER_LINES, case_source, load_fixes, spread  # noqa: E402
from codeassist.defects.fixes_eval import Found, ruff_found  # noqa: E402
from codeassist.defects.pylint_engine import run_pylint  # noqa: E402

# ruff's families that claim to find defects rather than style (pycodestyle only its E9 syntax
# errors and W6 deprecations; pylint's refactor family only where the message is a wrong result).
RUFF_CANDIDATES = (
    "F,B,E9,W6,PLE,PLW,PLR0124,PLR0133,PLR1704,PLR1711,PLR1714,PLR1722,PLR1733,PLR1736,RUF,ARG,"
    "RET,PIE,ISC,ASYNC,LOG,G,TRY,A,SIM,PERF,FURB,S101,BLE,DTZ,EXE,INT,PYI,T10,SLOT,FBT003"
)
# pylint's errors and warnings, less those a function read alone always raises (its imports
# resolve to nothing) and the pure style or documentation warnings.
PYLINT_CANDIDATES = ("E", "W")
PYLINT_LEFT_OUT = {"E0401", "E0611", "W0611", "W0614", "W0401", "W0511", "W1514", "W0107"}


def _ruff(sources: list[str]) -> Found:
    return ruff_found(sources, select=RUFF_CANDIDATES)


def _pylint(sources: list[str]) -> Found:
    messages = run_pylint(sources, PYLINT_CANDIDATES)
    return [
        [(m.line, f"pylint/{m.msg_id}") for m in found if m.msg_id not in PYLINT_LEFT_OUT]
        for found in messages
    ]


def _semantic(sources: list[str]) -> Found:
    from codeassist.defects.semantic import check_semantic

    return [[(f.line, f.rule_id) for f in check_semantic(s, "case.py")] for s in sources]


def per_rule(cases, before: Found, after: Found) -> dict[str, Counter]:
    """Per rule: hits on buggy lines, fixed files flagged, buggy files flagged."""
    table: dict[str, Counter] = {}
    for k, case in enumerate(cases):
        buggy = {HEADER_LINES + line for line in case.buggy_lines}
        for rule in {r for line, r in before[k] if line in buggy}:
            table.setdefault(rule, Counter())["hits"] += 1
        for rule in {r for _, r in after[k]}:
            table.setdefault(rule, Counter())["fixed"] += 1
        for rule in {r for _, r in before[k]}:
            table.setdefault(rule, Counter())["buggy"] += 1
    return table


def clean_rates(files: list[str], found: Found) -> Counter:
    """Findings per rule on clean files."""
    counts: Counter = Counter()
    for per_file in found:
        counts.update(rule for _, rule in per_file)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixes", type=Path, required=True)
    parser.add_argument("--splits", default="train,validation")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--per-repo", type=int, default=12, help="clean files per repository")
    parser.add_argument("--pylint-cases", type=int, default=1200)
    parser.add_argument("--pylint-clean-per-repo", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-hits", type=int, default=2)
    parser.add_argument("--max-fixed-per-hit", type=float, default=2.0)
    parser.add_argument("--max-clean", type=float, default=0.1)
    parser.add_argument("--engines", default="ruff,semantic,pylint")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    splits = args.splits.split(",")
    cases = [c for c in load_fixes([args.fixes]) if c.split in splits]
    repos = sorted({c.repo for c in cases})
    rng = random.Random(args.seed)
    clean: list[tuple[str, str]] = []
    pylint_clean: list[tuple[str, str]] = []
    for repo in repos:
        mirror = args.mirrors / repo.replace("/", "+", 1) / "repo"
        if mirror.exists():
            files = _repo_files(mirror, args.per_repo, rng)
            clean += files
            pylint_clean += files[: args.pylint_clean_per_repo]
    clean_lines = sum(t.count("\n") for _, t in clean)
    pylint_clean_lines = sum(t.count("\n") for _, t in pylint_clean)
    print(
        f"{len(cases)} fixes of {len(repos)} repositories ({', '.join(splits)}); clean sample "
        f"{len(clean)} files, {clean_lines} lines (pylint: {len(pylint_clean)} files, "
        f"{pylint_clean_lines} lines)",
        file=sys.stderr,
    )
    report: dict[str, dict] = {}
    pylint_cases = spread(cases, args.pylint_cases)
    for engine, run, chosen, sample, lines in (
        ("ruff", _ruff, cases, clean, clean_lines),
        ("semantic", _semantic, cases, clean, clean_lines),
        ("pylint", _pylint, pylint_cases, pylint_clean, pylint_clean_lines),
    ):
        if engine not in args.engines.split(","):
            continue
        started = time.perf_counter()
        found = run([case_source(c) for c in chosen] + [case_source(c, True) for c in chosen])
        n = len(chosen)
        table = per_rule(chosen, found[:n], found[n:])
        rates = clean_rates([t for _, t in sample], run([t for _, t in sample]))
        seconds = time.perf_counter() - started
        print(f"{engine}: {n} cases, {seconds:.0f} s", file=sys.stderr)
        for rule in set(table) | set(rates):
            row = table.get(rule, Counter())
            report[rule] = {
                "engine": engine,
                "cases": n,
                "hits": row["hits"],
                "fixed": row["fixed"],
                "buggy": row["buggy"],
                "clean": rates[rule],
                "clean_per_1k": round(1000 * rates[rule] / max(lines, 1), 3),
            }
    kept = []
    print("| rule | cases | hits | fixed flagged | buggy flagged | clean per 1k | kept |")
    print("|---|---|---|---|---|---|---|")
    for rule, row in sorted(report.items(), key=lambda kv: (-kv[1]["hits"], kv[1]["fixed"])):
        keep = (
            row["hits"] >= args.min_hits
            and row["fixed"] <= args.max_fixed_per_hit * row["hits"]
            and row["clean_per_1k"] <= args.max_clean
        )
        if keep:
            kept.append(rule)
        if row["hits"] or row["fixed"] >= 5:
            print(
                f"| {rule} | {row['cases']} | {row['hits']} | {row['fixed']} | {row['buggy']} | "
                f"{row['clean_per_1k']:.2f} | {'yes' if keep else ''} |"
            )
    print(f"kept: {', '.join(kept)}")
    if args.json:
        args.json.write_text(json.dumps({"rules": report, "kept": kept}, indent=1))


if __name__ == "__main__":
    main()
