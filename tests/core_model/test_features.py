import numpy as np
import pytest

from core_model.config import FeatureOptions
from core_model.errors import CoreModelError
from core_model.features import extract_features, extract_record_features

TEXTS = [
    "def add(a, b):\n    return a + b\n",
    "import json\n\nprint(json.dumps({'k': [1, 2, 3]}))\n" * 3,
    "x = 1",
]


def test_text_features_do_not_depend_on_batch_or_padding(tiny_lm):
    batched = extract_features(tiny_lm, TEXTS, FeatureOptions(batch_size=3, per_position=True))
    for i, text in enumerate(TEXTS):
        alone = extract_features(tiny_lm, [text], FeatureOptions(per_position=True))
        np.testing.assert_allclose(batched.mean[i], alone.mean[0], atol=1e-5)
        np.testing.assert_allclose(batched.last[i], alone.last[0], atol=1e-5)
        np.testing.assert_allclose(
            batched.positions[i].surprisal, alone.positions[0].surprisal, atol=1e-4
        )
        np.testing.assert_array_equal(batched.router_counts[i], alone.router_counts[0])


def test_text_feature_shapes_and_offsets(tiny_lm):
    feats = extract_features(tiny_lm, TEXTS, FeatureOptions(per_position=True))
    hidden = tiny_lm.config.hidden_size
    assert feats.mean.shape == (3, hidden) and feats.router_entropy.shape == (3, 1)
    for text, pos, counts in zip(TEXTS, feats.positions, feats.router_counts, strict=True):
        n = len(pos.token_ids)
        assert pos.hidden.shape == (n, hidden) and pos.surprisal[0] == 0
        assert (pos.surprisal[1:] > 0).all()
        # every token is routed to exactly top-k experts in each MoE layer
        assert counts.sum() == n * tiny_lm.config.num_experts_per_tok
        spans = "".join(text[a:b] for a, b in pos.offsets[1:])
        assert spans == text


def test_long_text_is_windowed_and_every_position_is_covered(tiny_lm):
    text = TEXTS[1] * 4
    full = extract_features(tiny_lm, [text], FeatureOptions(per_position=True, max_length=4096))
    windowed = extract_features(
        tiny_lm, [text], FeatureOptions(per_position=True, max_length=32, context=16)
    )
    assert len(windowed.positions[0].surprisal) == len(full.positions[0].surprisal)
    assert windowed.router_counts.sum() == full.router_counts.sum()
    # the first window sees exactly what the full pass sees
    np.testing.assert_allclose(
        windowed.positions[0].surprisal[:32], full.positions[0].surprisal[:32], atol=1e-4
    )


def test_record_features_do_not_depend_on_batch_or_padding(tiny_records, schema, random_sequences):
    seqs = random_sequences(schema, [5, 17, 1, 9])
    batched = extract_record_features(tiny_records, seqs, FeatureOptions(batch_size=4))
    assert batched.hidden.shape[0] == sum(len(s) for s in seqs)
    assert list(batched.offsets) == [0, 5, 22, 23, 32]
    for i, seq in enumerate(seqs):
        alone = extract_record_features(tiny_records, [seq])
        rows = slice(batched.offsets[i], batched.offsets[i + 1])
        np.testing.assert_allclose(batched.hidden[rows], alone.hidden, atol=1e-5)
        np.testing.assert_allclose(batched.surprisal[rows], alone.surprisal, atol=1e-4)
        np.testing.assert_array_equal(batched.expert_counts[rows], alone.expert_counts)


def test_record_surprisal_is_causal(tiny_records, schema, random_sequences):
    seq = random_sequences(schema, [12])[0]
    base = extract_record_features(tiny_records, [seq])
    changed = seq.copy()
    changed[8:] = (changed[8:] + 1) % np.array([f.cardinality for f in schema.fields])
    after = extract_record_features(tiny_records, [changed])
    np.testing.assert_allclose(base.surprisal[:8], after.surprisal[:8], atol=1e-5)
    assert not np.allclose(base.surprisal[8:], after.surprisal[8:])


def test_missing_fields_add_no_surprisal(tiny_records, schema, random_sequences):
    seq = random_sequences(schema, [6])[0]
    blank = np.zeros_like(seq)
    feats = extract_record_features(tiny_records, [blank])
    assert np.all(feats.surprisal == 0)
    assert np.all(extract_record_features(tiny_records, [seq]).surprisal[seq.any(1)] > 0)


def test_wrong_record_width_is_rejected(tiny_records):
    with pytest.raises(CoreModelError, match="expected shape"):
        extract_record_features(tiny_records, [np.zeros((3, 7), dtype=np.int64)])


def test_field_surprisal_sums_to_surprisal(tiny_records, schema, random_sequences):
    seq = random_sequences(schema, [8])[0].copy()
    seq[3, 0] = 0  # one missing field value
    feats = extract_record_features(tiny_records, [seq])
    assert feats.field_surprisal.shape == (len(seq), len(schema.fields))
    np.testing.assert_allclose(feats.field_surprisal.sum(1), feats.surprisal, rtol=1e-5)
    assert feats.field_surprisal[3, 0] == 0
    assert np.all(feats.field_surprisal[seq > 0] > 0)


@pytest.mark.parametrize("k", [5, None])
def test_next_token_top_k_agrees_with_surprisal(tiny_lm, k):
    k = k or tiny_lm.config.vocab_size  # None: the whole vocabulary, so every token is found
    feats = extract_features(tiny_lm, TEXTS, FeatureOptions(per_position=True, top_k=k))
    plain = extract_features(tiny_lm, TEXTS, FeatureOptions(per_position=True))
    assert plain.positions[0].next_top_ids is None
    found = 0
    for pos in feats.positions:
        n = len(pos.token_ids)
        assert pos.next_top_ids.shape == (n, k) and pos.next_top_logprobs.shape == (n, k)
        assert (np.diff(pos.next_top_logprobs, axis=1) <= 1e-6).all()  # most likely first
        for t in range(n - 1):
            hit = pos.next_top_ids[t] == pos.token_ids[t + 1]
            if hit.any():  # the actual next token's log-probability is minus its surprisal
                found += 1
                assert abs(pos.next_top_logprobs[t][hit][0] + pos.surprisal[t + 1]) < 1e-4
            else:  # not among the top k: less likely than all of them
                assert -pos.surprisal[t + 1] <= pos.next_top_logprobs[t, -1] + 1e-5
    if k == tiny_lm.config.vocab_size:
        assert found == sum(len(p.token_ids) - 1 for p in feats.positions)
