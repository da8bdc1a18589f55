"""Feature extraction: pooled and per-position hidden states, surprisal and router statistics,
for token sequences (text, code) and record sequences (transactions).

Sequences longer than ``max_length`` are cut into windows that overlap by ``context`` positions;
each position's features come from the first window that gives it that much left context.
Windows are sorted by length and right-padded in batches: with a causal mask, padding and batch
neighbours cannot change a real position's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from core_model.config import FeatureOptions
from core_model.errors import CoreModelError
from core_model.load import Model
from core_model.routing_stats import entropy, routing


@dataclass(frozen=True)
class PositionFeatures:
    """Per-token features of one text: ``hidden [T, H]``, ``surprisal [T]`` (of token t given
    tokens < t; 0 for <bos>), ``offsets [T, 2]`` character spans (<bos> is (0, 0))."""

    token_ids: np.ndarray
    hidden: np.ndarray
    surprisal: np.ndarray
    offsets: np.ndarray
    # With ``FeatureOptions.top_k``: the k most likely tokens to follow position t and their
    # log-probabilities, ``[T, k]`` each (row t predicts token t + 1); None otherwise.
    next_top_ids: np.ndarray | None = None
    next_top_logprobs: np.ndarray | None = None


@dataclass(frozen=True)
class Features:
    """Per text: ``mean``/``last`` hidden [N, H], ``mean_surprisal`` [N], router selection
    ``router_counts`` [N, L, E] and mean routing entropy ``router_entropy`` [N, L] over the MoE
    layers; ``positions`` when asked for."""

    mean: np.ndarray
    last: np.ndarray
    mean_surprisal: np.ndarray
    router_counts: np.ndarray
    router_entropy: np.ndarray
    positions: list[PositionFeatures] | None = None


@dataclass(frozen=True)
class RecordFeatures:
    """Per record, concatenated over sequences (rows ``offsets[i]:offsets[i+1]`` are sequence
    i): ``hidden [N, H]`` after the record, ``surprisal [N]`` of the record given the earlier
    ones, ``router_entropy [N]`` mean over MoE layers, ``expert_counts [N, E]`` selections summed
    over MoE layers, ``field_surprisal [N, F]`` per schema field (0 where missing; its row sum is
    ``surprisal``)."""

    hidden: np.ndarray
    surprisal: np.ndarray
    router_entropy: np.ndarray
    expert_counts: np.ndarray
    offsets: np.ndarray
    field_surprisal: np.ndarray | None = None


@dataclass(frozen=True)
class _Window:
    seq: int
    start: int  # first position of the window in the sequence
    stop: int
    keep_from: int  # first position whose result this window reports


def _windows(lengths: Sequence[int], size: int, context: int) -> list[_Window]:
    if context >= size:
        raise CoreModelError("feature context must be smaller than max_length")
    out = []
    for seq, length in enumerate(lengths):
        start, keep = 0, 0
        while True:
            stop = min(start + size, length)
            out.append(_Window(seq, start, stop, keep))
            if stop >= length:
                break
            start, keep = stop - context, stop
    return out


def _batches(windows: list[_Window], batch_size: int) -> list[list[_Window]]:
    ordered = sorted(windows, key=lambda w: w.stop - w.start, reverse=True)
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]


def _moe_layers(model: Model) -> int:
    config = model.config
    first_dense = getattr(config, "first_k_dense_replace", 0) or 0
    return config.num_hidden_layers - first_dense


def encode_texts(
    model: Model, texts: Sequence[str], caller: str
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Token ids of each text after a BOS token, and each token's (start, end) characters.

    Raises:
        CoreModelError: ``model`` is no causal LM with a tokenizer (``caller`` names the use).
    """
    if model.kind != "causal_lm" or model.tokenizer is None:
        raise CoreModelError(f"{caller} needs a text model with a tokenizer")
    tok = model.tokenizer
    encoded = tok(list(texts), add_special_tokens=False, return_offsets_mapping=True)
    seqs = [np.array([tok.bos_token_id] + ids, dtype=np.int64) for ids in encoded["input_ids"]]
    offsets = [
        np.array([(0, 0)] + [tuple(o) for o in offs], dtype=np.int64).reshape(-1, 2)
        for offs in encoded["offset_mapping"]
    ]
    return seqs, offsets


