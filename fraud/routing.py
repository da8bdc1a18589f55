"""Routing scores to bands: approve, review or decline.

Thresholds come from configuration, or are derived on a held-out (later) time block from a
target: a maximum false-positive rate, or a daily review capacity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fraud.errors import FraudError

APPROVE, REVIEW, DECLINE = "approve", "review", "decline"
BANDS = (APPROVE, REVIEW, DECLINE)


class ThresholdError(FraudError):
    """Thresholds are inconsistent or cannot be derived from the given target."""


@dataclass(frozen=True)
class Thresholds:
    """Score >= ``decline`` declines, >= ``review`` goes to review, else approves."""

    review: float
    decline: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.review <= self.decline <= 1.0):
            raise ThresholdError(
                f"thresholds must satisfy 0 <= review ({self.review}) <= decline "
                f"({self.decline}) <= 1"
            )

    def to_json(self) -> dict[str, float]:
        return {"review": self.review, "decline": self.decline}


@dataclass(frozen=True)
class RoutingConfig:
    """How thresholds are chosen. Explicit values win over targets.

    Attributes:
        review: explicit review threshold.
        decline: explicit decline threshold.
        review_max_fpr: review threshold = lowest score whose false-positive rate is at most this.
        decline_max_fpr: decline threshold by the same rule, stricter.
        review_capacity_per_day: if set, the review threshold is raised until the expected number
            of review-band rows per day fits this capacity.
    """

    review: float | None = None
    decline: float | None = None
    review_max_fpr: float = 0.01
    decline_max_fpr: float = 0.001
    review_capacity_per_day: float | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome for one transaction."""

    transaction_id: str
    score: float
    band: str
    reasons: list[str] = field(default_factory=list)
    model_version: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "score": self.score,
            "band": self.band,
            "reasons": list(self.reasons),
            "model_version": self.model_version,
        }


def threshold_for_fpr(scores: np.ndarray, labels: np.ndarray, max_fpr: float) -> float:
    """Lowest threshold whose false-positive rate (score >= t among legit rows) is <= max_fpr."""
    legit = np.sort(scores[labels == 0])
    if len(legit) == 0:
        raise ThresholdError("no legitimate rows to derive a false-positive-rate threshold from")
    allowed = int(np.floor(max_fpr * len(legit)))
    if allowed >= len(legit):
        return 0.0
    # Strictly above the (allowed+1)-th highest legit score, so at most `allowed` pass.
    cut = legit[len(legit) - allowed - 1]
    return float(np.nextafter(cut, np.inf))


def threshold_for_capacity(scores: np.ndarray, days: float, per_day: float) -> float:
    """Lowest threshold flagging at most ``per_day`` rows per day on average."""
    if days <= 0:
        raise ThresholdError("the threshold block spans no time; cannot derive a daily capacity")
    allowed = int(np.floor(per_day * days))
    s = np.sort(scores)
    if allowed >= len(s):
        return 0.0
    return float(np.nextafter(s[len(s) - allowed - 1], np.inf))


def derive_thresholds(
    scores: np.ndarray,
    labels: np.ndarray,
    days: float,
    config: RoutingConfig = RoutingConfig(),
) -> Thresholds:
    """Thresholds from explicit values, or from FPR / capacity targets on a held-out block.

    Args:
        scores: calibrated scores of the held-out block.
        labels: its labels (0/1).
        days: the block's length in days (for the capacity target).
        config: explicit thresholds and targets.
    """
    decline = config.decline
    if decline is None:
        decline = min(1.0, threshold_for_fpr(scores, labels, config.decline_max_fpr))
    review = config.review
    if review is None:
        review = threshold_for_fpr(scores, labels, config.review_max_fpr)
        if config.review_capacity_per_day is not None:
            # Capacity counts review-band rows only: rows above decline do not need a reviewer.
            below = scores[scores < decline]
            cap = threshold_for_capacity(below, days, config.review_capacity_per_day)
            review = max(review, cap)
        review = min(review, decline)
    return Thresholds(review=float(review), decline=float(decline))


def route(scores: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """Band name per score."""
    bands = np.full(len(scores), APPROVE, dtype=object)
    bands[scores >= thresholds.review] = REVIEW
    bands[scores >= thresholds.decline] = DECLINE
    return bands


def make_decisions(
    transaction_ids: Sequence[str],
    scores: np.ndarray,
    reasons: Sequence[list[str]],
    thresholds: Thresholds,
    model_version: str,
) -> list[Decision]:
    """Decision records for scored rows."""
    bands = route(scores, thresholds)
    return [
        Decision(str(t), float(s), str(b), list(r), model_version)
        for t, s, b, r in zip(transaction_ids, scores, bands, reasons, strict=True)
    ]
