"""Training the learned detector on real bug fixes beside seeded mutants (`train-defects --fixes`).

The seeded rows are those of `training.train_detector` (the same files, mutants and clean
samples). Each mined fix (`mining`) adds, from its function before the fix, the statements on
the buggy lines as positives and the function's other statements as negatives, and every
statement of the function after the fix as negatives: the detector learns what a real bug looks
like against the code around it and against its own fix. Settings are chosen on the validation
repositories' fixes (hits on the buggy line at the threshold that keeps the seeded validation
files' false alarms at the target); the threshold of the shipped detector is then set by
`training.calibrate_detector` as before.
"""

from __future__ import annotations

import ast
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codeassist.defects.dataset import Dataset, build_dataset
from codeassist.defects.detector import (
    DETECTOR_DIR,
    N_FEATURES,
    Detector,
    code_model_digest,
    save_detector,
    statement_features,
)
from codeassist.defects.errors import DefectsError
from codeassist.defects.feature_cache import cached_dataset, dataset_key
from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.fix_diff import changed_lines
from codeassist.defects.fixes import (
    HEADER_LINES,
    FixCase,
    case_source,
    file_digest,
    load_fixes,
    spread,
)
from codeassist.defects.mutate import list_mutations
from codeassist.defects.statements import SourceIndex, list_statements
from codeassist.defects.training import (
    CalibrateConfig,
    TrainDetectorConfig,
    calibrate_detector,
    calibrate_threshold,
    fit_classifiers,
    split_training_files,
)
from codeassist.defects.variants import candidate_edits
from core_model.load import Model

# Fixes per feature call (two files each): bounds how much text is held at once.
_CASES_PER_CALL = 4


def seeded_datasets(
    model: Model, config: TrainDetectorConfig, digest: str | None, cache_dir: Path | None
) -> tuple[Dataset, Dataset, list, list]:
    """The seeded training rows and validation rows `train_detector` builds, cached by the code
    model's digest, the files and the settings; then the training and validation files."""
    train_files, val_files = split_training_files(config)
    common = dict(
        code_model=digest,
        mutants=config.mutants_per_file,
        seed=config.seed,
        max_bytes=config.max_file_bytes,
    )
    train = cached_dataset(
        cache_dir,
        "seeded-train-"
        + dataset_key(
            files=[str(f.path) for f in train_files], clean=config.clean_per_file, **common
        ),
        lambda: build_dataset(
            model, train_files, config.mutants_per_file, config.seed, config.clean_per_file
        ),
    )
    val = cached_dataset(
        cache_dir,
        "seeded-val-" + dataset_key(files=[str(f.path) for f in val_files], **common),
        lambda: build_dataset(model, val_files, config.mutants_per_file, config.seed + 1, None),
    )
    return train, val, train_files, val_files


@dataclass(frozen=True)
class FixesTrainConfig:
    """Training on real fixes beside the seeded mutants.

    Attributes:
        fix_weights: Sample weights of the fix rows to try (0: seeded mutants only, the
            baseline); the one with the most validation hits net of flagged fixed files wins.
        max_train_cases: Training fixes used (evenly spaced, `fixes.spread`), None for all.
        max_validation_cases: Validation fixes scored whole (likewise), None for all.
        negatives_per_version: Other statements sampled as negatives from each version of a
            training fix (beside the buggy statements and their fixed counterparts).
        seed: Sampling and classifier seed.
    """

    fix_weights: tuple[float, ...] = (0.0, 1.0, 3.0)
    max_train_cases: int | None = 400
    max_validation_cases: int | None = 150
    negatives_per_version: int = 6
    seed: int = 0


def _eligible(source: str, tree: ast.Module, statements: list) -> list[int]:
    """Statements some candidate edit applies to (the others score 0 at detection)."""
    mutations = list_mutations(source, tree)
    return [j for j, st in enumerate(statements) if candidate_edits(source, st, mutations)]


