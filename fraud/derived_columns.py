"""Features an analyst derives from raw file columns: ages from dates, distances from positions.

A fraud team's file often carries a date of birth (or an account opening date) and two positions
(the customer's home and the merchant). Raw, they mislead a model: a date string has thousands of
distinct values, a coordinate invites the model to memorise places. What carries the signal is
the customer's age at the transaction and how far the purchase is from home, so:

- a column of date strings becomes ``years_since_<col>``: years from that date to the
  transaction's own time (negative for a date after it, e.g. a card's expiry);
- every two positions, each a latitude/longitude pair recognised by name (``lat``/``latitude``
  and ``lon``/``long``/``lng``/``longitude``, with the same prefix or suffix, e.g.
  ``merch_lat``/``merch_long``) and by value range, become ``km_<a>_to_<b>`` (great-circle km).

Each derived value reads only its own row, so it is causal and the same in a file and for one
transaction scored alone. Definitions are found generically (no file's column names are known
here) and recorded in the bundle (`fraud.feature_schema.DerivedColumn`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from fraud.feature_schema import DerivedColumn, timestamps_ms

EARTH_RADIUS_KM = 6371.0
YEAR_MS = 365.25 * 86_400_000
_LAT = frozenset({"lat", "latitude"})
_LON = frozenset({"lon", "long", "lng", "longitude"})
_PARSE_SHARE = 0.98  # of non-missing values that must parse (as dates, as coordinates)
_SAMPLE = 2000
# Tried in order; an explicit format parses one value exactly as it parses a column, so a
# transaction scored alone gets the age it would get in a file.
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "ISO8601",
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def name_tokens(column: str) -> list[str]:
    """Lower-case words of a column name (``merchLat`` and ``merch_lat`` -> merch, lat)."""
    return [t for t in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", column).lower()) if t]


def _numbers(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    text = values.astype("string").str.strip()
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _coordinate_role(frame: pd.DataFrame, column: str) -> tuple[str, str] | None:
    """("lat" | "lon", stem) when name and values say the column is one coordinate."""
    tokens = name_tokens(column)
    lat = [i for i, t in enumerate(tokens) if t in _LAT]
    lon = [i for i, t in enumerate(tokens) if t in _LON]
    if len(lat) + len(lon) != 1:
        return None
    role, at = ("lat", lat[0]) if lat else ("lon", lon[0])
    v = _numbers(frame[column])
    present = frame[column].notna().to_numpy()
    ok = np.isfinite(v)
    if ok.sum() == 0 or ok.sum() < _PARSE_SHARE * present.sum():
        return None
    bound = 90.0 if role == "lat" else 180.0
    if np.abs(v[ok]).max() > bound or np.ptp(v[ok]) == 0:
        return None
    return role, "_".join(tokens[:at] + tokens[at + 1 :])


def coordinate_pairs(frame: pd.DataFrame, columns: Iterable[str]) -> list[tuple[str, str, str]]:
    """Positions among ``columns``: (label, latitude column, longitude column), by name order.

    A latitude and a longitude pair up when their names differ only in that word.
    """
    lats: dict[str, str] = {}
    lons: dict[str, str] = {}
    for col in columns:
        role = _coordinate_role(frame, col)
        if role is not None:
            (lats if role[0] == "lat" else lons).setdefault(role[1], col)
    return [(stem or "lat_lon", lats[stem], lons[stem]) for stem in sorted(lats) if stem in lons]


def date_format(values: pd.Series) -> str | None:
    """The first of `DATE_FORMATS` that parses the column's values, None if none does."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None  # 19880309 is as likely an id as a date: only text dates are read
    present = values.dropna()
    sample = present.iloc[:_SAMPLE].astype("string").str.strip()
    sample = sample[sample.str.len() > 0]
    if len(sample) == 0 or sample.str.contains(r"\d", regex=True).mean() < _PARSE_SHARE:
        return None
    if pd.to_numeric(sample, errors="coerce").notna().mean() >= _PARSE_SHARE:
        return None  # numbers read as text (CSV): the numeric rules decide about them
    for fmt in DATE_FORMATS:
        if _parse_dates(sample, fmt).notna().mean() >= _PARSE_SHARE:
            text = present.astype("string").str.strip()
            if _parse_dates(text[text.str.len() > 0], fmt).notna().mean() >= _PARSE_SHARE:
                return fmt
    return None


def _parse_dates(values: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(values.astype("string"), format=fmt, utc=True, errors="coerce")


def find_derived(
    frame: pd.DataFrame, candidates: Sequence[str], coordinates: Sequence[str] = ()
) -> tuple[list[DerivedColumn], dict[str, str]]:
    """Derived columns of the training rows, and the raw columns they stand in for.

    Args:
        frame: the training rows (``timestamp`` parsed).
        candidates: the file's extra columns (may become dates or coordinates).
        coordinates: canonical columns that may also form a position (``lat``, ``lon``);
            they are sources only, never reported as left out.

    Returns:
        (definitions, {raw extra column: why it is not used raw}).
    """
    derived: list[DerivedColumn] = []
    consumed: dict[str, str] = {}
    taken = set(frame.columns)

    def unique(name: str) -> str:
        while name in taken or f"num_{name}" in taken:
            name += "_derived"
        taken.add(name)
        return name

    pairs = coordinate_pairs(frame, [*coordinates, *candidates])
    for i, (label_a, lat_a, lon_a) in enumerate(pairs):
        for label_b, lat_b, lon_b in pairs[i + 1 :]:
            name = unique(f"km_{label_a}_to_{label_b}")
            derived.append(DerivedColumn(name, "distance_km", (lat_a, lon_a, lat_b, lon_b)))
    if len(pairs) > 1:
        for _, lat, lon in pairs:
            for col in (lat, lon):
                if col in candidates:
                    # A raw position lets trees memorise places; the distance generalises.
                    consumed[col] = "coordinate: used as distances between positions"
    for col in candidates:
        if col in consumed:
            continue
        fmt = date_format(frame[col])
        if fmt is not None:
            name = unique(f"years_since_{'_'.join(name_tokens(col)) or 'date'}")
            derived.append(DerivedColumn(name, "years_since", (col,), fmt))
            consumed[col] = f"date ({fmt}): used as {name}, years to the transaction"
    return derived, consumed


def compute_derived(frame: pd.DataFrame, column: DerivedColumn) -> np.ndarray:
    """Values of one derived column for every row of ``frame`` (float64, NaN where unknown)."""
    if column.kind == "distance_km":
        lat_a, lon_a, lat_b, lon_b = (_numbers(frame[c]) for c in column.sources)
        return haversine_km(lat_a, lon_a, lat_b, lon_b)
    if column.kind == "years_since":
        source = frame[column.sources[0]]
        if isinstance(source.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(source):
            dates = pd.to_datetime(source, utc=True)
        else:
            dates = _parse_dates(source, column.date_format or "ISO8601")
        ms = dates.to_numpy(dtype="datetime64[ms]").astype(np.int64).astype(np.float64)
        ms[dates.isna().to_numpy()] = np.nan
        return (timestamps_ms(frame["timestamp"]).astype(np.float64) - ms) / YEAR_MS
    raise ValueError(f"unknown derived column kind {column.kind!r}")  # internal invariant


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:  # noqa: ANN001 (arrays or scalars)
    """Great-circle distance in km (NaN where any coordinate is missing)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
