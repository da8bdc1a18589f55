"""Entity features: activity and label risk of the terminals, merchants, devices... a row touches.

For every entity column (terminal, merchant, device, MCC, country, card token, or any column the
user names) and every row at time t:

* ``{e}_count_{w}``, ``{e}_amount_mean_{w}``: the entity's transactions (any customer) strictly
  before t in the window, and their mean amount; ``{e}_amount_ratio`` compares the row's amount
  with the longest window's mean.
* ``{e}_risk``: the entity's smoothed fraud rate over all labels known by t (bundle table +
  labels of the input known after the bundle's cutoff).
* ``{e}_risk_{w}``: the same over labels that became known in (t - w, t] only, so a compromised
  terminal shows as soon as its first frauds are confirmed, and an old one fades.

All are causal: a row sees only earlier rows and labels known by its time. Rows of a file split
by customer (scoring chunks, worker chunks) see the whole file's rows and labels through
`ContextEvents`, so the chunking never changes a feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fraud.feature_schema import (
    DAY_MS,
    RISK_ONLY_ENTITIES,
    FeatureConfig,
    FeatureSchema,
    RecentLabels,
    RiskTable,
    string_keys,
    timestamps_ms,
)
from fraud.label_state import CUSTOMER, label_state, label_state_names

NEVER = np.iinfo(np.int64).max


def entity_feature_names(entity: str, config: FeatureConfig) -> list[str]:
    """Names of one entity's features, in model column order."""
    names: list[str] = []
    activity = config.entity_windows if entity not in RISK_ONLY_ENTITIES else ()
    for w, _ in activity:
        names += [f"{entity}_count_{w}", f"{entity}_amount_mean_{w}"]
    if activity:
        names.append(f"{entity}_amount_ratio")
    names.append(f"{entity}_risk")
    names += [f"{entity}_risk_{w}" for w, _ in config.risk_windows]
    if config.label_state and activity:
        names += label_state_names(entity)
    return names


def labelled_columns(schema: FeatureSchema) -> list[str]:
    """Entity columns (and the customer, for its label state) whose labels features read."""
    cols = list(schema.entities)
    if f"{CUSTOMER}_fraud_age" in schema.names:
        cols.append(CUSTOMER)
    return cols


def label_known_ms(frame: pd.DataFrame, config: FeatureConfig) -> np.ndarray:
    """When each row's label becomes known (epoch ms); int64 max for unlabelled rows."""
    if "is_fraud" not in frame.columns:
        return np.full(len(frame), NEVER, dtype=np.int64)
    labelled = frame["is_fraud"].notna().to_numpy()
    ts = timestamps_ms(frame["timestamp"])
    known = ts + int(config.label_delay_days * DAY_MS)
    if "label_time" in frame.columns:
        lt = frame["label_time"]
        has = lt.notna().to_numpy()
        if has.any():
            lt_ms = timestamps_ms(lt.fillna(frame["timestamp"]))
            known = np.where(has, lt_ms, known)
    return np.where(labelled, known, NEVER)


@dataclass(frozen=True)
class ContextEvents:
    """Every row of an input as an event: when it happened, its amount, keys and label.

    Entity activity counts every customer's rows and entity risk every customer's labels,
    so a file split by customer (`fraud.pipeline.score_file`, the workers' chunks) takes these
    events from the whole file (`label_events`) and passes them to every chunk.

    Attributes:
        known_ms: epoch ms at which each row's label becomes known; int64 max when the row
            has no label or its label is already in the bundle's tables.
        is_fraud: the label (float64, 0.0 or 1.0; 0 where unknown).
        keys: per entity column, the row's key as a string (None where missing).
        row_ms: epoch ms of each row (None: events of labels only, as older workers wrote
            them; activity then comes from the scored frame itself).
        amount: each row's amount (with ``row_ms``).
    """

    known_ms: np.ndarray
    is_fraud: np.ndarray
    keys: Mapping[str, np.ndarray] = field(default_factory=dict)
    row_ms: np.ndarray | None = None
    amount: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.known_ms)

    def to_frame(self) -> pd.DataFrame:
        """Columns ``known_ms``, ``is_fraud``, ``row_ms``, ``amount`` and one per entity."""
        data: dict[str, Any] = {"known_ms": self.known_ms, "is_fraud": self.is_fraud}
        if self.row_ms is not None and self.amount is not None:
            data["row_ms"], data["amount"] = self.row_ms, self.amount
        for col, keys in self.keys.items():
            data[f"key:{col}"] = pd.array(keys, dtype="string")
        return pd.DataFrame(data)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ContextEvents:
        """Inverse of `to_frame`."""
        keys = {c[4:]: string_keys(frame[c]) for c in frame.columns if c.startswith("key:")}
        has_rows = "row_ms" in frame.columns
        return cls(
            known_ms=frame["known_ms"].to_numpy(dtype=np.int64),
            is_fraud=frame["is_fraud"].to_numpy(dtype=np.float64),
            keys=keys,
            row_ms=frame["row_ms"].to_numpy(dtype=np.int64) if has_rows else None,
            amount=frame["amount"].to_numpy(dtype=np.float64) if has_rows else None,
        )


