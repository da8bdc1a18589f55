"""Label state of an entity: where its known labels say an ongoing compromise stands.

A compromised terminal (or card) charges fraud for weeks; its first frauds are confirmed a
label delay later, and from then on every newly known label at that entity is fraud. A windowed
fraud rate blurs that (a busy terminal's rate moves slowly; a quiet one's is a few labels
shrunk to the prior). These features state it directly, for every entity with label risk and,
when the config asks, the customer (a compromised card):

* ``{e}_fraud_age``: days since the entity's latest known fraud label (within the longest risk
  window; missing when none).
* ``{e}_first_fraud_age``: days since its earliest fraud label known within that window, so
  how long the compromise has been visible.
* ``{e}_labels_since_fraud``: labels known after that latest fraud (0: the latest label is a
  fraud, a compromise still going on).
* ``{e}_risk_since_fraud``: fraud share of the labels known since that first fraud (a
  compromised terminal's is near 1; a terminal with one stray fraud's falls with every legit
  label).

All count labels known by the row's time only (the input's labels at their known time, the
bundle's recent labels at the end of the day they became known), so they are causal like the
windowed risk beside them (`fraud.entity_features`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from fraud.feature_schema import DAY_MS

SUFFIXES = ("_fraud_age", "_first_fraud_age", "_labels_since_fraud", "_risk_since_fraud")
# The customer's own labels (a compromised card) join the entities' when the config asks.
CUSTOMER = "customer_id"


class KeyedSums(Protocol):
    """Events sorted by (key code, time) with cumulative sums (`fraud.entity_features`)."""

    key: np.ndarray
    cums: list[np.ndarray]
    t0: int
    span: int

    def index(self, codes: np.ndarray, times: np.ndarray, side: str) -> np.ndarray: ...

    def start(self, codes: np.ndarray) -> np.ndarray: ...


def label_state_names(entity: str) -> list[str]:
    """Names of one entity's label-state features, in model column order."""
    return [f"{entity}{s}" for s in SUFFIXES]


def _event_time(keyed: KeyedSums, pos: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Time (epoch ms) of the event at sorted position ``pos`` of key ``codes``."""
    if len(keyed.key) == 0:
        return np.zeros(len(pos), dtype=np.int64)
    return keyed.key[np.clip(pos, 0, len(keyed.key) - 1)] - (codes + 1) * keyed.span + keyed.t0


def _fraud_bounds(
    frauds: KeyedSums, codes: np.ndarray, ts: np.ndarray, back: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest fraud known in (back, t] per row (int64 max / min when none)."""
    hi = frauds.index(codes, ts, "right")
    lo = frauds.index(codes, back, "right")
    has = (hi > lo) & (codes >= 0)
    first = np.where(has, _event_time(frauds, lo, codes), np.iinfo(np.int64).max)
    last = np.where(has, _event_time(frauds, hi - 1, codes), np.iinfo(np.int64).min)
    return first, last


def _sums(labels: KeyedSums, codes: np.ndarray, lo_t: np.ndarray, side: str, hi: np.ndarray):
    """(frauds, labels) known in [lo_t, t] (side "left") or (lo_t, t] (side "right")."""
    lo = labels.index(codes, lo_t, side)
    lo = np.minimum(lo, hi)
    return labels.cums[0][hi] - labels.cums[0][lo], labels.cums[1][hi] - labels.cums[1][lo]


def label_state(
    entity: str,
    codes: np.ndarray,
    ts: np.ndarray,
    window_s: float,
    sources: list[tuple[KeyedSums, KeyedSums]],
) -> dict[str, np.ndarray]:
    """Label-state features of one entity for rows with key ``codes`` at times ``ts``.

    Args:
        entity: the entity column (feature name prefix).
        codes: each row's key code (-1 = missing key: features missing).
        ts: each row's time (epoch ms).
        window_s: how far back (seconds) a fraud label still counts (the longest risk window:
            the bundle keeps recent labels that far back).
        sources: per label source (the input's labels, the bundle's recent labels), a pair
            (fraud labels only, all labels with cumulative sums [frauds, labels]), both coded
            like ``codes``.
    """
    back = ts - int(window_s * 1000)
    first = np.full(len(ts), np.iinfo(np.int64).max)
    last = np.full(len(ts), np.iinfo(np.int64).min)
    for frauds, _ in sources:
        f, la = _fraud_bounds(frauds, codes, ts, back)
        first, last = np.minimum(first, f), np.maximum(last, la)
    has = (last != np.iinfo(np.int64).min) & (codes >= 0)
    first_t, last_t = np.where(has, first, ts), np.where(has, last, ts)
    since_last = np.zeros(len(ts))
    f_since, n_since = np.zeros(len(ts)), np.zeros(len(ts))
    for _, labels in sources:
        hi = labels.index(codes, ts, "right")
        since_last += _sums(labels, codes, last_t, "right", hi)[1]
        f, n = _sums(labels, codes, first_t, "left", hi)
        f_since, n_since = f_since + f, n_since + n
    with np.errstate(invalid="ignore", divide="ignore"):
        share = f_since / n_since
    return {
        f"{entity}_fraud_age": np.where(has, (ts - last_t) / DAY_MS, np.nan),
        f"{entity}_first_fraud_age": np.where(has, (ts - first_t) / DAY_MS, np.nan),
        f"{entity}_labels_since_fraud": np.where(has, since_last, np.nan),
        f"{entity}_risk_since_fraud": np.where(has & (n_since > 0), share, np.nan),
    }
