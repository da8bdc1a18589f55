"""`train-code-model --corpus DIR` and `calibrate-defects` through the CLI on tiny inputs.

`train-defects` is not run here: at tiny settings (a few files) it stops in scikit-learn's
binning with a traceback, which the defects-speed work fixes; its test belongs with that fix.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from moesuite.cli import cli

# Own code with a recognisable vocabulary: the tokenizer must have learnt from these files.
MODULE = '''"""Invoices for the tiny shop."""


def invoice_total(invoice_lines, invoice_discount):
    invoice_sum = sum(line.invoice_amount for line in invoice_lines)
    return max(invoice_sum - invoice_discount, 0)


class InvoiceBook:
    def __init__(self):
        self.invoice_pages = []

    def add_invoice_page(self, page):
        self.invoice_pages.append(page)
        return len(self.invoice_pages)
'''


def _tree(root: Path) -> None:
    (root / "shop").mkdir(parents=True)
    for index in range(4):
        (root / "shop" / f"invoices_{index}.py").write_text(MODULE.replace("tiny", f"n{index}"))
    (root / "notes.txt").write_text("not python: never read\n")
    (root / "build").mkdir()
    (root / "build" / "generated.py").write_text("GENERATED_ONLY_TOKEN = 1\n" * 50)


@pytest.mark.slow
def test_train_code_model_on_a_directory_of_own_code(tmp_path):
    from codeassist.code_model import load_code_model

    corpus, output = tmp_path / "src", tmp_path / "model"
    _tree(corpus)
    runner = CliRunner()
    args = ["train-code-model", "--corpus", str(corpus), "--output", str(output),
            "--steps", "2", "--quiet", "--format", "json"]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    texts = [p.read_text() for p in sorted((corpus / "shop").glob("*.py"))]
    # The four modules, not the text file nor the build directory.
    assert report["files"] == 4 and report["characters"] == sum(map(len, texts))
    assert report["steps"] == 2 and report["directory"] == str(output)
    record = json.loads((output / "training.json").read_text())
    assert record["corpus"] == f"Python files under {corpus}"
    assert record["corpus_sha256"] == report["corpus_sha256"]

    model = load_code_model(output)
    vocabulary = model.tokenizer.get_vocab()
    assert any("invoice" in token for token in vocabulary)
    assert not any("GENERATED" in token for token in vocabulary)

    # The same files elsewhere give the same corpus digest (paths are relative to DIR).
    moved = tmp_path / "elsewhere" / "src"
    shutil.copytree(corpus, moved)
    again = runner.invoke(cli, [*args[:2], str(moved), "--output", str(tmp_path / "m2"), *args[5:]])
    assert json.loads(again.stdout)["corpus_sha256"] == report["corpus_sha256"]


def test_train_code_model_corpus_errors_are_usage_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("no code\n")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["train-code-model", "--corpus", str(empty), "--output", str(tmp_path / "m")]
    )
    assert result.exit_code == 2 and "no Python file to train on" in result.output
    assert str(empty) in result.output and not (tmp_path / "m").exists()
    # Never over the shipped model, which the shipped detector was trained with.
    result = runner.invoke(cli, ["train-code-model", "--corpus", str(empty)])
    assert result.exit_code == 2 and "--corpus needs --output" in result.output


@pytest.mark.slow
def test_calibrate_defects_rewrites_only_the_detector_it_is_given(tmp_path):
    from codeassist.defects.detector import DETECTOR_DIR, load_detector

    shipped = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in DETECTOR_DIR.iterdir()}
    detector = tmp_path / "detector"
    shutil.copytree(DETECTOR_DIR, detector)
    before = json.loads((detector / "detector.json").read_text())

    result = CliRunner().invoke(
        cli,
        ["calibrate-defects", "--detector", str(detector), "--files", "1", "--target", "7.5",
         "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["calibration_files"] == 1 and printed["calibration_target_per_kloc"] == 7.5
    assert before.get("calibration_target_per_kloc") != 7.5  # so the file above was rewritten
    reloaded = load_detector(detector)
    assert reloaded.threshold == printed["threshold"]
    assert reloaded.meta["calibration_target_per_kloc"] == 7.5
    assert 0.0 < printed["threshold"] < 1.0
    # The shipped detector is untouched.
    assert shipped == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in DETECTOR_DIR.iterdir()
    }


def test_calibrate_defects_on_a_directory_without_a_detector(tmp_path):
    result = CliRunner().invoke(cli, ["calibrate-defects", "--detector", str(tmp_path)])
    assert result.exit_code == 2 and str(tmp_path) in result.output
    assert "Traceback" not in result.output