# The name workers and older callers use.
LabelEvents = ContextEvents


def label_events(frame: pd.DataFrame, schema: FeatureSchema) -> ContextEvents:
    """The rows and labels of ``frame`` that entity features under ``schema`` count.

    Labels count at the time they become known (``label_time`` or the configured delay);
    labels known by the bundle's ``cutoff_ms`` are already in its tables and are left out so
    they are not counted twice.
    """
    known = label_known_ms(frame, schema.config)
    if schema.cutoff_ms is not None:
        known = np.where(known <= schema.cutoff_ms, NEVER, known)
    y = (
        pd.to_numeric(frame["is_fraud"], errors="coerce").fillna(0).to_numpy(float)
        if "is_fraud" in frame.columns
        else np.zeros(len(frame))
    )
    cols = [c for c in labelled_columns(schema) if c in frame.columns]
    return ContextEvents(
        known_ms=known.astype(np.int64),
        is_fraud=y,
        keys={c: string_keys(frame[c]) for c in cols},
        row_ms=timestamps_ms(frame["timestamp"]),
        amount=frame["amount"].to_numpy(dtype=np.float64),
    )


def _global_rate(schema: FeatureSchema, events: ContextEvents, ts: np.ndarray) -> np.ndarray:
    """Fraud rate over all labels known by each row's time (the smoothing prior)."""
    ok = events.known_ms != NEVER
    ev_t, ev_y = events.known_ms[ok], events.is_fraud[ok]
    order = np.argsort(ev_t, kind="stable")
    cum_f = np.concatenate(([0.0], np.cumsum(ev_y[order])))
    n_known = np.searchsorted(ev_t[order], ts, side="right")
    gf = schema.global_risk[0] + cum_f[n_known]
    gn = schema.global_risk[1] + n_known
    return np.where(gn > 0, gf / np.maximum(gn, 1), schema.config.risk_default_rate)


class _KeyedTimes:
    """Events sorted by (key code, time): sums over a key's time range by two searchsorted."""

    def __init__(
        self, codes: np.ndarray, times: np.ndarray, values: list[np.ndarray], t0: int, span: int
    ) -> None:
        ok = codes >= 0
        self.t0, self.span = t0, span
        key = (codes[ok] + 1) * span + (times[ok] - t0)
        order = np.argsort(key, kind="stable")
        self.key = key[order]
        self.cums = [np.concatenate(([0.0], np.cumsum(v[ok][order]))) for v in values]

    def index(self, codes: np.ndarray, times: np.ndarray, side: str) -> np.ndarray:
        return np.searchsorted(self.key, (codes + 1) * self.span + (times - self.t0), side=side)

    def start(self, codes: np.ndarray) -> np.ndarray:
        # Keys of a code start at (code + 1) * span; the previous code's end well below.
        return np.searchsorted(self.key, (codes + 1) * self.span - 1, side="right")


