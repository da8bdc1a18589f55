"""Text generation for causal-LM handles: dynamic batching under a token budget, left padding,
a KV cache, greedy / temperature / top-p sampling with one seeded generator per request, stop
strings, ``max_new_tokens`` and eos.

Results do not depend on how requests are grouped: each request keeps its own position ids and
its own random stream, and finished rows leave the batch (their cache rows are dropped). Padding
and batch shape change fp32 logits only by rounding (measured <= 1.2e-7 on the tiny model), so
greedy picks agree unless two logits tie to that precision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache

from core_model.config import GenerationConfig
from core_model.errors import GenerationError
from core_model.load import Model

# Seeds of neighbouring requests must not collide across neighbouring config seeds
# (seed=0 request 1 vs seed=1 request 0), hence the large odd stride.
_SEED_STRIDE = 1_000_003


@dataclass
class _Row:
    """One request while it decodes."""

    index: int
    prompt: list[int]
    generator: torch.Generator
    tokens: list[int] = field(default_factory=list)
    done: bool = False


def generate(model: Model, prompts: list[str], config: GenerationConfig | None = None) -> list[str]:
    """Complete each prompt; returns the completion text only (prompt excluded).

    Every prompt is encoded as ``<bos> + tokens`` (no eos: it would end the prompt). The
    completion stops at eos, at ``max_new_tokens``, or at the first stop string, where the text
    is cut just before the stop string.

    Args:
        model: a ``causal_lm`` handle with a tokenizer.
        prompts: the texts to continue.
        config: decoding options; ``temperature == 0`` is greedy.

    Returns:
        One completion per prompt, in the order of ``prompts``.

    Raises:
        GenerationError: the model is not a causal LM with a tokenizer, the config is invalid, or
            a prompt plus ``max_new_tokens`` exceeds the model's context.
    """
    config = config or GenerationConfig()
    tokenizer = model.tokenizer
    if model.kind != "causal_lm" or tokenizer is None:
        raise GenerationError(
            f"generate needs a causal_lm model with a tokenizer; got kind={model.kind!r}"
            + ("" if tokenizer is not None else " without a tokenizer")
        )
    bos = tokenizer.bos_token_id
    prompt_ids = [
        ([bos] if bos is not None else []) + tokenizer.encode(p, add_special_tokens=False)
        for p in prompts
    ]

    def decode(ids: Sequence[int]) -> str:
        return tokenizer.decode(list(ids), skip_special_tokens=True)

    completions = _generate(model, prompt_ids, config, decode)
    return [_cut_at_stop(decode(ids), config.stop) for ids in completions]


def generate_ids(
    model: Model, prompts: list[list[int]], config: GenerationConfig | None = None
) -> list[list[int]]:
    """Like `generate` for prompts given as token ids (used as they are: add bos yourself).

    Stop strings are honoured when the model has a tokenizer; the returned ids then end with
    the token that completed the stop string (decode and cut the text to drop it).

    Returns:
        The generated token ids per prompt, eos excluded.
    """
    config = config or GenerationConfig()
    if model.kind != "causal_lm":
        raise GenerationError(f"generate_ids needs a causal_lm model; got kind={model.kind!r}")
    tokenizer = model.tokenizer
    decode = None
    if config.stop:
        if tokenizer is None:
            raise GenerationError("stop strings need a tokenizer; this model has none")

        def decode(ids: Sequence[int]) -> str:
            return tokenizer.decode(list(ids), skip_special_tokens=True)

    return _generate(model, [list(p) for p in prompts], config, decode)


def _validate(config: GenerationConfig) -> None:
    if config.max_new_tokens < 0:
        raise GenerationError(f"max_new_tokens must be >= 0, got {config.max_new_tokens}")
    if config.temperature < 0:
        raise GenerationError(f"temperature must be >= 0, got {config.temperature}")
    if not 0 < config.top_p <= 1:
        raise GenerationError(f"top_p must be in (0, 1], got {config.top_p}")
    if config.token_budget < 1 or config.max_batch_size < 1:
        raise GenerationError("token_budget and max_batch_size must be positive")
    if any(not s for s in config.stop):
        raise GenerationError("stop strings must be non-empty")


def _cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=len(text))
    return text[:cut]


def plan_batches(lengths: Sequence[int], config: GenerationConfig) -> list[list[int]]:
    """Group request indices into batches: sorted by prompt length, each batch keeping
    ``batch_size x (longest prompt + max_new_tokens) <= token_budget`` and
    ``batch_size <= max_batch_size``. A request over the budget on its own runs alone."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Ascending order: the newcomer is the longest prompt of the batch.
        width = lengths[i] + config.max_new_tokens
        too_big = (len(current) + 1) * width > config.token_budget
        if current and (too_big or len(current) >= config.max_batch_size):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _generate(
    model: Model,
    prompts: list[list[int]],
    config: GenerationConfig,
    decode: Callable[[Sequence[int]], str] | None,
) -> list[list[int]]:
    _validate(config)
    module = model.module
    mconfig = module.config
    limit = getattr(mconfig, "max_position_embeddings", None)
    for i, prompt in enumerate(prompts):
        if not prompt:
            raise GenerationError(f"prompt {i} is empty; start it with the bos token")
        if limit is not None and len(prompt) + config.max_new_tokens > limit:
            raise GenerationError(
                f"prompt {i} has {len(prompt)} tokens; with max_new_tokens="
                f"{config.max_new_tokens} it exceeds the model's context of {limit} positions"
            )
    eos_ids = _eos_ids(model)
    rows = [
        _Row(i, p, torch.Generator().manual_seed(config.seed * _SEED_STRIDE + i))
        for i, p in enumerate(prompts)
    ]
    if config.max_new_tokens > 0:
        with torch.inference_mode():
            for batch in plan_batches([len(p) for p in prompts], config):
                _decode_batch(module, [rows[i] for i in batch], config, eos_ids, decode)
    return [row.tokens for row in rows]