@torch.inference_mode()
def extract_features(
    model: Model, texts: Sequence[str], options: FeatureOptions = FeatureOptions()
) -> Features:
    """Features of each text under a causal LM (see ``Features``)."""
    seqs, offsets = encode_texts(model, texts, "extract_features")
    tok = model.tokenizer
    module = model.module
    device = model.torch_device
    n_exp = (
        module.config.num_local_experts
        if hasattr(module.config, "num_local_experts")
        else module.config.n_routed_experts
    )
    hidden_out = [np.zeros((len(s), module.config.hidden_size), np.float32) for s in seqs]
    k = options.top_k if options.per_position else 0
    top_ids_out = [np.zeros((len(s), k), np.int64) for s in seqs]
    top_lp_out = [np.zeros((len(s), k), np.float32) for s in seqs]
    surpr_out = [np.zeros(len(s), np.float32) for s in seqs]
    counts = np.zeros((len(seqs), _moe_layers(model), n_exp), np.int64)
    ent_sum = np.zeros((len(seqs), _moe_layers(model)), np.float64)

    windows = _windows([len(s) for s in seqs], options.max_length, options.context)
    for batch in _batches(windows, options.batch_size):
        width = max(w.stop - w.start for w in batch)
        ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, w in enumerate(batch):
            ids[row, : w.stop - w.start] = torch.from_numpy(seqs[w.seq][w.start : w.stop])
            mask[row, : w.stop - w.start] = 1
        out = module(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            use_cache=False,
            output_hidden_states=True,
            output_router_logits=True,
        )
        hidden = out.hidden_states[-1].float()  # [B, W, H], after the final norm
        logp = F.log_softmax(out.logits.float(), dim=-1)
        # surprisal of token t from the logits at t-1: [B, W-1]
        nll = -logp[:, :-1].gather(-1, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1)
        probs, topk = routing(module, out.router_logits or ())  # [L, B*W, E], [L, B*W, k]
        probs = probs.view(probs.shape[0], len(batch), width, -1)
        topk = topk.view(topk.shape[0], len(batch), width, -1)
        ent = entropy(probs)  # [L, B, W]
        if k:
            top_lp, top_ids = logp.topk(k, dim=-1)  # [B, W, k]
        for row, w in enumerate(batch):
            lo, hi = w.keep_from - w.start, w.stop - w.start
            hidden_out[w.seq][w.keep_from : w.stop] = hidden[row, lo:hi].cpu().numpy()
            if k:
                top_ids_out[w.seq][w.keep_from : w.stop] = top_ids[row, lo:hi].cpu().numpy()
                top_lp_out[w.seq][w.keep_from : w.stop] = top_lp[row, lo:hi].cpu().numpy()
            s_lo = max(lo, 1)
            surpr_out[w.seq][w.start + s_lo : w.stop] = nll[row, s_lo - 1 : hi - 1].cpu().numpy()
            sel = topk[:, row, lo:hi].reshape(topk.shape[0], -1).cpu()
            for layer in range(sel.shape[0]):
                counts[w.seq, layer] += np.bincount(sel[layer].numpy(), minlength=n_exp)
            ent_sum[w.seq] += ent[:, row, lo:hi].sum(-1).double().cpu().numpy()

    lengths = np.array([len(s) for s in seqs], dtype=np.float64)
    positions = None
    if options.per_position:
        positions = [
            PositionFeatures(s, h, su, o, ti if k else None, tl if k else None)
            for s, h, su, o, ti, tl in zip(
                seqs, hidden_out, surpr_out, offsets, top_ids_out, top_lp_out, strict=True
            )
        ]
    return Features(
        mean=np.stack([h.mean(0) for h in hidden_out]) if seqs else np.zeros((0, 0), np.float32),
        last=np.stack([h[-1] for h in hidden_out]) if seqs else np.zeros((0, 0), np.float32),
        mean_surprisal=np.array(
            [su[1:].mean() if len(su) > 1 else 0.0 for su in surpr_out], dtype=np.float32
        ),
        router_counts=counts,
        router_entropy=(ent_sum / lengths[:, None]).astype(np.float32),
        positions=positions,
    )


