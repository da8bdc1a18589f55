"""Judging detectors on real bug fixes (`evaluate-defects --fixes`).

Each case of the chosen split (the test repositories by default) is checked as two files of its
own (`fixes.case_source`): the function before its fix and after it. A **hit** is a finding on a
buggy line of the before version; a **fixed file flagged** is an after version that still gets
any finding. Every engine sees the very same files in the same run: the suite's static engine
(ruff's bug rules at the default confidence), the semantic engine, the pylint engine's shown
checks (``pylint-checks``, `pylint_engine`), the learned detector, their unions (static +
semantic + learned is what `detect-defects` shows by default), and for reference ruff
(``--select F,B,E9,PLE``) and pylint's error checks without the import errors (the files stand
alone, so every import is unresolved).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codeassist.defects.errors import StaticEngineError
from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.fix_diff import FIX_CATEGORIES
from codeassist.defects.fixes import HEADER_LINES, FixCase, case_source, spread

# (line, rule) findings per file: what an engine returns for a list of sources.
Found = list[list[tuple[int, str]]]
# Single engines, then combinations (" + ": the union of their findings, as `detect-defects`
# shows them together; the last combination is its default), then the references.
ENGINES = (
    "static", "semantic", "pylint-checks", "learned", "static + semantic",
    "static + semantic + pylint-checks", "static + learned", "static + semantic + learned",
    "ruff", "pylint",
)  # fmt: skip
RUFF_SELECT = "F,B,E9,PLE"
# pylint's error checks, less those a function read alone always fails: its imports resolve to
# nothing (import-error, no-name-in-module).
PYLINT_ARGS = ("--disable=all", "--enable=E", "--disable=E0401,E0611")


@dataclass(frozen=True)
class FixesEvalConfig:
    """What `evaluate_fixes` runs.

    Attributes:
        split: Which cases (``test``: the held-out repositories).
        max_cases: At most this many cases, evenly spaced through the split (None: all).
        engines: Engines to run (`ENGINES`).
        detector_dir: Learned detector to judge (None: the shipped one).
        batch_files: Files per code-model feature call.
    """

    split: str = "test"
    max_cases: int | None = None
    engines: tuple[str, ...] = ENGINES
    detector_dir: Path | None = None
    batch_files: int = 16


def _shown(check: Callable[[str, str], list], sources: list[str]) -> Found:
    """``check``'s findings per source at the confidence `detect-defects` shows by default."""
    from codeassist.defects.static import STATIC_THRESHOLD

    return [
        [(f.line, f.rule_id) for f in check(s, "case.py") if f.confidence >= STATIC_THRESHOLD]
        for s in sources
    ]


def static_found(sources: list[str]) -> Found:
    """The suite's static engine as `detect-defects` shows it by default."""
    from codeassist.defects.static import check_source

    return _shown(check_source, sources)


def semantic_found(sources: list[str]) -> Found:
    """The semantic engine (`codeassist.defects.semantic`) at the default confidence."""
    from codeassist.defects.semantic import check_semantic

    return _shown(check_semantic, sources)


def pylint_checks_found(sources: list[str]) -> Found:
    """The suite's pylint engine (`pylint_engine`, ``detect-defects --pylint``): its chosen
    checks at the default confidence, in one in-process run."""
    from codeassist.defects.pylint_engine import PYLINT_CONFIDENCE, run_pylint
    from codeassist.defects.static import STATIC_THRESHOLD

    shown = tuple(
        c for c, confidence in PYLINT_CONFIDENCE.items() if confidence >= STATIC_THRESHOLD
    )
    return [[(m.line, f"pylint/{m.msg_id}") for m in found] for found in run_pylint(sources, shown)]


def learned_found(
    sources: list[str], detector_dir: Path | None = None, batch_files: int = 16
) -> Found:
    """The learned detector's findings at its calibrated threshold (as `detect-defects`
    reports them: at most `DetectOptions.max_findings_per_file` per file)."""
    from codeassist.code_model import load_code_model
    from codeassist.defects.detector import check_code_model, load_detector, statement_features
    from codeassist.defects.findings import DetectOptions

    model, detector = load_code_model(), load_detector(detector_dir)
    check_code_model(detector, model, detector_dir)
    cap = DetectOptions().max_findings_per_file
    found: Found = []
    for first in range(0, len(sources), batch_files):
        for feats in statement_features(model, sources[first : first + batch_files]):
            probability, kind, _ = detector.score(feats.matrix)
            order = probability.argsort()[::-1][:cap]
            found.append(
                [
                    (feats.statements[i].line, f"learned/{BUG_KINDS[int(kind[i])]}")
                    for i in order
                    if probability[i] >= detector.threshold
                ]
            )
    return found


