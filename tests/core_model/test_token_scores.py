"""`score_tokens` gives what `extract_features` gives where it computes (issue 17 item 3: the
output layer only where needed), independent of batch composition, and handles long texts."""

import numpy as np
import pytest

from core_model.config import FeatureOptions
from core_model.features import extract_features
from core_model.token_scores import score_tokens


@pytest.fixture(scope="module")
def texts(code_texts) -> list[str]:
    joined = "\n".join(code_texts)
    return [joined[i : i + 300] for i in range(0, 3000, 170)]


def test_surprisal_and_top_k_match_extract_features(tiny_lm, texts):
    ref = extract_features(tiny_lm, texts, FeatureOptions(per_position=True, top_k=8)).positions
    got = score_tokens(tiny_lm, texts, top_k=8)
    for r, g in zip(ref, got, strict=True):
        assert np.array_equal(r.token_ids, g.token_ids)
        np.testing.assert_allclose(g.surprisal, r.surprisal, atol=1e-4)
        np.testing.assert_allclose(g.next_top_logprobs[:-1], r.next_top_logprobs[:-1], atol=1e-4)


def test_only_what_is_asked_is_computed_and_it_is_the_same(tiny_lm, texts):
    full = score_tokens(tiny_lm, texts, top_k=4)
    starts = [len(t) // 2 for t in texts]
    wanted = [[5, len(t) - 20] for t in texts]
    part = score_tokens(tiny_lm, texts, surprisal_from=starts, top_k=4, top_k_at=wanted)
    for f, p, start in zip(full, part, starts, strict=True):
        tail = f.offsets[:, 1] > start
        tail[0] = False
        np.testing.assert_allclose(p.surprisal[tail], f.surprisal[tail], atol=1e-4)
        assert not p.surprisal[~tail].any()  # the rest was not computed
        rows = np.nonzero(p.next_top_logprobs.any(1))[0]
        assert 1 <= len(rows) <= 2
        np.testing.assert_allclose(p.next_top_logprobs[rows], f.next_top_logprobs[rows], atol=1e-4)


def test_batch_composition_and_long_texts_do_not_change_results(tiny_lm, texts):
    texts = [*texts, "x = 1\n", "def f(a):\n    return a\n"]
    batched = score_tokens(tiny_lm, texts, batch_size=32)
    alone = score_tokens(tiny_lm, texts, batch_size=1)
    windowed = score_tokens(tiny_lm, texts, max_length=80)  # long texts: overlapping windows
    ref = extract_features(
        tiny_lm, texts, FeatureOptions(per_position=True, max_length=80)
    ).positions
    assert any(len(b.token_ids) > 80 for b in batched) and any(
        len(b.token_ids) <= 80 for b in batched
    )
    for b, a, w, r in zip(batched, alone, windowed, ref, strict=True):
        np.testing.assert_allclose(a.surprisal, b.surprisal, atol=1e-4)
        np.testing.assert_allclose(w.surprisal, r.surprisal, atol=1e-4)
