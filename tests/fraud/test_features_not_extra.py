"""Columns the schema knows (canonical, card numbers) never become "extra" feature columns."""

from __future__ import annotations

import numpy as np

from fraud.features import fit_feature_schema
from fraud.schema import CANONICAL, PAN_NAMES
from tests.fraud.txn_frames import make_frame


def test_a_card_number_column_is_never_an_extra_feature():
    frame = make_frame(n=3000, n_customers=80, seed=3)
    rng = np.random.default_rng(3)
    fraud = frame["is_fraud"].to_numpy(dtype=float)
    # Both columns carry the same usable signal; only the name differs.
    signal = np.round(fraud * 2.0 + rng.normal(0, 1, len(frame)), 3)
    frame["basket_score"] = signal
    for name in PAN_NAMES:
        frame[name] = signal
    schema = fit_feature_schema(frame)
    assert "basket_score" in schema.numeric_columns  # an extra column is used when it helps
    used = {*schema.numeric_columns, *schema.categories, *schema.ignored}
    for name in (*CANONICAL, *PAN_NAMES):
        assert name not in used, name
    assert not any(name in feature for feature in schema.names for name in PAN_NAMES)
