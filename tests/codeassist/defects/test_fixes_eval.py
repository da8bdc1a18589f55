"""evaluate-defects --fixes on three hand-made fixes: hits on the buggy line and flagged fixed
files are counted per engine (the suite's static engine, ruff and pylint, one run)."""

import json
from pathlib import Path

from click.testing import CliRunner

from codeassist.defects.fixes import FixCase, write_fixes
from codeassist.defects.fixes_eval import FixesEvalConfig, evaluate_fixes, score_cases
from moesuite.cli import cli


def _case(before: str, after: str, buggy: tuple[int, ...], context=(), category="other"):
    return FixCase(
        repo="acme/app", commit="0" * 40, path="app.py", function="f", before=before,
        after=after, buggy_lines=buggy, changed_lines=buggy, file_line=10, subject="Fix it",
        category=category, context=context, split="test",
    )  # fmt: skip


CASES = [
    # an undefined name on the buggy line: every engine hits it, the fix is clean
    _case(
        "def area(w, h):\n    return w * hh\n",
        "def area(w, h):\n    return w * h\n",
        (2,),
        category="wrong_variable",
    ),  # fmt: skip
    # an unused loop variable on the buggy line (ruff's B007; not among the suite's rules, a
    # warning for pylint), and an undefined name the fix leaves in place
    _case(
        "def f(xs):\n    for x in xs:\n        print(1)\n    return xs + missing\n",
        "def f(xs):\n    return xs + missing\n",
        (2,),
    ),
    # nothing any engine sees; `math` is the module's and must not count as undefined
    _case(
        "def g(a, b):\n    return math.floor(a - b)\n",
        "def g(a, b):\n    return math.floor(a + b)\n",
        (2,),
        context=("math",),
        category="wrong_binary_operator",
    ),
]


def test_hits_and_flagged_fixed_files_per_engine():
    config = FixesEvalConfig(engines=("static", "ruff", "pylint"))
    report = evaluate_fixes(CASES, config)
    engines = report["engines"]
    assert {e: (r["hits"], r["fixed_flagged"]) for e, r in engines.items()} == {
        "static": (1, 1),
        "ruff": (2, 1),
        "pylint": (1, 1),
    }
    assert engines["ruff"]["hit_cases"] == [0, 1]
    assert engines["ruff"]["hit_rules"] == {"ruff/F821": 1, "ruff/B007": 1}
    assert engines["pylint"]["hit_rules"] == {"pylint/E0602": 1}
    assert report["per_category"]["wrong_variable"] == {
        "cases": 1, "static": 1, "ruff": 1, "pylint": 1,
    }  # fmt: skip
    assert report["per_category"]["wrong_binary_operator"]["ruff"] == 0


def test_a_finding_off_the_buggy_line_is_no_hit():
    case = CASES[1]
    # one finding on the function's line 3 (file line 4), none on the buggy line 2 (file line 3)
    result = score_cases([case], [[(4, "x/1")]], [[]])
    assert (result["hits"], result["fixed_flagged"], result["buggy_flagged"]) == (0, 0, 1)
    assert score_cases([case], [[(3, "x/1")]], [[(3, "x/1")]])["hits"] == 1


def test_evaluate_defects_fixes_command(tmp_path: Path):
    path = tmp_path / "fixes.jsonl"
    write_fixes(CASES, path)
    args = ["evaluate-defects", "--fixes", str(path), "--engine", "ruff", "--engine", "pylint"]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["cases"] == 3
    assert report["engines"]["ruff"]["hits"] == 2
    table = CliRunner().invoke(cli, args).output
    assert "| ruff | 2 | 1 | 2 |" in table
    empty = CliRunner().invoke(cli, [*args, "--split", "train"])
    assert empty.exit_code == 2 and "no train cases" in empty.output
