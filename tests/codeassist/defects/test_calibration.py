"""The learned threshold is calibrated on files no learned part has seen, and keeps
static + learned alarms within the target there."""

import dataclasses

import numpy as np
import pytest

from codeassist.defects.static import STATIC_THRESHOLD, check_source
from codeassist.defects.training import (
    CalibrateConfig,
    TrainDetectorConfig,
    calibrate_detector,
    calibrate_threshold,
    calibration_files,
    package_quantile_threshold,
    split_training_files,
)


def test_threshold_allows_exactly_the_budgeted_alarms():
    scores = np.array([0.99, 0.95, 0.9, 0.5, 0.2, 0.1])
    # 2,000 lines at 1 alarm per 1,000 lines: two clean statements may score above it
    threshold = calibrate_threshold(scores, 2000, 1.0)
    assert (scores >= threshold).sum() == 2
    assert (scores >= calibrate_threshold(scores, 2000, 0.0)).sum() == 0


def test_calibration_files_come_from_packages_without_training_files():
    train = TrainDetectorConfig()
    trained = {f.package for f in split_training_files(train)[0]}
    chosen = calibration_files(train, 40, 0)
    assert len(chosen) == 40
    assert not trained & {f.package for f in chosen}


@pytest.mark.parametrize("target", [0.0, 5.0])
def test_calibrated_detector_stays_within_its_target(target, tmp_path):
    """Recount the alarms a user would see on the calibration files (detect_source with the
    calibrated detector), instead of trusting the rates calibration reports about itself."""
    from codeassist.code_model import load_code_model
    from codeassist.defects.detect import detect_source
    from codeassist.defects.detector import load_detector, save_detector
    from codeassist.defects.findings import DetectOptions

    config = dataclasses.replace(
        CalibrateConfig(), files=2, mutants_per_file=0, false_alarm_target=target
    )
    detector = load_detector()
    calibrated = calibrate_detector(detector, load_code_model(), config)
    meta = calibrated.meta
    assert meta["calibration_files"] == 2 and meta["calibration_lines"] > 0
    save_detector(calibrated, tmp_path / "calibrated")
    train = TrainDetectorConfig(
        files=int(detector.meta["train_files"]),
        validation_files=int(detector.meta["validation_files"]),
        seed=int(detector.meta["seed"]),
    )
    files = calibration_files(train, 2, config.seed, set(detector.meta["train_packages"]))
    options = DetectOptions(
        static=False, detector_dir=str(tmp_path / "calibrated"), max_findings_per_file=10**6
    )
    # The files are clean (no mutants planted): every learned finding on them is a false alarm.
    learned = sum(len(detect_source(f.text, "x.py", options)) for f in files)
    lines = sum(f.text.count("\n") + 1 for f in files)
    assert lines == meta["calibration_lines"]
    if target == 0.0:
        assert learned == 0
    else:
        assert 1000 * learned / lines == pytest.approx(
            meta["calibration_learned_false_alarms_per_kloc"]
        )
        static = sum(
            f.confidence >= STATIC_THRESHOLD
            for item in files
            for f in check_source(item.text, "x.py")
        )
        assert 1000 * (learned + static) / lines <= target


def test_quantile_threshold_guards_against_the_noisiest_packages():
    rng = np.random.default_rng(0)
    # 20 packages of 1,000 lines; two of them hold most of the high-scoring clean statements
    scores = [rng.uniform(0, 0.5, 400) for _ in range(20)]
    scores[3] = np.concatenate([scores[3], rng.uniform(0.7, 0.9, 12)])
    scores[11] = np.concatenate([scores[11], rng.uniform(0.7, 0.9, 12)])
    lines, static = np.full(20, 1000.0), np.zeros(20)
    pooled = calibrate_threshold(np.concatenate(scores), 20_000, 1.0)
    config = dataclasses.replace(CalibrateConfig(), resamples=300)
    threshold, rate = package_quantile_threshold(scores, lines, static, config)
    assert threshold > pooled and rate <= 1.0
    # with static alarms taking the whole budget, no learned alarm is left
    threshold, _ = package_quantile_threshold(scores, lines, np.full(20, 1.0), config)
    assert threshold > max(s.max() for s in scores)


def test_calibration_excludes_the_recorded_training_packages():
    default = calibration_files(TrainDetectorConfig(), 10, 0)
    recorded = {f.package for f in default[:3]}
    chosen = calibration_files(TrainDetectorConfig(), 10, 0, trained=recorded)
    assert chosen and not recorded & {f.package for f in chosen}
