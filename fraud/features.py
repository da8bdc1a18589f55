"""Behavioural features of card transactions, all causal.

Every feature of a transaction at time t uses only earlier transactions and labels known by t.
Customer features (counts, amounts against the customer's own history, time since previous,
hour against habit, novelty, location) are computed vectorised: rows are sorted by (customer,
time) and windows found with one ``searchsorted`` over a combined (customer, time) key. Entity
features (activity and label risk of terminals, merchants, devices... ) live in
`fraud.entity_features`, the file's own extra columns in `fraud.file_columns`. A single incoming
transaction runs the same definitions over its stored history (`features_for_one`). Features
whose source column is absent are not produced; `FeatureSchema` records which ones are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from fraud.derived_columns import compute_derived
from fraud.entity_features import (
    ContextEvents,
    LabelEvents,
    entity_feature_names,
    entity_features,
    label_events,
    label_known_ms,
    with_risk_tables,
)
from fraud.feature_schema import (
    DAY_MS,
    ENTITY_COLUMNS,
    FeatureConfig,
    FeatureSchema,
    FeatureSchemaError,
    RiskTable,
    key_codes,
    present,
    require_columns,
    string_keys,
    timestamps_ms,
)
from fraud.file_columns import (
    choose_file_columns,
    encode_categories,
    encode_numeric,
)
from fraud.label_state import CUSTOMER, label_state_names
from fraud.schema import CANONICAL, PAN_NAMES

__all__ = [
    "DAY_MS",
    "ENTITY_COLUMNS",
    "ContextEvents",
    "FeatureConfig",
    "FeatureSchema",
    "FeatureSchemaError",
    "LabelEvents",
    "RiskTable",
    "compute_features",
    "feature_names",
    "features_for_one",
    "fit_feature_schema",
    "hours_weekdays",
    "label_events",
    "label_known_ms",
    "require_columns",
    "single_frame",
    "string_keys",
    "timestamps_ms",
    "with_risk_tables",
]

EARTH_RADIUS_KM = 6371.0

# Columns whose first use by a customer is a signal.
NOVELTY_COLUMNS = ("merchant_id", "terminal_id", "country", "device_id")
# The customer's own amount norm (z-score, ratio to mean) always looks back this far.
NORM_WINDOW_S = 30 * 86400.0
# Canonical and bookkeeping columns that are never "extra" feature columns: derived from the
# schema, so a column it learns (or a card-number spelling) is never taken for a feature.
_NOT_EXTRA = frozenset(CANONICAL) | frozenset(PAN_NAMES) | {"_line", "extras"}


def feature_names(
    frame: pd.DataFrame,
    config: FeatureConfig | None = None,
    entities: Iterable[str] = (),
    numeric_columns: Iterable[str] = (),
    categories: Iterable[str] = (),
) -> tuple[str, ...]:
    """Names of the features computable from the columns present in ``frame``."""
    config = config or FeatureConfig()
    names = ["amount", "log_amount", "hour", "weekday", "n_prev", "secs_since_prev"]
    for w, _ in config.windows:
        names += [f"count_{w}", f"amount_sum_{w}", f"amount_mean_{w}"]
    names += ["amount_z_30d", "amount_ratio_mean_30d"]
    names += ["amount_ratio_median", "amount_rank_recent", "hour_habit"]
    names += [f"new_{c}" for c in NOVELTY_COLUMNS if present(frame, c)]
    if present(frame, "lat") and present(frame, "lon"):
        names += ["dist_home_km", "dist_prev_km", "speed_kmh"]
    if present(frame, "channel"):
        names.append("channel_code")
    for entity in entities:
        names += entity_feature_names(entity, config)
    if config.label_state:
        names += label_state_names(CUSTOMER)
    names += [f"num_{c}" for c in numeric_columns]
    names += [f"cat_{c}" for c in categories]
    return tuple(names)


def hours_weekdays(ts_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTC hour (0-23) and weekday (Monday = 0) of epoch milliseconds."""
    days = ts_ms // DAY_MS
    hour = (ts_ms - days * DAY_MS) // 3_600_000
    return hour, (days + 3) % 7  # 1970-01-01 was a Thursday


