"""`detect-defects` runs the learned detector only when asked (issue 17 item 2: on the
validation repositories' real fixes it found no bug whose fixed version it left alone)."""

from pathlib import Path

import pytest
from click.testing import CliRunner

import codeassist.defects.detect as detect_module
from moesuite.cli import cli


@pytest.fixture
def learned_calls(monkeypatch):
    calls = []

    def fake(source, tree, path, options, threshold):
        calls.append(path)
        return []

    monkeypatch.setattr(detect_module, "_learned_findings", fake)
    monkeypatch.setattr(detect_module, "learned_threshold", lambda options: 0.5)
    return calls


def test_default_run_leaves_the_learned_detector_out(tmp_path: Path, learned_calls, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("a.py").write_text("def f(a):\n    return a\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["detect-defects", "a.py"])
    assert result.exit_code == 0, result.output
    assert learned_calls == []
    result = CliRunner().invoke(cli, ["detect-defects", "--learned", "a.py"])
    assert result.exit_code == 0, result.output
    assert learned_calls == ["a.py"]
