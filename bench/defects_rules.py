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
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.defects_semantic import repo_files  # noqa: E402
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
# Rules of those families that say how code could read better, not that it behaves wrongly: a
# finding of theirs on a buggy line means the fix rewrote a line they had flagged, not that they
# saw the bug. They are measured and listed, never chosen.
STYLE = re.compile(
    r"^ruff/(SIM|PERF|FURB|TRY|BLE|FBT|S\d|EXE|PYI|RET50[024-8]|PIE(790|810)|G004|LOG015|"
    r"RUF(005|010|012|015|022|023|100)|ISC00[23]|PLW(0108|0603))"
)
# ruff's reference selection of the issue (``--select F,B,E9,PLE``).
REFERENCE = ("F", "B", "E9", "PLE")
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


def per_rule(cases, before: Found, after: Found) -> dict[str, dict[str, set[int]]]:
    """Per rule: the cases it hits on a buggy line, whose fixed file it flags, whose buggy
    file it flags."""
    table: dict[str, dict[str, set[int]]] = {}
    for k, case in enumerate(cases):
        buggy = {HEADER_LINES + line for line in case.buggy_lines}
        for key, rules in (
            ("hits", {r for line, r in before[k] if line in buggy}),
            ("fixed", {r for _, r in after[k]}),
            ("buggy", {r for _, r in before[k]}),
        ):
            for rule in rules:
                table.setdefault(rule, {"hits": set(), "fixed": set(), "buggy": set()})
                table[rule][key].add(k)
    return table


def greedy(
    table: dict[str, dict[str, set[int]]],
    clean: dict[str, float],
    reference: list[str],
    n: int,
    clean_budget: float,
    min_ratio: float,
) -> tuple[list[str], dict]:
    """Rules added one at a time, each the one with the most new hits per new fixed file
    flagged, while the union stays within both budgets: fixed files flagged <= the reference
    rules' (ruff's F,B,E9,PLE) + 10% of the cases, clean alarms <= `clean_budget` per 1k lines.
    A rule joins only with at least 2 new hits and `min_ratio` new hits per new flagged file."""
    ref_hits = set().union(*(table[r]["hits"] for r in reference if r in table))
    ref_fixed = set().union(*(table[r]["fixed"] for r in reference if r in table))
    fixed_budget = len(ref_fixed) + 0.1 * n
    chosen: list[str] = []
    hits: set[int] = set()
    fixed: set[int] = set()
    spent = 0.0
    while True:
        best = None
        for rule, row in table.items():
            if rule in chosen or STYLE.match(rule) or clean.get(rule, 0.0) + spent > clean_budget:
                continue
            new_hits = len(row["hits"] - hits)
            new_fixed = len(row["fixed"] - fixed)
            if new_hits < 2 or len(fixed) + new_fixed > fixed_budget:
                continue
            ratio = new_hits / max(new_fixed, 0.5)
            if ratio >= min_ratio and (best is None or ratio > best[0]):
                best = (ratio, rule)
        if best is None:
            break
        chosen.append(best[1])
        hits |= table[best[1]]["hits"]
        fixed |= table[best[1]]["fixed"]
        spent += clean.get(best[1], 0.0)
    summary = {
        "reference_hits": len(ref_hits), "reference_fixed": len(ref_fixed),
        "fixed_budget": fixed_budget, "chosen_hits": len(hits), "chosen_fixed": len(fixed),
        "chosen_clean_per_1k": round(spent, 3),
    }  # fmt: skip
    return chosen, summary


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
    parser.add_argument("--clean-budget", type=float, default=0.5)
    parser.add_argument("--min-ratio", type=float, default=0.2)
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
            files = repo_files(mirror, args.per_repo, rng)
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
    tables: dict[str, dict] = {}
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
        tables[engine] = table
        for rule in set(table) | set(rates):
            row = {k: len(v) for k, v in table.get(rule, {}).items()} or Counter()
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
    result = {"rules": report, "kept": kept}
    if "ruff" in tables:
        table = {**tables["ruff"], **tables.get("semantic", {})}
        reference = [r for r in tables["ruff"] if r.split("/")[1].startswith(REFERENCE)]
        clean = {r: row["clean_per_1k"] for r, row in report.items()}
        chosen, summary = greedy(
            table, clean, reference, len(cases), args.clean_budget, args.min_ratio
        )
        print(f"greedy: {', '.join(chosen)}; {summary}")
        result.update(greedy=chosen, greedy_summary=summary)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
