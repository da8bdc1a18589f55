"""Which experts each position chose, recomputed from router logits with the model's own rule.

DeepseekV3 scores experts with a sigmoid and picks top-k of score + ``e_score_correction_bias``;
Qwen-MoE, Mixtral and OLMoE pick top-k of a softmax. The routing distribution whose entropy we
report is the normalised score vector in both cases.
"""

from __future__ import annotations

import torch
from torch import nn


def moe_gates(module: nn.Module) -> list[nn.Module]:
    """The router modules in layer order (one per MoE layer)."""
    return [
        m
        for name, m in module.named_modules()
        if name.endswith("mlp.gate") and hasattr(m, "weight") and m.weight.dim() == 2
    ]


def routing(
    module: nn.Module, router_logits: tuple[torch.Tensor, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (probs [L, N, E], topk [L, N, k]) for N positions across L MoE layers."""
    config = module.config
    k = config.num_experts_per_tok
    gates = moe_gates(module)
    probs, chosen = [], []
    for i, logits in enumerate(router_logits):
        logits = logits.float()
        if getattr(config, "model_type", "") in ("deepseek_v3", "deepseek_v2"):
            scores = logits.sigmoid()
            bias = getattr(gates[i], "e_score_correction_bias", None) if i < len(gates) else None
            choice = scores + bias.float() if bias is not None else scores
            p = scores / scores.sum(-1, keepdim=True)
        else:
            p = logits.softmax(-1)
            choice = p
        probs.append(p)
        chosen.append(choice.topk(k, dim=-1).indices)
    return torch.stack(probs), torch.stack(chosen)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    return -(probs * probs.clamp_min(1e-12).log()).sum(-1)
