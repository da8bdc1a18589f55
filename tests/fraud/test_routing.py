"""Routing: explicit thresholds, FPR and daily-capacity derivations."""

import numpy as np
import pytest

from fraud.routing import (
    RoutingConfig,
    ThresholdError,
    Thresholds,
    derive_thresholds,
    make_decisions,
    route,
)


def test_route_honours_thresholds():
    t = Thresholds(review=0.2, decline=0.8)
    bands = route(np.array([0.0, 0.19, 0.2, 0.5, 0.8, 1.0]), t)
    assert bands.tolist() == ["approve", "approve", "review", "review", "decline", "decline"]


def test_inconsistent_thresholds_rejected():
    with pytest.raises(ThresholdError, match="review"):
        Thresholds(review=0.9, decline=0.5)


@pytest.mark.parametrize("max_fpr", [0.001, 0.01, 0.05])
def test_fpr_target_met(max_fpr):
    rng = np.random.default_rng(0)
    labels = (rng.random(20_000) < 0.02).astype(int)
    scores = np.clip(rng.normal(0.2 + 0.5 * labels, 0.15), 0, 1)
    cfg = RoutingConfig(review_max_fpr=max_fpr, decline_max_fpr=max_fpr / 10)
    t = derive_thresholds(scores, labels, days=10, config=cfg)
    legit = scores[labels == 0]
    assert (legit >= t.review).mean() <= max_fpr
    # The lowest such threshold: one notch lower would exceed the target.
    assert (legit >= np.nextafter(t.review, -1) - 1e-12).mean() > max_fpr - 1 / len(legit)
    assert t.review <= t.decline


def test_capacity_target_met():
    rng = np.random.default_rng(1)
    scores = rng.random(10_000)
    labels = (rng.random(10_000) < 0.01).astype(int)
    cfg = RoutingConfig(review_max_fpr=0.5, decline_max_fpr=0.001, review_capacity_per_day=30)
    t = derive_thresholds(scores, labels, days=10, config=cfg)
    review_rows = ((scores >= t.review) & (scores < t.decline)).sum()
    assert review_rows <= 300 and review_rows >= 290


def test_explicit_values_win_and_decisions_carry_version():
    t = derive_thresholds(np.array([0.1, 0.9]), np.array([0, 1]), 1, RoutingConfig(0.3, 0.6))
    assert (t.review, t.decline) == (0.3, 0.6)
    d = make_decisions(["a", "b"], np.array([0.4, 0.7]), [["r1"], []], t, "v1")
    assert [(x.band, x.model_version, x.reasons) for x in d] == [
        ("review", "v1", ["r1"]),
        ("decline", "v1", []),
    ]
