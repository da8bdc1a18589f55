"""Behavioural features of card transactions, computed causally per customer.

Every feature of a transaction at time t uses only that customer's earlier transactions and
labels known by t. Files are computed vectorised: rows are sorted by (customer, time) and windows
are found with one ``searchsorted`` over a combined (customer, time) key. A single incoming
transaction runs the same definitions over its customer's stored history (`features_for_one`).
Features whose source column is absent are not produced; `FeatureSchema` records which ones are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fraud.errors import FraudError

DAY_MS = 86_400_000
EARTH_RADIUS_KM = 6371.0

# Columns whose first use by a customer is a signal, and columns that key a label-based risk rate.
NOVELTY_COLUMNS = ("merchant_id", "terminal_id", "country", "device_id")
RISK_COLUMNS = ("merchant_id", "terminal_id", "mcc")


class FeatureSchemaError(FraudError):
    """The input lacks a column the feature schema (of a trained bundle) needs."""


@dataclass(frozen=True)
class FeatureConfig:
    """Definitions of the behavioural features.

    Attributes:
        windows: (name, seconds) look-back windows for counts and amount sums.
        label_delay_days: when a labelled row has no ``label_time``, its label is taken as
            known this many days after the transaction.
        risk_prior_weight: pseudo-count that shrinks a merchant's fraud rate to the global rate.
        risk_default_rate: global fraud rate used before any label is known.
        home_grid_deg: grid cell size (degrees) for the customer's modal "home" location.
    """

    windows: tuple[tuple[str, float], ...] = (
        ("1h", 3600.0),
        ("24h", 86400.0),
        ("7d", 7 * 86400.0),
        ("30d", 30 * 86400.0),
    )
    label_delay_days: float = 7.0
    risk_prior_weight: float = 20.0
    risk_default_rate: float = 0.01
    home_grid_deg: float = 0.1

    def to_json(self) -> dict[str, Any]:
        return {
            "windows": [[n, s] for n, s in self.windows],
            "label_delay_days": self.label_delay_days,
            "risk_prior_weight": self.risk_prior_weight,
            "risk_default_rate": self.risk_default_rate,
            "home_grid_deg": self.home_grid_deg,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureConfig:
        return cls(
            windows=tuple((str(n), float(s)) for n, s in data["windows"]),
            label_delay_days=float(data["label_delay_days"]),
            risk_prior_weight=float(data["risk_prior_weight"]),
            risk_default_rate=float(data["risk_default_rate"]),
            home_grid_deg=float(data["home_grid_deg"]),
        )


@dataclass(frozen=True)
class RiskTable:
    """Label counts per key (e.g. per merchant) known at a cutoff time.

    Scoring adds the labels of the input that became known after ``cutoff_ms``, so a bundle's
    table and the input's own labels are never counted twice.
    """

    counts: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # key -> (frauds, labels)

    def to_json(self) -> dict[str, list[int]]:
        return {k: [int(f), int(n)] for k, (f, n) in self.counts.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Sequence[int]]) -> RiskTable:
        return cls({str(k): (int(v[0]), int(v[1])) for k, v in data.items()})


@dataclass(frozen=True)
class FeatureSchema:
    """Which features a model uses and the state they need (saved in the bundle).

    Attributes:
        names: feature names, in model column order.
        config: the feature definitions.
        channels: channel values seen in training (others encode as missing).
        risk: per risk column, label counts known at ``cutoff_ms``.
        global_risk: (frauds, labels) over all keys at ``cutoff_ms``.
        cutoff_ms: epoch milliseconds up to which ``risk`` counts labels; None = no table.
    """

    names: tuple[str, ...]
    config: FeatureConfig = FeatureConfig()
    channels: tuple[str, ...] = ()
    risk: Mapping[str, RiskTable] = field(default_factory=dict)
    global_risk: tuple[int, int] = (0, 0)
    cutoff_ms: int | None = None

    def required_columns(self) -> list[str]:
        """Input columns the features need (beyond the mandatory canonical ones)."""
        need: set[str] = set()
        for name in self.names:
            for col in NOVELTY_COLUMNS + RISK_COLUMNS:
                if name in (f"new_{col}", f"{col}_risk"):
                    need.add(col)
            if name in ("dist_home_km", "dist_prev_km", "speed_kmh"):
                need.update(("lat", "lon"))
            if name == "channel_code":
                need.add("channel")
        return sorted(need)

    def to_json(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "config": self.config.to_json(),
            "channels": list(self.channels),
            "risk": {c: t.to_json() for c, t in self.risk.items()},
            "global_risk": list(self.global_risk),
            "cutoff_ms": self.cutoff_ms,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSchema:
        return cls(
            names=tuple(data["names"]),
            config=FeatureConfig.from_json(data["config"]),
            channels=tuple(data["channels"]),
            risk={c: RiskTable.from_json(t) for c, t in data["risk"].items()},
            global_risk=(int(data["global_risk"][0]), int(data["global_risk"][1])),
            cutoff_ms=data["cutoff_ms"],
        )


def _present(frame: pd.DataFrame, col: str) -> bool:
    return col in frame.columns and bool(frame[col].notna().any())


def feature_names(frame: pd.DataFrame, config: FeatureConfig = FeatureConfig()) -> tuple[str, ...]:
    """Names of the features computable from the columns present in ``frame``."""
    names = ["amount", "log_amount", "hour", "weekday", "n_prev", "secs_since_prev"]
    for w, _ in config.windows:
        names += [f"count_{w}", f"amount_sum_{w}"]
    names += ["amount_z_30d", "amount_ratio_mean_30d"]
    names += [f"new_{c}" for c in NOVELTY_COLUMNS if _present(frame, c)]
    if _present(frame, "lat") and _present(frame, "lon"):
        names += ["dist_home_km", "dist_prev_km", "speed_kmh"]
    if _present(frame, "channel"):
        names.append("channel_code")
    names += [f"{c}_risk" for c in RISK_COLUMNS if _present(frame, c)]
    return tuple(names)


def timestamps_ms(series: pd.Series) -> np.ndarray:
    """Epoch milliseconds of a UTC datetime column, whatever its pandas resolution."""
    # A tz-aware column converts to UTC datetime64 directly (35x cheaper than tz_convert +
    # tz_localize, which dominates on the few rows of one customer's history).
    return series.to_numpy(dtype="datetime64[ms]").astype(np.int64)


def hours_weekdays(ts_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTC hour (0-23) and weekday (Monday = 0) of epoch milliseconds."""
    days = ts_ms // DAY_MS
    hour = (ts_ms - days * DAY_MS) // 3_600_000
    return hour, (days + 3) % 7  # 1970-01-01 was a Thursday


