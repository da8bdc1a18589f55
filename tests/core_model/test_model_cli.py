"""`model` commands through click's runner: build, info (text/json, 4-bit), generate."""

import json

import torch
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


def test_info_and_generate_honour_device_and_dtype(tiny_lm_dir):
    runner = CliRunner()
    full = json.loads(
        runner.invoke(cli, ["model", "info", str(tiny_lm_dir), "--format", "json"]).output
    )
    result = runner.invoke(
        cli,
        ["model", "info", str(tiny_lm_dir), "--device", "cpu", "--dtype", "bfloat16",
         "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    half = json.loads(result.output)
    assert (half["dtype"], half["device"], full["dtype"]) == ("bfloat16", "cpu", "float32")
    assert half["total_params"] == full["total_params"]
    assert sum(half["bytes_by_component"].values()) < 0.6 * sum(full["bytes_by_component"].values())
    result = runner.invoke(cli, ["model", "info", str(tiny_lm_dir), "--dtype", "float7"])
    assert result.exit_code == 2 and "unknown dtype 'float7'" in result.output
    args = ["model", "generate", str(tiny_lm_dir), "-p", "def f(", "--max-new-tokens", "6"]
    on_cpu = runner.invoke(cli, [*args, "--device", "cpu"])
    assert on_cpu.exit_code == 0 and on_cpu.output == runner.invoke(cli, args).output
    if not torch.cuda.is_available():
        no_gpu = runner.invoke(cli, [*args, "--device", "cuda"])
        assert no_gpu.exit_code == 2 and "no CUDA GPU is available" in no_gpu.output


def test_model_train_saves_a_model_that_learned(tiny_lm_dir, code_texts, tmp_path):
    from core_model.load import load

    corpus = tmp_path / "corpus.py"
    corpus.write_text("\n".join(code_texts[:30]))
    out = tmp_path / "trained"
    result = CliRunner().invoke(
        cli,
        ["model", "train", str(tiny_lm_dir), "--corpus", str(corpus), "-o", str(out),
         "--steps", "30", "--batch-size", "4", "--seq-len", "64", "--lr", "0.01"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    before, after = (
        float(x) for x in result.output.split("eval loss ")[1].split(" in ")[0].split(" -> ")
    )
    assert after < before - 0.5
    assert f"saved to {out}" in result.output
    trained, base = load(out), load(tiny_lm_dir)
    text = code_texts[0][:600]
    ids = base.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        base_loss = base.module(ids, labels=ids).loss.item()
        trained_loss = trained.module(ids, labels=ids).loss.item()
    assert trained_loss < base_loss