def fix_rows(model: Model, cases: list[FixCase], sampled: bool, seed: int, per_version: int = 6):
    """Feature rows of real fixes: the buggy statements of each function before its fix are
    positives (``kind``: their `BUG_KINDS` index when the fix is of a seeded kind, else -2);
    its other statements, and the statements of the function after the fix, are negatives
    (-1). ``group`` is ``2 * case + version`` (0 before, 1 after).

    Args:
        sampled: Training rows: only statements some edit applies to, each version's changed
            statements and `per_version` others. Otherwise every statement, as detection
            scores a file.
    """
    rng = random.Random(seed)
    xs, ys, kinds, groups, spans = [], [], [], [], []
    lines = 0
    for first in range(0, len(cases), _CASES_PER_CALL):
        sources, trees, selected, meta = [], [], [], []
        for k, case in enumerate(cases[first : first + _CASES_PER_CALL], start=first):
            _, added, _ = changed_lines(
                case.before.splitlines(keepends=True), case.after.splitlines(keepends=True)
            )
            targets = (
                {HEADER_LINES + n for n in case.buggy_lines},
                {HEADER_LINES + n for n in added},
            )
            for version in (0, 1):
                source = case_source(case, fixed=bool(version))
                tree = ast.parse(source)
                statements = list_statements(tree, SourceIndex(source))
                body = [j for j, st in enumerate(statements) if st.line > HEADER_LINES]
                if sampled:
                    ok = set(_eligible(source, tree, statements))
                    changed = [
                        j for j in body if j in ok and statements[j].line in targets[version]
                    ]
                    others = [j for j in body if j in ok and j not in changed]
                    picked = changed + rng.sample(others, min(per_version, len(others)))
                    chosen = sorted(picked)
                else:
                    chosen = body
                    lines += source.count("\n") - HEADER_LINES
                sources.append(source)
                trees.append(tree)
                selected.append(chosen)
                meta.append((k, version, targets[0] if version == 0 else set()))
        for feats, (k, version, buggy) in zip(
            statement_features(model, sources, trees, selected), meta, strict=True
        ):
            if not feats.statements:
                continue
            positive = np.array([st.line in buggy for st in feats.statements])
            category = cases[k].category
            kind = BUG_KINDS.index(category) if category in BUG_KINDS else -2
            xs.append(feats.matrix)
            ys.append(positive.astype(np.int64))
            kinds.append(np.where(positive, kind, -1))
            groups.append(np.full(len(positive), 2 * k + version))
            spans.append(np.array([(st.line, st.end_line) for st in feats.statements]))
    return Dataset(
        np.concatenate(xs) if xs else np.zeros((0, N_FEATURES), np.float32),
        np.concatenate(ys).astype(np.int64) if ys else np.zeros(0, np.int64),
        np.concatenate(kinds).astype(np.int64) if kinds else np.zeros(0, np.int64),
        np.concatenate(groups).astype(np.int64) if groups else np.zeros(0, np.int64),
        np.concatenate(spans).astype(np.int64) if spans else np.zeros((0, 2), np.int64),
        lines,
        [],
    )


def fix_outcomes(data: Dataset, scores: np.ndarray, threshold: float, cases: int) -> dict:
    """Hits (a buggy statement at or above the threshold) and flagged fixed versions, from the
    whole-function rows of `fix_rows(sampled=False)`."""
    flagged = scores >= threshold
    case, version = data.group // 2, data.group % 2
    hits = np.zeros(cases, bool)
    np.logical_or.at(hits, case[data.y == 1], flagged[data.y == 1])
    fixed = np.zeros(cases, bool)
    np.logical_or.at(fixed, case[version == 1], flagged[version == 1])
    return {"hits": int(hits.sum()), "fixed_flagged": int(fixed.sum())}