# Up to this many rows, converting values to strings one by one in Python beats pandas'
# string conversion, which costs ~0.3 ms a column whatever its length: single-transaction
# scoring computes features over one customer's short history.
_SMALL = 2048


def string_keys(values: pd.Series) -> np.ndarray:
    """Values as strings, as ``astype("string")`` writes them; None where missing."""
    if len(values) > _SMALL:
        return values.astype("string").to_numpy(dtype=object, na_value=None)
    out = np.empty(len(values), dtype=object)
    out[:] = [None if _missing(v) else str(v) for v in values.tolist()]
    return out


def _missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and value != value)
    )


def label_known_ms(frame: pd.DataFrame, config: FeatureConfig) -> np.ndarray:
    """When each row's label becomes known (epoch ms); int64 max for unlabelled rows."""
    never = np.iinfo(np.int64).max
    if "is_fraud" not in frame.columns:
        return np.full(len(frame), never, dtype=np.int64)
    labelled = frame["is_fraud"].notna().to_numpy()
    ts = timestamps_ms(frame["timestamp"])
    known = ts + int(config.label_delay_days * DAY_MS)
    if "label_time" in frame.columns:
        lt = frame["label_time"]
        has = lt.notna().to_numpy()
        if has.any():
            lt_ms = timestamps_ms(lt.fillna(frame["timestamp"]))
            known = np.where(has, lt_ms, known)
    return np.where(labelled, known, never)


def fit_feature_schema(
    frame: pd.DataFrame, config: FeatureConfig = FeatureConfig()
) -> FeatureSchema:
    """Feature schema for training on ``frame`` (no risk table: labels come from the frame)."""
    channels: tuple[str, ...] = ()
    if _present(frame, "channel"):
        channels = tuple(sorted(str(v) for v in frame["channel"].dropna().unique()))
    return FeatureSchema(names=feature_names(frame, config), config=config, channels=channels)


