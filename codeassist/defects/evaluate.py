"""Evaluation on held-out packages: seeded bugs per kind, false alarms on clean code, and the
static engine alone against static + learned in the same run."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from codeassist.defects.corpus import list_corpus
from codeassist.defects.dataset import build_dataset
from codeassist.defects.detector import load_detector
from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.mutate import sample_mutations
from codeassist.defects.static import check_source


@dataclass(frozen=True)
class EvaluateConfig:
    """Held-out files, seeded bugs per file, seed."""

    files: int = 40
    mutants_per_file: int = 6
    seed: int = 1


def _static_on_mutants(files, mutants_per_file: int, seed: int) -> dict:
    """Static engine alone: a seeded bug counts as found when ruff flags its line in the mutant
    and not in the original; false alarms are its findings on the unmodified files."""
    found: dict[str, list[int]] = {k: [] for k in BUG_KINDS}
    false_alarms, lines = 0, 0
    for i, item in enumerate(files):
        base = check_source(item.text, "x.py")
        base_keys = {(f.rule_id, f.line) for f in base}
        false_alarms += len(base)
        lines += item.text.count("\n") + 1
        for m in sample_mutations(item.text, mutants_per_file, seed + i):
            line = item.text.count("\n", 0, m.start) + 1
            after = check_source(m.apply(item.text), "x.py")
            hit = any(f.line == line and (f.rule_id, f.line) not in base_keys for f in after)
            found[m.kind].append(int(hit))
    return {"found": found, "false_alarms": false_alarms, "lines": lines}


def evaluate(config: EvaluateConfig) -> dict:
    """Metrics of the shipped detector and of ruff alone on the held-out (eval) packages."""
    from sklearn.metrics import roc_auc_score

    from codeassist.code_model import load_code_model

    started = time.perf_counter()
    files = list_corpus("eval", max_files=config.files, seed=config.seed)
    model, detector = load_code_model(), load_detector()
    data = build_dataset(model, files, config.mutants_per_file, config.seed)
    scores = detector.bug.predict_proba(data.x)[:, 1]
    threshold = detector.threshold
    flagged = scores >= threshold
    bug_crops = np.unique(data.group[data.y == 1])
    clean = ~np.isin(data.group, bug_crops)
    per_kind = {}
    for k, kind in enumerate(BUG_KINDS):
        rows = data.kind == k
        # Per kind: its buggy statements against every statement of the clean crops.
        mask = rows | clean
        auc = (
            float(roc_auc_score(data.y[mask], scores[mask]))
            if rows.any() and clean.any()
            else float("nan")
        )
        per_kind[kind] = {
            "bugs": int(rows.sum()),
            "recall": float(flagged[rows].mean()) if rows.any() else float("nan"),
            "roc_auc": auc,
        }
    tp = int((flagged & (data.y == 1)).sum())
    fp_clean = int((flagged & clean).sum())
    static = _static_on_mutants(files, config.mutants_per_file, config.seed)
    static_found = sum(sum(v) for v in static["found"].values())
    static_total = sum(len(v) for v in static["found"].values())
    for kind in BUG_KINDS:
        hits = static["found"][kind]
        per_kind[kind]["static_recall"] = float(np.mean(hits)) if hits else float("nan")
    overall_auc = float(roc_auc_score(data.y[(data.y == 1) | clean], scores[(data.y == 1) | clean]))
    return {
        "files": len(files),
        "packages": sorted({f.package for f in files}),
        "threshold": threshold,
        "seeded_bugs": int(data.y.sum()),
        "roc_auc": overall_auc,
        "learned_precision": tp / max(1, int(flagged[(data.y == 1) | clean].sum())),
        "learned_recall": tp / max(1, int(data.y.sum())),
        "learned_false_alarms_per_kloc": 1000 * fp_clean / max(1, data.lines),
        "clean_lines": data.lines,
        "static_recall": static_found / max(1, static_total),
        "static_false_alarms_per_kloc": 1000 * static["false_alarms"] / max(1, static["lines"]),
        "static_lines": static["lines"],
        "per_kind": per_kind,
        "seconds": round(time.perf_counter() - started, 1),
    }


def render_table(report: dict) -> str:
    """The evaluation as a small markdown table."""
    out = [
        f"held-out files: {report['files']} ({len(report['packages'])} packages), "
        f"seeded bugs: {report['seeded_bugs']}, threshold {report['threshold']:.3f}",
        f"ROC-AUC (buggy statement vs clean statements): {report['roc_auc']:.3f}",
        "",
        "| engine | recall | false alarms / 1k lines |",
        "|---|---|---|",
        f"| static (ruff bug rules) | {report['static_recall']:.3f} | "
        f"{report['static_false_alarms_per_kloc']:.2f} |",
        f"| learned @threshold | {report['learned_recall']:.3f} | "
        f"{report['learned_false_alarms_per_kloc']:.2f} |",
        "",
        "| kind | bugs | learned recall | static recall | ROC-AUC |",
        "|---|---|---|---|---|",
    ]
    for kind, row in report["per_kind"].items():
        out.append(
            f"| {kind} | {row['bugs']} | {row['recall']:.3f} | {row['static_recall']:.3f} | "
            f"{row['roc_auc']:.3f} |"
        )
    out.append(f"learned precision @threshold: {report['learned_precision']:.3f}")
    return "\n".join(out)
