"""Candidate gating and fix filtering of the learned part (issue 17, items 3 and 4): gating
scores fewer edited windows and reports the same findings; proposed fixes read as fixes."""

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
