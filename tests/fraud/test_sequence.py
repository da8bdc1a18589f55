"""MoE sequence features: shapes, causality, bundle round trip with the record model."""

import numpy as np
import pytest

from fraud.bundle import load_bundle
from fraud.pipeline import feature_matrix, score_frame
from fraud.sequence import SequenceConfig, fit_sequence_model, tokenise
from fraud.training import TrainFraudOptions, train_fraud
from tests.fraud.txn_frames import make_frame

TINY = SequenceConfig(
    hidden_size=32, steps=15, batch_size=8, seq_len=32, pca_dims=4, router_entropy=True
)
# The customer's sequence only, kept whatever the validation says (as bundles were trained
# before entity sequences and the choice).
CUSTOMER_ONLY = {"choose": False, "sequence_entities": ("customer_id",)}


@pytest.fixture(scope="module")
def frame():
    return make_frame(n=3000, n_customers=60, days=40, seed=12)


@pytest.fixture(scope="module")
def seq_model(frame):
    return fit_sequence_model(frame, TINY)


def test_tokenise_one_sequence_per_customer(frame, seq_model):
    seqs, order = tokenise(frame, seq_model.model.schema)
    assert len(seqs) == frame["customer_id"].nunique()
    assert sum(len(s) for s in seqs) == len(frame) and sorted(order) == list(range(len(frame)))
    cards = [f.cardinality for f in seq_model.model.schema.fields]
    for s in seqs:
        assert (s >= 0).all() and (s < np.array(cards)).all()


