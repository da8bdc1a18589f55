"""train-defects --fixes: real fixes become rows (the buggy statement positive, the rest of the
function and its fixed version negative), and a tiny run trains, records the data set digest
and writes a detector that loads."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.fixes import FixCase, file_digest, write_fixes
from moesuite.cli import cli

BEFORE = """\
def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return low
    return value
"""
AFTER = BEFORE.replace(
    "        return low\n    return value", "        return high\n    return value"
)


def _case(split: str, k: int) -> FixCase:
    return FixCase(
        repo=f"acme/{split}", commit=f"{k:040d}", path="m.py", function="clamp",
        before=BEFORE.replace("clamp", f"clamp{k}"), after=AFTER.replace("clamp", f"clamp{k}"),
        buggy_lines=(5,), changed_lines=(5,), file_line=1, subject="Fix clamp",
        category="wrong_variable", context=(), split=split,
    )  # fmt: skip


@pytest.fixture(scope="module")
def model():
    from codeassist.code_model import load_code_model

    return load_code_model()


def test_fix_rows_label_the_buggy_statement_only(model):
    from codeassist.defects.fixes_training import fix_outcomes, fix_rows

    data = fix_rows(model, [_case("validation", 0)], sampled=False, seed=0)
    before, after = data.group == 0, data.group == 1
    # the header line (line 1 of the file) is not a row; the function's 6 statements each way
    assert before.sum() == 6 and after.sum() == 6
    assert data.spans[data.y == 1].tolist() == [[6, 6]]  # file line 6 = function line 5
    assert data.kind[data.y == 1].tolist() == [BUG_KINDS.index("wrong_variable")]
    assert set(data.kind[data.y == 0]) == {-1}
    scores = np.where(data.y == 1, 0.9, 0.1)
    assert fix_outcomes(data, scores, 0.5, 1) == {"hits": 1, "fixed_flagged": 0}
    scores[after] = 0.95  # the fixed version flagged too
    assert fix_outcomes(data, scores, 0.5, 1) == {"hits": 1, "fixed_flagged": 1}


@pytest.mark.slow
def test_train_defects_with_fixes_writes_a_detector_that_records_the_data(tmp_path: Path):
    from codeassist.defects.detector import load_detector

    data = tmp_path / "fixes.jsonl"
    write_fixes([_case("train", k) for k in range(3)] + [_case("validation", 9)], data)
    out = tmp_path / "detector"
    result = CliRunner().invoke(
        cli,
        ["train-defects", "--fixes", str(data), "--fix-weight", "1", "--files", "8",
         "--validation-files", "1", "--mutants", "3", "--clean", "8",
         "--calibration-files", "1", "--output", str(out), "--cache", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [r["fix_weight"] for r in report["validation"]] == [1.0]
    assert report["train_cases"] == 3 and report["validation_cases"] == 1
    detector = load_detector(out)
    assert detector.meta["fixes_sha256"] == {str(data): file_digest(data)}
    assert detector.meta["fix_train_repositories"] == ["acme/train"]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 4  # seeded and fix rows kept
