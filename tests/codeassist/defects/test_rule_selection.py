"""The rules chosen on real bug fixes: each shows by default on its bug and stays quiet on the
fix; the pylint engine's chosen checks show, the rest only on request; one finding per line."""

import pytest

from codeassist.defects.detect import detect_source, one_per_line
from codeassist.defects.findings import DetectOptions, Finding
from codeassist.defects.static import CHOSEN_ON_FIXES, STATIC_THRESHOLD, check_source

# Each chosen rule: a buggy function (the rule's finding on line 2) and its fix.
CASES = {
    "F821": ("def f(w, h):\n    return w * hh\n", "def f(w, h):\n    return w * h\n"),
    "F632": ("def f(x):\n    return x is 'a'\n", "def f(x):\n    return x == 'a'\n"),
    "PLW0128": (
        "def f(p):\n    a, a = p\n    return a\n",
        "def f(p):\n    a, b = p\n    return a + b\n",
    ),
    "B006": ("def f(\n    x=[],\n):\n    return x\n", "def f(\n    x=None,\n):\n    return x\n"),
    "B011": ("def f(x):\n    assert False, x\n", "def f(x):\n    raise AssertionError(x)\n"),
    "RUF071": (
        "import os\nprefix = os.path.commonprefix(['/a/b', '/a/c'])\n",
        "import os\nprefix = os.path.commonpath(['/a/b', '/a/c'])\n",
    ),
    "F841": (
        "def f(x):\n    y = x + 1\n    return x\n",
        "def f(x):\n    y = x + 1\n    return y\n",
    ),
    "PLW0133": (
        "def f(x):\n    ValueError(x)\n",
        "def f(x):\n    raise ValueError(x)\n",
    ),
    "LOG014": (
        "import logging\nlogging.getLogger().error('failed', exc_info=True)\n",
        "import logging\nlogging.getLogger().error('failed')\n",
    ),
}  # fmt: skip


def test_every_chosen_rule_has_a_case():
    assert set(CASES) == set(CHOSEN_ON_FIXES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_a_chosen_rule_is_shown_on_its_bug_and_quiet_on_the_fix(rule: str):
    buggy, fixed = CASES[rule]
    shown = [f for f in check_source(buggy, "a.py") if f.confidence >= STATIC_THRESHOLD]
    assert (2, f"ruff/{rule}") in {(f.line, f.rule_id) for f in shown}
    assert [f for f in check_source(fixed, "a.py") if f.confidence >= STATIC_THRESHOLD] == []


def test_a_rule_held_back_by_clean_code_alarms_is_shown_only_on_request():
    # RUF021 hit real bugs but raised 0.42 alarms per 1k standard-library lines.
    (finding,) = check_source("def f(a, b, c):\n    return a and b or c\n", "a.py")
    assert finding.rule_id == "ruff/RUF021" and finding.confidence < STATIC_THRESHOLD


PYLINT_CASE = """\
class Account:
    def __init__(self):
        self.balance = 0

    def total(self):
        return self.balanse


def area(w, h):
    return w * hh
"""


def test_pylint_engine_shows_its_chosen_checks_and_the_rest_on_request():
    from codeassist.defects.pylint_engine import check_pylint

    found = {(f.line, f.rule_id): f.confidence for f in check_pylint(PYLINT_CASE, "a.py")}
    assert found[(10, "pylint/E0602")] >= STATIC_THRESHOLD  # undefined variable: shown
    assert found[(6, "pylint/E1101")] < STATIC_THRESHOLD  # no-member: noisy on clean code


def test_pylint_runs_only_when_asked_and_one_finding_per_line():
    quiet = DetectOptions(learned=False, semantic=False)
    without = detect_source(PYLINT_CASE, "a.py", quiet)
    assert [(f.line, f.engine) for f in without] == [(10, "static")]  # ruff's F821
    with_pylint = detect_source(PYLINT_CASE, "a.py", DetectOptions(learned=False, pylint=True))
    lines = [f.line for f in with_pylint]
    assert lines == sorted(set(lines))  # ruff and pylint both see line 10: reported once
    assert 10 in lines


def test_one_per_line_keeps_the_most_confident():
    def finding(line: int, rule: str, confidence: float) -> Finding:
        return Finding("a.py", line, 1, rule, "k", "m", confidence, "static")

    learned = Finding("a.py", 3, 1, "learned/x", "k", "m", 0.99, "learned")
    kept = one_per_line(
        [finding(3, "b", 0.8), finding(1, "a", 0.9), finding(3, "c", 0.95), finding(3, "d", 0.7)]
        + [learned]
    )
    assert [(f.line, f.rule_id) for f in kept] == [(1, "a"), (3, "c"), (3, "learned/x")]


def test_pylint_findings_in_sarif_name_pylint_and_validate(tmp_path):
    from codeassist.defects.pylint_engine import check_pylint
    from codeassist.defects.sarif import build_sarif, validate_sarif

    (tmp_path / "a.py").write_text(PYLINT_CASE)
    findings = [f for f in check_pylint(PYLINT_CASE, str(tmp_path / "a.py")) if f.line == 10]
    document = build_sarif(findings, tmp_path, "0.1.0")
    validate_sarif(document)
    (rule,) = document["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "pylint/E0602" and rule["shortDescription"]["text"].startswith("pylint")


def test_detect_paths_runs_pylint_once_for_all_files(tmp_path, monkeypatch):
    from codeassist.defects import pylint_engine
    from codeassist.defects.detect import detect_paths

    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(PYLINT_CASE)
    runs = []
    real = pylint_engine.run_pylint
    monkeypatch.setattr(
        pylint_engine, "run_pylint", lambda sources, enable: runs.append(1) or real(sources, enable)
    )
    options = DetectOptions(static=False, semantic=False, learned=False, pylint=True)
    findings, _ = detect_paths([tmp_path], options)
    assert len(runs) == 1
    assert sorted((f.path.rsplit("/", 1)[-1], f.line, f.rule_id) for f in findings) == [
        ("a.py", 10, "pylint/E0602"),
        ("b.py", 10, "pylint/E0602"),
    ]