def train_with_fixes(
    output: Path | None,
    fixes_files: list[Path],
    config: TrainDetectorConfig,
    fixes: FixesTrainConfig,
    calibrate: CalibrateConfig | None = None,
    cache_dir: Path | None = None,
) -> dict:
    """Train the detector on seeded mutants and the training repositories' fixes, with the
    fix weight that does best on the validation repositories' fixes; calibrate and save it
    unless the seeded-only baseline does as well (then nothing is written).

    Returns:
        The validation results per weight, the chosen weight, and the saved detector's
        metadata (None when nothing was written).
    """
    from sklearn.metrics import roc_auc_score

    from codeassist.code_model import load_code_model

    started = time.perf_counter()
    model = load_code_model()
    digest = code_model_digest(model)
    train_cases = spread(load_fixes(fixes_files, split="train"), fixes.max_train_cases)
    val_cases = spread(load_fixes(fixes_files, split="validation"), fixes.max_validation_cases)
    if not train_cases or not val_cases:
        raise DefectsError(
            f"{', '.join(map(str, fixes_files))}: need train and validation cases (found "
            f"{len(train_cases)} and {len(val_cases)}); mine more repositories"
        )
    digests = {str(p): file_digest(p) for p in fixes_files}
    fixes_key = dict(code_model=digest, data=sorted(digests.values()), seed=fixes.seed)
    fix_train = cached_dataset(
        cache_dir,
        "fixes-train-"
        + dataset_key(cases=len(train_cases), per=fixes.negatives_per_version, **fixes_key),
        lambda: fix_rows(model, train_cases, True, fixes.seed, fixes.negatives_per_version),
    )
    fix_val = cached_dataset(
        cache_dir,
        "fixes-val-" + dataset_key(cases=len(val_cases), **fixes_key),
        lambda: fix_rows(model, val_cases, False, fixes.seed),
    )
    seeded, seeded_val, train_files, val_files = seeded_datasets(model, config, digest, cache_dir)
    feature_seconds = time.perf_counter() - started
    rows = _stack(seeded, fix_train)
    seeded_weight = np.where(seeded.y == 0, config.clean_weight, 1.0)
    results, fitted = [], {}
    for weight in fixes.fix_weights:
        sample_weight = np.concatenate([seeded_weight, np.full(len(fix_train.y), weight)])
        keep = sample_weight > 0
        bug, kind = fit_classifiers(_subset(rows, keep), sample_weight[keep], config.seed)
        detector = Detector(bug, kind, 0.5, {})
        clean = detector.score(seeded_val.x)[0][seeded_val.y == 0]
        threshold = calibrate_threshold(clean, seeded_val.lines, config.false_alarm_target)
        scores = detector.score(fix_val.x)[0]
        outcome = fix_outcomes(fix_val, scores, threshold, len(val_cases))
        results.append(
            {
                "fix_weight": weight,
                "threshold": threshold,
                **outcome,
                "net": outcome["hits"] - outcome["fixed_flagged"],
                "fixes_roc_auc": float(roc_auc_score(fix_val.y, scores)),
                "seeded_validation_auc": float(
                    roc_auc_score(seeded_val.y, detector.score(seeded_val.x)[0])
                ),
            }
        )
        fitted[weight] = (bug, kind, threshold)
    best = max(results, key=lambda r: (r["net"], r["fixes_roc_auc"], -r["fix_weight"]))
    report = {
        "validation": results,
        "chosen_fix_weight": best["fix_weight"],
        "train_cases": len(train_cases),
        "validation_cases": len(val_cases),
        "validation_lines": fix_val.lines,
        "feature_seconds": round(feature_seconds, 1),
        "detector": None,
    }
    baseline = next((r for r in results if r["fix_weight"] == 0), None)
    if baseline is not None and best["fix_weight"] == 0:
        return report  # real fixes did not help on the validation repositories
    bug, kind, threshold = fitted[best["fix_weight"]]
    meta = {
        "code_model_sha256": digest,
        "train_rows": int(len(rows.y)),
        "train_bugs": int(rows.y.sum()),
        "train_files": len(train_files),
        "train_packages": sorted({f.package for f in train_files}),
        "validation_files": len(val_files),
        "mutants_per_file": config.mutants_per_file,
        "clean_per_file": config.clean_per_file,
        "clean_weight": config.clean_weight,
        "seed": config.seed,
        "fixes_sha256": digests,
        "fix_weight": best["fix_weight"],
        "fix_train_cases": len(train_cases),
        "fix_train_repositories": sorted({c.repo for c in train_cases}),
        "fix_validation_repositories": sorted({c.repo for c in val_cases}),
        "fix_validation": results,
        "feature_seconds": round(feature_seconds, 1),
    }
    detector = calibrate_detector(
        Detector(bug, kind, threshold, meta), model, calibrate or CalibrateConfig()
    )
    final = fix_outcomes(fix_val, detector.score(fix_val.x)[0], detector.threshold, len(val_cases))
    detector = Detector(
        detector.bug,
        detector.kind,
        detector.threshold,
        dict(detector.meta, fix_validation_at_threshold=final,
             seconds=round(time.perf_counter() - started, 1)),
    )  # fmt: skip
    save_detector(detector, output or DETECTOR_DIR)
    report["detector"] = dict(detector.meta, threshold=detector.threshold)
    return report


def _stack(a: Dataset, b: Dataset) -> Dataset:
    return Dataset(
        np.concatenate([a.x, b.x]),
        np.concatenate([a.y, b.y]),
        np.concatenate([a.kind, b.kind]),
        np.concatenate([a.group, b.group + (a.group.max() + 1 if len(a.group) else 0)]),
        np.concatenate([a.spans, b.spans]),
        a.lines + b.lines,
        [],
    )


def _subset(data: Dataset, keep: np.ndarray) -> Dataset:
    return Dataset(
        data.x[keep], data.y[keep], data.kind[keep], data.group[keep], data.spans[keep],
        data.lines, [],
    )  # fmt: skip
