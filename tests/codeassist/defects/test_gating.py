"""Candidate gating and fix filtering of the learned part (issue 17, items 3 and 4): gating
scores fewer edited windows and reports the same findings; proposed fixes read as fixes."""

import numpy as np
import pytest

import codeassist.defects.detector as detector_module
from codeassist.defects.detect import detect_source
from codeassist.defects.findings import DetectOptions
from codeassist.defects.fix import reads_as_fix

SOURCE = """\
import os


def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return high
    return value


def load(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    total = 0
    for i in range(len(lines)):
        total += len(lines[i]) * 2
    return lines, total / max(1, len(lines))


class Counter:
    def __init__(self, start=0):
        self.count = start

    def bump(self, step=1):
        self.count = self.count + step
        return self.count
"""
BUGGY = SOURCE.replace("        return low\n", "        low\n")


@pytest.fixture
def edited_windows(monkeypatch):
    """Counts the edited windows scored (one per candidate edit tried)."""
    counted = []
    original = detector_module._edited_pass

    def counting(model, jobs, written):
        counted.append(sum(len(job.variants) for job in jobs))
        return original(model, jobs, written)

    monkeypatch.setattr(detector_module, "_edited_pass", counting)
    return counted


@pytest.mark.parametrize("text", [SOURCE, BUGGY], ids=["clean", "dropped-return"])
def test_gating_scores_fewer_statements_and_reports_the_same(edited_windows, text):
    ungated = detect_source(text, "a.py", DetectOptions(static=False, gate=0.0))
    full = sum(edited_windows)
    edited_windows.clear()
    gated = detect_source(text, "a.py", DetectOptions(static=False, gate=0.1))
    assert 0 < sum(edited_windows) < full
    assert gated == ungated


def test_seeded_bug_still_found_with_gating():
    found = detect_source(BUGGY, "a.py", DetectOptions(static=False, semantic=False, gate=0.1))
    assert [(f.line, f.kind, f.fix) for f in found] == [(6, "dropped_return", "return low")]


def test_gate_that_refuses_everything_keeps_every_row(edited_windows):
    from codeassist.code_model import load_code_model

    model = load_code_model()
    feats = detector_module.statement_features(
        model, [SOURCE], gate=lambda rows: [False] * len(rows)
    )[0]
    assert sum(edited_windows) == 0
    assert feats.matrix.shape == (len(feats.statements), detector_module.N_FEATURES)


def test_detection_runs_torch_on_one_thread_by_default():
    import torch

    torch.set_num_threads(2)
    detect_source(SOURCE, "a.py", DetectOptions(static=False))
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize(
    ("original", "fixed", "ok"),
    [
        ("SHIFT = np.empty(1) * 34", "SHIFT = np.empty(1) << 34", False),  # issue 17
        ("flags = a | b", "flags = a + b", False),
        ("x = a + b", "x = a - b", True),
        ("if a < b:", "if a <= b:", True),
        ("low", "return low", True),
        ("x = 1", "x = 1", False),  # no change
        (
            "table = {\n" + "    'k': 1,\n" * 14 + "}",
            "table = {\n" + "    'k': 2,\n" * 14 + "}",
            False,
        ),
    ],
)
def test_fix_offered_only_where_it_reads_as_one(original, fixed, ok):
    assert reads_as_fix(original, fixed) is ok


@pytest.fixture
def written_statements(monkeypatch):
    """Counts the statements that go through the code model at all (the written pass)."""
    counted = []
    original = detector_module._written_pass

    def counting(model, jobs, scorer):
        counted.append(len(jobs))
        return original(model, jobs, scorer)

    monkeypatch.setattr(detector_module, "_written_pass", counting)
    return counted


def test_cheap_gate_sends_fewer_statements_to_the_model_and_keeps_the_bug(written_statements):
    everything = DetectOptions(static=False, semantic=False, cheap_gate=False)
    ungated = detect_source(BUGGY, "a.py", everything)
    editable = sum(written_statements)
    written_statements.clear()
    gated = detect_source(BUGGY, "a.py", DetectOptions(static=False, semantic=False))
    assert 0 < sum(written_statements) < editable
    assert [(f.line, f.kind) for f in gated] == [(6, "dropped_return")]
    assert [(f.line, f.kind) for f in ungated] == [(6, "dropped_return")]


def test_statements_no_edit_applies_to_never_reach_the_model(written_statements):
    import ast

    from codeassist.defects.mutate import list_mutations
    from codeassist.defects.statements import SourceIndex, list_statements
    from codeassist.defects.variants import candidate_edits

    tree = ast.parse(SOURCE)
    statements = list_statements(tree, SourceIndex(SOURCE))
    mutations = list_mutations(SOURCE, tree)
    editable = [s for s in statements if candidate_edits(SOURCE, s, mutations)]
    assert len(editable) < len(statements)  # `import os`, `self.count = start` ...
    detect_source(SOURCE, "a.py", DetectOptions(static=False, semantic=False, cheap_gate=False))
    assert sum(written_statements) == len(editable)


def test_cheap_gate_is_deterministic():
    from codeassist.defects.detector import DETECTOR_DIR
    from codeassist.defects.gate import load_gate

    gate = load_gate(DETECTOR_DIR)
    assert gate is not None and 0 < gate.threshold < 1
    from codeassist.code_model import load_code_model

    model = load_code_model()
    a = detector_module.statement_features(model, [BUGGY], cheap_gate=gate.keep)[0]
    b = detector_module.statement_features(model, [BUGGY], cheap_gate=gate.keep)[0]
    assert gate.keep(a.cheap).tolist() == gate.keep(b.cheap).tolist()
    assert (a.matrix == b.matrix)[~np.isnan(a.matrix)].all()


def test_a_gate_for_other_features_is_refused(tmp_path):
    import json

    from codeassist.defects.detector import DETECTOR_DIR
    from codeassist.defects.errors import DetectorArtifactError
    from codeassist.defects.gate import load_gate

    data = json.loads((DETECTOR_DIR / "gate.json").read_text())
    data["features"] = data["features"][:-1]
    (tmp_path / "gate.json").write_text(json.dumps(data))
    with pytest.raises(DetectorArtifactError, match="other cheap features"):
        load_gate(tmp_path)
    assert load_gate(tmp_path / "none") is None


def test_batching_windows_does_not_change_features(monkeypatch):
    from codeassist.code_model import load_code_model
    from codeassist.defects.detector import load_detector

    model, detector = load_code_model(), load_detector()
    together = detector_module.statement_features(model, [SOURCE, BUGGY])
    monkeypatch.setattr(detector_module, "_CHUNK_STATEMENTS", 3)
    apart = detector_module.statement_features(model, [SOURCE, BUGGY])
    for t, a in zip(together, apart, strict=True):
        assert np.array_equal(np.isnan(t.matrix), np.isnan(a.matrix))
        np.testing.assert_allclose(np.nan_to_num(a.matrix), np.nan_to_num(t.matrix), atol=1e-4)
        np.testing.assert_allclose(detector.score(a.matrix)[0], detector.score(t.matrix)[0],
                                   atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("threads", [1, 2])
def test_detection_uses_the_threads_asked_for(threads):
    import torch

    torch.set_num_threads(3)
    detect_source(SOURCE, "a.py", DetectOptions(static=False, threads=threads))
    assert torch.get_num_threads() == threads
