"""What a model is made of: parameters (total and active per token) and the real storage bytes
of each component, packed 4-bit tensors and their quantization states included."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from core_model.load import Model
from core_model.quant import is_fused_experts, tensor_storage

COMPONENTS = (
    "experts",
    "shared_experts",
    "dense_mlp",
    "attention",
    "router",
    "embeddings",
    "head",
    "norms",
    "other",
)


@dataclass(frozen=True)
class ModelInfo:
    """Parameters and bytes per component; ``active_params`` counts what one token runs:
    everything but the routed experts, plus top-k of E of them, and one embedding row."""

    architecture: str
    kind: str
    total_params: int
    active_params: int
    bytes_by_component: dict[str, int] = field(default_factory=dict)
    params_by_component: dict[str, int] = field(default_factory=dict)
    dtype: str = "float32"
    quantization: str | None = None
    device: str = "cpu"
    routed_experts: int = 0
    experts_per_token: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_by_component.values())


def _component(name: str, module: nn.Module) -> str:
    if is_fused_experts(module) or hasattr(module, "_nf4_shapes"):
        return "experts"
    leaf = name.rsplit(".", 1)[-1]
    if "shared_expert" in name:
        return "shared_experts"
    if ".mlp.gate" in f".{name}" and leaf == "gate" or "router" in leaf:
        return "router"
    if "self_attn" in name or "attention" in name:
        return "attention"
    if ".mlp" in f".{name}":
        return "dense_mlp"
    if "embed" in name or leaf == "start" or name.startswith("field_embeddings"):
        return "embeddings"
    if "lm_head" in name or name.startswith("heads"):
        return "head"
    if "norm" in leaf:
        return "norms"
    return "other"


def describe(model: Model) -> ModelInfo:
    """Describe a loaded model (see ``ModelInfo``)."""
    module = model.module
    config = model.config
    params = dict.fromkeys(COMPONENTS, 0)
    nbytes = dict.fromkeys(COMPONENTS, 0)
    non_params = {n for n, _ in module.named_buffers()}
    for mod_name, mod in module.named_modules():
        owned = list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False))
        for tname, tensor in owned:
            full = f"{mod_name}.{tname}" if mod_name else tname
            component = (
                _component(mod_name if mod_name else tname, mod)
                if mod_name
                else _component(tname, mod)
            )
            count, size = tensor_storage(tname, tensor)
            if full in non_params and not tname.endswith("_nf4"):
                count = 0  # rotary tables, routing biases: state, not weights
            params[component] += count
            nbytes[component] += size
    total = sum(params.values())
    n_exp = (
        getattr(config, "n_routed_experts", None)
        or getattr(config, "num_local_experts", 0)
        or getattr(config, "num_experts", 0)
    )
    k = getattr(config, "num_experts_per_tok", 0) or 0
    routed_active = params["experts"] * k // n_exp if n_exp else params["experts"]
    embed_rows = params["embeddings"] - (config.hidden_size if model.kind == "causal_lm" else 0)
    active = total - params["experts"] + routed_active - max(embed_rows, 0)
    return ModelInfo(
        architecture=getattr(config, "model_type", type(module).__name__),
        kind=model.kind,
        total_params=total,
        active_params=active,
        bytes_by_component=nbytes,
        params_by_component=params,
        dtype=model.dtype,
        quantization=model.quantization,
        device=model.device,
        routed_experts=n_exp,
        experts_per_token=k,
    )


def format_info(info: ModelInfo) -> str:
    """A plain-text table of ``info`` for the CLI."""
    lines = [
        f"architecture   {info.architecture} ({info.kind})",
        f"experts        {info.routed_experts} routed, top-{info.experts_per_token}",
        f"parameters     {info.total_params:,} total, {info.active_params:,} active per token",
        f"dtype          {info.dtype}   quantization {info.quantization or 'none'}   "
        f"device {info.device}",
        "",
        f"{'component':<16}{'params':>14}{'bytes':>14}{'share':>8}",
    ]
    total = info.total_bytes or 1
    for comp in COMPONENTS:
        if info.bytes_by_component.get(comp):
            b = info.bytes_by_component[comp]
            lines.append(
                f"{comp:<16}{info.params_by_component[comp]:>14,}{b:>14,}{b / total:>8.1%}"
            )
    lines.append(f"{'total':<16}{info.total_params:>14,}{info.total_bytes:>14,}{1:>8.0%}")
    return "\n".join(lines)
