"""One training loop for both domains: causal LMs (`train_lm`) and record models
(`train_records`).

AdamW (no weight decay on norms, biases and embeddings), linear warmup then cosine decay,
gradient clipping and accumulation, bf16 autocast on CUDA only, periodic eval, seeded batches
(drawn from ``(seed, step)``, so a resumed run sees the same batches), and checkpoints in
safetensors only (weights, optimizer moments) plus JSON.

Expert balancing: DeepseekV3 routers carry ``e_score_correction_bias`` but transformers never
updates it and returns no auxiliary loss, so for them we apply DeepSeek-V3's auxiliary-loss-free
balancing (Wang et al. 2024, "Auxiliary-Loss-Free Load Balancing Strategy for Mixture-of-Experts"):
after each optimizer step, ``bias += speed * sign(mean_load - load)`` per MoE layer, with the
load counted from the router's own top-k choices. Other MoEs (Qwen3-MoE, Mixtral, OLMoE) get
their Switch-style auxiliary loss added with ``aux_loss_coef``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn
from torch.nn import functional as F
from transformers.models.qwen3_moe.modeling_qwen3_moe import load_balancing_loss_func

from core_model.config import TrainConfig
from core_model.errors import CheckpointError, TrainingError
from core_model.load import Model
from core_model.routing_stats import moe_gates
from core_model.runtime import seed_everything

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1
_CHECKPOINT_NAME = re.compile(r"^step-(\d{8})$")
# What a resumed run must share with the run that wrote the checkpoint for its batches to line up.
_FINGERPRINT_KEYS = ("seq_len", "batch_size", "grad_accum", "seed")
_CHECKPOINTS_KEPT = 2


@dataclass(frozen=True)
class TrainResult:
    """What a run did. Losses are mean next-token (or next-record field) cross-entropy in nats.

    ``max_expert_load_ratio`` is max over MoE layers of (busiest expert's load / mean load),
    counted on the final eval pass (1.0 is perfectly uniform). ``positions_per_second`` counts
    training positions over the time spent in training steps (eval excluded).
    """

    train_losses: list[float]
    eval_loss: float
    initial_eval_loss: float
    max_expert_load_ratio: float
    steps: int
    seconds: float
    positions_per_second: float
    start_step: int = 0
    eval_losses: list[tuple[int, float]] = field(default_factory=list)
    expert_load_ratios: list[float] = field(default_factory=list)
    balancing: str = "none"


@dataclass(frozen=True)
class TrainProgress:
    """Passed to the progress callback after every optimizer step."""

    step: int
    steps: int
    loss: float
    lr: float
    max_expert_load_ratio: float
    eval_loss: float | None = None


ProgressCallback = Callable[[TrainProgress], None]


@dataclass
class _Batch:
    """Tensors for one micro-batch, a token mask for load counting, and its position count."""

    tensors: dict[str, torch.Tensor]
    token_mask: torch.Tensor | None
    positions: int


# --------------------------------------------------------------------------------------------
# Public entry points


def train_lm(
    model: Model,
    data: Sequence[str] | Sequence[Sequence[int]] | Sequence[np.ndarray],
    config: TrainConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train a causal LM in place on texts or token-id arrays, packed into ``seq_len`` windows.

    Texts are encoded as ``<bos> text <eos>``; token arrays are used as given. Documents are
    shuffled (seeded) and concatenated; the first ``eval_fraction`` of that stream is held out.

    Raises:
        TrainingError: wrong model kind, too little data, or a non-finite loss.
        CheckpointError: ``checkpoint_dir`` holds a checkpoint this run cannot resume.
    """
    config = config or TrainConfig()
    _check_config(config)
    _check_model(model, "causal_lm", "train_lm")
    train_stream, eval_stream = _split_stream(_token_documents(model, data), config)
    module = model.module
    device = _device(module)
    window = config.seq_len + 1

    def sample(step: int, micro: int) -> _Batch:
        rng = np.random.default_rng([config.seed, step, micro])
        starts = rng.integers(0, len(train_stream) - window + 1, size=config.batch_size)
        return _lm_batch(np.stack([train_stream[s : s + window] for s in starts]), device)

    n_eval = min(len(eval_stream) // window, config.eval_batches * config.batch_size)
    eval_windows = eval_stream[: n_eval * window].reshape(n_eval, window)
    eval_batches = [
        _lm_batch(eval_windows[i : i + config.batch_size], device)
        for i in range(0, n_eval, config.batch_size)
    ]

    def loss_fn(batch: _Batch, want_router_logits: bool) -> tuple[torch.Tensor, Any]:
        out = module(
            input_ids=batch.tensors["input_ids"],
            use_cache=False,
            output_router_logits=want_router_logits,
        )
        logits = out.logits.float()  # [B, T, V]
        loss = F.cross_entropy(logits.flatten(0, 1), batch.tensors["labels"].flatten())
        return loss, getattr(out, "router_logits", None)

    return _train(module, "causal_lm", loss_fn, sample, eval_batches, config, progress)


def train_records(
    model: Model,
    sequences: Sequence[np.ndarray],
    config: TrainConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train a record model in place on next-record field prediction.

    ``sequences`` are int arrays ``[T, F]`` (one per customer, F = schema fields, 0 = missing).
    Whole sequences are held out for eval (``eval_fraction`` of them, at least one); training
    windows of up to ``seq_len`` records are drawn with probability proportional to length.

    Raises:
        TrainingError: wrong model kind, a malformed sequence (index, row and field named), too
            few sequences, or a non-finite loss.
        CheckpointError: ``checkpoint_dir`` holds a checkpoint this run cannot resume.
    """
    config = config or TrainConfig()
    _check_config(config)
    _check_model(model, "records", "train_records")
    arrays = _validate_sequences(sequences, model.schema)
    order = np.random.default_rng(config.seed).permutation(len(arrays))
    n_eval = max(1, round(config.eval_fraction * len(arrays)))
    eval_seqs = [arrays[i] for i in order[:n_eval] if len(arrays[i])]
    train_seqs = [arrays[i] for i in order[n_eval:] if len(arrays[i])]
    if not train_seqs or not eval_seqs:
        raise TrainingError(
            f"train_records needs at least 2 non-empty sequences (one is held out for eval); "
            f"got {sum(1 for a in arrays if len(a))}"
        )
    module = model.module
    device = _device(module)
    lengths = np.array([len(s) for s in train_seqs], dtype=np.float64)

    def sample(step: int, micro: int) -> _Batch:
        rng = np.random.default_rng([config.seed, step, micro])
        picks = rng.choice(len(train_seqs), size=config.batch_size, p=lengths / lengths.sum())
        windows = []
        for i in picks:
            seq = train_seqs[i]
            start = int(rng.integers(0, max(0, len(seq) - config.seq_len) + 1))
            windows.append(seq[start : start + config.seq_len])
        return _records_batch(windows, device)

    eval_windows = [
        seq[s : s + config.seq_len] for seq in eval_seqs for s in range(0, len(seq), config.seq_len)
    ][: config.eval_batches * config.batch_size]
    eval_batches = [
        _records_batch(eval_windows[i : i + config.batch_size], device)
        for i in range(0, len(eval_windows), config.batch_size)
    ]

    def loss_fn(batch: _Batch, want_router_logits: bool) -> tuple[torch.Tensor, Any]:
        return module.loss(
            batch.tensors["fields"],
            batch.tensors["attention_mask"],
            output_router_logits=want_router_logits,
        )

    return _train(module, "records", loss_fn, sample, eval_batches, config, progress)


# --------------------------------------------------------------------------------------------
# Data


def _check_model(model: Model, kind: str, entry: str) -> None:
    if model.kind != kind:
        raise TrainingError(f"{entry} needs a {kind} model; got kind={model.kind!r}")
    if model.quantization is not None:
        raise TrainingError(
            f"{entry}: the model is quantized ({model.quantization}); train the full-precision "
            "checkpoint (load it without quantize) and quantize at load afterwards"
        )


def _check_config(config: TrainConfig) -> None:
    positive = ("steps", "batch_size", "seq_len", "grad_accum", "eval_every", "eval_batches")
    for name in positive:
        if getattr(config, name) < 1:
            raise TrainingError(f"TrainConfig.{name} must be >= 1, got {getattr(config, name)}")
    if config.checkpoint_every < 1:
        raise TrainingError(f"TrainConfig.checkpoint_every must be >= 1: {config.checkpoint_every}")
    if not 0 < config.eval_fraction < 1:
        raise TrainingError(f"TrainConfig.eval_fraction must be in (0, 1): {config.eval_fraction}")
    if config.lr <= 0 or config.warmup_steps < 0 or config.bias_update_speed < 0:
        raise TrainingError("TrainConfig.lr must be > 0; warmup_steps, bias_update_speed >= 0")


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def _token_documents(model: Model, data: Sequence[Any]) -> list[np.ndarray]:
    docs: list[np.ndarray] = []
    tokenizer = model.tokenizer
    for i, item in enumerate(data):
        if isinstance(item, str):
            if tokenizer is None:
                raise TrainingError("texts need a tokenizer; this model has none (pass token ids)")
            ids = tokenizer.encode(item, add_special_tokens=False)
            ids = [tokenizer.bos_token_id, *ids, tokenizer.eos_token_id]
            doc = np.asarray([t for t in ids if t is not None], dtype=np.int64)
        else:
            doc = np.asarray(item)
            if doc.ndim != 1 or not np.issubdtype(doc.dtype, np.integer):
                raise TrainingError(f"document {i}: expected a 1-D int array of token ids")
            doc = doc.astype(np.int64)
        vocab = model.module.config.vocab_size
        if len(doc) and (doc.min() < 0 or doc.max() >= vocab):
            raise TrainingError(f"document {i}: token id out of range 0..{vocab - 1}")
        docs.append(doc)
    return docs


def _split_stream(docs: list[np.ndarray], config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle documents (seeded), concatenate, hold out the first ``eval_fraction`` tokens.

    The cut can fall inside a document; its two halves then land on either side, which leaks
    context, never the same tokens."""
    order = np.random.default_rng(config.seed).permutation(len(docs))
    stream = np.concatenate([docs[i] for i in order]) if docs else np.zeros(0, dtype=np.int64)
    window = config.seq_len + 1
    n_eval = max(int(config.eval_fraction * len(stream)), window)
    if len(stream) - n_eval < window:
        raise TrainingError(
            f"the corpus has {len(stream)} tokens; seq_len={config.seq_len} with "
            f"eval_fraction={config.eval_fraction} needs at least {n_eval + window}"
        )
    return stream[n_eval:], stream[:n_eval]


def _lm_batch(windows: np.ndarray, device: torch.device) -> _Batch:
    tokens = torch.from_numpy(np.ascontiguousarray(windows)).to(device)  # [B, T+1]
    return _Batch(
        {"input_ids": tokens[:, :-1], "labels": tokens[:, 1:]}, None, tokens[:, 1:].numel()
    )


def _records_batch(windows: list[np.ndarray], device: torch.device) -> _Batch:
    width = max(len(w) for w in windows)
    n_fields = windows[0].shape[1]
    fields = np.zeros((len(windows), width, n_fields), dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    for b, w in enumerate(windows):
        fields[b, : len(w)] = w
        mask[b, : len(w)] = 1
    mask_t = torch.from_numpy(mask).to(device)
    # The record model prepends a start position that is always real; routing sees it too.
    token_mask = torch.cat([mask_t.new_ones(len(windows), 1), mask_t], dim=1).flatten().bool()
    return _Batch(
        {"fields": torch.from_numpy(fields).to(device), "attention_mask": mask_t},
        token_mask,
        int(mask.sum()),
    )


def _validate_sequences(sequences: Sequence[np.ndarray], schema: Any) -> list[np.ndarray]:
    cards = np.array([f.cardinality for f in schema.fields])
    out = []
    for i, seq in enumerate(sequences):
        arr = np.asarray(seq)
        if arr.ndim != 2 or arr.shape[1] != len(cards):
            raise TrainingError(
                f"sequence {i}: expected shape [T, {len(cards)}] (fields {schema.names}), "
                f"got {list(arr.shape)}"
            )
        if len(arr) and not np.issubdtype(arr.dtype, np.integer):
            raise TrainingError(f"sequence {i}: field values must be integers, got {arr.dtype}")
        bad = np.argwhere((arr < 0) | (arr >= cards))
        if len(bad):
            row, col = (int(x) for x in bad[0])
            raise TrainingError(
                f"sequence {i}, row {row}, field {schema.names[col]!r}: value {arr[row, col]} "
                f"is outside 0..{cards[col] - 1}"
            )
        out.append(arr.astype(np.int64))
    return out


# --------------------------------------------------------------------------------------------
# Expert load and balancing


class _ExpertLoad:
    """Counts each MoE layer's top-k selections through forward hooks on its router (the
    router returns ``(logits, weights, indices)``; indices include the correction bias)."""

    def __init__(self, module: nn.Module) -> None:
        self.gates = moe_gates(module)
        self.counts = [torch.zeros(g.weight.shape[0], device=g.weight.device) for g in self.gates]
        self.token_mask: torch.Tensor | None = None
        self._hooks = [g.register_forward_hook(self._hook(i)) for i, g in enumerate(self.gates)]

    def _hook(self, layer: int) -> Callable[..., None]:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            indices = output[2]  # [N, k]
            if self.token_mask is not None:
                indices = indices[self.token_mask]
            counts = torch.bincount(indices.flatten(), minlength=self.counts[layer].numel())
            self.counts[layer] += counts.to(self.counts[layer].dtype)

        return hook

    @property
    def bias_mode(self) -> bool:
        return bool(self.gates) and all(hasattr(g, "e_score_correction_bias") for g in self.gates)

    def reset(self) -> None:
        for c in self.counts:
            c.zero_()

    def ratios(self) -> list[float]:
        """Per layer: busiest expert's load / mean load (1.0 = uniform)."""
        return [float(c.max() / c.mean()) if c.sum() > 0 else 1.0 for c in self.counts]

    @torch.no_grad()
    def update_bias(self, speed: float) -> None:
        """DeepSeek-V3: raise the bias of under-loaded experts, lower it for over-loaded ones."""
        for gate, load in zip(self.gates, self.counts, strict=True):
            bias = gate.e_score_correction_bias
            bias += speed * torch.sign(load.mean() - load).to(bias.dtype)

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()


def _aux_loss(module: nn.Module, router_logits: Any, batch: _Batch) -> torch.Tensor | None:
    if not router_logits:
        return None
    config = module.config
    n_experts = getattr(config, "num_experts", None) or getattr(config, "num_local_experts", None)
    mask = None
    if batch.token_mask is not None:
        # load_balancing_loss_func wants the mask as [B, T], the shape routing saw.
        batch_size = batch.tensors["attention_mask"].shape[0]
        mask = batch.token_mask.view(batch_size, -1).long()
    return load_balancing_loss_func(
        router_logits, n_experts, config.num_experts_per_tok, attention_mask=mask
    )


# --------------------------------------------------------------------------------------------
# Optimizer, schedule, checkpoints


def _param_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    no_decay_ids = {
        id(p) for m in module.modules() if isinstance(m, nn.Embedding) for p in m.parameters()
    }
    decay, rest = [], []
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim < 2 or "norm" in name or id(p) in no_decay_ids:
            rest.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warmup, then cosine decay
    from ``lr`` to ``lr * min_lr_ratio`` at ``steps``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def _param_names(module: nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
    names = {id(p): n for n, p in module.named_parameters()}
    return [names[id(p)] for g in optimizer.param_groups for p in g["params"]]


def _save_checkpoint(
    directory: Path,
    step: int,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
) -> Path:
    """Write ``step-NNNNNNNN/`` atomically: staged in a temporary sibling, then renamed."""
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=directory))
    target = directory / f"step-{step:08d}"
    try:
        save_model(module, str(staging / "model.safetensors"))
        moments: dict[str, torch.Tensor] = {}
        opt_state = optimizer.state_dict()["state"]
        for index, name in enumerate(_param_names(module, optimizer)):
            for key, value in opt_state.get(index, {}).items():
                moments[f"{name}::{key}"] = value.detach().reshape(-1).contiguous().cpu()
        save_file(moments, str(staging / "optimizer.safetensors"))
        (staging / "state.json").write_text(json.dumps(state, indent=1))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for old in _checkpoints(directory)[:-_CHECKPOINTS_KEPT]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _checkpoints(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    found = [
        p
        for p in directory.iterdir()
        if _CHECKPOINT_NAME.match(p.name) and (p / "state.json").is_file()
    ]
    return sorted(found, key=lambda p: p.name)


def _load_checkpoint(
    path: Path, module: nn.Module, optimizer: torch.optim.Optimizer, fingerprint: dict[str, Any]
) -> dict[str, Any]:
    try:
        state = json.loads((path / "state.json").read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(path, f"unreadable state.json: {exc}") from exc
    if state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(path, f"checkpoint format {state.get('format')!r} is not supported")
    for key, value in fingerprint.items():
        if state.get("fingerprint", {}).get(key) != value:
            raise CheckpointError(
                path,
                f"written with {key}={state.get('fingerprint', {}).get(key)!r} but this run has "
                f"{key}={value!r}; use the same settings or another checkpoint_dir",
            )
    device = _device(module)
    try:
        missing, unexpected = load_model(
            module, str(path / "model.safetensors"), strict=False, device=str(device)
        )
        moments = load_file(str(path / "optimizer.safetensors"), device=str(device))
    except (OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(path, f"cannot read weights: {exc}") from exc
    if missing or unexpected:
        raise CheckpointError(
            path,
            f"weights do not fit this model (missing {missing[:3]}, unexpected {unexpected[:3]})",
        )
    opt_state: dict[int, dict[str, torch.Tensor]] = {}
    params = [p for g in optimizer.param_groups for p in g["params"]]
    for index, (name, p) in enumerate(zip(_param_names(module, optimizer), params, strict=True)):
        entry = {}
        for key in ("step", "exp_avg", "exp_avg_sq"):
            value = moments.get(f"{name}::{key}")
            if value is None:
                continue
            entry[key] = value.reshape(()) if key == "step" else value.reshape(p.shape)
        if entry:
            if "step" in entry:
                entry["step"] = entry["step"].cpu()  # AdamW keeps step on the CPU
            opt_state[index] = entry
    groups = optimizer.state_dict()["param_groups"]
    optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
    return state


# --------------------------------------------------------------------------------------------
# The loop


def _train(
    module: nn.Module,
    kind: str,
    loss_fn: Callable[[_Batch, bool], tuple[torch.Tensor, Any]],
    sample: Callable[[int, int], _Batch],
    eval_batches: list[_Batch],
    config: TrainConfig,
    progress: ProgressCallback | None,
) -> TrainResult:
    seed_everything(config.seed)
    device = _device(module)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda"
        else torch.autocast("cpu", enabled=False)
    )
    load = _ExpertLoad(module)
    balancing = "bias" if load.bias_mode else ("aux_loss" if load.gates else "none")
    want_router_logits = balancing == "aux_loss"
    # foreach=False: identical arithmetic on every device, which resume-equality relies on.
    optimizer = torch.optim.AdamW(
        _param_groups(module, config.weight_decay), lr=config.lr, betas=(0.9, 0.95), foreach=False
    )
    fingerprint = {"kind": kind, **{k: getattr(config, k) for k in _FINGERPRINT_KEYS}}
    train_losses: list[float] = []
    eval_history: list[tuple[int, float]] = []
    start_step, positions, train_seconds = 0, 0, 0.0

    def evaluate() -> float:
        module.eval()
        load.reset()
        total, weight = 0.0, 0
        with torch.no_grad(), autocast:
            for batch in eval_batches:
                load.token_mask = batch.token_mask
                loss, _ = loss_fn(batch, False)
                total += float(loss) * batch.positions
                weight += batch.positions
        module.train()
        return total / max(weight, 1)

    checkpoint_dir = Path(config.checkpoint_dir) if config.checkpoint_dir is not None else None
    existing = _checkpoints(checkpoint_dir) if checkpoint_dir is not None else []
    try:
        if existing:
            state = _load_checkpoint(existing[-1], module, optimizer, fingerprint)
            start_step = int(state["step"])
            train_losses = [float(x) for x in state["train_losses"]]
            eval_history = [(int(s), float(v)) for s, v in state["eval_losses"]]
            logger.info("resumed from %s at step %d", existing[-1], start_step)
        else:
            eval_history.append((0, evaluate()))
        module.train()
        wall = time.perf_counter()
        for step in range(start_step, config.steps):
            tick = time.perf_counter()
            lr = lr_at(step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            load.reset()
            step_loss = 0.0
            for micro in range(config.grad_accum):
                batch = sample(step, micro)
                load.token_mask = batch.token_mask
                with autocast:
                    loss, router_logits = loss_fn(batch, want_router_logits)
                    objective = loss
                    if want_router_logits:
                        aux = _aux_loss(module, router_logits, batch)
                        if aux is not None:
                            objective = loss + config.aux_loss_coef * aux
                (objective / config.grad_accum).backward()
                step_loss += float(loss.detach()) / config.grad_accum
                positions += batch.positions
            if not math.isfinite(step_loss):
                raise TrainingError(
                    f"loss became {step_loss} at step {step}; lower lr (now {config.lr})"
                )
            if config.clip > 0:
                torch.nn.utils.clip_grad_norm_(module.parameters(), config.clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            ratio = max(load.ratios(), default=1.0)
            if balancing == "bias" and config.bias_update_speed > 0:
                load.update_bias(config.bias_update_speed)
            train_losses.append(step_loss)
            train_seconds += time.perf_counter() - tick
            done = step + 1
            eval_loss = None
            if done % config.eval_every == 0 and done < config.steps:
                eval_loss = evaluate()
                eval_history.append((done, eval_loss))
                logger.info(
                    "step %d/%d: train loss %.4f, eval loss %.4f, max expert load %.2fx",
                    done,
                    config.steps,
                    step_loss,
                    eval_loss,
                    ratio,
                )
            if progress is not None:
                progress(TrainProgress(done, config.steps, step_loss, lr, ratio, eval_loss))
            if checkpoint_dir is not None and (
                done % config.checkpoint_every == 0 or done == config.steps
            ):
                state = {
                    "format": CHECKPOINT_FORMAT,
                    "step": done,
                    "fingerprint": fingerprint,
                    "train_losses": train_losses,
                    "eval_losses": eval_history,
                }
                _save_checkpoint(checkpoint_dir, done, module, optimizer, state)
        final = evaluate()
        ratios = load.ratios()
        seconds = time.perf_counter() - wall
    finally:
        load.remove()
        module.eval()
    if not eval_history or eval_history[-1][0] != max(config.steps, start_step):
        eval_history.append((max(config.steps, start_step), final))
    logger.info("trained %d steps: eval loss %.4f -> %.4f", config.steps, eval_history[0][1], final)
    return TrainResult(
        train_losses=train_losses,
        eval_loss=final,
        initial_eval_loss=eval_history[0][1],
        max_expert_load_ratio=max(ratios, default=1.0),
        steps=max(config.steps, start_step),
        seconds=seconds,
        positions_per_second=positions / train_seconds if train_seconds > 0 else 0.0,
        start_step=start_step,
        eval_losses=eval_history,
        expert_load_ratios=ratios,
        balancing=balancing,
    )
