"""Statement windows and candidate edits: what the learned detector compares each statement with.

Training scores seeded bugs in mutant files and detection scores user files; both go through
`statement_features`, whose code-model window depends only on the text around the statement (its
usage facts come from the enclosing function and the file's attribute uses, whole in both). These
tests pin that down (identical rows whatever unrelated code is far away) and check that the
candidate edits of a seeded bug's statement include the edit that undoes it.
"""

import ast

import numpy as np
import pytest

from codeassist.code_model import load_code_model
from codeassist.defects.detector import statement_features
from codeassist.defects.mutate import list_mutations, sample_mutations
from codeassist.defects.statements import SourceIndex, list_statements, statement_at
from codeassist.defects.variants import (
    CONTEXT_LINES,
    MAX_VARIANTS,
    PER_KIND,
    candidate_edits,
    choose_variants,
    statement_window,
)

SOURCE = """import os


def scale(values, factor, limit):
    total = 0
    for i in range(len(values)):
        if values[i] > limit and factor != 0:
            total = total + values[i] * factor
    return min(total, limit)


def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return high
    return value
"""
FAR_AWAY = "\n\n" + "\n".join(f"CONSTANT_{i} = {i}" for i in range(40)) + "\n"


@pytest.fixture(scope="module")
def model():
    return load_code_model()


def _statements(source):
    index = SourceIndex(source)
    return index, list_statements(ast.parse(source), index)


def test_window_holds_the_statement_its_context_and_the_next_line():
    index, statements = _statements(SOURCE)
    header = next(s for s in statements if SOURCE[s.start : s.end] == "if value > high:")
    window = statement_window(index, header)
    text = SOURCE[window.start : window.end]
    assert text.endswith("if value > high:\n        return high\n")
    assert text.count("\n") <= CONTEXT_LINES + 2
    assert window.start == index.line_starts[header.line - 1 - CONTEXT_LINES]


def test_rows_do_not_depend_on_code_outside_the_window(model):
    # A statement's row is the same in the file and in a longer file (as in a crop at training
    # time and a whole file at detection time).
    longer = SOURCE + FAR_AWAY
    a = statement_features(model, [SOURCE])[0]
    b = statement_features(model, [longer])[0]
    assert a.statements == b.statements[: len(a.statements)]
    n = len(a.statements) - 1  # the last one's next line is the new text: its window differs
    np.testing.assert_allclose(a.matrix[:n], b.matrix[:n], rtol=1e-4, atol=1e-4)


def test_selected_statements_match_scoring_all(model):
    full = statement_features(model, [SOURCE])[0]
    some = statement_features(model, [SOURCE], selected=[[1, 4]])[0]
    assert some.statements == [full.statements[1], full.statements[4]]
    np.testing.assert_allclose(some.matrix, full.matrix[[1, 4]], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "kind",
    ["swapped_args", "wrong_binary_operator", "wrong_comparison", "wrong_boolean_operator",
     "negated_condition", "off_by_one", "dropped_return"],
)  # fmt: skip
def test_candidate_edits_include_the_one_that_undoes_a_seeded_bug(kind):
    for mutation in sample_mutations(SOURCE, 3, seed=0, kinds=(kind,)):
        mutant = mutation.apply(SOURCE)
        index, statements = _statements(mutant)
        statement = statement_at(statements, mutation.start)
        candidates = candidate_edits(mutant, statement, list_mutations(mutant))
        undo = [c for c in candidates if c.apply(mutant) == SOURCE]
        assert undo, (kind, mutation)
        # Tried whenever the code model ranks it first among its kind.
        variants = choose_variants(candidates, lambda m, undo=undo[0]: float(m == undo))
        assert undo[0] in variants and len(variants) <= MAX_VARIANTS


def test_names_are_chosen_by_score_and_capped_per_kind():
    _, statements = _statements(SOURCE)
    statement = next(s for s in statements if SOURCE[s.start : s.end].startswith("return min"))
    candidates = candidate_edits(SOURCE, statement, list_mutations(SOURCE))
    names = [m for m in candidates if m.kind == "wrong_variable"]
    assert len(names) > PER_KIND
    favourite = names[-1]
    chosen = choose_variants(candidates, lambda m: 1.0 if m == favourite else 0.0)
    picked = [m for m in chosen if m.kind == "wrong_variable"]
    assert picked[0] == favourite and len(picked) == PER_KIND
    # A name the model could not score is never tried.
    assert not [m for m in choose_variants(candidates, lambda m: None) if m.kind in
                ("wrong_variable", "wrong_attribute")]  # fmt: skip


def test_training_rows_are_the_rows_detection_computes(model):
    # A seeded bug's training row is exactly what detection computes for that statement of the
    # mutant file: no train/inference mismatch.
    from pathlib import Path

    from codeassist.defects.corpus import CorpusFile
    from codeassist.defects.dataset import build_dataset

    data = build_dataset(model, [CorpusFile("demo", Path("demo.py"), SOURCE)], 3, seed=0)
    assert data.y.sum() == len(data.mutations) == 3
    assert data.lines == SOURCE.count("\n") + 1  # every clean statement scored
    bugs = data.y == 1
    for row, span, (_, mutation) in zip(
        data.x[bugs], data.spans[bugs], data.mutations, strict=True
    ):
        mutant = mutation.apply(SOURCE)
        feats = statement_features(model, [mutant])[0]
        i = feats.statements.index(statement_at(feats.statements, mutation.start))
        np.testing.assert_allclose(row, feats.matrix[i], rtol=1e-4, atol=1e-4)
        # the row knows its statement's lines (where static findings are looked up)
        assert tuple(span) == (feats.statements[i].line, feats.statements[i].end_line)
