"""Generation: batching, padding and the KV cache never change what a request produces."""

import copy
import dataclasses

import pytest
import torch

from core_model.config import GenerationConfig, TrainConfig
from core_model.errors import GenerationError
from core_model.generate import generate, generate_ids, plan_batches
from core_model.train import train_lm

PROMPTS = [
    "import json\n",
    "def encode(obj):\n    ",
    "class JSONDecoder(object):\n    def __init__(self, *, object_hook=None):\n        self.",
    "x",
    "    return ",
    "from email import message\n\ndef parse(text):\n    msg = ",
]


@pytest.fixture(scope="module")
def trained_lm(tiny_lm, code_texts):
    """A briefly trained copy: random weights give near-tied logits, which hide nothing."""
    model = copy.deepcopy(tiny_lm)
    config = TrainConfig(steps=120, batch_size=8, seq_len=64, warmup_steps=10, eval_every=1000)
    train_lm(model, code_texts, config)
    return model


def _naive_greedy(model, prompt: str, n: int) -> str:
    """Full recompute, no cache, no padding, no batching: the reference."""
    tok = model.tokenizer
    ids = [tok.bos_token_id, *tok.encode(prompt, add_special_tokens=False)]
    out = []
    with torch.inference_mode():
        for _ in range(n):
            logits = model.module(input_ids=torch.tensor([ids]), use_cache=False).logits
            nxt = int(logits[0, -1].argmax())
            if nxt == tok.eos_token_id:
                break
            ids.append(nxt)
            out.append(nxt)
    return tok.decode(out, skip_special_tokens=True)


def test_batched_greedy_equals_sequential_and_uncached(trained_lm):
    config = GenerationConfig(max_new_tokens=24, token_budget=120)
    lengths = [len(trained_lm.tokenizer.encode(p)) + 1 for p in PROMPTS]
    assert len(plan_batches(lengths, config)) >= 3  # the budget really splits the requests
    batched = generate(trained_lm, PROMPTS, config)
    one_by_one = [generate(trained_lm, [p], config)[0] for p in PROMPTS]
    assert batched == one_by_one
    wide = generate(trained_lm, PROMPTS, dataclasses.replace(config, token_budget=100_000))
    assert wide == batched
    assert [_naive_greedy(trained_lm, p, 24) for p in PROMPTS[:3]] == batched[:3]
    assert len(set(batched)) > 1 and all(batched)


def test_sampling_is_seeded_and_independent_of_batching(trained_lm):
    config = GenerationConfig(max_new_tokens=16, temperature=1.0, top_p=0.9, seed=7)
    many = generate(trained_lm, PROMPTS, config)
    split = generate(trained_lm, PROMPTS, dataclasses.replace(config, token_budget=60))
    assert many == split
    assert generate(trained_lm, PROMPTS, config) == many
    other_seed = generate(trained_lm, PROMPTS, dataclasses.replace(config, seed=8))
    assert other_seed != many
    greedy = generate(trained_lm, PROMPTS, dataclasses.replace(config, temperature=0.0))
    assert greedy != many


def test_tiny_top_p_is_greedy(trained_lm):
    config = GenerationConfig(max_new_tokens=12, temperature=1.0, top_p=1e-6, seed=3)
    greedy = GenerationConfig(max_new_tokens=12)
    assert generate(trained_lm, PROMPTS, config) == generate(trained_lm, PROMPTS, greedy)


def test_stop_string_truncates_and_ends_the_row_early(trained_lm):
    config = GenerationConfig(max_new_tokens=30)
    full = generate(trained_lm, PROMPTS[:2], config)
    # A stop string taken from the middle of the first completion.
    stop = full[0][5:8]
    assert stop and len(full[0]) > 8
    cut = generate(trained_lm, PROMPTS[:2], dataclasses.replace(config, stop=(stop,)))
    assert cut[0] == full[0][: full[0].find(stop)]
    # Row 0 leaves the batch early (cache rows dropped); the other row must not notice.
    stop_config = dataclasses.replace(config, stop=(stop,))
    assert cut == [generate(trained_lm, [p], stop_config)[0] for p in PROMPTS[:2]]
    ids = generate_ids(
        trained_lm,
        [[trained_lm.tokenizer.bos_token_id, *trained_lm.tokenizer.encode(PROMPTS[0])]],
        dataclasses.replace(config, stop=(stop,)),
    )[0]
    assert len(ids) < 30  # decoding stopped once the stop string appeared
    assert stop in trained_lm.tokenizer.decode(ids)
    # The other row is unaffected unless it contains the stop string itself.
    if stop not in full[1]:
        assert cut[1] == full[1]


def test_max_new_tokens_and_eos(trained_lm):
    bos = trained_lm.tokenizer.bos_token_id
    prompts = [[bos, *trained_lm.tokenizer.encode(p)] for p in PROMPTS]
    for n in (1, 5, 17):
        out = generate_ids(trained_lm, prompts, GenerationConfig(max_new_tokens=n))
        assert all(len(ids) <= n for ids in out)
        assert max(len(ids) for ids in out) == n
    assert generate_ids(trained_lm, prompts, GenerationConfig(max_new_tokens=0)) == [[]] * 6
    # Make the first greedy token of prompt 0 the eos: its completion must come back empty.
    first = generate_ids(trained_lm, prompts[:1], GenerationConfig(max_new_tokens=1))[0][0]
    eos_model = copy.copy(trained_lm)
    eos_model.module = copy.deepcopy(trained_lm.module)
    eos_model.module.config.eos_token_id = first
    assert generate_ids(eos_model, prompts[:1], GenerationConfig(max_new_tokens=8)) == [[]]


def test_plan_batches_respects_the_token_budget():
    lengths = [3, 50, 7, 7, 12, 90, 1, 30]
    config = GenerationConfig(max_new_tokens=10, token_budget=100, max_batch_size=3)
    batches = plan_batches(lengths, config)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        width = max(lengths[i] for i in batch) + config.max_new_tokens
        assert len(batch) == 1 or len(batch) * width <= config.token_budget
        assert len(batch) <= config.max_batch_size
    assert batches[-1] == [5]  # 90 + 10 fills the budget alone


def test_bad_requests_are_clear_errors(trained_lm, tiny_records):
    with pytest.raises(GenerationError, match="causal_lm"):
        generate(tiny_records, ["x"])
    with pytest.raises(GenerationError, match="prompt 1 .*context"):
        generate(trained_lm, ["ok", "x " * 2000], GenerationConfig(max_new_tokens=8))
    with pytest.raises(GenerationError, match="top_p"):
        generate(trained_lm, ["x"], GenerationConfig(top_p=0.0))
