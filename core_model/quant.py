"""True 4-bit (NF4) MoE models: routed experts and linear layers, on CPU and CUDA.

Stock ``BitsAndBytesConfig(load_in_4bit=True)`` quantizes ``nn.Linear`` only and leaves the fused
3-D expert tensors (``experts.gate_up_proj`` [E, 2I, H], ``experts.down_proj`` [E, H, I]) in
full precision (bitsandbytes issue 1849) although experts are most of an MoE's bytes. Here, in
the two steps of gpt-fast's ``quantize.py``:

1. quantize the state: each expert matrix becomes NF4 (bitsandbytes ``quantize_4bit``, blocks of
   64, packed two weights per byte, one fp32 absmax per block) held as buffers; the
   full-precision parameters are deleted;
2. swap the implementation: an ``nf4`` experts forward registered in transformers'
   ``ExpertsInterface`` dequantizes only the experts a batch routes to, one at a time.

Linear layers (attention, dense MLP, shared experts) become ``bitsandbytes.nn.Linear4bit``.
Embeddings, norms, routers and output heads stay in full precision: they are small, and routing
decisions and logits are the most rounding-sensitive parts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from core_model.errors import QuantizationError

NF4_IMPLEMENTATION = "nf4"
BLOCKSIZE = 64
_EXPERT_TENSORS = ("gate_up_proj", "down_proj")
# Output heads and routers keep full precision (see module docstring).
_KEEP_LINEAR = frozenset({"lm_head", "gate", "router", "score"})


def _keeps_precision(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return leaf in _KEEP_LINEAR or name.startswith("heads.")


@dataclass(frozen=True)
class QuantReport:
    """What ``quantize_4bit`` changed: tensors quantized and weight bytes before and after."""

    expert_tensors: int
    linear_layers: int
    bytes_before: int
    bytes_after: int

    @property
    def ratio(self) -> float:
        return self.bytes_after / self.bytes_before if self.bytes_before else 1.0


@contextmanager
def _quiet_loggers(*names: str) -> Iterator[None]:
    """Raise ``names``' loggers to ERROR for the duration (their warnings are not the user's)."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _bnb():
    try:
        # At import, bitsandbytes' CPU backend (on AVX512-BF16 CPUs) asks the Hugging Face hub
        # for an optional fused kernel ("kernels-community"); offline, or without the `kernels`
        # package's cache, it falls back to its own NF4 kernels, which is the path used here,
        # and logs two alarming warnings about the hub that say nothing about the user's model.
        with _quiet_loggers("kernels", "bitsandbytes"):
            import bitsandbytes as bnb
            from bitsandbytes.functional import QuantState, dequantize_4bit, quantize_4bit
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise QuantizationError("4-bit needs bitsandbytes: pip install bitsandbytes") from exc
    return bnb, QuantState, quantize_4bit, dequantize_4bit


def tensor_storage(name: str, tensor: torch.Tensor) -> tuple[int, int]:
    """(logical weights, storage bytes) of one parameter or buffer named ``name``: packed
    4-bit tensors count two weights per byte plus their per-block absmax and code."""
    nbytes = tensor.numel() * tensor.element_size()
    state = getattr(tensor, "quant_state", None)
    if state is not None:  # bitsandbytes Params4bit
        nbytes += _quant_state_bytes(state)
        return int(torch.Size(state.shape).numel()), nbytes
    if name.endswith("_nf4"):  # our packed experts
        return tensor.numel() * 2, nbytes
    if name.endswith(("_absmax", "_code")):
        return 0, nbytes
    return tensor.numel(), nbytes


def weight_bytes(module: nn.Module) -> int:
    """Storage bytes of all parameters and buffers, packed 4-bit tensors included."""
    named = list(module.named_parameters()) + list(module.named_buffers())
    return sum(tensor_storage(name, t)[1] for name, t in named)


def _quant_state_bytes(state) -> int:
    total = state.absmax.numel() * state.absmax.element_size()
    if state.code is not None:
        total += state.code.numel() * state.code.element_size()
    if getattr(state, "state2", None) is not None:
        total += _quant_state_bytes(state.state2)
    return total


def is_fused_experts(module: nn.Module) -> bool:
    return all(
        isinstance(getattr(module, name, None), nn.Parameter) and getattr(module, name).dim() == 3
        for name in _EXPERT_TENSORS
    ) and hasattr(module, "config")


def _quantize_experts(experts: nn.Module) -> None:
    _, _, quantize_4bit, _ = _bnb()
    experts._nf4_shapes = {}
    for name in _EXPERT_TENSORS:
        weight = experts._parameters.pop(name).data  # [E, out, in]
        packed, absmax, code = [], [], None
        for e in range(weight.shape[0]):
            q, state = quantize_4bit(weight[e].contiguous(), blocksize=BLOCKSIZE, quant_type="nf4")
            packed.append(q.view(-1))
            absmax.append(state.absmax)
            code = state.code
        experts.register_buffer(f"{name}_nf4", torch.stack(packed))  # [E, out*in/2] uint8
        experts.register_buffer(f"{name}_absmax", torch.stack(absmax))  # [E, out*in/64] fp32
        experts.register_buffer(f"{name}_code", code)  # [16] NF4 levels
        experts._nf4_shapes[name] = (tuple(weight.shape[1:]), weight.dtype)