def entity_features(
    frame: pd.DataFrame, schema: FeatureSchema, events: ContextEvents | None = None
) -> dict[str, np.ndarray]:
    """Activity and risk features of every entity in ``schema.entities``, in frame order.

    Args:
        frame: canonical rows (with the entity columns the schema names).
        schema: feature names, definitions and the bundle's label tables.
        events: the whole input's rows and labels when ``frame`` is one chunk of it;
            None = ``frame``'s own.
    """
    cfg = schema.config
    wanted = set(schema.names)
    cols = [e for e in labelled_columns(schema) if any(n.startswith(f"{e}_") for n in wanted)]
    if not cols or len(frame) == 0:
        return {}
    if events is None:
        events = label_events(frame, schema)
    ts = timestamps_ms(frame["timestamp"])
    amount = frame["amount"].to_numpy(dtype=np.float64)
    act_ms = events.row_ms if events.row_ms is not None else ts
    act_amt = events.amount if events.amount is not None else amount
    labelled = events.known_ms != NEVER
    recents = [schema.recent.get(c, RecentLabels()) for c in cols]
    times = [ts, act_ms, events.known_ms[labelled]] + [
        np.asarray(r.known_ms, np.int64) for r in recents
    ]
    t0 = min(int(t.min()) for t in times if len(t))
    t1 = max(int(t.max()) for t in times if len(t))
    longest = max([s for _, s in cfg.entity_windows + cfg.risk_windows] + [1.0])
    state_window = max([s for _, s in cfg.risk_windows] + [0.0])
    span = (t1 - t0) + 2 * int(longest * 1000) + 2
    grate = _global_rate(schema, events, ts)
    out: dict[str, np.ndarray] = {}
    for col, recent in zip(cols, recents, strict=True):
        rows = string_keys(frame[col])
        ev_keys = events.keys.get(col)
        if ev_keys is None:
            ev_keys = np.full(len(events), None, dtype=object)
        # One coding for the rows', the events' and the bundle's recent keys (the events are
        # the whole input's rows: activity and labels share their coding).
        both, uniques = pd.factorize(
            np.concatenate([rows, np.asarray(ev_keys, object), np.asarray(recent.keys, object)]),
            use_na_sentinel=True,
        )
        n, ne = len(rows), len(ev_keys)
        codes = both[:n]
        ev_codes = both[n : n + ne]
        rec_codes = both[n + ne :]
        act_codes = codes if events.row_ms is None else ev_codes
        missing = codes < 0
        # Activity: rows strictly before t in [t - w, t).
        activity = f"{col}_amount_ratio" in wanted
        if activity:
            act = _KeyedTimes(act_codes, act_ms, [act_amt], t0, span)
            hi = act.index(codes, ts, "left")
        mean_last = None
        for w, seconds in cfg.entity_windows if activity else ():
            lo = act.index(codes, ts - int(seconds * 1000), "left")
            cnt = (hi - lo).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = (act.cums[0][hi] - act.cums[0][lo]) / cnt
            mean = np.where(cnt > 0, mean, np.nan)
            out[f"{col}_count_{w}"] = np.where(missing, np.nan, cnt)
            out[f"{col}_amount_mean_{w}"] = np.where(missing, np.nan, mean)
            mean_last = mean
        if mean_last is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"{col}_amount_ratio"] = np.where(
                    missing, np.nan, amount / np.maximum(mean_last, 0.01)
                )
        # Cumulative risk: the bundle's table plus the input's labels known by t.
        lab = labelled & (ev_codes >= 0)
        table = schema.risk.get(col, RiskTable())
        base_f = np.array([table.counts.get(str(u), (0, 0))[0] for u in uniques] + [0], float)
        base_n = np.array([table.counts.get(str(u), (0, 0))[1] for u in uniques] + [0], float)
        ev = _KeyedTimes(
            np.where(lab, ev_codes, -1),
            np.where(lab, events.known_ms, t0),
            [events.is_fraud, np.ones(len(ev_codes))],
            t0,
            span,
        )
        hi_ev = ev.index(codes, ts, "right")
        f = ev.cums[0][hi_ev] - ev.cums[0][ev.start(codes)] + base_f[codes]
        cnt = ev.cums[1][hi_ev] - ev.cums[1][ev.start(codes)] + base_n[codes]
        pw = cfg.risk_prior_weight
        out[f"{col}_risk"] = np.where(missing, np.nan, (f + pw * grate) / (cnt + pw))
        if not cfg.risk_windows:
            continue
        # Windowed risk: the input's labels plus the bundle's recent ones, known in (t-w, t].
        rec = _KeyedTimes(
            rec_codes,
            np.asarray(recent.known_ms, np.int64),
            [np.asarray(recent.frauds, float), np.asarray(recent.labels, float)],
            t0,
            span,
        )
        hi_rec = rec.index(codes, ts, "right")
        ww = cfg.risk_window_prior_weight
        for w, seconds in cfg.risk_windows:
            back = ts - int(seconds * 1000)
            lo_ev, lo_rec = ev.index(codes, back, "right"), rec.index(codes, back, "right")
            f = ev.cums[0][hi_ev] - ev.cums[0][lo_ev] + rec.cums[0][hi_rec] - rec.cums[0][lo_rec]
            cnt = ev.cums[1][hi_ev] - ev.cums[1][lo_ev] + rec.cums[1][hi_rec] - rec.cums[1][lo_rec]
            out[f"{col}_risk_{w}"] = np.where(missing, np.nan, (f + ww * grate) / (cnt + ww))
        if f"{col}_fraud_age" in wanted:
            # Fraud labels alone, per source, for the latest / earliest fraud known by t.
            ev_frauds = _KeyedTimes(
                np.where(lab & (events.is_fraud > 0), ev_codes, -1), events.known_ms, [], t0, span
            )
            rec_f = np.asarray(recent.frauds, float)
            rec_frauds = _KeyedTimes(
                np.where(rec_f > 0, rec_codes, -1),
                np.asarray(recent.known_ms, np.int64),
                [],
                t0,
                span,
            )
            state = label_state(col, codes, ts, state_window, [(ev_frauds, ev), (rec_frauds, rec)])
            out.update({k: np.where(missing, np.nan, v) for k, v in state.items()})
    return {k: v for k, v in out.items() if k in wanted}