def test_features_are_causal(frame, seq_model):
    feats = seq_model.features(frame)
    assert list(feats.columns) == list(seq_model.names) and np.isfinite(feats.to_numpy()).all()
    cut = frame["timestamp"].iloc[len(frame) // 2]
    early = frame[frame["timestamp"] <= cut]
    changed = frame.copy()
    late = changed["timestamp"] > cut
    changed.loc[late, "amount"] = changed.loc[late, "amount"] * 50
    np.testing.assert_allclose(
        seq_model.features(early).to_numpy(),
        seq_model.features(changed).loc[early.index].to_numpy(),
        rtol=1e-4,
        atol=1e-4,
    )
    assert not np.allclose(feats.loc[late].to_numpy(), seq_model.features(changed)[late])


def test_bundle_with_sequence_round_trip(tmp_path):
    frame = make_frame(n=4000, n_customers=80, days=45, seed=13)
    bundle = train_fraud(
        frame, TrainFraudOptions(with_sequence=True, sequence_config=TINY, **CUSTOMER_ONLY)
    )
    assert bundle.feature_names[-1] == "seq_router_entropy"
    assert {"seq_pc3", "seq_surprisal_amount_bucket"} <= set(bundle.feature_names)
    assert bundle.metadata["sequence_pretraining"]["steps"] == TINY.steps
    path = bundle.save(tmp_path / "b")
    assert (path / "sequence" / "record_model" / "model.safetensors").is_file()
    loaded = load_bundle(path)
    a = score_frame(frame.tail(500), bundle).frame["score"].to_numpy()
    b = score_frame(frame.tail(500), loaded).frame["score"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_score_one_with_sequence_features_matches_batch(tmp_path):
    from fraud.pipeline import score_one
    from fraud.review.db import get_engine
    from fraud.review.history import record_transactions

    frame = make_frame(n=4000, n_customers=80, days=45, seed=14)
    bundle = train_fraud(
        frame, TrainFraudOptions(with_sequence=True, sequence_config=TINY, **CUSTOMER_ONLY)
    )
    unlabelled = frame.drop(columns=["is_fraud", "label_time"])
    cust = unlabelled["customer_id"].value_counts().index[0]
    rows = unlabelled[unlabelled["customer_id"] == cust]
    engine = get_engine(f"sqlite:///{tmp_path / 'h.db'}")
    record_transactions(engine, rows.iloc[:-1])
    txn = rows.iloc[-1].to_dict()
    txn["timestamp"] = rows["timestamp"].iloc[-1].isoformat()
    decision = score_one(txn, bundle, engine, record=False)
    batch = score_frame(rows, bundle).frame
    # History and the incoming row go through the same behavioural and sequence features.
    assert decision.score == pytest.approx(float(batch["score"].iloc[-1]), rel=1e-5)
    assert decision.band == batch["band"].iloc[-1]


def test_default_features_are_total_and_per_field_surprisal(frame):
    model = fit_sequence_model(frame, SequenceConfig(hidden_size=32, steps=5, seq_len=32))
    fields = model.model.schema.names
    assert model.names == ("seq_surprisal", *(f"seq_surprisal_{f}" for f in fields))
    feats = model.features(frame)
    # The per-field surprisals add up to the total (missing fields count 0).
    np.testing.assert_allclose(
        feats[[f"seq_surprisal_{f}" for f in fields]].sum(axis=1), feats["seq_surprisal"], rtol=1e-4
    )


def test_bundle_saved_before_field_surprisal_loads_with_its_old_features(tmp_path):
    import json

    frame = make_frame(n=3000, n_customers=60, days=40, seed=15)
    legacy = SequenceConfig(
        hidden_size=32, steps=5, seq_len=32, pca_dims=2, field_surprisal=False, router_entropy=True
    )
    bundle = train_fraud(
        frame, TrainFraudOptions(with_sequence=True, sequence_config=legacy, **CUSTOMER_ONLY)
    )
    path = bundle.save(tmp_path / "old")
    meta_path = path / "sequence" / "sequence.json"
    meta = json.loads(meta_path.read_text())
    for key in ("field_surprisal", "router_entropy"):
        del meta["config"][key]  # as written before these settings existed
    meta_path.write_text(json.dumps(meta))
    loaded = load_bundle(path)
    assert loaded.sequence.names == ("seq_pc0", "seq_pc1", "seq_surprisal", "seq_router_entropy")
    a = score_frame(frame.tail(300), bundle).frame["score"].to_numpy()
    np.testing.assert_allclose(score_frame(frame.tail(300), loaded).frame["score"], a, rtol=1e-5)


def test_terminal_sequences_feed_their_own_features(tmp_path):
    from fraud.pipeline import score_one
    from fraud.review.db import get_engine
    from fraud.review.history import record_transactions
    from fraud.sequence import SequenceSet

    frame = make_frame(n=4000, n_customers=80, days=45, seed=16)
    frame["terminal_id"] = [f"T{int(m[1:]) % 40}" for m in frame["merchant_id"]]
    options = TrainFraudOptions(
        with_sequence=True,
        sequence_config=SequenceConfig(hidden_size=32, steps=15, batch_size=8, seq_len=32),
        choose=False,
    )
    bundle = train_fraud(frame, options)
    assert isinstance(bundle.sequence, SequenceSet)
    assert bundle.sequence.entities == ("customer_id", "terminal_id")
    names = bundle.feature_names
    assert {
        "seq_surprisal",
        "seq_terminal_id_surprisal",
        "seq_terminal_id_surprisal_new_card",
    } <= set(names)
    assert [c["sequence"] for c in bundle.metadata["choice"]["candidates"]][-2:] == [
        "customer_id",
        "customer_id+terminal_id",
    ]
    # A terminal's sequence: one per terminal, the card's novelty there as a field.
    seqs, _ = tokenise(frame, bundle.sequence.models[1].model.schema, "terminal_id")
    assert len(seqs) == frame["terminal_id"].nunique()
    path = bundle.save(tmp_path / "b")
    loaded = load_bundle(path)
    assert loaded.sequence.entities == ("customer_id", "terminal_id")
    unlabelled = frame.drop(columns=["is_fraud", "label_time"])
    a = score_frame(unlabelled, bundle).frame["score"].to_numpy()
    # The loaded record model reproduces the in-memory one's features to float32 rounding
    # (a few ulps apart, a known gap of the round trip); a tree split can fall between two
    # such values, so a rare score may move: at most 1 row in 1000 here.
    np.testing.assert_allclose(
        feature_matrix(unlabelled, loaded), feature_matrix(unlabelled, bundle), rtol=1e-5
    )
    same = np.isclose(score_frame(unlabelled, loaded).frame["score"], a, rtol=1e-5)
    assert same.mean() >= 0.999
    # One transaction scored alone reads its customer's and its terminal's stored rows.
    engine = get_engine(f"sqlite:///{tmp_path / 'h.db'}")
    record_transactions(engine, unlabelled.iloc[:-1])
    txn = unlabelled.iloc[-1].to_dict()
    txn["timestamp"] = unlabelled["timestamp"].iloc[-1].isoformat()
    decision = score_one(txn, loaded, engine, record=False)
    assert decision.score == pytest.approx(float(a[-1]), rel=1e-5)


def test_last_row_of_a_long_sequence_reads_only_its_last_window(frame, seq_model):
    """Single-transaction scoring runs one window of a long history, with batch's values."""
    import dataclasses

    # Windows of 79 records, each the next one's 64 of context: a 3000-row "terminal" spans
    # many of them.
    short = dataclasses.replace(seq_model, config=dataclasses.replace(TINY, max_length=80))
    one = frame.assign(customer_id="one")
    from core_model.config import FeatureOptions
    from core_model.features import last_record_window_start

    assert last_record_window_start(len(one), FeatureOptions(max_length=80)) > 2000
    for n in (20, 79, 80, 95, 500, len(one)):
        part = one.head(n)
        np.testing.assert_allclose(
            short.features_for_last(part),
            short.features(part).to_numpy()[-1],
            rtol=1e-5,
            atol=1e-5,
        )
