"""train-defects with small settings (issue 17 item 3, issue 21): a clear error where no
detector can be fitted, and a working run where one can, both through the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codeassist.defects.dataset import Dataset
from codeassist.defects.errors import TrainingDataError
from codeassist.defects.training import fit_classifiers
from moesuite.cli import cli


def _rows(n_bugs: int, n_clean: int, width: int = 6) -> Dataset:
    rng = np.random.default_rng(0)
    n = n_bugs + n_clean
    x = rng.normal(size=(n, width)).astype(np.float32)
    x[:, 2] = np.nan  # no statement got an edit of this kind: a column NaN in every row
    y = np.array([1] * n_bugs + [0] * n_clean)
    kind = np.where(y == 1, np.arange(n) % 3, -1)
    return Dataset(x, y, kind, np.zeros(n, int), np.zeros((n, 2), int), 0, [])


def test_a_column_nan_in_every_row_and_few_rows_still_fit():
    # Before: scikit-learn's binning raised "window shape cannot be larger than input array
    # shape" on the all-NaN column, and early stopping could not split 3 bugs stratified.
    bug, kind = fit_classifiers(_rows(3, 9), np.ones(12), seed=0)
    probability = bug.predict_proba(_rows(3, 9).x)[:, 1]
    assert probability.shape == (12,) and np.isfinite(probability).all()


@pytest.mark.parametrize(("bugs", "clean"), [(0, 10), (1, 10), (5, 0)])
def test_too_few_rows_of_a_class_is_a_named_error(bugs, clean):
    with pytest.raises(TrainingDataError, match=f"{bugs} seeded-bug rows and {clean} clean"):
        fit_classifiers(_rows(bugs, clean), np.ones(bugs + clean), seed=0)


def test_cli_without_seeded_bugs_exits_2_with_the_fix(tmp_path: Path):
    result = CliRunner().invoke(
        cli,
        ["train-defects", "--files", "2", "--mutants", "0", "--clean", "2",
         "--validation-files", "1", "--output", str(tmp_path / "d")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "0 seeded-bug rows" in result.output and "--mutants" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_cli_tiny_run_writes_a_detector_that_loads(tmp_path: Path):
    from codeassist.defects.detector import load_detector

    out = tmp_path / "d"
    result = CliRunner().invoke(
        cli,
        ["train-defects", "--files", "2", "--mutants", "2", "--clean", "2",
         "--validation-files", "1", "--calibration-files", "1", "--output", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["train_bugs"] >= 2 and report["train_files"] == 2
    detector = load_detector(out)
    assert 0.0 <= detector.threshold <= 1.0
