"""`model` commands: build a preset, describe a checkpoint, generate, train on a text corpus."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from core_model.config import PRESETS, GenerationConfig, TrainConfig

COMMANDS: list[click.Command] = []

_QUANT = click.Choice(["none", "4bit"])


def _quant(value: str) -> str | None:
    return None if value == "none" else value


@click.group()
def model() -> None:
    """Build, inspect, run and train MoE models (any local Hugging Face MoE checkpoint)."""


@model.command("build")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="small", show_default=True)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--corpus",
    "corpus",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Text files or directories for the tokenizer [default: the Python stdlib].",
)
@click.option("--vocab-size", type=int, help="Tokenizer vocabulary [default: the preset's].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def build(
    preset: str,
    output: Path,
    corpus: tuple[Path, ...],
    vocab_size: int | None,
    seed: int,
    fmt: str = "text",
) -> None:
    """Build a randomly initialised DeepSeek-V3-style MoE with a BPE tokenizer into OUTPUT."""
    from core_model.corpus import read_corpus, stdlib_dir
    from core_model.load import build_text_model, save

    texts = read_corpus(corpus or [stdlib_dir()], max_bytes=4_000_000, seed=seed)
    built = build_text_model(PRESETS[preset], texts, vocab_size=vocab_size, seed=seed)
    save(built, output)
    if fmt == "json":
        click.echo(json.dumps({"preset": preset, "output": str(output)}, indent=2))
    else:
        click.echo(f"built {preset} model in {output}")


@model.command("info")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--quantize", type=_QUANT, default="none", show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--dtype", default="auto", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def info(path: Path, quantize: str, device: str, dtype: str, fmt: str) -> None:
    """Parameters (total and active per token), bytes per component, dtype and device."""
    from core_model.info import describe, format_info
    from core_model.load import load

    described = describe(load(path, device=device, dtype=dtype, quantize=_quant(quantize)))
    if fmt == "json":
        click.echo(json.dumps(dataclasses.asdict(described), indent=2, default=str))
    else:
        click.echo(format_info(described))


@model.command("generate")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-p",
    "--prompt",
    "prompts",
    multiple=True,
    help="Prompt (repeatable); default: one prompt per line of stdin.",
)
@click.option("--max-new-tokens", type=int, default=64, show_default=True)
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--stop", multiple=True, help="Stop string (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--token-budget", type=int, default=4096, show_default=True)
@click.option("--quantize", type=_QUANT, default="none", show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def generate_cmd(
    path: Path,
    prompts: tuple[str, ...],
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    stop: tuple[str, ...],
    seed: int,
    token_budget: int,
    quantize: str,
    device: str,
    fmt: str,
) -> None:
    """Complete prompts with batched, KV-cached generation."""
    from core_model.generate import generate
    from core_model.load import load

    if not prompts:
        prompts = tuple(
            line.rstrip("\n").replace("\\n", "\n") for line in sys.stdin if line.strip()
        )
    loaded = load(path, device=device, quantize=_quant(quantize))
    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        stop=stop,
        seed=seed,
        token_budget=token_budget,
    )
    outputs = generate(loaded, list(prompts), config)
    if fmt == "json":
        click.echo(
            json.dumps(
                [{"prompt": p, "completion": c} for p, c in zip(prompts, outputs, strict=True)],
                indent=2,
            )
        )
    else:
        for completion in outputs:
            click.echo(completion)


@model.command("train")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--corpus",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Text files or directories [default: the Python stdlib].",
)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--steps", type=int, default=300, show_default=True)
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--seq-len", type=int, default=128, show_default=True)
@click.option("--lr", type=float, default=3e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def train_cmd(
    path: Path,
    corpus: tuple[Path, ...],
    output: Path,
    steps: int,
    batch_size: int,
    seq_len: int,
    lr: float,
    seed: int,
    checkpoint_dir: Path | None,
    fmt: str = "text",
) -> None:
    """Train the causal LM at PATH on a text corpus and save it to OUTPUT."""
    from core_model.corpus import read_corpus, stdlib_dir
    from core_model.load import load, save
    from core_model.train import train_lm

    loaded = load(path)
    texts = read_corpus(corpus or [stdlib_dir()], max_bytes=8_000_000, seed=seed)
    config = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        seq_len=seq_len,
        lr=lr,
        seed=seed,
        checkpoint_dir=checkpoint_dir,
    )
    result = train_lm(loaded, texts, config)
    save(loaded, output)
    if fmt == "json":
        document = {k: v for k, v in dataclasses.asdict(result).items() if k != "train_losses"}
        document["output"] = str(output)
        click.echo(json.dumps(document, indent=2, default=str))
        return
    click.echo(
        f"eval loss {result.initial_eval_loss:.3f} -> {result.eval_loss:.3f} in "
        f"{result.steps} steps ({result.seconds:.0f} s); max expert load "
        f"{result.max_expert_load_ratio:.2f}x uniform; saved to {output}"
    )


COMMANDS.append(model)