def with_risk_tables(schema: FeatureSchema, frame: pd.DataFrame, cutoff_ms: int) -> FeatureSchema:
    """Schema carrying label counts per entity key for labels of ``frame`` known by the cutoff.

    Cumulative counts per key, and the labels known in the last (longest) risk window before
    the cutoff per (key, day), so windowed risk right after the cutoff is whole.
    """
    known = label_known_ms(frame, schema.config)
    mask = known <= cutoff_ms
    y = pd.to_numeric(frame["is_fraud"], errors="coerce").to_numpy(dtype=float)[mask]
    longest = max([s for _, s in schema.config.risk_windows] + [0.0])
    since = cutoff_ms - int(longest * 1000)
    k_ms = known[mask]
    day_end = np.minimum((k_ms // DAY_MS + 1) * DAY_MS - 1, cutoff_ms)
    tables: dict[str, RiskTable] = {}
    recent: dict[str, RecentLabels] = {}
    for col in labelled_columns(schema):
        if col not in frame.columns or not (
            f"{col}_risk" in schema.names or f"{col}_fraud_age" in schema.names
        ):
            continue
        keys = string_keys(frame[col])[mask]
        ok = np.array([k is not None for k in keys], dtype=bool)
        g = pd.DataFrame({"k": keys[ok], "y": y[ok]}).groupby("k", sort=True)["y"]
        agg = pd.DataFrame({"f": g.sum(), "n": g.count()})
        if f"{col}_risk" in schema.names:  # the customer's label state needs recent only
            tables[col] = RiskTable(
                {
                    str(k): (int(f), int(c))
                    for k, f, c in zip(agg.index, agg["f"], agg["n"], strict=True)
                }
            )
        if longest > 0:
            sel = ok & (k_ms > since)
            rg = pd.DataFrame({"k": keys[sel], "t": day_end[sel], "y": y[sel]}).groupby(
                ["k", "t"], sort=True
            )["y"]
            ra = pd.DataFrame({"f": rg.sum(), "n": rg.count()})
            recent[col] = RecentLabels(
                tuple(str(k) for k in ra.index.get_level_values(0)),
                tuple(int(t) for t in ra.index.get_level_values(1)),
                tuple(int(v) for v in ra["f"]),
                tuple(int(v) for v in ra["n"]),
            )
    gf, gn = int(np.nansum(y)), int(np.isfinite(y).sum())
    return FeatureSchema(
        names=schema.names,
        config=schema.config,
        channels=schema.channels,
        entities=schema.entities,
        numeric_columns=schema.numeric_columns,
        categories=schema.categories,
        risk=tables,
        recent=recent,
        global_risk=(gf, gn),
        cutoff_ms=int(cutoff_ms),
        ignored=schema.ignored,
        derived=schema.derived,
    )
