"""The evaluation: each seeded bug and each clean statement gets the confidence ruff gives that
very statement (the static and static + learned rankings); the static engine alone is counted on
the seeded line; a fresh sample leaves out the files of earlier ones."""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codeassist.defects.corpus import CorpusFile
from codeassist.defects.dataset import Dataset
from codeassist.defects.evaluate import (
    EvaluateConfig,
    _static_findings,
    _static_results,
    held_out_files,
    kind_precision,
    statement_static_confidence,
)
from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.mutate import Mutation
from moesuite.cli import cli

SOURCE = """\
def total(values):
    if values is ():
        return 0
    result = sum(values)
    return result
"""


def test_static_confidence_lands_on_the_seeded_statement_only():
    start = SOURCE.index("return result")
    dropped = Mutation("dropped_return", start, start + len("return result"), "return result",
                       "result")  # fmt: skip
    files = [CorpusFile("pkg", Path("pkg/total.py"), SOURCE)]
    # rows: the 5 statements of the clean file, then the seeded statement in its mutant
    data = Dataset(
        x=np.zeros((6, 1), np.float32),
        y=np.array([0, 0, 0, 0, 0, 1]),
        kind=np.array([-1] * 5 + [BUG_KINDS.index("dropped_return")]),
        group=np.zeros(6, np.int64),
        spans=np.array([(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (5, 5)]),  # one line each
        lines=SOURCE.count("\n"),
        mutations=[(0, dropped)],
    )
    base, mutants = _static_findings(files, data.mutations)
    scores = statement_static_confidence(data, base, mutants)
    # `is ()` is flagged on the if header of the clean file; the bare name left by the dropped
    # return in the mutant; the other clean statements (the def header among them) are quiet
    assert scores[1] > 0
    assert list(scores[[0, 2, 3, 4]]) == [0, 0, 0, 0]
    assert scores[5] >= 0.75


def test_static_alone_finds_the_seeded_bug_and_counts_the_clean_alarm():
    start = SOURCE.index("return result")
    dropped = Mutation("dropped_return", start, start + len("return result"), "return result",
                       "result")  # fmt: skip
    files = [CorpusFile("pkg", Path("pkg/total.py"), SOURCE)]
    base, mutants = _static_findings(files, [(0, dropped)])
    [(found, alarms)], lines = _static_results(files, [(0, dropped)], base, mutants, (0.0,))
    assert list(found) == [True]  # the bare name is new in the mutant, on the seeded line
    assert alarms == 1  # `is ()` in the unmodified file
    assert lines == SOURCE.count("\n") + 1


def test_a_sample_can_leave_out_the_files_of_earlier_samples():
    standard = {f.path for f in held_out_files(EvaluateConfig(files=10))}
    fresh = held_out_files(EvaluateConfig(files=10, exclude_samples=((10, 1),)))
    assert len(standard) == len(fresh) == 10
    assert not standard & {f.path for f in fresh}


def test_evaluate_defects_rejects_a_malformed_sample():
    result = CliRunner().invoke(cli, ["evaluate-defects", "--exclude-sample", "forty"])
    assert result.exit_code == 2
    assert "'forty' is not FILES:SEED" in result.output


def test_kind_precision_counts_a_finding_that_names_the_wrong_kind_against_it():
    variable, attribute = BUG_KINDS.index("wrong_variable"), BUG_KINDS.index("wrong_attribute")
    flagged = np.array([True, True, True, True, False])
    predicted = np.array([variable, variable, variable, attribute, variable])
    kind = np.array([variable, attribute, -1, attribute, variable])  # -1: a clean statement
    assert kind_precision(flagged, predicted, kind, variable) == 1 / 3
    assert kind_precision(flagged, predicted, kind, attribute) == 1.0
    assert np.isnan(kind_precision(flagged, predicted, kind, BUG_KINDS.index("off_by_one")))


@pytest.mark.slow
def test_evaluate_defects_cli_on_two_files_reports_consistent_counts():
    import json

    from moesuite.cli import cli

    result = CliRunner().invoke(
        cli, ["evaluate-defects", "--files", "2", "--mutants", "2", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["files"] == 2 and len(report["packages"]) == 2
    assert report["seeded_bugs"] == 2 * 2  # files x mutants
    assert 0 <= report["learned_found"] <= report["seeded_bugs"]
    assert report["learned_recall"] == pytest.approx(report["learned_found"] / 4)
    # Rates per 1,000 clean lines come from whole alarms.
    for engine in ("learned", "static"):
        alarms = report[f"{engine}_false_alarms_per_kloc"] * report["clean_lines"] / 1000
        assert alarms == pytest.approx(round(alarms), abs=1e-6)
    assert 0.5 <= report["roc_auc"] <= 1.0