def _run_on_files(
    sources: list[str], command: Callable[[Path, list[str]], list[str]], parse
) -> Found:
    """Write the sources into a private directory, run one command over all of them, and read
    its findings back per file."""
    with tempfile.TemporaryDirectory(prefix="moesuite-fixes-") as tmp:
        names = [f"case_{i:05d}.py" for i in range(len(sources))]
        for name, source in zip(names, sources, strict=True):
            (Path(tmp) / name).write_text(source, encoding="utf-8")
        (Path(tmp) / "pylintrc").write_text("[MAIN]\n", encoding="utf-8")
        try:
            done = subprocess.run(
                command(Path(tmp), names), cwd=tmp, capture_output=True, text=True, check=False
            )
        except OSError as exc:
            raise StaticEngineError(f"could not run {command(Path(tmp), [])[0]}: {exc}") from exc
        found: Found = [[] for _ in sources]
        index = {name: i for i, name in enumerate(names)}
        for name, line, rule in parse(done):
            found[index[Path(name).name]].append((line, rule))
        return found


def ruff_found(sources: list[str], select: str = RUFF_SELECT) -> Found:
    """ruff's bug selection (``--select F,B,E9,PLE``, or `select`), every finding."""
    from codeassist.defects.static import find_ruff

    def command(_: Path, names: list[str]) -> list[str]:
        return [find_ruff(), "check", "--isolated", "--no-cache", "--output-format", "json",
                "--select", select, "--exit-zero", *names]  # fmt: skip

    def parse(done: subprocess.CompletedProcess):
        try:
            items = json.loads(done.stdout)
        except json.JSONDecodeError as exc:
            raise StaticEngineError(f"ruff printed no JSON: {done.stderr.strip()[:200]}") from exc
        return [(i["filename"], i["location"]["row"], f"ruff/{i['code']}") for i in items]

    return _run_on_files(sources, command, parse)


def pylint_found(sources: list[str]) -> Found:
    """pylint's error checks without import errors (`PYLINT_ARGS`), every finding."""

    def command(tmp: Path, names: list[str]) -> list[str]:
        return [sys.executable, "-m", "pylint", f"--rcfile={tmp / 'pylintrc'}", *PYLINT_ARGS,
                "--output-format=json", "--score=n", "--persistent=n", "--jobs=1",
                *names]  # fmt: skip

    def parse(done: subprocess.CompletedProcess):
        if done.returncode & 32 or (done.returncode & 1):  # usage error or fatal message
            raise StaticEngineError(f"pylint failed: {done.stderr.strip()[-300:]}")
        try:
            items = json.loads(done.stdout or "[]")
        except json.JSONDecodeError as exc:
            raise StaticEngineError(f"pylint printed no JSON: {done.stderr.strip()[:200]}") from exc
        return [(i["path"], i["line"], f"pylint/{i['message-id']}") for i in items]

    return _run_on_files(sources, command, parse)


def score_cases(cases: list[FixCase], before: Found, after: Found) -> dict:
    """Hits on the buggy lines, fixed files flagged and what found the hits, for one engine's
    findings on the before and after files."""
    hits = np.zeros(len(cases), bool)
    rules: Counter = Counter()
    for k, case in enumerate(cases):
        buggy = {HEADER_LINES + line for line in case.buggy_lines}
        on_bug = [rule for line, rule in before[k] if line in buggy]
        hits[k] = bool(on_bug)
        rules.update(set(on_bug))
    return {
        "hits": int(hits.sum()),
        "fixed_flagged": sum(bool(found) for found in after),
        "buggy_flagged": sum(bool(found) for found in before),
        "findings_before": sum(len(found) for found in before),
        "findings_after": sum(len(found) for found in after),
        "hit_rules": dict(rules.most_common()),
        "hit_cases": [int(k) for k in np.nonzero(hits)[0]],
    }


