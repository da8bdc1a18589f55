"""Model-core throughput and 4-bit size, baseline and ours in one run.

CPU: forward positions/s and generated tokens/s for the `tiny` and `small` presets at batch 1
(baseline) vs batch 32; weight bytes and forward speed, full precision (baseline) vs 4-bit.
CUDA (only when a GPU is present): bf16 vs 4-bit memory and batch-1 decode tokens/s for a ~1B
parameter MoE with random weights, against the memory-bandwidth bound (active weight bytes read
per token / bandwidth).

Run: .venv/bin/python bench/core_model.py [--threads 2] [--gpu-bandwidth-gbs 3350]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# This file shares the package's name: drop bench/ from the path so the package is imported.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import torch  # noqa: E402

from core_model.config import PRESETS, GenerationConfig, ModelSpec  # noqa: E402
from core_model.generate import generate  # noqa: E402
from core_model.info import describe  # noqa: E402
from core_model.load import Model, build_model  # noqa: E402
from core_model.quant import quantize_4bit, weight_bytes  # noqa: E402
from core_model.runtime import set_threads  # noqa: E402
from core_model.tokenizer import build_field_tokenizer  # noqa: E402


def _tokenizer(vocab: int):
    return build_field_tokenizer(f"w{i}" for i in range(vocab - 4))


@torch.inference_mode()
def forward_rate(model: Model, batch: int, seq: int, repeats: int) -> float:
    device = model.torch_device
    ids = torch.randint(4, model.config.vocab_size, (batch, seq), device=device)
    model.module(ids)  # warm-up at full size: allocator and thread pool
    best = float("inf")
    for _ in range(3):  # best of three: the 2 cores are often shared
        start = time.perf_counter()
        for _ in range(repeats):
            model.module(ids)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return batch * seq * repeats / best


def generation_rate(model: Model, batch: int, new_tokens: int) -> float:
    prompts = [" ".join(f"w{(i * 7 + j) % 50}" for j in range(16)) for i in range(batch)]
    config = GenerationConfig(
        max_new_tokens=new_tokens, max_batch_size=batch, token_budget=batch * (40 + new_tokens)
    )
    # eos would end rows early and flatter the rate: count the tokens really produced.
    start = time.perf_counter()
    outputs = generate(model, prompts, config)
    elapsed = time.perf_counter() - start
    produced = sum(len(model.tokenizer(o, add_special_tokens=False)["input_ids"]) for o in outputs)
    return max(produced, 1) / elapsed


def cpu_section(threads: int) -> None:
    set_threads(threads)
    print(f"## CPU ({threads} torch threads)\n")
    print("| preset | params (active) | forward pos/s b1 | b32 | gen tok/s b1 | b32 |")
    print("|---|---|---|---|---|---|")
    for name in ("tiny", "small"):
        spec = PRESETS[name]
        model = build_model(spec, tokenizer=_tokenizer(spec.vocab_size))
        info = describe(model)
        f1 = forward_rate(model, 1, 128, 20)
        f32 = forward_rate(model, 32, 128, 3)
        g1 = generation_rate(model, 1, 32)
        g32 = generation_rate(model, 32, 32)
        print(
            f"| {name} | {info.total_params / 1e6:.2f}M ({info.active_params / 1e6:.2f}M) "
            f"| {f1:,.0f} | {f32:,.0f} | {g1:,.0f} | {g32:,.0f} |"
        )
    print(
        "\n| preset | fp32 bytes | 4-bit bytes | ratio | experts ratio | fwd pos/s fp32 | 4-bit |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in ("tiny", "small"):
        spec = PRESETS[name]
        model = build_model(spec, tokenizer=_tokenizer(spec.vocab_size))
        full_bytes = weight_bytes(model.module)
        full_experts = describe(model).bytes_by_component["experts"]
        f_full = forward_rate(model, 8, 128, 3)
        quantize_4bit(model.module)
        model.quantization = "4bit"
        q_bytes = weight_bytes(model.module)
        q_experts = describe(model).bytes_by_component["experts"]
        f_q = forward_rate(model, 8, 128, 3)
        print(
            f"| {name} | {full_bytes:,} | {q_bytes:,} | {q_bytes / full_bytes:.3f} "
            f"| {q_experts / full_experts:.3f} | {f_full:,.0f} | {f_q:,.0f} |"
        )


def gpu_section(bandwidth_gbs: float) -> None:
    if not torch.cuda.is_available():
        print("\n## CUDA\n\nno CUDA device: GPU section not run")
        return
    spec = ModelSpec(
        hidden_size=2048,
        num_layers=16,
        num_heads=16,
        intermediate_size=5632,
        moe_intermediate_size=704,
        n_routed_experts=64,
        num_experts_per_tok=6,
        n_shared_experts=2,
        kv_lora_rank=512,
        q_lora_rank=768,
        qk_nope_head_dim=128,
        qk_rope_head_dim=64,
        v_head_dim=128,
        vocab_size=32000,
    )
    print(f"\n## CUDA ({torch.cuda.get_device_name()}, bound at {bandwidth_gbs:.0f} GB/s)\n")
    print("| weights | params | memory GB | active bytes/token | decode tok/s b1 | bound | % |")
    print("|---|---|---|---|---|---|---|")
    for quant in (None, "4bit"):
        torch.cuda.empty_cache()
        model = build_model(spec, tokenizer=_tokenizer(spec.vocab_size))
        model.module.to("cuda", torch.bfloat16)
        if quant:
            quantize_4bit(model.module)
            model.quantization = quant
        info = describe(model)
        total = info.total_bytes
        experts = info.bytes_by_component["experts"]
        active_bytes = total - experts + experts * spec.num_experts_per_tok // spec.n_routed_experts
        active_bytes -= info.bytes_by_component["embeddings"]
        rate = generation_rate(model, 1, 64)
        bound = bandwidth_gbs * 1e9 / active_bytes
        print(
            f"| {quant or 'bf16'} | {info.total_params / 1e9:.2f}B | "
            f"{torch.cuda.memory_allocated() / 1e9:.2f} | {active_bytes / 1e6:.0f} MB "
            f"| {rate:.1f} | {bound:.0f} | {rate / bound:.0%} |"
        )
        del model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gpu-bandwidth-gbs", type=float, default=3350.0)
    parser.add_argument("--skip-cpu", action="store_true")
    args = parser.parse_args()
    print(f"command: {' '.join([sys.executable.rsplit('/', 1)[-1], *sys.argv])}\n")
    if not args.skip_cpu:
        cpu_section(args.threads)
    gpu_section(args.gpu_bandwidth_gbs)


if __name__ == "__main__":
    main()
