"""The default small code model: byte-level BPE + a DeepSeek-V3-style MoE trained on Python code.

Trained reproducibly by `train_code_model` (``moesuite train-code-model``) on the packages
installed beside the suite (pinned by ``constraints.txt``), without any file that copies
standard-library code (`defects.corpus.list_installed`), and shipped in
``codeassist/assets/code_model``. The defect detector is trained, calibrated and evaluated on the
standard library, which the model has therefore never read, as it has never read a user's code.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from codeassist.config import DiscoveryOptions
from codeassist.defects.corpus import CorpusFile, list_installed
from codeassist.errors import CodeassistError
from codeassist.files import discover_files, read_source, write_atomic
from codeassist.refactor.errors import SourceDecodeError
from core_model.config import ModelSpec, TrainConfig
from core_model.load import Model, build_text_model, load, save
from core_model.progress import NULL_PROGRESS, Progress

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
        max_chars: Training text budget.
        max_package_chars: Budget per installed package, so that no few packages dominate.
        steps: Optimiser steps.
        batch_size: Windows per step.
        seq_len: Tokens per window.
        lr: Peak learning rate.
        seed: Seed for corpus order, initialisation and batches.
        spec: Architecture.
        weights_dtype: Precision of the shipped weights (computation is float32 on CPU).
        threads: CPU threads; the same seed and thread count give the same weights, another
            thread count sums in another order and gives slightly different ones.
    """

    vocab_size: int = 4096
    max_chars: int = 16_000_000
    max_package_chars: int = 800_000
    steps: int = 4000
    batch_size: int = 16
    seq_len: int = 128
    lr: float = 3e-3
    seed: int = 0
    spec: ModelSpec = CODE_MODEL_SPEC
    weights_dtype: str = "float16"
    threads: int = 1


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
    corpus_sha256: str


def load_code_model(path: Path | None = None, device: str = "cpu", dtype: str = "auto") -> Model:
    """Load the code model (the shipped one by default) on `device` ("auto": a GPU when
    present) in `dtype` ("auto": bfloat16 on a GPU, float32 on the CPU).

    Raises:
        CodeassistError: the directory does not hold a model.
    """
    path = path or CODE_MODEL_DIR
    if not (path / "config.json").is_file():
        raise CodeassistError(
            f"{path}: no code model here (train one with `moesuite train-code-model`)"
        )
    return load(path, device=device, dtype=dtype)


def training_corpus(config: CodeModelConfig | None = None) -> list[CorpusFile]:
    """The files the code model is trained on: installed packages, no standard-library copy."""
    config = config or CodeModelConfig()
    return list_installed(config.max_chars, config.max_package_chars, seed=config.seed)


def directory_corpus(root: Path, max_chars: int, max_file_bytes: int = 200_000) -> list[CorpusFile]:
    """The Python files under ``root`` as a training corpus, for a model of one's own code.

    Files come in path order (as `discover_files` walks: .gitignore and build / virtualenv
    directories skipped) until ``max_chars``; paths are kept relative to ``root`` so the corpus
    digest is the same in every checkout. Files over ``max_file_bytes`` or that do not decode
    are left out (generated or vendored blobs would dominate a small corpus).

    Raises:
        CodeassistError: ``root`` is not a directory or holds no usable Python file.
    """
    if not root.is_dir():
        raise CodeassistError(f"{root}: not a directory of Python files")
    files: list[CorpusFile] = []
    total = 0
    for path in discover_files([root], DiscoveryOptions(extensions=(".py",))):
        try:
            if path.stat().st_size > max_file_bytes:
                continue
            text = read_source(path).text
        except (OSError, SourceDecodeError):
            continue
        if not text.strip():
            continue
        if total + len(text) > max_chars:
            break
        files.append(CorpusFile(root.name, path.relative_to(root), text))
        total += len(text)
    if not files:
        raise CodeassistError(
            f"{root}: no Python file to train on (.py files of at most {max_file_bytes} bytes, "
            "not ignored by .gitignore)"
        )
    return files


def train_code_model(
    output: Path,
    config: CodeModelConfig | None = None,
    progress: Progress = NULL_PROGRESS,
    corpus_dir: Path | None = None,
) -> CodeModelReport:
    """Train the code model and save it.

    Args:
        output: Directory to write (config.json, model.safetensors, tokenizer files).
        config: Training settings; None for the defaults.
        progress: the stages (corpus, tokenizer, training steps, save).
        corpus_dir: Train on the Python files of this directory (`directory_corpus`) instead
            of the installed packages (`training_corpus`, what the shipped model reads).

    Raises:
        CodeassistError: ``corpus_dir`` holds no usable Python file.
    """
    config = config or CodeModelConfig()
    from core_model.runtime import set_threads

    set_threads(config.threads)
    started = time.perf_counter()
    progress.stage("read corpus")
    if corpus_dir is None:
        corpus = training_corpus(config)
    else:
        corpus = directory_corpus(corpus_dir, config.max_chars)
    texts = [item.text for item in corpus]
    files, total = len(texts), sum(len(t) for t in texts)
    progress.stage("tokenizer and model")
    model = build_text_model(config.spec, texts, vocab_size=config.vocab_size, seed=config.seed)
    from core_model.train import train_lm  # heavy import, only when training

    progress.stage("training", total=config.steps, unit="steps")
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
        progress=lambda _step: progress.advance(1),
    )
    progress.stage("save")
    save(model, output, weights_dtype=config.weights_dtype)
    report = CodeModelReport(
        directory=output,
        files=files,
        characters=total,
        initial_eval_loss=result.initial_eval_loss,
        eval_loss=result.eval_loss,
        seconds=time.perf_counter() - started,
        steps=result.steps,
        corpus_sha256=corpus_digest(corpus),
    )
    write_training_record(report, config, corpus_dir)
    return report


def corpus_digest(files: list[CorpusFile]) -> str:
    """SHA-256 over the corpus files' paths (relative to their site-packages, or to the corpus
    directory) and texts, in order: equal digests mean the model was trained on the very same
    text."""
    digest = hashlib.sha256()
    for item in files:
        # Relative to site-packages (or already relative): the same in every checkout.
        parts = item.path.parts
        if "site-packages" in parts:
            site = len(parts) - parts[::-1].index("site-packages")
        else:
            site = 0 if not item.path.is_absolute() else -1
        digest.update("/".join(parts[site:]).encode() + b"\0" + item.text.encode() + b"\0")
    return digest.hexdigest()


def write_training_record(
    report: CodeModelReport, config: CodeModelConfig, corpus_dir: Path | None = None
) -> None:
    """``training.json`` beside the weights: what the model was trained on and how, so a rebuild
    can be checked against it."""
    installed = "installed packages (constraints.txt, extra [dev]) minus stdlib copies"
    record = {
        "corpus": installed if corpus_dir is None else f"Python files under {corpus_dir}",
        "corpus_sha256": report.corpus_sha256,
        "files": report.files,
        "characters": report.characters,
        "initial_eval_loss": round(report.initial_eval_loss, 4),
        "eval_loss": round(report.eval_loss, 4),
        "seconds": round(report.seconds, 1),
        "config": {k: v for k, v in asdict(config).items() if k != "spec"},
        "spec": asdict(config.spec),
    }
    data = json.dumps(record, indent=2).encode() + b"\n"
    write_atomic(report.directory / "training.json", data, mode=0o644)  # shipped: others read it