def evaluate_fixes(cases: list[FixCase], config: FixesEvalConfig) -> dict:
    """Every engine of `config.engines` on the before and after files of `cases` (one run).

    Returns:
        Per engine its hits, fixed files flagged and seconds; per fix category the hits of
        each engine; the case and line counts.
    """
    cases = spread(cases, config.max_cases)
    before = [case_source(c) for c in cases]
    after = [case_source(c, fixed=True) for c in cases]
    both = before + after
    runners: dict[str, Callable[[list[str]], Found]] = {
        "static": static_found,
        "semantic": semantic_found,
        "pylint-checks": pylint_checks_found,
        "learned": lambda s: learned_found(s, config.detector_dir, config.batch_files),
        "ruff": ruff_found,
        "pylint": pylint_found,
    }
    found: dict[str, Found] = {}
    seconds: dict[str, float] = {}
    for engine in config.engines:
        if " + " in engine:
            continue
        started = time.perf_counter()
        found[engine] = runners[engine](both)
        seconds[engine] = round(time.perf_counter() - started, 2)
    for engine in config.engines:
        if " + " in engine:
            parts = engine.split(" + ")
            found[engine] = [
                sum(files, []) for files in zip(*(found[p] for p in parts), strict=True)
            ]
            seconds[engine] = round(sum(seconds[p] for p in parts), 2)
    n = len(cases)
    engines = {}
    for engine in config.engines:
        result = score_cases(cases, found[engine][:n], found[engine][n:])
        result["seconds"] = seconds[engine]
        engines[engine] = result
    per_category = {}
    for category in FIX_CATEGORIES:
        members = {k for k, c in enumerate(cases) if c.category == category}
        if members:
            per_category[category] = {
                "cases": len(members),
                **{e: len(members.intersection(r["hit_cases"])) for e, r in engines.items()},
            }
    return {
        "split": config.split,
        "cases": n,
        "repositories": sorted({c.repo for c in cases}),
        "lines_before": sum(s.count("\n") for s in before),
        "lines_after": sum(s.count("\n") for s in after),
        "engines": engines,
        "per_category": per_category,
    }


def render_fixes_table(report: dict) -> str:
    """The report as markdown tables, with the issue's goal checked against ruff."""
    n = report["cases"]
    out = [
        f"{n} real fixes of the {report['split']} repositories "
        f"({', '.join(report['repositories'])}); {report['lines_before']} lines before, "
        f"{report['lines_after']} after",
        "",
        "| engine | hits on the buggy line | fixed files flagged | buggy files flagged | "
        "seconds, both versions |",
        "|---|---|---|---|---|",
    ]
    for engine, row in report["engines"].items():
        out.append(
            f"| {engine} | {row['hits']} | {row['fixed_flagged']} | {row['buggy_flagged']} | "
            f"{row['seconds']:.1f} |"
        )
    ruff = report["engines"].get("ruff")
    if ruff is not None:
        out.append("")
        for engine in (
            "static + semantic + learned", "static + semantic", "static + learned",
            "static + semantic + pylint-checks",
        ):  # fmt: skip
            row = report["engines"].get(engine)
            if row is None:
                continue
            hits_goal = row["hits"] >= 1.5 * ruff["hits"]
            flag_goal = row["fixed_flagged"] <= ruff["fixed_flagged"] + 0.1 * n
            out.append(
                f"goal for {engine}: hits >= 1.5 x ruff's ({1.5 * ruff['hits']:.0f}): "
                f"{'met' if hits_goal else 'not met'}; fixed files flagged <= ruff's + 10% "
                f"of cases ({ruff['fixed_flagged'] + 0.1 * n:.0f}): "
                f"{'met' if flag_goal else 'not met'}"
            )
    engines = list(report["engines"])
    out += [
        "",
        "| fix category | cases | " + " | ".join(engines) + " |",
        "|---|---|" + "---|" * len(engines),
    ]
    for category, row in report["per_category"].items():
        out.append(
            f"| {category} | {row['cases']} | " + " | ".join(str(row[e]) for e in engines) + " |"
        )
    out.append("")
    for engine, row in report["engines"].items():
        rules = ", ".join(f"{r} {c}" for r, c in list(row["hit_rules"].items())[:8]) or "-"
        out.append(f"hits of {engine} by rule: {rules}")
    return "\n".join(out)