def fit_feature_schema(
    frame: pd.DataFrame,
    config: FeatureConfig | None = None,
    *,
    entity_columns: Iterable[str] = (),
    ignore_columns: Iterable[str] = (),
) -> FeatureSchema:
    """Feature schema for training on ``frame`` (no risk table: labels come from the frame).

    Args:
        frame: the training rows (canonical columns plus the file's own).
        config: feature definitions.
        entity_columns: extra columns to treat as entities (besides the canonical ones).
        ignore_columns: extra columns never to use.

    Raises:
        FeatureSchemaError: a named entity or ignored column is not in ``frame``.
    """
    config = config or FeatureConfig()
    named = list(dict.fromkeys(entity_columns))
    ignore = set(ignore_columns)
    unknown = [c for c in [*named, *ignore] if c not in frame.columns]
    if unknown:
        raise FeatureSchemaError(
            f"--entity-columns/--ignore-columns name {', '.join(unknown)}, not in the file "
            f"(columns: {', '.join(c for c in frame.columns if not c.startswith('_'))})"
        )
    channels: tuple[str, ...] = ()
    if present(frame, "channel"):
        channels = tuple(sorted(str(v) for v in frame["channel"].dropna().unique()))
    entities = [c for c in ENTITY_COLUMNS if present(frame, c) and c not in ignore]
    entities += [c for c in named if c not in entities and c not in ignore]
    candidates = [
        c
        for c in frame.columns
        if c not in _NOT_EXTRA and not c.startswith("_") and c not in ignore and c not in entities
    ]
    # Canonical positions may pair with the file's own (a customer's home beside the
    # transaction's place) into a distance.
    positions = [c for c in ("lat", "lon") if present(frame, c)]
    chosen = choose_file_columns(frame, candidates, frame.get("is_fraud"), coordinates=positions)
    categories = dict(chosen.categories or {})
    names = feature_names(frame, config, entities, chosen.numeric, categories)
    return FeatureSchema(
        names=names,
        config=config,
        channels=channels,
        entities=tuple(entities),
        numeric_columns=chosen.numeric,
        categories=categories,
        ignored={**{c: "--ignore-columns" for c in sorted(ignore)}, **dict(chosen.ignored or {})},
        derived=chosen.derived,
    )


def _haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


_codes = key_codes  # the name fraud.sequence imports


