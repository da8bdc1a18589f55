"""Chunks of an input split by customer score as the whole input (entity sequences, events)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from fraud.bundle import DEFAULT_BUNDLE, load_bundle
from fraud.chunk_context import (
    context_rows,
    cross_entities,
    needs_whole_input,
    sequence_features,
)
from fraud.pipeline import ScoreOptions, score_file
from tests.fraud.txn_frames import make_frame


def _with_entities(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = frame.drop(columns=["is_fraud", "label_time"]).copy()
    # Few terminals shared by many customers: each terminal's sequence spans every chunk.
    frame["terminal_id"] = [f"T{k:03d}" for k in rng.integers(0, 30, len(frame))]
    frame["device_id"] = "d" + frame["customer_id"].str[1:]
    return frame


def test_score_file_with_a_terminal_record_model_does_not_depend_on_chunk_size(tmp_path):
    bundle = load_bundle(DEFAULT_BUNDLE)
    assert cross_entities(bundle) == ("terminal_id",)
    frame = _with_entities(make_frame(n=1500, n_customers=120, days=20, seed=3), seed=3)
    src = tmp_path / "input.parquet"
    frame.to_parquet(src)
    scores = {}
    for chunk_rows in (10**6, 200):
        out = tmp_path / f"out-{chunk_rows}.parquet"
        summary = score_file(src, out, ScoreOptions(progress=False, chunk_rows=chunk_rows), bundle)
        assert summary.rows_scored + summary.rows_rejected == len(frame)
        scores[chunk_rows] = pd.read_parquet(out).set_index("transaction_id")["score"]
    pd.testing.assert_series_equal(scores[200].sort_index(), scores[10**6].sort_index())


def test_context_holds_the_terminal_model_features_of_every_row():
    bundle = load_bundle(DEFAULT_BUNDLE)
    frame = _with_entities(make_frame(n=200, n_customers=5, days=3, seed=1), seed=1)
    frame["note"] = "free text"
    frame["terminal_id"] = [f"T{k % 7:03d}" for k in range(len(frame))]  # across customers
    context = context_rows(frame, bundle)
    assert context is not None and len(context) == len(frame)
    names = [n for n in bundle.sequence.names if n.startswith("seq_terminal_id")]
    assert list(context.columns) == ["transaction_id", *names]
    # A chunk (every row of some customers, as the partitioner cuts them) looks its terminal
    # features up: the values the whole input gives them; its customer sequences are its own.
    chunk = frame[frame["customer_id"].isin(frame["customer_id"].unique()[[1, 3]])]
    assert set(chunk["terminal_id"]) & set(frame.drop(chunk.index)["terminal_id"])
    got = sequence_features(bundle.sequence, chunk, context)
    whole = bundle.sequence.features(frame).loc[chunk.index]
    pd.testing.assert_frame_equal(got, whole)


def test_a_bundle_whose_features_stay_within_a_customer_needs_no_context():
    bundle = load_bundle(DEFAULT_BUNDLE)
    assert needs_whole_input(bundle)
    schema = SimpleNamespace(
        names=tuple(n for n in bundle.schema.names if not n.startswith(bundle.schema.entities)),
        entities=bundle.schema.entities,
    )
    customer_only = SimpleNamespace(schema=schema, sequence=None)
    assert not needs_whole_input(customer_only)
    assert context_rows(pd.DataFrame({"customer_id": ["c1"]}), customer_only) is None
    # A record model over terminals alone makes the rest of the input needed.
    terminal_model = SimpleNamespace(config=SimpleNamespace(entity="terminal_id"))
    assert needs_whole_input(SimpleNamespace(schema=schema, sequence=terminal_model))
