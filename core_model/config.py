"""Frozen configuration for the model core: architecture presets, loading, features,
generation and training. Defaults live here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ModelSpec:
    """A DeepSeek-V3-style MoE: multi-head latent attention, first layers dense, then MoE
    layers of fine-grained routed experts plus always-on shared experts.

    ``vocab_size`` is overridden by the tokenizer (text) or the record schema (records).
    """

    hidden_size: int = 192
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 384
    moe_intermediate_size: int = 96
    n_routed_experts: int = 16
    num_experts_per_tok: int = 4
    n_shared_experts: int = 1
    first_k_dense: int = 1
    kv_lora_rank: int = 64
    q_lora_rank: int | None = None
    qk_nope_head_dim: int = 32
    qk_rope_head_dim: int = 16
    v_head_dim: int = 32
    max_position_embeddings: int = 2048
    vocab_size: int = 4096
    # 1.0 rather than V3's 2.5: at a few million parameters the larger scale destabilises training.
    routed_scaling_factor: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.num_experts_per_tok <= self.n_routed_experts:
            raise ValueError("num_experts_per_tok must be in 1..n_routed_experts")
        if not 0 <= self.first_k_dense < self.num_layers:
            raise ValueError("first_k_dense must leave at least one MoE layer")


PRESETS: dict[str, ModelSpec] = {
    # Builds in well under 2 s on CPU; for tests.
    "tiny": ModelSpec(
        hidden_size=64,
        num_layers=2,
        num_heads=2,
        intermediate_size=128,
        moe_intermediate_size=32,
        kv_lora_rank=32,
        qk_nope_head_dim=16,
        qk_rope_head_dim=8,
        v_head_dim=16,
        max_position_embeddings=1024,
        vocab_size=512,
    ),
    # The shipped default models: a few million parameters, ~15k positions/s forward on 2 cores.
    "small": ModelSpec(),
}


@dataclass(frozen=True)
class LoadOptions:
    """How ``load`` places a checkpoint: ``auto`` picks CUDA when present, bf16 on CUDA and
    fp32 on CPU; ``quantize="4bit"`` packs experts and linear layers to NF4."""

    device: str = "auto"
    dtype: str = "auto"
    quantize: str | None = None


@dataclass(frozen=True)
class FeatureOptions:
    """Feature extraction: sequences are cut to ``max_length`` positions (records are windowed
    with ``context`` positions of overlap) and grouped into batches of ``batch_size``.
    ``top_k`` > 0 (text, with ``per_position``) also returns each position's k most likely next
    tokens and their log-probabilities."""

    batch_size: int = 16
    max_length: int = 512
    per_position: bool = False
    context: int = 64
    top_k: int = 0


@dataclass(frozen=True)
class GenerationConfig:
    """Decoding: ``temperature == 0`` is greedy; requests are grouped so that
    batch_size x (longest prompt + max_new_tokens) stays under ``token_budget``."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int = 0
    token_budget: int = 4096
    max_batch_size: int = 32


@dataclass(frozen=True)
class TrainConfig:
    """One training run; ``checkpoint_dir`` enables save/resume every ``checkpoint_every``."""

    steps: int = 300
    batch_size: int = 16
    seq_len: int = 128
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 30
    weight_decay: float = 0.1
    grad_accum: int = 1
    clip: float = 1.0
    eval_every: int = 100
    eval_fraction: float = 0.05
    eval_batches: int = 8
    seed: int = 0
    # DeepSeek-V3's auxiliary-loss-free balancing: bias update speed per step.
    bias_update_speed: float = 1e-3
    aux_loss_coef: float = 0.01
    checkpoint_dir: Path | None = None
    checkpoint_every: int = 100
    extra: dict = field(default_factory=dict, compare=False, hash=False)