def compute_features(
    frame: pd.DataFrame, schema: FeatureSchema, events: LabelEvents | None = None
) -> pd.DataFrame:
    """Behavioural features for every row of a canonical transaction frame.

    Args:
        frame: canonical columns (``transaction_id``, ``timestamp``, ``customer_id``,
            ``amount`` and any optional ones); labels (``is_fraud``, ``label_time``) are used
            only for entity risk and only once known.
        schema: which features to produce and the bundle's label tables.
        events: rows and labels for entity features (`label_events` of the whole input
            when ``frame`` is one customer-split chunk of it); None = ``frame``'s own.

    Returns:
        A float64 frame with one column per ``schema.names``, index aligned with ``frame``.

    Raises:
        FeatureSchemaError: a column the schema needs is missing from ``frame``.
    """
    require_columns(frame, schema)
    cfg = schema.config
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    if n == 0:
        return pd.DataFrame({name: np.empty(0) for name in schema.names}, index=frame.index)

    ts = timestamps_ms(frame["timestamp"])
    cust = _codes(frame["customer_id"])
    order = np.lexsort((np.arange(n), ts, cust))  # stable: ties keep input order
    ts_s, cust_s = ts[order], cust[order]
    amount = frame["amount"].to_numpy(dtype=np.float64)[order]
    log_amt = np.log1p(np.maximum(amount, 0.0))

    # Combined sorted key: customer blocks never overlap because the span exceeds any time gap.
    t0 = ts_s.min()
    span = int(ts_s.max() - t0) + max(int(max(s for _, s in cfg.windows) * 1000), 1) + 1
    key = cust_s * span + (ts_s - t0)
    idx = np.arange(n)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = cust_s[1:] != cust_s[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, idx, 0))

    sorted_out: dict[str, np.ndarray] = {}
    sorted_out["amount"] = amount
    sorted_out["log_amount"] = log_amt
    hour, weekday = hours_weekdays(ts_s)
    sorted_out["hour"] = hour.astype(np.float64)
    sorted_out["weekday"] = weekday.astype(np.float64)
    sorted_out["n_prev"] = (idx - group_start).astype(np.float64)
    prev_gap = np.full(n, np.nan)
    prev_gap[1:] = (ts_s[1:] - ts_s[:-1]) / 1000.0
    prev_gap[new_group] = np.nan
    sorted_out["secs_since_prev"] = prev_gap

    # Sums restart at each customer: a customer's features then never depend on other
    # customers' rows (rounding included), so a file split by customer scores the same.
    cs = _group_prefix_sums(amount, cust_s, new_group)
    cs_log = _group_prefix_sums(log_amt, cust_s, new_group)
    cs_log2 = _group_prefix_sums(log_amt**2, cust_s, new_group)
    for w, seconds in cfg.windows:
        start = np.searchsorted(key, key - int(seconds * 1000), side="left")
        cnt = idx - start
        total = cs[idx] - cs[start]
        sorted_out[f"count_{w}"] = cnt.astype(np.float64)
        sorted_out[f"amount_sum_{w}"] = total
        with np.errstate(invalid="ignore", divide="ignore"):
            sorted_out[f"amount_mean_{w}"] = np.where(cnt > 0, total / cnt, np.nan)
    start = np.searchsorted(key, key - int(NORM_WINDOW_S * 1000), side="left")
    cnt = idx - start
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (cs[idx] - cs[start]) / cnt
        lmean = (cs_log[idx] - cs_log[start]) / cnt
        lvar = (cs_log2[idx] - cs_log2[start]) / cnt - lmean**2
        lstd = np.sqrt(np.maximum(lvar, 0.0))
        z = (log_amt - lmean) / (lstd + 0.25)
        ratio = amount / np.maximum(mean, 0.01)
    sorted_out["amount_z_30d"] = np.where(cnt > 0, z, np.nan)
    sorted_out["amount_ratio_mean_30d"] = np.where(cnt > 0, ratio, np.nan)
    sorted_out.update(_habit_features(amount, hour, cust_s, ts_s, t0, group_start, cfg))

    for col in NOVELTY_COLUMNS:
        if f"new_{col}" not in schema.names:
            continue
        c = _codes(frame[col])[order]
        pair = cust_s * (c.max() + 2) + (c + 1)
        _, first = np.unique(pair, return_index=True)
        is_new = np.zeros(n)
        is_new[first] = 1.0
        sorted_out[f"new_{col}"] = np.where(c < 0, np.nan, is_new)

    if "dist_home_km" in schema.names:
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=np.float64)[order]
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=np.float64)[order]
        sorted_out.update(_location_features(lat, lon, ts_s, cust_s, new_group, group_start, cfg))

    if "channel_code" in schema.names:
        lookup = {v: float(i) for i, v in enumerate(schema.channels)}
        ch = string_keys(frame["channel"])[order]
        sorted_out["channel_code"] = np.array([lookup.get(v, np.nan) for v in ch], dtype=float)

    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = idx
    direct = entity_features(frame, schema, events)
    derived = {d.name: d for d in schema.derived}
    for col in schema.numeric_columns:
        if f"num_{col}" in schema.names:
            direct[f"num_{col}"] = (
                compute_derived(frame, derived[col])
                if col in derived
                else encode_numeric(frame[col])
            )
    for col, cats in schema.categories.items():
        if f"cat_{col}" in schema.names:
            direct[f"cat_{col}"] = encode_categories(frame[col], cats)
    for name in schema.names:
        out[name] = direct[name] if name in direct else sorted_out[name][inverse]
    return pd.DataFrame(out, index=frame.index)


def _group_prefix_sums(values: np.ndarray, groups: np.ndarray, new_group: np.ndarray) -> np.ndarray:
    """Per row, the sum of its group's earlier values (rows sorted by group)."""
    inclusive = pd.Series(values).groupby(groups, sort=False).cumsum().to_numpy()
    out = np.zeros(len(values))
    out[1:] = inclusive[:-1]
    out[new_group] = 0.0
    return out