def last_record_window_start(length: int, options: FeatureOptions = FeatureOptions()) -> int:
    """First record of the window `extract_record_features` reports a sequence's last record
    from: features of the last record need only ``sequence[start:]`` (one window, one
    forward), e.g. when one new transaction is scored against a long history."""
    if length <= 0:
        return 0
    # As extract_record_features: windows of max_length - 1 records (the start state takes
    # one position), each the next one's context.
    return _windows([length], options.max_length - 1, options.context)[-1].start


@torch.inference_mode()
def extract_record_features(
    model: Model, sequences: Sequence[np.ndarray], options: FeatureOptions = FeatureOptions()
) -> RecordFeatures:
    """Per-record features for each sequence of records (int array [T, F]); one forward pass
    per window of a sequence, never one per record."""
    if model.kind != "records" or model.schema is None:
        raise CoreModelError("extract_record_features needs a record model")
    n_fields = len(model.schema.fields)
    for i, seq in enumerate(sequences):
        if seq.ndim != 2 or seq.shape[1] != n_fields:
            raise CoreModelError(f"sequence {i}: expected shape [T, {n_fields}], got {seq.shape}")
    module = model.module
    device = model.torch_device
    config = module.config
    n_exp = config.n_routed_experts
    lengths = [len(s) for s in sequences]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    total = int(offsets[-1])
    hidden_out = np.zeros((total, config.hidden_size), np.float32)
    surpr_out = np.zeros(total, np.float32)
    field_out = np.zeros((total, n_fields), np.float32)
    ent_out = np.zeros(total, np.float32)
    count_out = np.zeros((total, n_exp), np.int32)

    # Each window holds max_length - 1 records: the start state takes one position.
    windows = _windows(lengths, options.max_length - 1, options.context)
    for batch in _batches([w for w in windows if w.stop > w.start], options.batch_size):
        width = max(w.stop - w.start for w in batch)
        fields = torch.zeros((len(batch), width, n_fields), dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, w in enumerate(batch):
            fields[row, : w.stop - w.start] = torch.from_numpy(
                np.asarray(sequences[w.seq][w.start : w.stop], dtype=np.int64)
            )
            mask[row, : w.stop - w.start] = 1
        fields, mask = fields.to(device), mask.to(device)
        hidden, router_logits = module(fields, mask, output_router_logits=True)
        hidden = hidden.float()  # [B, W+1, H]
        field_surpr = module.field_surprisal(fields, hidden)  # [B, W, F]
        surpr = field_surpr.sum(-1)  # [B, W]
        probs, topk = routing(module.backbone, router_logits or ())
        n_layers = probs.shape[0]
        probs = probs.view(n_layers, len(batch), width + 1, -1)
        topk = topk.view(n_layers, len(batch), width + 1, -1)
        ent = entropy(probs).mean(0)  # [B, W+1]
        onehot = F.one_hot(topk, n_exp).sum(dim=(0, 3))  # [B, W+1, E]
        for row, w in enumerate(batch):
            lo, hi = w.keep_from - w.start, w.stop - w.start
            dst = slice(offsets[w.seq] + w.keep_from, offsets[w.seq] + w.stop)
            hidden_out[dst] = hidden[row, lo + 1 : hi + 1].cpu().numpy()
            surpr_out[dst] = surpr[row, lo:hi].cpu().numpy()
            field_out[dst] = field_surpr[row, lo:hi].cpu().numpy()
            ent_out[dst] = ent[row, lo + 1 : hi + 1].cpu().numpy()
            count_out[dst] = onehot[row, lo + 1 : hi + 1].cpu().numpy()
    return RecordFeatures(hidden_out, surpr_out, ent_out, count_out, offsets, field_out)
