"""The reference baseline: a plain textbook fraud model fitted beside the suite in an evaluation.

What a practitioner builds first on a labelled card file (the feature set of the Le Borgne et
al. "Reproducible Machine Learning for Credit Card Fraud Detection" handbook, written here from
its description): per customer, transaction counts and mean amounts over the last 1, 7 and 30
days; per terminal and per merchant, transaction counts and the fraud rate of the labels that
became known over the last 1, 7 and 30 days; the amount, hour and weekday; and the file's own
numeric and low-cardinality columns as they are, plus what an analyst derives from them (the
customer's age from a date of birth, the distance between two coordinate pairs: the issue's
tuned textbook model had both). A `HistGradientBoostingClassifier` with stock settings learns
from them. It is deliberately independent of the suite's own feature code
(``fraud.features``), so a change there can never move the yardstick it is measured against;
the derived columns are the one definition it shares with the suite (`fraud.derived_columns`:
years between two dates, great-circle km), so the suite gains nothing over it from them.

Every feature is causal: a row at time t sees only rows up to itself (in file order among equal
timestamps) and labels known by t (``label_time``, else the transaction time plus the label
delay; a row's own label never counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from fraud.derived_columns import compute_derived, find_derived
from fraud.errors import FraudError

DAY_MS = 86_400_000
# Columns the baseline reads for what they are, never as raw features.
_STRUCTURAL = frozenset(
    {
        "transaction_id",
        "timestamp",
        "amount",
        "customer_id",
        "card_token",
        "merchant_id",
        "terminal_id",
        "device_id",
        "is_fraud",
        "label_time",
    }
)


class BaselineError(FraudError):
    """The history cannot fit the reference baseline (too few labels, one class)."""


@dataclass(frozen=True)
class BaselineConfig:
    """Definitions of the reference baseline.

    Attributes:
        windows_days: look-back windows (days) of the customer and entity features.
        label_delay_days: when a labelled row has no ``label_time``, its label is known this
            many days after the transaction.
        entity_columns: columns whose recent fraud rate is a feature, where present.
        file_columns: also use the file's other numeric and low-cardinality columns as they are.
        derived_columns: also ages from date columns and distances between coordinate pairs.
        max_categories: a text column with more distinct values than this is an identifier,
            not a feature.
        ignore_columns: columns never used (the simulator's ground-truth ``fraud_scenario``).
        seed: the booster's ``random_state`` (its stock early stopping draws a validation set).
    """

    windows_days: tuple[int, ...] = (1, 7, 30)
    label_delay_days: float = 7.0
    entity_columns: tuple[str, ...] = ("terminal_id", "merchant_id")
    file_columns: bool = True
    derived_columns: bool = True
    max_categories: int = 64
    ignore_columns: tuple[str, ...] = ("fraud_scenario",)
    seed: int = 0


@dataclass(frozen=True)
class BaselineResult:
    """The fitted baseline's scores on the requested rows and what it was fitted on."""

    scores: np.ndarray
    feature_names: tuple[str, ...]
    training_rows: int
    labelled_rows: int
    frauds: int
    iterations: int
    file_columns: tuple[str, ...] = field(default=())


def _ms(series: pd.Series) -> np.ndarray:
    return pd.to_datetime(series, utc=True).to_numpy(dtype="datetime64[ms]").astype(np.int64)


def label_known_ms(frame: pd.DataFrame, label_delay_days: float) -> np.ndarray:
    """When each row's label becomes known (epoch ms); int64 max for unlabelled rows.

    Never earlier than just after the row itself, so a row's own label is never its feature.
    """
    never = np.iinfo(np.int64).max
    if "is_fraud" not in frame.columns:
        return np.full(len(frame), never, dtype=np.int64)
    ts = _ms(frame["timestamp"])
    known = ts + int(label_delay_days * DAY_MS)
    if "label_time" in frame.columns and frame["label_time"].notna().any():
        lt = frame["label_time"]
        known = np.where(lt.notna().to_numpy(), _ms(lt.fillna(frame["timestamp"])), known)
    known = np.maximum(known, ts + 1)
    return np.where(frame["is_fraud"].notna().to_numpy(), known, never)


class _Keys:
    """(entity, time) pairs as one sortable int64: entity code * span + shifted time."""

    def __init__(self, ts: np.ndarray, pad_ms: int) -> None:
        self.t0 = int(ts.min()) - pad_ms
        self.span = int(ts.max()) - self.t0 + pad_ms + 2

    def key(self, codes: np.ndarray, t: np.ndarray) -> np.ndarray:
        rel = np.clip(t - self.t0, 0, self.span - 1)
        return codes.astype(np.int64) * self.span + rel


def _codes(values: pd.Series) -> np.ndarray:
    """Integer code per distinct value; a missing value gets its own code per row (no history)."""
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    missing = codes < 0
    codes = codes.astype(np.int64)
    codes[missing] = len(uniques) + np.arange(int(missing.sum()))
    return codes


def _rolling(codes, ts, amount, windows_ms, keys: _Keys) -> dict[str, np.ndarray]:
    """Per row: count and mean amount of the entity's rows in (t - w, t], itself included."""
    order = np.lexsort((np.arange(len(ts)), ts, codes))  # entity, time, file order
    k = keys.key(codes[order], ts[order])
    cum = np.concatenate([[0.0], np.cumsum(amount[order])])
    pos = np.arange(len(ts))
    out: dict[str, np.ndarray] = {}
    for name, w in windows_ms:
        lo = np.searchsorted(k, keys.key(codes[order], ts[order] - w), side="right")
        lo = np.minimum(lo, pos)  # equal timestamps: earlier file rows only, never later ones
        n = pos - lo + 1
        total = cum[pos + 1] - cum[lo]
        count, mean = np.empty(len(ts)), np.empty(len(ts))
        count[order], mean[order] = n, total / n
        out[f"count_{name}"], out[f"mean_amount_{name}"] = count, mean
    return out


def _risk(codes, ts, known, y, windows_ms, keys: _Keys) -> dict[str, np.ndarray]:
    """Per row: labels of the entity that became known in (t - w, t], and their fraud rate."""
    ev = known != np.iinfo(np.int64).max
    ev_order = np.lexsort((known[ev], codes[ev]))
    ev_keys = keys.key(codes[ev][ev_order], known[ev][ev_order])
    cum = np.concatenate([[0.0], np.cumsum(y[ev][ev_order])])
    hi = np.searchsorted(ev_keys, keys.key(codes, ts), side="right")
    out: dict[str, np.ndarray] = {}
    for name, w in windows_ms:
        lo = np.searchsorted(ev_keys, keys.key(codes, ts - w), side="right")
        labels = (hi - lo).astype(float)
        frauds = cum[hi] - cum[lo]
        out[f"labels_{name}"] = labels
        out[f"fraud_rate_{name}"] = np.divide(
            frauds, labels, out=np.zeros(len(ts)), where=labels > 0
        )
    return out


def file_columns(frame: pd.DataFrame, config: BaselineConfig) -> list[str]:
    """The file's own columns the baseline uses as they are (numeric or few distinct values)."""
    if not config.file_columns:
        return []
    chosen = []
    for col in frame.columns:
        if col in _STRUCTURAL or col.startswith("_") or col in config.ignore_columns:
            continue
        values = frame[col]
        if values.notna().sum() == 0:
            continue
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            chosen.append(col)
            continue
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() >= 0.99 * values.notna().sum():
            chosen.append(col)
        elif values.nunique(dropna=True) <= config.max_categories:
            chosen.append(col)
    return chosen


def baseline_features(
    frame: pd.DataFrame, config: BaselineConfig = BaselineConfig()
) -> pd.DataFrame:
    """The baseline's features of every row of a canonical frame (same index and row order).

    Raises:
        BaselineError: the frame lacks ``timestamp``, ``customer_id`` or ``amount``.
    """
    missing = [c for c in ("timestamp", "amount") if c not in frame.columns]
    customer = "customer_id" if "customer_id" in frame.columns else "card_token"
    if customer not in frame.columns:
        missing.append("customer_id")
    if missing:
        raise BaselineError(f"the reference baseline needs column(s) {', '.join(missing)}")
    ts = _ms(frame["timestamp"])
    amount = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=float)
    windows = [(f"{d}d", int(d * DAY_MS)) for d in config.windows_days]
    known = label_known_ms(frame, config.label_delay_days)
    keys = _Keys(ts, max(w for _, w in windows) + 1)
    y = np.zeros(len(frame))
    if "is_fraud" in frame.columns:
        y = np.nan_to_num(pd.to_numeric(frame["is_fraud"], errors="coerce").to_numpy(float))
    hours = (ts % DAY_MS) // 3_600_000
    cols: dict[str, np.ndarray] = {
        "amount": amount,
        "hour": hours.astype(float),
        "weekday": ((ts // DAY_MS + 3) % 7).astype(float),  # 1970-01-01 was a Thursday
        "is_night": (hours < 6).astype(float),
    }
    for name, v in _rolling(_codes(frame[customer]), ts, amount, windows, keys).items():
        cols[f"customer_{name}"] = v
    for entity in config.entity_columns:
        if entity not in frame.columns or frame[entity].isna().all():
            continue
        codes = _codes(frame[entity])
        prefix = entity.removesuffix("_id")
        for name, v in _rolling(codes, ts, amount, windows, keys).items():
            if name.startswith("count_"):
                cols[f"{prefix}_{name}"] = v
        for name, v in _risk(codes, ts, known, y, windows, keys).items():
            cols[f"{prefix}_{name}"] = v
    out = pd.DataFrame(cols, index=frame.index)
    for col in file_columns(frame, config):
        values = frame[col]
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() >= 0.99 * values.notna().sum():
            out[f"file_{col}"] = numeric.astype(float).to_numpy()
        else:  # categorical: the booster's native categorical splits (stock "from_dtype")
            out[f"file_{col}"] = pd.Categorical(values.astype("string").to_numpy())
    if config.file_columns and config.derived_columns:
        extra = [
            c
            for c in frame.columns
            if c not in _STRUCTURAL and not c.startswith("_") and c not in config.ignore_columns
        ]
        positions = [c for c in ("lat", "lon") if c in extra]
        found, _ = find_derived(frame, [c for c in extra if c not in positions], positions)
        for column in found:
            out[f"file_{column.name}"] = compute_derived(frame, column)
    return out


def fit_and_score_baseline(
    frame: pd.DataFrame,
    cutoff_ms: int,
    score_rows: np.ndarray,
    config: BaselineConfig = BaselineConfig(),
) -> BaselineResult:
    """Fit the baseline on rows up to ``cutoff_ms`` and score the rows selected by ``score_rows``.

    Training uses only labels known by the cutoff, as ``train-fraud --until`` does.

    Args:
        frame: canonical rows in time order: the history and the rows to score.
        cutoff_ms: training cutoff (epoch ms); later rows and labels are not trained on.
        score_rows: boolean mask over ``frame`` of the rows to score.
        config: feature definitions and seed.

    Raises:
        BaselineError: fewer than 100 labelled rows by the cutoff, or only one class.
    """
    x = baseline_features(frame, config)
    ts = _ms(frame["timestamp"])
    known = label_known_ms(frame, config.label_delay_days)
    train = (ts <= cutoff_ms) & (known <= cutoff_ms)
    y = pd.to_numeric(frame["is_fraud"], errors="coerce").to_numpy(dtype=float)[train]
    if train.sum() < 100 or np.nanmin(y) == np.nanmax(y):
        raise BaselineError(
            f"the reference baseline needs at least 100 labelled rows of both classes known by "
            f"the training cutoff; it has {int(train.sum())} rows, {int(np.nansum(y))} frauds "
            "(evaluate a later window, or run with --no-baseline)"
        )
    booster = HistGradientBoostingClassifier(random_state=config.seed)
    booster.fit(x[train], y.astype(int))
    scores = booster.predict_proba(x[np.asarray(score_rows, dtype=bool)])[:, 1]
    used = tuple(c.removeprefix("file_") for c in x.columns if c.startswith("file_"))
    return BaselineResult(
        scores=scores,
        feature_names=tuple(x.columns),
        training_rows=int((ts <= cutoff_ms).sum()),
        labelled_rows=int(train.sum()),
        frauds=int(np.nansum(y)),
        iterations=int(booster.n_iter_),
        file_columns=used,
    )


def describe_features(names: Sequence[str]) -> str:
    """A short human summary of the feature set, for reports."""
    groups = sorted({n.split("_count_")[0] for n in names if "_count_" in n})
    files = [n.removeprefix("file_") for n in names if n.startswith("file_")]
    text = "textbook: amount, hour, " + ", ".join(f"{g} windows" for g in groups)
    return text + (f"; file columns {', '.join(files)}" if files else "")