def _habit_features(amount, hour, cust_s, ts_s, t0, group_start, cfg: FeatureConfig):
    """The amount against the customer's last amounts, the hour against their usual hours.

    ``amount_ratio_median``: amount / median of the previous ``recent_amounts`` amounts;
    ``amount_rank_recent``: share of those amounts below this one (ties count half);
    ``hour_habit``: share of the customer's earlier transactions within an hour of this one's
    hour of day (circular). NaN for a customer's first transaction.
    """
    n = len(amount)
    idx = np.arange(n)
    k = max(int(cfg.recent_amounts), 1)
    prev = np.full((n, k), np.nan)
    for j in range(1, k + 1):
        if j < n:
            prev[j:, j - 1] = amount[:-j]
        prev[idx - j < group_start, j - 1] = np.nan
    valid = np.isfinite(prev).sum(axis=1)
    has = valid > 0
    med = np.full(n, np.nan)
    if has.any():
        med[has] = np.nanmedian(prev[has], axis=1)
    below = np.nansum(np.where(np.isfinite(prev), prev < amount[:, None], 0), axis=1)
    ties = np.nansum(np.where(np.isfinite(prev), prev == amount[:, None], 0), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(has, amount / np.maximum(med, 0.01), np.nan)
        rank = np.where(has, (below + 0.5 * ties) / valid, np.nan)
    # Earlier rows of the customer at hours h-1, h, h+1: a sorted (customer, hour, time) key.
    span = int(ts_s.max() - t0) + 2
    cell = cust_s * 24 + hour
    hkey = cell * span + (ts_s - t0)
    order = np.argsort(hkey, kind="stable")
    hsorted = hkey[order]
    near = np.zeros(n)
    for d in (-1, 0, 1):
        other = cust_s * 24 + (hour + d) % 24
        near += np.searchsorted(hsorted, other * span + (ts_s - t0), side="left") - np.searchsorted(
            hsorted, other * span, side="left"
        )
    # Same-time rows of the same hour cell sort before or after by input order: count only
    # rows strictly earlier in time for every cell, as the windows above do for ties.
    n_prev = idx - group_start
    with np.errstate(invalid="ignore", divide="ignore"):
        habit = np.where(n_prev > 0, near / np.maximum(n_prev, 1), np.nan)
    return {"amount_ratio_median": ratio, "amount_rank_recent": rank, "hour_habit": habit}


def _location_features(lat, lon, ts_s, cust_s, new_group, group_start, cfg: FeatureConfig):
    """Distance from the causal modal grid cell ("home"), from the previous location, speed."""
    n = len(lat)
    idx = np.arange(n)
    ok = np.isfinite(lat) & np.isfinite(lon)
    g = cfg.home_grid_deg
    cell_lat = np.floor(np.where(ok, lat, 0.0) / g).astype(np.int64)
    cell_lon = np.floor(np.where(ok, lon, 0.0) / g).astype(np.int64)
    cell = (cell_lat + 1000) * 10_000 + (cell_lon + 2000)
    pair = np.where(ok, cust_s * 100_000_000 + cell, -1 - idx)
    # Occurrences of (customer, cell) so far, counting this row: rank inside the pair's run.
    o2 = np.argsort(pair, kind="stable")
    p2 = pair[o2]
    run_start = np.ones(n, dtype=bool)
    run_start[1:] = p2[1:] != p2[:-1]
    rs = np.maximum.accumulate(np.where(run_start, np.arange(n), 0))
    count = np.empty(n, dtype=np.int64)
    count[o2] = np.arange(n) - rs + 1
    count[~ok] = 0
    # Running maximum per customer: offsetting by customer keeps the accumulate inside groups.
    off = cust_s * (n + 1)
    rm = np.maximum.accumulate(count + off) - off
    rm_prev = np.empty(n, dtype=np.int64)
    rm_prev[0] = 0
    rm_prev[1:] = rm[:-1]
    rm_prev[new_group] = 0
    record = ok & (count == rm) & (rm > rm_prev)  # a cell strictly takes the lead: new mode
    home_idx = np.maximum.accumulate(np.where(record, idx, -1))
    # Home as known before this row: the mode over the customer's earlier rows.
    prev_home = np.full(n, -1, dtype=np.int64)
    prev_home[1:] = home_idx[:-1]
    prev_home[prev_home < group_start] = -1
    has_home = prev_home >= 0
    hp = np.where(has_home, prev_home, 0)
    home_lat = (cell_lat[hp] + 0.5) * g
    home_lon = (cell_lon[hp] + 0.5) * g
    d_home = np.where(has_home & ok, _haversine_km(lat, lon, home_lat, home_lon), np.nan)
    prev_ok = np.zeros(n, dtype=bool)
    prev_ok[1:] = ok[:-1] & ~new_group[1:]
    plat = np.concatenate(([np.nan], lat[:-1]))
    plon = np.concatenate(([np.nan], lon[:-1]))
    with np.errstate(invalid="ignore"):
        d_prev = np.where(prev_ok & ok, _haversine_km(lat, lon, plat, plon), np.nan)
    hours = np.full(n, np.nan)
    hours[1:] = (ts_s[1:] - ts_s[:-1]) / 3_600_000.0
    speed = d_prev / np.maximum(hours, 1.0 / 60.0)
    return {"dist_home_km": d_home, "dist_prev_km": d_prev, "speed_kmh": speed}


def single_frame(txn: Mapping[str, Any], history: pd.DataFrame) -> pd.DataFrame:
    """The customer's history up to ``txn``'s time, then ``txn`` (unlabelled) as the last row.

    The frame `features_for_one` computes over; single-transaction scoring also feeds it to
    the sequence model, so it is built once per transaction, column by column (a
    `pd.concat` of history and row costs more than all the features on one customer).
    """
    stamp = pd.Timestamp(txn["timestamp"])
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    hist_ts = history["timestamp"] if "timestamp" in history.columns else None
    if hist_ts is not None and not isinstance(hist_ts.dtype, pd.DatetimeTZDtype):
        hist_ts = pd.to_datetime(hist_ts, utc=True)
    keep = (
        np.ones(0, dtype=bool)
        if hist_ts is None or len(history) == 0
        else timestamps_ms(hist_ts) <= stamp.value // 1_000_000
    )
    columns = list(history.columns) + [c for c in txn if c not in history.columns]
    data: dict[str, Any] = {}
    for col in columns:
        if col in history.columns:
            values = history[col].to_numpy(dtype=object)[keep].tolist()
        else:
            values = [None] * int(keep.sum())
        values.append(txn.get(col))
        data[col] = values
    data["timestamp"] = [*(hist_ts[keep] if hist_ts is not None else []), stamp]
    combined = pd.DataFrame(data)
    for col in ("timestamp", "label_time"):
        if col in combined.columns:
            combined[col] = pd.to_datetime(combined[col], utc=True)
    # The incoming transaction is not yet labelled: its own label must not feed its features.
    if "is_fraud" in combined.columns:
        labels = pd.to_numeric(combined["is_fraud"], errors="coerce").astype("Float64")
        labels.iloc[-1] = pd.NA
        combined["is_fraud"] = labels
    for col in ("amount", "lat", "lon"):
        if col in combined.columns and combined[col].dtype.kind != "f":
            combined[col] = pd.to_numeric(combined[col], errors="coerce")
    return combined


def features_for_one(
    txn: Mapping[str, Any], history: pd.DataFrame, schema: FeatureSchema
) -> pd.Series:
    """Features of one incoming transaction given its customer's stored history.

    Runs the same definitions as `compute_features` over (history, txn) with the incoming
    transaction last, so a row scored alone gets the features it would get in a file (the
    history must hold the customer's transactions before it; merchant risk then comes from the
    bundle's table plus any labels in the history known by the transaction's time).

    Args:
        txn: one transaction in canonical columns (``timestamp`` may be a string or datetime).
        history: the customer's earlier transactions, canonical columns.
        schema: the bundle's feature schema.

    Returns:
        One value per ``schema.names``.
    """
    return compute_features(single_frame(txn, history), schema).iloc[-1]
