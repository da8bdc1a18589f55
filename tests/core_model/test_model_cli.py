"""`model` commands through click's runner: build, info (text/json, 4-bit), generate."""

import json

from click.testing import CliRunner

from moesuite.cli import cli


def test_build_info_generate(tmp_path, code_texts):
    corpus = tmp_path / "corpus.py"
    corpus.write_text("\n".join(code_texts[:20]))
    runner = CliRunner()
    out = tmp_path / "m"
    result = runner.invoke(
        cli,
        [
            "model",
            "build",
            "--preset",
            "tiny",
            "-o",
            str(out),
            "--corpus",
            str(corpus),
            "--vocab-size",
            "300",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()

    result = runner.invoke(cli, ["model", "info", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["architecture"] == "deepseek_v3" and info["routed_experts"] == 16
    assert info["active_params"] < info["total_params"]
    assert sum(info["params_by_component"].values()) == info["total_params"]

    result = runner.invoke(cli, ["model", "info", str(out), "--quantize", "4bit"])
    assert result.exit_code == 0 and "quantization 4bit" in result.output

    result = runner.invoke(
        cli,
        [
            "model",
            "generate",
            str(out),
            "-p",
            "def f(",
            "-p",
            "x =",
            "--max-new-tokens",
            "5",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert [r["prompt"] for r in json.loads(result.output)] == ["def f(", "x ="]


def test_generate_on_a_pickle_checkpoint_exits_2(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not really")
    result = CliRunner().invoke(cli, ["model", "generate", str(tmp_path), "-p", "x"])
    assert result.exit_code == 2 and "refusing to unpickle" in result.output
