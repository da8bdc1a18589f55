"""A bundle's label tables cut down to one transaction's keys, for single-transaction scoring.

A bundle carries label counts per terminal, merchant, device... and tens of thousands of
(key, day) recent-label entries. Entity features convert and code all of them on every call
(fine for a file, most of the cost for one transaction), yet one transaction's features read
only the entries of its own keys. `schema_for_keys` gives a schema holding just those, from
an index built once per schema; the transaction's features are the same (the counts are
integers, so their sums do not depend on which other keys are present).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from fraud.feature_schema import FeatureSchema, RecentLabels, RiskTable


@dataclass(frozen=True)
class _RecentIndex:
    """One entity's recent labels as arrays, with each key's entry positions."""

    known_ms: np.ndarray
    frauds: np.ndarray
    labels: np.ndarray
    positions: Mapping[str, np.ndarray]


def _index(recent: RecentLabels) -> _RecentIndex:
    keys = np.asarray(recent.keys, dtype=object)
    positions: dict[str, np.ndarray] = {}
    if len(keys):
        order = np.argsort(keys, kind="stable")  # entries of a key keep their order
        uniq, starts = np.unique(keys[order], return_index=True)
        bounds = [*starts.tolist(), len(keys)]
        positions = {str(k): order[bounds[i] : bounds[i + 1]] for i, k in enumerate(uniq)}
    return _RecentIndex(
        np.asarray(recent.known_ms, dtype=np.int64),
        np.asarray(recent.frauds, dtype=np.int64),
        np.asarray(recent.labels, dtype=np.int64),
        positions,
    )


# Schemas are large and frozen: index each one once per process (by identity; few bundles).
_CACHE: dict[int, tuple[FeatureSchema, dict[str, _RecentIndex]]] = {}
_EMPTY = np.zeros(0, dtype=np.int64)


def _indexes(schema: FeatureSchema) -> dict[str, _RecentIndex]:
    entry = _CACHE.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_CACHE) >= 8:
            _CACHE.clear()
        entry = (schema, {col: _index(r) for col, r in schema.recent.items()})
        _CACHE[id(schema)] = entry
    return entry[1]


def schema_for_keys(schema: FeatureSchema, keys: Mapping[str, str | None]) -> FeatureSchema:
    """``schema`` with risk tables and recent labels holding only the given keys' entries.

    Args:
        schema: a bundle's feature schema.
        keys: per entity column, the transaction's key (None or absent: no entries kept).
    """
    indexes = _indexes(schema)
    risk: dict[str, RiskTable] = {}
    for col, table in schema.risk.items():
        key = keys.get(col)
        hit = table.counts.get(key) if key is not None else None
        risk[col] = RiskTable({key: hit} if hit is not None and key is not None else {})
    recent: dict[str, RecentLabels] = {}
    for col, index in indexes.items():
        key = keys.get(col)
        pos = index.positions.get(key, _EMPTY) if key is not None else _EMPTY
        recent[col] = RecentLabels(
            (key,) * len(pos) if key is not None else (),
            tuple(index.known_ms[pos].tolist()),
            tuple(index.frauds[pos].tolist()),
            tuple(index.labels[pos].tolist()),
        )
    return dataclasses.replace(schema, risk=risk, recent=recent)