def with_risk_tables(schema: FeatureSchema, frame: pd.DataFrame, cutoff_ms: int) -> FeatureSchema:
    """Schema carrying label counts per risk key for labels of ``frame`` known by ``cutoff_ms``."""
    known = label_known_ms(frame, schema.config)
    mask = known <= cutoff_ms
    y = pd.to_numeric(frame["is_fraud"], errors="coerce").to_numpy(dtype=float)[mask]
    tables: dict[str, RiskTable] = {}
    for col in RISK_COLUMNS:
        if f"{col}_risk" not in schema.names:
            continue
        keys = frame[col].to_numpy(dtype=object)[mask]
        ok = pd.notna(keys)
        g = pd.DataFrame({"k": keys[ok].astype(str), "y": y[ok]}).groupby("k")["y"]
        agg = pd.DataFrame({"f": g.sum(), "n": g.count()})
        tables[col] = RiskTable({k: (int(r.f), int(r.n)) for k, r in agg.iterrows()})
    gf, gn = int(np.nansum(y)), int(np.isfinite(y).sum())
    return FeatureSchema(
        names=schema.names,
        config=schema.config,
        channels=schema.channels,
        risk=tables,
        global_risk=(gf, gn),
        cutoff_ms=int(cutoff_ms),
    )


def _haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _codes(values: pd.Series) -> np.ndarray:
    keys = string_keys(values) if len(values) <= _SMALL else values.astype("string")
    codes, _ = pd.factorize(keys, use_na_sentinel=True)
    return codes.astype(np.int64)


def compute_features(
    frame: pd.DataFrame, schema: FeatureSchema, events: LabelEvents | None = None
) -> pd.DataFrame:
    """Behavioural features for every row of a canonical transaction frame.

    Args:
        frame: canonical columns (``transaction_id``, ``timestamp``, ``customer_id``,
            ``amount`` and any optional ones); labels (``is_fraud``, ``label_time``) are used
            only for merchant/terminal/MCC risk and only once known.
        schema: which features to produce and the bundle's label tables.
        events: labels for merchant/terminal/MCC risk (`label_events` of the whole input
            when ``frame`` is one customer-split chunk of it); None = the labels in ``frame``.

    Returns:
        A float64 frame with one column per ``schema.names``, index aligned with ``frame``.

    Raises:
        FeatureSchemaError: a column the schema needs is missing from ``frame``.
    """
    missing = [c for c in schema.required_columns() if c not in frame.columns]
    if missing:
        raise FeatureSchemaError(
            f"input lacks column(s) {', '.join(missing)} that the model's features need; "
            "map them with --column-map or use a bundle trained without them"
        )
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

    cs = np.concatenate(([0.0], np.cumsum(amount)))
    cs_log = np.concatenate(([0.0], np.cumsum(log_amt)))
    cs_log2 = np.concatenate(([0.0], np.cumsum(log_amt**2)))
    for w, seconds in cfg.windows:
        start = np.searchsorted(key, key - int(seconds * 1000), side="left")
        cnt = idx - start
        sorted_out[f"count_{w}"] = cnt.astype(np.float64)
        sorted_out[f"amount_sum_{w}"] = cs[idx] - cs[start]
        if w == cfg.windows[-1][0]:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = (cs[idx] - cs[start]) / cnt
                lmean = (cs_log[idx] - cs_log[start]) / cnt
                lvar = (cs_log2[idx] - cs_log2[start]) / cnt - lmean**2
                lstd = np.sqrt(np.maximum(lvar, 0.0))
                z = (log_amt - lmean) / (lstd + 0.25)
                ratio = amount / np.maximum(mean, 0.01)
            sorted_out["amount_z_30d"] = np.where(cnt > 0, z, np.nan)
            sorted_out["amount_ratio_mean_30d"] = np.where(cnt > 0, ratio, np.nan)

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

    risk_cols = [c for c in RISK_COLUMNS if f"{c}_risk" in schema.names]
    if risk_cols:
        if events is None:
            events = label_events(frame, schema)
        sorted_out.update(_risk_features(frame, schema, risk_cols, order, ts_s, events))

    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = idx
    for name in schema.names:
        out[name] = sorted_out[name][inverse]
    return pd.DataFrame(out, index=frame.index)


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


@dataclass(frozen=True)
class LabelEvents:
    """Labels of an input as events: when each becomes known, its value and its risk keys.

    Merchant, terminal and MCC risk count labels of *every* customer, so a file split by
    customer (`fraud.pipeline.score_file`, the workers' chunks) must take these events from
    the whole file (`label_events`) and pass them to every chunk; each chunk then counts the
    same labels, each only once it is known at the row's time.

    Attributes:
        known_ms: epoch ms at which each label becomes known (int64).
        is_fraud: the label (float64, 0.0 or 1.0).
        keys: per risk column, the row's key as a string (None where missing).
    """

    known_ms: np.ndarray
    is_fraud: np.ndarray
    keys: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.known_ms)

    def to_frame(self) -> pd.DataFrame:
        """Columns ``known_ms``, ``is_fraud`` and one per risk column (e.g. to write Parquet)."""
        data: dict[str, Any] = {"known_ms": self.known_ms, "is_fraud": self.is_fraud}
        for col, keys in self.keys.items():
            data[col] = pd.array(keys, dtype="string")
        return pd.DataFrame(data)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> LabelEvents:
        """Inverse of `to_frame`."""
        keys = {
            c: string_keys(frame[c])
            for c in RISK_COLUMNS
            if c in frame.columns
        }
        return cls(
            known_ms=frame["known_ms"].to_numpy(dtype=np.int64),
            is_fraud=frame["is_fraud"].to_numpy(dtype=np.float64),
            keys=keys,
        )


