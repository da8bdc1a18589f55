"""The default small code model: byte-level BPE + a DeepSeek-V3-style MoE trained on stdlib code.

Trained reproducibly by `train_code_model` (``moesuite train-code-model``) on the training split
of the standard library (`defects.corpus`: held-out packages stay unseen, so detector evaluation
on them is fair) and shipped in ``codeassist/assets/code_model``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from codeassist.defects.corpus import list_corpus
from codeassist.errors import CodeassistError
from core_model.config import ModelSpec, TrainConfig
from core_model.load import Model, build_text_model, load, save

CODE_MODEL_DIR = Path(__file__).parent / "assets" / "code_model"

# Smaller than core_model's "small" preset (3 layers, 8 routed experts, 2 per token): about twice
# as fast on CPU, which the detector needs (it scores several variants of every statement), and
# a few MB in float16. Trained on more tokens, it reaches a lower held-out loss than the larger
# model did in the same minutes.
CODE_MODEL_SPEC = ModelSpec(
    hidden_size=160,
    num_layers=3,
    num_heads=4,
    intermediate_size=320,
    moe_intermediate_size=80,
    n_routed_experts=8,
    num_experts_per_tok=2,
)


@dataclass(frozen=True)
class CodeModelConfig:
    """How the default code model is trained.

    Attributes:
        vocab_size: BPE vocabulary size.
        max_bytes: Training text budget (characters).
        steps: Optimiser steps.
        batch_size: Windows per step.
        seq_len: Tokens per window.
        lr: Peak learning rate.
        seed: Seed for corpus order, initialisation and batches.
        spec: Architecture.
        weights_dtype: Precision of the shipped weights (computation is float32 on CPU).
    """

    vocab_size: int = 4096
    max_bytes: int = 4_000_000
    steps: int = 800
    batch_size: int = 16
    seq_len: int = 128
    lr: float = 3e-3
    seed: int = 0
    spec: ModelSpec = CODE_MODEL_SPEC
    weights_dtype: str = "float16"


@dataclass(frozen=True)
class CodeModelReport:
    """What a training run did."""

    directory: Path
    files: int
    characters: int
    initial_eval_loss: float
    eval_loss: float
    seconds: float
    steps: int


def load_code_model(path: Path | None = None, device: str = "cpu") -> Model:
    """Load the code model (the shipped one by default).

    Raises:
        CodeassistError: the directory does not hold a model.
    """
    path = path or CODE_MODEL_DIR
    if not (path / "config.json").is_file():
        raise CodeassistError(
            f"{path}: no code model here (train one with `moesuite train-code-model`)"
        )
    return load(path, device=device)


def training_corpus(config: CodeModelConfig | None = None) -> list:
    """The corpus files the code model is trained on (training split, up to ``max_bytes``)."""
    config = config or CodeModelConfig()
    chosen, total = [], 0
    for item in list_corpus("train", seed=config.seed):
        chosen.append(item)
        total += len(item.text)
        if total >= config.max_bytes:
            break
    return chosen


def train_code_model(output: Path, config: CodeModelConfig | None = None) -> CodeModelReport:
    """Train the code model on the training split of the standard library and save it.

    Args:
        output: Directory to write (config.json, model.safetensors, tokenizer files).
        config: Training settings; None for the defaults.
    """
    config = config or CodeModelConfig()
    started = time.perf_counter()
    texts = [item.text for item in training_corpus(config)]
    files, total = len(texts), sum(len(t) for t in texts)
    model = build_text_model(config.spec, texts, vocab_size=config.vocab_size, seed=config.seed)
    from core_model.train import train_lm  # heavy import, only when training

    result = train_lm(
        model,
        texts,
        TrainConfig(
            steps=config.steps,
            batch_size=config.batch_size,
            seq_len=config.seq_len,
            lr=config.lr,
            warmup_steps=max(1, config.steps // 10),
            eval_every=config.steps,
            seed=config.seed,
        ),
    )
    save(model, output, weights_dtype=config.weights_dtype)
    return CodeModelReport(
        directory=output,
        files=files,
        characters=total,
        initial_eval_loss=result.initial_eval_loss,
        eval_loss=result.eval_loss,
        seconds=time.perf_counter() - started,
        steps=result.steps,
    )
