"""Training the learned detector on seeded bugs in the corpus's training packages."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codeassist.defects.corpus import list_corpus
from codeassist.defects.dataset import build_dataset
from codeassist.defects.detector import DETECTOR_DIR, Detector, save_detector

# At the default threshold the detector may raise at most this many alarms per 1,000 clean lines.
TARGET_FALSE_ALARMS_PER_KLOC = 1.0


@dataclass(frozen=True)
class TrainDetectorConfig:
    """Detector training: corpus files, seeded bugs per file, seed, validation share."""

    files: int = 150
    mutants_per_file: int = 6
    seed: int = 0
    validation_fraction: float = 0.25


def calibrate_threshold(scores: np.ndarray, lines: int, target: float) -> float:
    """Lowest threshold whose alarms on clean rows stay within `target` per 1,000 lines."""
    allowed = int(target * lines / 1000)
    ordered = np.sort(scores)[::-1]
    if allowed >= len(ordered):
        return float(ordered[-1]) if len(ordered) else 0.5
    return float(min(1.0, ordered[allowed] + 1e-6))


def train_detector(output: Path | None, config: TrainDetectorConfig) -> dict:
    """Fit the bug and kind classifiers, calibrate the threshold, save, and report."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from codeassist.code_model import load_code_model

    started = time.perf_counter()
    model = load_code_model()
    files = list_corpus("train", max_files=config.files, seed=config.seed + 100)
    n_val = max(1, int(len(files) * config.validation_fraction))
    train = build_dataset(model, files[n_val:], config.mutants_per_file, config.seed)
    val = build_dataset(model, files[:n_val], config.mutants_per_file, config.seed + 1)
    feature_seconds = time.perf_counter() - started
    bug = HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=300, l2_regularization=1.0, min_samples_leaf=40,
        class_weight="balanced", early_stopping=True, validation_fraction=0.15,
        random_state=config.seed,
    )  # fmt: skip
    bug.fit(train.x, train.y)
    positive = train.kind >= 0
    kind = HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=200, min_samples_leaf=20, random_state=config.seed
    )
    kind.fit(train.x[positive], train.kind[positive])
    # False alarms are counted on the validation files' clean crops only (no seeded bug there).
    clean_crops = np.isin(val.group, np.unique(val.group[val.y == 1]), invert=True)
    clean_scores = bug.predict_proba(val.x[clean_crops])[:, 1]
    threshold = calibrate_threshold(clean_scores, val.lines, TARGET_FALSE_ALARMS_PER_KLOC)
    from sklearn.metrics import roc_auc_score

    val_scores = bug.predict_proba(val.x)[:, 1]
    meta = {
        "train_rows": int(len(train.y)),
        "train_bugs": int(train.y.sum()),
        "validation_auc": float(roc_auc_score(val.y, val_scores)),
        "validation_clean_lines": val.lines,
        "files": len(files),
        "mutants_per_file": config.mutants_per_file,
        "seed": config.seed,
        "feature_seconds": round(feature_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    detector = Detector(bug, kind, threshold, meta)
    save_detector(detector, output or DETECTOR_DIR)
    return dict(meta, threshold=threshold)
