"""--use-model: only candidates that are simpler, pass the gate and pass the user's tests and
the file's doctests on a temporary copy are applied. The generator is replaced by scripted
completions so the test controls what the "model" proposes."""

import sys

import pytest

import codeassist.refactor.model as model_refactor
from codeassist.config import DiscoveryOptions, RefactorOptions
from codeassist.refactor.files import refactor_paths

SOURCE = '''def grade(score):
    """Letter grade.

    >>> grade(95)
    'A'
    """
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

SIMPLER = '''score):
    """Letter grade.

    >>> grade(95)
    'A'
    """
    for bound, letter in ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (50, "E")):
        if score >= bound:
            return letter
    return "F"
'''

WRONG = SIMPLER.replace('(50, "E")', '(40, "E")')

TESTS = """from m import grade


def test_grades():
    assert [grade(s) for s in (95, 85, 75, 65, 55, 45)] == list("ABCDEF")
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "m.py").write_text(SOURCE)
    (tmp_path / "test_m.py").write_text(TESTS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(model_refactor, "_load", lambda options: object())
    return tmp_path


def _run(project, monkeypatch, completions, verify=True, write=True):
    scripted = iter(completions)
    monkeypatch.setattr(
        "core_model.generate.generate", lambda model, prompts, config: [next(scripted)]
    )
    options = RefactorOptions(
        complexity_target="low",
        use_model=True,
        candidates=len(completions),
        verify_with_tests=f"{sys.executable} -m pytest -q -p no:cacheprovider test_m.py"
        if verify
        else None,
        test_timeout=120,
    )
    report = refactor_paths(
        [project / "m.py"],
        options,
        DiscoveryOptions(),
        "write" if write else "diff",
        progress=False,
    )
    return model_refactor.apply_model_refactors(report, options, write=write)


def test_verified_simpler_candidate_is_applied(project, monkeypatch):
    report = _run(project, monkeypatch, ["garbage (", WRONG, SIMPLER])
    model_lines = "\n".join(report.extra["model"])
    assert "candidate 1 rejected: does not parse" in model_lines
    assert "candidate 2 rejected: tests failed" in model_lines
    assert "candidate 3 accepted" in model_lines
    assert "1 of 3 candidates accepted" in model_lines
    assert "for bound, letter in" in (project / "m.py").read_text()


def test_nothing_is_applied_without_a_behaviour_check(project, monkeypatch):
    report = _run(project, monkeypatch, [SIMPLER], verify=False)
    assert "pass --verify-with-tests" in "\n".join(report.extra["model"])
    assert (project / "m.py").read_text() == SOURCE


def test_not_simpler_candidate_is_rejected(project, monkeypatch):
    same = SOURCE.split("(", 1)[1]
    report = _run(project, monkeypatch, [same])
    assert "is not below 6" in "\n".join(report.extra["model"])
    assert (project / "m.py").read_text() == SOURCE
