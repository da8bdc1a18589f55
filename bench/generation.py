"""Generation throughput: one request at a time (baseline) vs dynamic batching under a token
budget (ours), same model, prompts and greedy decoding; checks both give identical text.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/generation.py [--preset small] [--requests 32]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core_model.config import PRESETS, GenerationConfig, TrainConfig  # noqa: E402
from core_model.corpus import read_corpus, stdlib_dir  # noqa: E402
from core_model.generate import generate  # noqa: E402
from core_model.load import build_text_model  # noqa: E402
from core_model.runtime import set_threads  # noqa: E402
from core_model.train import train_lm  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS))
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--train-steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    set_threads(args.threads)

    texts = read_corpus([stdlib_dir() / "json", stdlib_dir() / "email"], max_bytes=400_000)
    model = build_text_model(PRESETS[args.preset], texts, vocab_size=4096, seed=0)
    # A briefly trained model: random weights decode near-uniform noise.
    trained = train_lm(
        model,
        texts,
        TrainConfig(
            steps=args.train_steps,
            batch_size=8,
            seq_len=128,
            warmup_steps=10,
            eval_every=10_000,
            eval_batches=2,
        ),
    )
    lines = [line for text in texts for line in text.splitlines() if line.strip()]
    step = max(1, len(lines) // args.requests)
    prompts = [
        "\n".join(lines[i : i + 1 + (i // step) % 6]) + "\n"
        for i in range(0, step * args.requests, step)
    ]
    config = GenerationConfig(max_new_tokens=args.new_tokens)

    rows = []
    outputs = {}
    for name, cfg in (
        ("one at a time (baseline)", dataclasses.replace(config, max_batch_size=1)),
        ("dynamic batching, budget 4096 (ours)", config),
        ("dynamic batching, budget 16384 (ours)", dataclasses.replace(config, token_budget=16384)),
    ):
        start = time.perf_counter()
        out = generate(model, prompts, cfg)
        seconds = time.perf_counter() - start
        tokens = sum(len(model.tokenizer.encode(o)) for o in out)
        outputs[name] = out
        rows.append((name, seconds, tokens / seconds))
    baseline = next(iter(outputs.values()))
    same = all(o == baseline for o in outputs.values())

    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(
        f"model: preset {args.preset}, trained {args.train_steps} steps (eval loss "
        f"{trained.initial_eval_loss:.2f} -> {trained.eval_loss:.2f}, "
        f"{trained.positions_per_second:.0f} training positions/s); {args.requests} requests, "
        f"{args.new_tokens} new tokens, greedy, {args.threads} torch thread(s)"
    )
    print("| mode | seconds | tokens/s | speed-up |\n|---|---|---|---|")
    for name, seconds, rate in rows:
        print(f"| {name} | {seconds:.2f} | {rate:.0f} | {rows[0][1] / seconds:.2f}x |")
    print(f"identical completions across modes: {same}")
    print("tokens/s counts the completions re-encoded by the tokenizer")


if __name__ == "__main__":
    main()
