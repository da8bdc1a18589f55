"""What a bundle's features are: their definitions (`FeatureConfig`) and the state they need.

`FeatureSchema` is saved in the bundle: feature names in model column order, the entity columns
and extra file columns the features read, and the label counts (cumulative and recent) known at
the training cutoff. Small key/time helpers every feature module shares live here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fraud.errors import FraudError

DAY_MS = 86_400_000

# Canonical columns that name an entity shared by many customers' transactions (or, for
# card_token, a card): each gets windowed activity and label-risk features when present.
ENTITY_COLUMNS = ("card_token", "terminal_id", "merchant_id", "device_id", "mcc", "country")
# Entities so coarse that their activity is the whole file's volume: label risk only. (A single
# transaction would also have to read a whole country's rows from the history store.)
RISK_ONLY_ENTITIES = ("mcc", "country")

_Windows = tuple[tuple[str, float], ...]


class FeatureSchemaError(FraudError):
    """The input lacks a column the feature schema (of a trained bundle) needs."""


def _windows_json(windows: _Windows) -> list[list[Any]]:
    return [[n, s] for n, s in windows]


def _windows_from(data: Any) -> _Windows:
    return tuple((str(n), float(s)) for n, s in data)


@dataclass(frozen=True)
class FeatureConfig:
    """Definitions of the behavioural features.

    Attributes:
        windows: (name, seconds) look-back windows for the customer's counts and amount sums.
        entity_windows: windows for every entity's transaction counts and mean amounts.
        risk_windows: windows of label *known times* for every entity's recent fraud rate
            (the textbook "fraud rate over the last 1/7/30 days of known labels").
        label_delay_days: when a labelled row has no ``label_time``, its label is taken as
            known this many days after the transaction.
        risk_prior_weight: pseudo-count that shrinks an entity's cumulative fraud rate to the
            global rate.
        risk_window_prior_weight: the same for the windowed rates (fewer labels per window,
            so a lighter prior keeps a burst of frauds visible).
        risk_default_rate: global fraud rate used before any label is known.
        home_grid_deg: grid cell size (degrees) for the customer's modal "home" location.
        recent_amounts: how many of the customer's previous amounts the median ratio and the
            rank compare against.
        label_state: also the label state of every entity with activity features and of
            the customer (`fraud.label_state`: how old its latest and first known frauds
            are, labels since, fraud share since); training chooses it per file.
    """

    windows: _Windows = (
        ("1h", 3600.0),
        ("24h", 86400.0),
        ("7d", 7 * 86400.0),
        ("30d", 30 * 86400.0),
    )
    entity_windows: _Windows = (("1d", 86400.0), ("7d", 7 * 86400.0), ("30d", 30 * 86400.0))
    risk_windows: _Windows = (("1d", 86400.0), ("7d", 7 * 86400.0), ("30d", 30 * 86400.0))
    label_delay_days: float = 7.0
    risk_prior_weight: float = 20.0
    risk_window_prior_weight: float = 2.0
    risk_default_rate: float = 0.01
    home_grid_deg: float = 0.1
    recent_amounts: int = 10
    label_state: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "windows": _windows_json(self.windows),
            "entity_windows": _windows_json(self.entity_windows),
            "risk_windows": _windows_json(self.risk_windows),
            "label_delay_days": self.label_delay_days,
            "risk_prior_weight": self.risk_prior_weight,
            "risk_window_prior_weight": self.risk_window_prior_weight,
            "risk_default_rate": self.risk_default_rate,
            "home_grid_deg": self.home_grid_deg,
            "recent_amounts": self.recent_amounts,
            "label_state": self.label_state,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureConfig:
        default = cls()
        return cls(
            windows=_windows_from(data["windows"]),
            entity_windows=_windows_from(data.get("entity_windows", ())),
            risk_windows=_windows_from(data.get("risk_windows", ())),
            label_delay_days=float(data["label_delay_days"]),
            risk_prior_weight=float(data["risk_prior_weight"]),
            risk_window_prior_weight=float(
                data.get("risk_window_prior_weight", default.risk_window_prior_weight)
            ),
            risk_default_rate=float(data["risk_default_rate"]),
            home_grid_deg=float(data["home_grid_deg"]),
            recent_amounts=int(data.get("recent_amounts", default.recent_amounts)),
            # Bundles from before label-state features do not have the key.
            label_state=bool(data.get("label_state", False)),
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
class RecentLabels:
    """Labels of one entity column known in the last risk window before the cutoff.

    Aggregated per (key, day the labels became known); each day's labels count from the end
    of that day (or the cutoff, if earlier), so a windowed rate never sees a label before it
    was known. Windowed risk right after the cutoff needs them: the cumulative table alone
    cannot say *when* its labels arrived.
    """

    keys: tuple[str, ...] = ()
    known_ms: tuple[int, ...] = ()
    frauds: tuple[int, ...] = ()
    labels: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        # Columnar and compact: each distinct key once, days instead of epoch milliseconds
        # (a bundle carries tens of thousands of (key, day) entries).
        uniques = sorted(set(self.keys))
        index = {k: i for i, k in enumerate(uniques)}
        first_day = int(min(self.known_ms, default=0) // DAY_MS)
        return {
            "key_names": uniques,
            "key": [index[k] for k in self.keys],
            "first_day": first_day,
            "day_offset": [int(t // DAY_MS) - first_day for t in self.known_ms],
            "day_end": [int((t + 1) % DAY_MS == 0) for t in self.known_ms],
            "cutoff_ms": max(self.known_ms, default=0),
            "frauds": list(self.frauds),
            "labels": list(self.labels),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecentLabels:
        if "key_names" not in data:  # the plain layout
            return cls(
                tuple(str(k) for k in data["keys"]),
                tuple(int(v) for v in data["known_ms"]),
                tuple(int(v) for v in data["frauds"]),
                tuple(int(v) for v in data["labels"]),
            )
        names = [str(k) for k in data["key_names"]]
        first_day = int(data["first_day"])
        cutoff = int(data["cutoff_ms"])
        known = [
            (first_day + off + 1) * DAY_MS - 1 if end else cutoff
            for off, end in zip(data["day_offset"], data["day_end"], strict=True)
        ]
        return cls(
            tuple(names[i] for i in data["key"]),
            tuple(int(t) for t in known),
            tuple(int(v) for v in data["frauds"]),
            tuple(int(v) for v in data["labels"]),
        )


@dataclass(frozen=True)
class DerivedColumn:
    """A feature derived from the file's raw columns (`fraud.derived_columns` computes it).

    Attributes:
        name: the column's name; its feature is ``num_<name>``.
        kind: ``years_since`` (a date column -> years to the transaction's time) or
            ``distance_km`` (two latitude/longitude pairs -> great-circle km).
        sources: the raw columns it reads (one date; or lat, lon, lat, lon).
        date_format: the ``strptime`` format (or ``ISO8601``) the dates were read with.
    """

    name: str
    kind: str
    sources: tuple[str, ...]
    date_format: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "sources": list(self.sources),
            "date_format": self.date_format,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DerivedColumn:
        fmt = data.get("date_format")
        return cls(
            str(data["name"]),
            str(data["kind"]),
            tuple(str(c) for c in data["sources"]),
            None if fmt is None else str(fmt),
        )


@dataclass(frozen=True)
class FeatureSchema:
    """Which features a model uses and the state they need (saved in the bundle).

    Attributes:
        names: feature names, in model column order.
        config: the feature definitions.
        channels: channel values seen in training (others encode as missing).
        entities: entity columns with activity and risk features (canonical or user-named).
        numeric_columns: the file's own numeric columns used as features (``num_<col>``),
            including the names of ``derived`` columns.
        categories: the file's own low-cardinality columns and their training values
            (``cat_<col>``; other values encode as missing).
        risk: per entity column, label counts known at ``cutoff_ms``.
        recent: per entity column, labels known in the last risk window before the cutoff.
        global_risk: (frauds, labels) over all keys at ``cutoff_ms``.
        cutoff_ms: epoch milliseconds up to which ``risk`` counts labels; None = no table.
        ignored: extra file columns left out, with the reason (for the training summary).
        derived: columns computed from raw file columns (ages from dates, distances from
            coordinates); each is also named in ``numeric_columns``.
    """

    names: tuple[str, ...]
    config: FeatureConfig = FeatureConfig()
    channels: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    numeric_columns: tuple[str, ...] = ()
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    risk: Mapping[str, RiskTable] = field(default_factory=dict)
    recent: Mapping[str, RecentLabels] = field(default_factory=dict)
    global_risk: tuple[int, int] = (0, 0)
    cutoff_ms: int | None = None
    ignored: Mapping[str, str] = field(default_factory=dict)
    derived: tuple[DerivedColumn, ...] = ()

    def required_columns(self) -> list[str]:
        """Input columns the features need (beyond the mandatory canonical ones)."""
        need: set[str] = set()
        for name in self.names:
            if name.startswith("new_"):
                need.add(name[4:])
            if name in ("dist_home_km", "dist_prev_km", "speed_kmh"):
                need.update(("lat", "lon"))
            if name == "channel_code":
                need.add("channel")
        for entity in self.entities:
            if any(n.startswith(f"{entity}_") for n in self.names):
                need.add(entity)
        derived = {d.name: d.sources for d in self.derived}
        for c in self.numeric_columns:
            if f"num_{c}" in self.names:
                need.update(derived.get(c, (c,)))
        need.update(c for c in self.categories if f"cat_{c}" in self.names)
        return sorted(need)

    def to_json(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "config": self.config.to_json(),
            "channels": list(self.channels),
            "entities": list(self.entities),
            "numeric_columns": list(self.numeric_columns),
            "categories": {c: list(v) for c, v in self.categories.items()},
            "risk": {c: t.to_json() for c, t in self.risk.items()},
            "recent": {c: t.to_json() for c, t in self.recent.items()},
            "global_risk": list(self.global_risk),
            "cutoff_ms": self.cutoff_ms,
            "ignored": dict(self.ignored),
            # Written only when present: a schema without derived columns keeps the JSON, and
            # so the bundle content version, it had before derived columns existed.
            **({"derived": [d.to_json() for d in self.derived]} if self.derived else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSchema:
        # Bundles from before entity families: risk keyed merchant, terminal and MCC only.
        legacy_entities = tuple(data["risk"]) if "entities" not in data else ()
        return cls(
            names=tuple(data["names"]),
            config=FeatureConfig.from_json(data["config"]),
            channels=tuple(data["channels"]),
            entities=tuple(data.get("entities", legacy_entities)),
            numeric_columns=tuple(data.get("numeric_columns", ())),
            categories={c: tuple(v) for c, v in data.get("categories", {}).items()},
            risk={c: RiskTable.from_json(t) for c, t in data["risk"].items()},
            recent={c: RecentLabels.from_json(t) for c, t in data.get("recent", {}).items()},
            global_risk=(int(data["global_risk"][0]), int(data["global_risk"][1])),
            cutoff_ms=data["cutoff_ms"],
            ignored=dict(data.get("ignored", {})),
            derived=tuple(DerivedColumn.from_json(d) for d in data.get("derived", ())),
        )


def require_columns(frame: pd.DataFrame, schema: FeatureSchema, source: str | None = None) -> None:
    """Refuse an input that lacks a column the schema's features read, naming file and columns.

    Raises:
        FeatureSchemaError: ``frame`` lacks one of ``schema.required_columns()``.
    """
    missing = [c for c in schema.required_columns() if c not in frame.columns]
    if missing:
        where = f"{source}: " if source else ""
        derived = [
            f"{d.name} reads {', '.join(d.sources)}"
            for d in schema.derived
            if set(d.sources) & set(missing)
        ]
        because = f" ({'; '.join(derived)})" if derived else ""
        raise FeatureSchemaError(
            f"{where}input lacks column(s) {', '.join(missing)} that the model's features "
            f"need{because}; map them with --column-map or use a bundle trained without them"
        )


def present(frame: pd.DataFrame, col: str) -> bool:
    """``col`` exists in ``frame`` and has at least one value."""
    return col in frame.columns and bool(frame[col].notna().any())


def timestamps_ms(series: pd.Series) -> np.ndarray:
    """Epoch milliseconds of a UTC datetime column, whatever its pandas resolution."""
    # A tz-aware column converts to UTC datetime64 directly (35x cheaper than tz_convert +
    # tz_localize, which dominates on the few rows of one customer's history).
    return series.to_numpy(dtype="datetime64[ms]").astype(np.int64)


# Up to this many rows, converting values to strings one by one in Python beats pandas'
# string conversion, which costs ~0.3 ms a column whatever its length: single-transaction
# scoring computes features over one customer's short history.
SMALL = 2048


def _missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and value != value)
    )


def string_keys(values: pd.Series) -> np.ndarray:
    """Values as strings, as ``astype("string")`` writes them; None where missing."""
    if len(values) > SMALL:
        return values.astype("string").to_numpy(dtype=object, na_value=None)
    out = np.empty(len(values), dtype=object)
    out[:] = [None if _missing(v) else str(v) for v in values.tolist()]
    return out


def key_codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a column's string keys (-1 where missing), in order of appearance."""
    keys = string_keys(values) if len(values) <= SMALL else values.astype("string")
    codes, _ = pd.factorize(keys, use_na_sentinel=True)
    return codes.astype(np.int64)
