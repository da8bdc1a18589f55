"""Training the learned detector on seeded bugs in the corpus's training packages."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codeassist.defects.corpus import list_corpus
from codeassist.defects.dataset import Dataset, build_dataset
from codeassist.defects.detector import (
    DETECTOR_DIR,
    Detector,
    check_code_model,
    code_model_digest,
    save_detector,
)
from codeassist.defects.errors import TrainingDataError
from core_model.progress import NULL_PROGRESS, Progress

# At the default thresholds, static and learned together may raise at most this many alarms per
# 1,000 clean lines.
TARGET_FALSE_ALARMS_PER_KLOC = 1.0
# Fewest seeded-bug and clean training rows a detector is fitted on.
MIN_ROWS_PER_CLASS = 2
# Fewer training rows than this: no early stopping (see `fit_classifiers`).
EARLY_STOPPING_ROWS = 1000


@dataclass(frozen=True)
class TrainDetectorConfig:
    """Detector training.

    Attributes:
        files: Training files (seeded bugs and sampled clean statements).
        mutants_per_file: Seeded bugs per file.
        clean_per_file: Clean statements sampled per training file.
        validation_files: Files (other packages' files of the training split) whose every
            statement is scored to calibrate the threshold on whole files.
        false_alarm_target: Clean alarms per 1,000 validation lines at the threshold; below
            `TARGET_FALSE_ALARMS_PER_KLOC` because a threshold estimated on some ten thousand
            lines is noisy.
        clean_weight: Sample weight of a clean row (a bug row weighs 1): clean statements are
            sampled, so more weight stands for the many unsampled ones and buys precision at
            the top of the ranking, where the threshold sits.
        max_file_bytes: Skip larger files (generated tables, and they dominate the cost).
        seed: Seed for files, mutants and the classifiers.
    """

    files: int = 300
    mutants_per_file: int = 10
    clean_per_file: int = 20
    validation_files: int = 40
    false_alarm_target: float = 0.75
    clean_weight: float = 3.0
    max_file_bytes: int = 60_000
    seed: int = 0


@dataclass(frozen=True)
class CalibrateConfig:
    """Choosing the learned detector's default threshold.

    A threshold that meets the target on average over the calibration packages misses it on
    many unseen projects: alarms cluster by package. So the threshold is the lowest one that
    keeps static + learned alarms within the target in `quantile` of the projects drawn by
    resampling the calibration packages (with replacement) up to `project_lines` lines.

    Attributes:
        files: Whole files of training-split packages that have no training file; every
            statement is scored.
        mutants_per_file: Seeded bugs per file, for the recall reported at the threshold.
        false_alarm_target: Static and learned alarms per 1,000 lines together.
        quantile: Share of resampled projects that must stay within the target.
        project_lines: Size of a resampled project.
        resamples: Resampled projects.
        seed: Seed for the file order, the mutants and the resampling.
    """

    files: int = 120
    mutants_per_file: int = 2
    false_alarm_target: float = TARGET_FALSE_ALARMS_PER_KLOC
    quantile: float = 0.9
    project_lines: int = 10_000
    resamples: int = 500
    seed: int = 0


def calibrate_threshold(scores: np.ndarray, lines: int, target: float) -> float:
    """Lowest threshold whose alarms on clean rows stay within `target` per 1,000 lines."""
    allowed = int(target * lines / 1000)
    ordered = np.sort(scores)[::-1]
    if allowed >= len(ordered):
        return float(ordered[-1]) if len(ordered) else 0.5
    return float(min(1.0, ordered[allowed] + 1e-6))


def _split_by_package(files: list, validation: int) -> tuple[list, list]:
    """Validation files come from packages that have no training file (no leakage)."""
    packages = sorted({f.package for f in files})
    random.Random(len(files)).shuffle(packages)
    val_packages: set[str] = set()
    for package in packages:
        if sum(f.package in val_packages for f in files) >= validation:
            break
        val_packages.add(package)
    val = [f for f in files if f.package in val_packages][:validation]
    return [f for f in files if f.package not in val_packages], val


def split_training_files(config: TrainDetectorConfig) -> tuple[list, list]:
    """The detector's training files and its validation files (other packages)."""
    files = list_corpus(
        "train",
        max_files=config.files + config.validation_files,
        max_bytes=config.max_file_bytes,
        seed=config.seed + 100,
    )
    return _split_by_package(files, config.validation_files)


def _fit_matrix(x: np.ndarray) -> np.ndarray:
    """`x` with columns that are NaN in every row set to 0: scikit-learn's binning fails on
    them (a small run where no statement got an edit of some kind); a constant column is never
    split on, so the fitted trees are what they would be without it."""
    empty = np.isnan(x).all(axis=0)
    if not empty.any():
        return x
    x = x.copy()
    x[:, empty] = 0.0
    return x


def check_training_rows(train: Dataset) -> None:
    """Refuse rows no detector can be fitted on, with what is missing and what to change.

    Raises:
        TrainingDataError: fewer than `MIN_ROWS_PER_CLASS` seeded-bug or clean rows.
    """
    bugs = int(train.y.sum())
    clean = len(train.y) - bugs
    if bugs < MIN_ROWS_PER_CLASS or clean < MIN_ROWS_PER_CLASS:
        raise TrainingDataError(
            f"training features: {bugs} seeded-bug rows and {clean} clean rows; the "
            f"classifiers need at least {MIN_ROWS_PER_CLASS} of each (use more --files, "
            "--mutants or --clean)"
        )


def fit_classifiers(train: Dataset, sample_weight: np.ndarray, seed: int) -> tuple:
    """The bug classifier (weighted rows) and the kind classifier (rows of a known kind).

    Raises:
        TrainingDataError: too few rows of a class (`check_training_rows`).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    check_training_rows(train)
    x = _fit_matrix(train.x)
    # Few, shallow trees: the artifact stays small and the ranking generalises across packages.
    # Early stopping holds out a stratified 15%, which a small run (a test, a first try) has
    # too few rows of a class for; the shipped recipe has thousands of rows and keeps it.
    bug = HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=250, max_leaf_nodes=15, l2_regularization=1.0,
        min_samples_leaf=30, early_stopping=len(train.y) >= EARLY_STOPPING_ROWS,
        validation_fraction=0.15, random_state=seed,
    )  # fmt: skip
    bug.fit(x, train.y, sample_weight=sample_weight)
    positive = train.kind >= 0
    kind = HistGradientBoostingClassifier(
        learning_rate=0.1, max_iter=60, max_leaf_nodes=15, min_samples_leaf=20,
        early_stopping=False, random_state=seed,
    )  # fmt: skip
    kind.fit(x[positive], train.kind[positive])
    return bug, kind


def train_detector(
    output: Path | None,
    config: TrainDetectorConfig,
    calibrate: CalibrateConfig | None = None,
    progress: Progress = NULL_PROGRESS,
) -> dict:
    """Fit the bug and kind classifiers, calibrate the threshold (`calibrate_detector`), save,
    and report; stages and files featurized go to ``progress``."""
    calibrate = calibrate or CalibrateConfig()
    from sklearn.metrics import roc_auc_score

    from codeassist.code_model import load_code_model

    started = time.perf_counter()
    progress.stage("load code model and corpus")
    model = load_code_model()
    train_files, val_files = split_training_files(config)
    progress.stage("training features", total=len(train_files), unit="files")
    train = build_dataset(
        model,
        train_files,
        config.mutants_per_file,
        config.seed,
        config.clean_per_file,
        progress=progress,
    )
    progress.stage("validation features", total=len(val_files), unit="files")
    val = build_dataset(
        model, val_files, config.mutants_per_file, config.seed + 1, None, progress=progress
    )
    progress.stage("fit classifiers")
    feature_seconds = time.perf_counter() - started
    bug, kind = fit_classifiers(
        train, np.where(train.y == 0, config.clean_weight, 1.0), config.seed
    )
    detector = Detector(bug, kind, 0.5, {})
    val_scores = detector.score(val.x)[0]
    clean = val.y == 0
    threshold = calibrate_threshold(val_scores[clean], val.lines, config.false_alarm_target)
    flagged = val_scores >= threshold
    meta = {
        "code_model_sha256": code_model_digest(model),
        "train_rows": int(len(train.y)),
        "train_bugs": int(train.y.sum()),
        "train_files": len(train_files),
        "train_packages": sorted({f.package for f in train_files}),
        "validation_files": len(val_files),
        # One class only (a small run): no ranking to measure.
        "validation_auc": (
            float(roc_auc_score(val.y, val_scores)) if len(set(val.y.tolist())) == 2 else None
        ),
        "validation_clean_lines": val.lines,
        "validation_recall": float(flagged[~clean].mean()) if (~clean).any() else 0.0,
        "validation_false_alarms_per_kloc": 1000 * float(flagged[clean].sum()) / max(1, val.lines),
        "mutants_per_file": config.mutants_per_file,
        "clean_per_file": config.clean_per_file,
        "clean_weight": config.clean_weight,
        "seed": config.seed,
        "feature_seconds": round(feature_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    detector = calibrate_detector(
        Detector(bug, kind, threshold, meta), model, calibrate, progress=progress
    )
    save_detector(detector, output or DETECTOR_DIR)
    return dict(detector.meta, threshold=detector.threshold)


def package_quantile_threshold(
    clean_scores: list[np.ndarray],
    lines: np.ndarray,
    static_alarms: np.ndarray,
    config: CalibrateConfig,
) -> tuple[float, float]:
    """Lowest threshold whose alarms per 1,000 lines (static + learned) stay within
    ``config.false_alarm_target`` in ``config.quantile`` of resampled projects, and that
    quantile's rate at it. One entry per package in each argument."""
    rng = np.random.default_rng(config.seed)
    n = len(lines)
    draws = np.zeros((config.resamples, n))  # how often each package is drawn per project
    for b in range(config.resamples):
        total = 0
        while total < config.project_lines:
            k = int(rng.integers(n))
            draws[b, k] += 1
            total += int(lines[k])
    project_lines = draws @ lines
    ordered = [np.sort(s) for s in clean_scores]
    candidates = np.unique(np.concatenate([*clean_scores, [1.0]]))

    def rate(threshold: float) -> float:
        learned = np.array([len(o) - np.searchsorted(o, threshold) for o in ordered])
        per_project = 1000 * (draws @ (learned + static_alarms)) / project_lines
        return float(np.quantile(per_project, config.quantile))

    # alarms only fall as the threshold rises: bisect for the lowest threshold that fits
    lo, hi = 0, len(candidates) - 1
    if rate(candidates[hi] + 1e-6) > config.false_alarm_target:
        return float(candidates[hi] + 1e-6), rate(candidates[hi] + 1e-6)
    while lo < hi:
        mid = (lo + hi) // 2
        if rate(candidates[mid]) <= config.false_alarm_target:
            hi = mid
        else:
            lo = mid + 1
    threshold = float(candidates[lo])
    return threshold, rate(threshold)


def calibration_files(
    train: TrainDetectorConfig, count: int, seed: int, trained: set[str] | None = None
) -> list:
    """Training-split files that no learned part has seen: their package gave the detector no
    training file (``trained``; rebuilt from ``train`` when not given). The code model reads no
    standard-library file by construction (`codeassist.code_model.training_corpus`)."""
    if trained is None:
        trained = {f.package for f in split_training_files(train)[0]}
    pool = list_corpus("train", max_bytes=train.max_file_bytes, seed=seed + 200)
    return [f for f in pool if f.package not in trained][:count]


def calibrate_detector(
    detector: Detector, model, config: CalibrateConfig, progress: Progress = NULL_PROGRESS
) -> Detector:
    """The detector with its threshold set on whole files of packages it was not trained on,
    so that the static findings shown by default plus the learned ones stay within
    ``config.false_alarm_target`` per 1,000 lines on most projects (`CalibrateConfig`)."""
    from codeassist.defects.static import STATIC_THRESHOLD, check_source

    check_code_model(detector, model)
    defaults = TrainDetectorConfig()
    train = TrainDetectorConfig(
        files=int(detector.meta.get("train_files", defaults.files)),
        validation_files=int(detector.meta.get("validation_files", defaults.validation_files)),
        seed=int(detector.meta.get("seed", defaults.seed)),
    )
    started = time.perf_counter()
    trained = detector.meta.get("train_packages")  # recorded since; else rebuilt from `train`
    files = calibration_files(
        train, config.files, config.seed, set(trained) if trained is not None else None
    )
    progress.stage("calibration features", total=len(files), unit="files")
    data = build_dataset(
        model, files, config.mutants_per_file, config.seed + 1, None, progress=progress
    )
    progress.stage("calibrate threshold")
    scores = detector.score(data.x)[0]
    clean = data.y == 0
    packages = sorted({f.package for f in files})
    of_file = np.array([packages.index(f.package) for f in files])
    file_static = np.array(
        [
            sum(f.confidence >= STATIC_THRESHOLD for f in check_source(item.text, "x.py"))
            for item in files
        ]
    )
    file_lines = np.array([item.text.count("\n") + 1 for item in files])
    row_package = of_file[data.group]
    threshold, quantile_rate = package_quantile_threshold(
        [scores[clean & (row_package == p)] for p in range(len(packages))],
        np.bincount(of_file, weights=file_lines, minlength=len(packages)),
        np.bincount(of_file, weights=file_static, minlength=len(packages)),
        config,
    )
    static_rate = 1000 * float(file_static.sum()) / max(1, data.lines)
    flagged = scores >= threshold
    # recall and alarms on the validation files at a threshold this one replaces
    superseded = ("validation_recall", "validation_false_alarms_per_kloc")
    meta = dict(
        {k: v for k, v in detector.meta.items() if k not in superseded},
        calibration_files=len(files),
        calibration_packages=len({f.package for f in files}),
        calibration_lines=data.lines,
        calibration_target_per_kloc=config.false_alarm_target,
        calibration_quantile=config.quantile,
        calibration_project_lines=config.project_lines,
        calibration_quantile_false_alarms_per_kloc=quantile_rate,
        calibration_static_false_alarms_per_kloc=static_rate,
        calibration_learned_false_alarms_per_kloc=1000
        * float(flagged[clean].sum())
        / max(1, data.lines),
        calibration_recall=float(flagged[~clean].mean()) if (~clean).any() else 0.0,
        calibration_seconds=round(time.perf_counter() - started, 1),
    )
    return Detector(detector.bug, detector.kind, threshold, meta)
