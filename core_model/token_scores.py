"""Token surprisal of many short texts, computing the output layer only where it is needed.

`extract_features` returns everything (hidden states of each layer, routing, log-probabilities
over the whole vocabulary at every position). A caller that only needs the surprisal of the
tokens after some character, and the top-k next tokens at a few positions, pays most of that
for nothing: with a small model the output layer (hidden x vocabulary) is the largest matrix
product, and the full log-softmax and top-k over the vocabulary at every position are next.
`score_tokens` runs the transformer once per batch (sorted by length, right-padded: with a
causal mask padding and neighbours cannot change a real position) and applies the output layer
only to the positions asked for, with log-probabilities from a log-sum-exp per row instead of
a log-softmax over every position.

Results equal `extract_features`' ``surprisal`` and ``next_top_*`` where computed, up to float
rounding (tests/core_model/test_token_scores.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core_model.config import FeatureOptions
from core_model.features import encode_texts, extract_features
from core_model.load import Model


@dataclass(frozen=True)
class TokenScores:
    """Per-token results for one text: ``token_ids [T]`` (``<bos>`` first), ``offsets [T, 2]``
    character spans (``<bos>`` is (0, 0)), ``surprisal [T]`` of token t given tokens < t (0 for
    tokens not asked for), and with ``top_k`` the k most likely tokens to follow position t and
    their log-probabilities ``[T, k]`` (zeros at rows not asked for)."""

    token_ids: np.ndarray
    offsets: np.ndarray
    surprisal: np.ndarray
    next_top_ids: np.ndarray | None = None
    next_top_logprobs: np.ndarray | None = None


def _token_containing(offsets: np.ndarray, char: int) -> int | None:
    hits = np.nonzero((offsets[1:, 0] <= char) & (char < offsets[1:, 1]))[0]
    return int(hits[0]) + 1 if hits.size else None


@torch.inference_mode()
def score_tokens(
    model: Model,
    texts: Sequence[str],
    surprisal_from: Sequence[int] | None = None,
    top_k: int = 0,
    top_k_at: Sequence[Sequence[int]] | None = None,
    batch_size: int = 32,
    max_length: int = 512,
) -> list[TokenScores]:
    """Surprisal and next-token top-k of each text under a causal LM.

    Args:
        model: A text model with a tokenizer.
        texts: The texts.
        surprisal_from: Per text, a character offset: surprisal is computed for the tokens
            that end after it (the others stay 0). None: every token.
        top_k: How many next tokens to return where asked for (0: none).
        top_k_at: Per text, character offsets: the top-k rows are computed at the position
            before each token containing one (what the model expected there). None with
            ``top_k``: every position.
        batch_size: Texts per forward.
        max_length: Texts of more tokens go through `extract_features`' overlapping windows.
    """
    seqs, offsets = encode_texts(model, texts, "score_tokens")
    tok = model.tokenizer
    # want[i][t]: the output layer is needed at position t (it predicts token t + 1)
    want_s, want_k = [], []
    for i, (seq, offs) in enumerate(zip(seqs, offsets, strict=True)):
        s = np.ones(len(seq), bool)
        if surprisal_from is not None:
            s = np.zeros(len(seq), bool)
            s[:-1] = offs[1:, 1] > surprisal_from[i]
        s[-1] = False  # the last position predicts nothing in the text
        k = np.zeros(len(seq), bool)
        if top_k:
            if top_k_at is None:
                k[:] = True
            else:
                for char in top_k_at[i]:
                    j = _token_containing(offs, char)
                    if j is not None:
                        k[j - 1] = True
        want_s.append(s)
        want_k.append(k)
    surprisal = [np.zeros(len(s), np.float32) for s in seqs]
    top_ids = [np.zeros((len(s), top_k), np.int64) for s in seqs]
    top_lp = [np.zeros((len(s), top_k), np.float32) for s in seqs]

    long = [i for i, s in enumerate(seqs) if len(s) > max_length]
    if long:
        options = FeatureOptions(per_position=True, max_length=max_length, top_k=top_k)
        for i, p in zip(long, extract_features(model, [texts[i] for i in long], options)
                        .positions or [], strict=True):  # fmt: skip
            surprisal[i] = np.where(np.roll(want_s[i], 1), p.surprisal, 0).astype(np.float32)
            if top_k:
                top_ids[i][want_k[i]] = p.next_top_ids[want_k[i]]
                top_lp[i][want_k[i]] = p.next_top_logprobs[want_k[i]]
    short = sorted((i for i in range(len(seqs)) if len(seqs[i]) <= max_length),
                   key=lambda i: len(seqs[i]), reverse=True)  # fmt: skip
    module = model.module
    device = model.torch_device
    for first in range(0, len(short), batch_size):
        batch = short[first : first + batch_size]
        width = len(seqs[batch[0]])
        ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            ids[row, : len(seqs[i])] = torch.from_numpy(seqs[i])
            mask[row, : len(seqs[i])] = 1
        hidden = module.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                              use_cache=False).last_hidden_state  # [B, W, H]  # fmt: skip
        need = torch.zeros((len(batch), width), dtype=torch.bool)
        for row, i in enumerate(batch):
            need[row, : len(seqs[i])] = torch.from_numpy(want_s[i] | want_k[i])
        rows, cols = need.nonzero(as_tuple=True)  # the positions that need the output layer
        if rows.numel() == 0:
            continue
        logits = module.lm_head(hidden[rows.to(device), cols.to(device)]).float()  # [N, V]
        lse = torch.logsumexp(logits, dim=-1)  # [N]
        targets = ids[rows, (cols + 1).clamp(max=width - 1)].to(device)
        nll = (lse - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)).cpu().numpy()
        if top_k:
            values, indices = logits.topk(top_k, dim=-1)  # [N, k]
            values = (values - lse.unsqueeze(-1)).cpu().numpy()
            indices = indices.cpu().numpy()
        rows_np, cols_np = rows.numpy(), cols.numpy()  # row-major: each row's run is contiguous
        bounds = np.searchsorted(rows_np, np.arange(len(batch) + 1))
        for row, i in enumerate(batch):
            run = slice(bounds[row], bounds[row + 1])
            t = cols_np[run]
            s_sel = want_s[i][t]
            surprisal[i][t[s_sel] + 1] = nll[run][s_sel]
            if top_k:
                k_sel = want_k[i][t]
                top_ids[i][t[k_sel]] = indices[run][k_sel]
                top_lp[i][t[k_sel]] = values[run][k_sel]
    return [
        TokenScores(s, o, su, ti if top_k else None, tl if top_k else None)
        for s, o, su, ti, tl in zip(seqs, offsets, surprisal, top_ids, top_lp, strict=True)
    ]