def _expert_weight(experts: nn.Module, name: str, e: int, dtype: torch.dtype) -> torch.Tensor:
    _, QuantState, _, dequantize_4bit = _bnb()
    shape, orig_dtype = experts._nf4_shapes[name]
    state = QuantState(
        absmax=getattr(experts, f"{name}_absmax")[e],
        shape=torch.Size(shape),
        code=getattr(experts, f"{name}_code"),
        blocksize=BLOCKSIZE,
        quant_type="nf4",
        dtype=orig_dtype,
    )
    packed = getattr(experts, f"{name}_nf4")[e].view(-1, 1)
    return dequantize_4bit(packed, state).to(dtype)


def nf4_experts_forward(
    self, hidden_states: torch.Tensor, top_k_index: torch.Tensor, top_k_weights: torch.Tensor
) -> torch.Tensor:
    """The eager experts loop of transformers' MoE classes over NF4 weights: only the experts
    that some token chose are dequantized, so a decode step reads k experts, not E."""
    final = torch.zeros_like(hidden_states)
    n_experts = self.num_experts
    with torch.no_grad():
        mask = F.one_hot(top_k_index, num_classes=n_experts + 1).permute(2, 1, 0)  # [E+1, k, N]
        hit = torch.greater(mask.sum(dim=(-1, -2)), 0).nonzero().flatten().tolist()
    for e in hit:
        if e == n_experts:  # padding slot used by expert-parallel dispatch
            continue
        pos, tok = torch.where(mask[e])
        x = hidden_states[tok]  # [n, H]
        gate_up = _expert_weight(self, "gate_up_proj", e, x.dtype)
        down = _expert_weight(self, "down_proj", e, x.dtype)
        if getattr(self, "is_transposed", False):
            gate_up, down = gate_up.T, down.T
        h = F.linear(x, gate_up)
        if getattr(self, "has_bias", False):
            h = h + self.gate_up_proj_bias[e]
        h = self._apply_gate(h) if getattr(self, "has_gate", True) else self.act_fn(h)
        out = F.linear(h, down)
        if getattr(self, "has_bias", False):
            out = out + self.down_proj_bias[e]
        out = out * top_k_weights[tok, pos, None]
        final.index_add_(0, tok, out.to(final.dtype))
    return final


def _register_implementation() -> None:
    from transformers.integrations.moe import ExpertsInterface

    ExpertsInterface.register(NF4_IMPLEMENTATION, nf4_experts_forward)


def _quantize_linear(parent: nn.Module, child_name: str, linear: nn.Linear) -> None:
    bnb, _, _, _ = _bnb()
    device = linear.weight.device
    q = bnb.nn.Linear4bit(
        linear.in_features,
        linear.out_features,
        bias=linear.bias is not None,
        compute_dtype=linear.weight.dtype,
        quant_type="nf4",
        device="meta",
    )
    q.weight = bnb.nn.Params4bit(
        linear.weight.data.to("cpu"), requires_grad=False, quant_type="nf4", blocksize=BLOCKSIZE
    )
    if linear.bias is not None:
        q.bias = nn.Parameter(linear.bias.data, requires_grad=False)
    # Params4bit quantizes on its first move to a device.
    setattr(parent, child_name, q.to(device))


def quantize_4bit(module: nn.Module) -> QuantReport:
    """Quantize ``module`` in place to NF4: fused routed experts and linear layers.

    Works on any transformers MoE with fused experts (DeepseekV3, Qwen3-MoE, Mixtral, OLMoE,
    ...) and on the record model that wraps one. Inference only: the result cannot be trained
    or saved; keep checkpoints in full precision and quantize at load.
    """
    before = weight_bytes(module)
    _register_implementation()
    expert_modules = [m for m in module.modules() if is_fused_experts(m)]
    if not expert_modules:
        raise QuantizationError("no fused MoE experts found; 4-bit here is for MoE models")
    for experts in expert_modules:
        _quantize_experts(experts)
        experts.config._experts_implementation = NF4_IMPLEMENTATION
    linears = [
        (name, m)
        for name, m in module.named_modules()
        if type(m) is nn.Linear and not _keeps_precision(name)
    ]
    for name, linear in linears:
        parent_name, _, child = name.rpartition(".")
        _quantize_linear(
            module.get_submodule(parent_name) if parent_name else module, child, linear
        )
    module.requires_grad_(False)
    return QuantReport(
        expert_tensors=len(expert_modules) * len(_EXPERT_TENSORS),
        linear_layers=len(linears),
        bytes_before=before,
        bytes_after=weight_bytes(module),
    )