def _eos_ids(model: Model) -> set[int]:
    ids: set[int] = set()
    if model.tokenizer is not None and model.tokenizer.eos_token_id is not None:
        ids.add(model.tokenizer.eos_token_id)
    eos = getattr(model.module.config, "eos_token_id", None)
    if isinstance(eos, int):
        ids.add(eos)
    elif isinstance(eos, list | tuple):
        ids.update(int(e) for e in eos)
    return ids


def _pad_id(module: torch.nn.Module) -> int:
    pad = getattr(module.config, "pad_token_id", None)
    return int(pad) if pad is not None else 0


def _decode_batch(
    module: torch.nn.Module,
    rows: list[_Row],
    config: GenerationConfig,
    eos_ids: set[int],
    decode: Callable[[Sequence[int]], str] | None,
) -> None:
    """Decode one batch in place (fills ``row.tokens``), with a KV cache and left padding."""
    device = next(module.parameters()).device
    width = max(len(r.prompt) for r in rows)
    pad = _pad_id(module)
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, row in enumerate(rows):
        input_ids[b, width - len(row.prompt) :] = torch.tensor(row.prompt)
        mask[b, width - len(row.prompt) :] = 1
    input_ids, mask = input_ids.to(device), mask.to(device)
    # Left padding: each row counts positions from its own first real token, so its rotary
    # phases (and hence its logits) are those of an unpadded run.
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # [B, T]
    cache = DynamicCache(config=module.config)
    active = list(rows)
    step_ids, step_pos = input_ids, positions
    for _ in range(config.max_new_tokens):
        out = module(
            input_ids=step_ids,
            attention_mask=mask,
            position_ids=step_pos,
            cache=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        logits = out.logits[:, -1, :].float()  # [B, V]
        next_ids = [_pick(logits[b], config, row.generator) for b, row in enumerate(active)]
        keep: list[int] = []
        for b, (row, token) in enumerate(zip(active, next_ids, strict=True)):
            if token in eos_ids:
                row.done = True
                continue
            row.tokens.append(token)
            if len(row.tokens) >= config.max_new_tokens or _hit_stop(row, config, decode):
                row.done = True
                continue
            keep.append(b)
        if not keep:
            break
        last_pos = step_pos[:, -1:]  # [B, 1]
        if len(keep) < len(active):
            # Finished rows leave the batch, cache included: later steps cost nothing for them.
            index = torch.tensor(keep, device=device)
            cache.batch_select_indices(index)
            mask, last_pos = mask[index], last_pos[index]
            active = [active[b] for b in keep]
        step_ids = torch.tensor([[row.tokens[-1]] for row in active], device=device)
        step_pos = last_pos + 1
        mask = torch.cat([mask, mask.new_ones(len(active), 1)], dim=1)


def _hit_stop(
    row: _Row, config: GenerationConfig, decode: Callable[[Sequence[int]], str] | None
) -> bool:
    if not config.stop or decode is None:
        return False
    text = decode(row.tokens)
    return any(s in text for s in config.stop)


def _pick(logits: torch.Tensor, config: GenerationConfig, generator: torch.Generator) -> int:
    """Next token from one row's logits [V]: argmax, or a top-p sample drawn with exactly one
    uniform number from the row's own generator (so batch composition cannot shift streams)."""
    if config.temperature == 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.cpu().double() / config.temperature, dim=-1)
    sorted_probs, sorted_ids = torch.sort(probs, descending=True)
    cumulative = sorted_probs.cumsum(0)
    # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
    kept = int(torch.searchsorted(cumulative, torch.tensor([config.top_p], dtype=torch.float64)))
    kept = min(kept + 1, len(sorted_probs))
    mass = cumulative[:kept]
    u = torch.rand((), generator=generator, dtype=torch.float64) * mass[-1]
    choice = min(int(torch.searchsorted(mass, u.reshape(1), right=True)), kept - 1)
    return int(sorted_ids[choice])
