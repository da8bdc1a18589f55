"""`refactor --use-model` through the CLI flag with real models behind the gate: no stubbed
loader, no scripted generations.

A tiny MoE is trained to memorise one rewrite per function: a behaviour-changing one for
`grade` (the user's tests reject it) and a correct one for `size` (accepted and written). The
shipped code model is run too, on a function it cannot simplify: it loads, generates, and its
candidates are rejected with a reason while the file stays as it was.
"""

import sys

import pytest
from click.testing import CliRunner

from codeassist.refactor.model import _PROMPT
from core_model.config import PRESETS, TrainConfig
from core_model.load import build_text_model, save
from core_model.runtime import set_threads
from core_model.train import train_lm
from moesuite.cli import cli

GRADE = '''def grade(score):
    if score >= 90:
        return "A"
    elif score >= 80:
        return "B"
    elif score >= 70:
        return "C"
    elif score >= 60:
        return "D"
    elif score >= 50:
        return "E"
    else:
        return "F"
'''
# Simpler, but 50 became 40: a score of 45 now gets an "E".
GRADE_WRONG = '''score):
    for bound, letter in ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (40, "E")):
        if score >= bound:
            return letter
    return "F"
'''
SIZE = '''def size(n):
    if n >= 10000:
        return "huge"
    elif n >= 1000:
        return "large"
    elif n >= 100:
        return "big"
    elif n >= 10:
        return "medium"
    elif n >= 1:
        return "small"
    else:
        return "none"
'''
SIZE_SIMPLER = '''n):
    for bound, name in ((10000, "huge"), (1000, "large"), (100, "big"), (10, "medium")):
        if n >= bound:
            return name
    return "small" if n >= 1 else "none"
'''
TESTS = """from m import grade, size


def test_grade():
    assert [grade(s) for s in (95, 85, 75, 65, 55, 45)] == list("ABCDEF")


def test_size():
    assert [size(n) for n in (20000, 2000, 200, 20, 2, 0)] == [
        "huge", "large", "big", "medium", "small", "none"
    ]
"""


def _document(original: str, completion: str) -> str:
    """The prompt model_refactor builds for `original`, followed by the wanted completion."""
    header = original.split("\n", 1)[0].split("(", 1)[0] + "("
    return _PROMPT + original + "\n\n" + _PROMPT + header + completion


@pytest.fixture(scope="module")
def memorised_model(tmp_path_factory):
    set_threads(1)
    docs = [_document(GRADE, GRADE_WRONG), _document(SIZE, SIZE_SIMPLER)]
    model = build_text_model(PRESETS["tiny"], docs * 10, vocab_size=512, seed=0)
    # Each document is ~150 tokens: windows of 160 cover a whole prompt and its completion.
    # 150 steps memorise both (eval loss 0.012; 80 steps did not).
    train_lm(
        model,
        docs * 40,
        TrainConfig(steps=160, batch_size=8, seq_len=160, lr=1e-2, warmup_steps=10,
                    eval_every=10_000, seed=0),
    )  # fmt: skip
    return save(model, tmp_path_factory.mktemp("memorised") / "model")


def _refactor(project, monkeypatch, *extra: str):
    monkeypatch.chdir(project)
    command = f"{sys.executable} -m pytest -q -p no:cacheprovider test_m.py"
    return CliRunner().invoke(
        cli,
        ["--home", str(project / "home"), "refactor", "m.py", "--write", "--use-model",
         "--complexity-target", "low", "--verify-with-tests", command, *extra],
    )  # fmt: skip


def test_use_model_rejects_a_wrong_rewrite_and_applies_a_verified_one(
    memorised_model, tmp_path, monkeypatch
):
    (tmp_path / "m.py").write_text(GRADE + "\n\n" + SIZE)
    (tmp_path / "test_m.py").write_text(TESTS)
    result = _refactor(tmp_path, monkeypatch, "--model", str(memorised_model))
    assert result.exit_code in (0, 1), result.output
    out = result.output
    assert "grade: candidate 1 rejected: tests failed" in out, out
    assert "grade: candidate 2 rejected: tests failed" in out, out
    assert "size: candidate 1 accepted" in out, out
    assert "model refactors: 1 of 3 candidates accepted" in out, out
    written = (tmp_path / "m.py").read_text()
    assert GRADE in written  # the wrong rewrite never reached the file
    assert "for bound, name in" in written and "elif n >= 1000" not in written
    # The written file still does what the original did.
    namespace: dict = {}
    exec(compile(written, "m.py", "exec"), namespace)
    assert [namespace["size"](n) for n in (20000, 2000, 200, 20, 2, 0, -5)] == [
        "huge", "large", "big", "medium", "small", "none", "none"
    ]  # fmt: skip


@pytest.mark.slow
def test_use_model_runs_the_shipped_code_model_behind_the_gate(tmp_path, monkeypatch):
    (tmp_path / "m.py").write_text(GRADE)
    (tmp_path / "test_m.py").write_text(TESTS.replace("grade, size", "grade"))
    result = _refactor(tmp_path, monkeypatch)
    assert result.exit_code in (0, 1), result.output
    lines = [line for line in result.output.splitlines() if "grade: candidate" in line]
    # Whatever it proposes, each candidate gets a verdict; a rejection says why, and an
    # accepted rewrite must keep the behaviour the tests pin.
    assert lines, result.output
    assert all(" accepted" in line or "rejected: " in line for line in lines), result.output
    assert "model refactors:" in result.output
    if not any(line.endswith("accepted") for line in lines):
        assert (tmp_path / "m.py").read_text() == GRADE
    namespace: dict = {}
    exec(compile((tmp_path / "m.py").read_text(), "m.py", "exec"), namespace)
    assert [namespace["grade"](s) for s in (95, 85, 75, 65, 55, 45)] == list("ABCDEF")