def label_events(frame: pd.DataFrame, schema: FeatureSchema) -> LabelEvents:
    """The labels of ``frame`` usable for risk features under ``schema``.

    Only labelled rows count, at the time their label becomes known (``label_time`` or the
    configured delay); labels known by the bundle's ``cutoff_ms`` are already in its risk
    tables and are left out so they are not counted twice.
    """
    never = np.iinfo(np.int64).max
    known = label_known_ms(frame, schema.config)
    cutoff = schema.cutoff_ms if schema.cutoff_ms is not None else np.iinfo(np.int64).min
    usable = (known != never) & (known > cutoff)
    cols = [c for c in RISK_COLUMNS if f"{c}_risk" in schema.names and c in frame.columns]
    if not usable.any():  # e.g. a stored history without labels: skip the conversions
        empty = {c: np.empty(0, dtype=object) for c in cols}
        return LabelEvents(np.empty(0, dtype=np.int64), np.empty(0), empty)
    y = pd.to_numeric(frame["is_fraud"], errors="coerce").fillna(0).to_numpy(float)
    keys = {col: string_keys(frame[col])[usable] for col in cols}
    return LabelEvents(known_ms=known[usable].astype(np.int64), is_fraud=y[usable], keys=keys)


def _risk_features(
    frame, schema: FeatureSchema, cols, order, ts_s, events: LabelEvents
) -> dict[str, np.ndarray]:
    """Smoothed fraud rate per key from labels known strictly by each row's time."""
    cfg = schema.config
    ev_t = events.known_ms
    ev_y = events.is_fraud
    ev_order = np.argsort(ev_t, kind="stable")
    ev_t_sorted = ev_t[ev_order]
    cum_f = np.concatenate(([0.0], np.cumsum(ev_y[ev_order])))
    n_known = np.searchsorted(ev_t_sorted, ts_s, side="right")
    gf = schema.global_risk[0] + cum_f[n_known]
    gn = schema.global_risk[1] + n_known
    with np.errstate(invalid="ignore", divide="ignore"):
        grate = np.where(gn > 0, gf / np.maximum(gn, 1), cfg.risk_default_rate)
    out: dict[str, np.ndarray] = {}
    w = cfg.risk_prior_weight
    n = len(order)
    tmin = min(ts_s.min(), ev_t.min() if len(ev_t) else ts_s.min())
    tmax = max(ts_s.max(), ev_t.max() if len(ev_t) else 0)
    t_span = int(tmax - tmin) + 2
    for col in cols:
        keys = string_keys(frame[col])[order]
        ev_keys = events.keys.get(col)
        if ev_keys is None:
            ev_keys = np.full(len(ev_t), None, dtype=object)
        # One coding for the rows' keys and the events' keys (the events may come from
        # rows outside this frame).
        both, uniques = pd.factorize(
            np.concatenate([keys, np.asarray(ev_keys, dtype=object)]), use_na_sentinel=True
        )
        codes, ek = both[:n], both[n:]
        table = schema.risk.get(col, RiskTable())
        base_f = np.array([table.counts.get(str(u), (0, 0))[0] for u in uniques] + [0], float)
        base_n = np.array([table.counts.get(str(u), (0, 0))[1] for u in uniques] + [0], float)
        # Events of this column: sorted by (key, known time); queries by (key, row time).
        ev_key = (ek + 1) * t_span + (ev_t - tmin)
        eo = np.argsort(ev_key, kind="stable")
        ev_key_s = ev_key[eo]
        cf = np.concatenate(([0.0], np.cumsum(ev_y[eo])))
        q_hi = (codes + 1) * t_span + (ts_s - tmin)
        q_lo = (codes + 1) * t_span - 1
        hi = np.searchsorted(ev_key_s, q_hi, side="right")
        lo = np.searchsorted(ev_key_s, q_lo, side="right")
        f = cf[hi] - cf[lo] + base_f[codes]
        cnt = (hi - lo) + base_n[codes]
        rate = (f + w * grate) / (cnt + w)
        out[f"{col}_risk"] = np.where(codes < 0, np.nan, rate)
    return out


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
