"""ModelSpec -> transformers' DeepseekV3 config and modules (never a hand-rolled expert)."""

from __future__ import annotations

from transformers import DeepseekV3Config, DeepseekV3ForCausalLM, DeepseekV3Model

from core_model.config import ModelSpec


def deepseek_v3_config(
    spec: ModelSpec, vocab_size: int, *, bos: int = 1, eos: int = 2, pad: int = 0
) -> DeepseekV3Config:
    """The transformers config for ``spec``. One expert group: grouped routing (n_group > 1)
    only pays off when experts are spread over devices."""
    return DeepseekV3Config(
        vocab_size=vocab_size,
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        moe_intermediate_size=spec.moe_intermediate_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_heads,
        n_shared_experts=spec.n_shared_experts,
        n_routed_experts=spec.n_routed_experts,
        num_experts_per_tok=spec.num_experts_per_tok,
        first_k_dense_replace=spec.first_k_dense,
        routed_scaling_factor=spec.routed_scaling_factor,
        kv_lora_rank=spec.kv_lora_rank,
        q_lora_rank=spec.q_lora_rank,
        qk_rope_head_dim=spec.qk_rope_head_dim,
        qk_nope_head_dim=spec.qk_nope_head_dim,
        v_head_dim=spec.v_head_dim,
        n_group=1,
        topk_group=1,
        max_position_embeddings=spec.max_position_embeddings,
        bos_token_id=bos,
        eos_token_id=eos,
        pad_token_id=pad,
        num_mtp_layers=0,
        tie_word_embeddings=False,
        # eager experts: on CPU as fast as grouped_mm, and batched_mm is 40x slower (FIELD_NOTES).
        experts_implementation="eager",
    )


def build_causal_lm(config: DeepseekV3Config) -> DeepseekV3ForCausalLM:
    return DeepseekV3ForCausalLM(config)


def build_backbone(config: DeepseekV3Config) -> DeepseekV3Model:
    return DeepseekV3Model(config)
