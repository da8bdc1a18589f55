"""Static engine, SARIF output and the detect-defects command (learned part off)."""

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from codeassist.defects.sarif import build_sarif, load_schema_subset, validate_sarif
from codeassist.defects.static import STATIC_THRESHOLD, check_source
from codeassist.errors import CodeassistError
from moesuite.cli import cli

BUGGY = "def f(x):\n    if x is 1:\n        return y\n    return x\n"
CLEAN = "def f(x):\n    if x == 1:\n        return 2\n    return x\n"


def test_static_flags_bugs_with_fix_and_ignores_style():
    findings = check_source(BUGGY + "import os\n", "a.py")
    rules = {f.rule_id for f in findings}
    assert {"ruff/F632", "ruff/F821"} <= rules
    assert "ruff/F401" not in rules  # unused import is style, not a bug
    is_literal = next(f for f in findings if f.rule_id == "ruff/F632")
    assert (is_literal.line, is_literal.column, is_literal.fix) == (2, 8, "x == 1")
    assert check_source(CLEAN, "a.py") == []


def _run(args, **kw):
    return CliRunner().invoke(cli, ["detect-defects", "--no-learned", *args], **kw)


def test_exit_codes(tmp_path):
    (tmp_path / "bad.py").write_text(BUGGY)
    (tmp_path / "good.py").write_text(CLEAN)
    (tmp_path / "broken.py").write_text("def f(:\n")
    assert _run([str(tmp_path / "good.py")]).exit_code == 0
    result = _run([str(tmp_path / "bad.py")])
    assert result.exit_code == 1
    assert "bad.py:3:16: ruff/F821" in result.output
    assert _run([str(tmp_path / "broken.py")]).exit_code == 2
    assert _run([str(tmp_path / "missing.py")]).exit_code == 2
    assert _run(["-"], input=BUGGY).exit_code == 1
    assert _run(["--min-confidence", "0.99", str(tmp_path / "bad.py")]).exit_code == 0


def test_sarif_validates_and_uses_repo_relative_uris(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "pkg").mkdir()
    (repo / "pkg" / "bad.py").write_text(BUGGY)
    monkeypatch.chdir(repo)
    result = _run(["--format", "sarif", "pkg"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    jsonschema.validate(document, load_schema_subset())
    run = document["runs"][0]
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {"pkg/bad.py"}
    for r in run["results"]:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"


def test_schema_subset_rejects_absolute_uris(tmp_path):
    findings = check_source(BUGGY, str(tmp_path / "a.py"))
    document = build_sarif(findings, tmp_path, "0")
    validate_sarif(document)
    location = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    location["artifactLocation"]["uri"] = str(Path(tmp_path / "a.py").resolve())
    with pytest.raises(
        CodeassistError,
        match=r"SARIF output invalid at runs/0/results/0/locations/0/physicalLocation/"
        r"artifactLocation/uri",
    ):
        validate_sarif(document)


REDEFINED = "def f():\n    return 1\n\n\ndef f():\n    return 2\n"


def test_low_confidence_rules_shown_only_on_request(tmp_path):
    # F811 (redefinition of an unused name) is usually deliberate: below the default threshold.
    (tmp_path / "redefined.py").write_text(REDEFINED)
    path = str(tmp_path / "redefined.py")
    assert _run([path]).exit_code == 0
    result = _run(["--min-confidence", "0", path])
    assert result.exit_code == 1 and "ruff/F811" in result.output


def test_default_static_findings_do_not_depend_on_the_learned_part():
    from codeassist.defects.detect import detect_source
    from codeassist.defects.findings import DetectOptions

    source = BUGGY + "\n\n" + REDEFINED
    alone = detect_source(source, "a.py", DetectOptions(learned=False))
    with_learned = detect_source(source, "a.py", DetectOptions())
    static_part = [f for f in with_learned if f.engine == "static"]
    assert [f.rule_id for f in static_part] == [f.rule_id for f in alone]
    assert {"ruff/F632", "ruff/F821"} <= {f.rule_id for f in alone}
    assert "ruff/F811" not in {f.rule_id for f in alone}


@pytest.mark.parametrize(
    "source",
    [
        # the module fills its own namespace at run time (plistlib.py)
        "import enum\nF = enum.Enum('F', 'A B')\nglobals().update(F.__members__)\nx = A\n",
        # an enum's _convert_ handed __name__ (ssl.py)
        "import enum\nenum.IntEnum._convert_('M', __name__, lambda n: n)\ny = M.X\n",
        # bound at module level, deleted once the module is built (opcode.py)
        "def op(n):\n    return n\n\n\ndef name_op(n):\n    return op(n)\n\n\ndel op\n",
    ],
)
def test_undefined_names_the_module_may_define_are_not_shown_by_default(source):
    findings = [f for f in check_source(source, "a.py") if f.rule_id == "ruff/F821"]
    assert findings and all(f.confidence < STATIC_THRESHOLD for f in findings)
    assert all(f.confidence >= STATIC_THRESHOLD for f in check_source(BUGGY, "a.py"))


def test_a_name_local_to_a_nested_function_is_no_module_binding():
    # ``total`` is bound only inside f, under a top-level if: using it at module level is a bug
    source = (
        "import sys\nif sys:\n\n    def f():\n        total = 1\n        return total\n"
        "\n\nprint(total)\n"
    )
    (finding,) = [f for f in check_source(source, "a.py") if f.rule_id == "ruff/F821"]
    assert finding.confidence >= STATIC_THRESHOLD


def test_source_root_makes_sarif_uris_relative_to_it(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "bad.py").write_text(BUGGY)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not inside the project: only --source-root can anchor it
    path = str(project / "pkg" / "bad.py")

    def uris(root) -> set[str]:
        result = _run(["--format", "sarif", "--source-root", str(root), path])
        assert result.exit_code == 1, result.output
        run = json.loads(result.output)["runs"][0]
        return {
            loc["physicalLocation"]["artifactLocation"]["uri"]
            for res in run["results"]
            for loc in res["locations"]
        }

    assert uris(project) == {"pkg/bad.py"}
    assert uris(project / "pkg") == {"bad.py"}
