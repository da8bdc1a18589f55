"""A disk cache of feature datasets, so settings can be tried without recomputing features.

Computing the code model's features is the whole cost of training the detector (about ten
minutes for the seeded training and validation files on two cores, far more under load). The
rows only depend on the code model, the files and the sampling settings, so they are kept as an
``.npz`` file named by a digest of exactly those (`dataset_key`). A cached dataset has no seeded
`Mutation`s (training does not need them): `Dataset.mutations` comes back empty.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from codeassist.defects.dataset import Dataset
from codeassist.files import write_atomic

_ARRAYS = ("x", "y", "kind", "group", "spans")


def dataset_key(**parts: object) -> str:
    """A short digest of everything a dataset's rows depend on (JSON-serialisable values)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def save_dataset(data: Dataset, path: Path) -> None:
    """Write `data`'s arrays and line count to `path` (.npz, atomically, no pickle)."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, **{name: getattr(data, name) for name in _ARRAYS}, lines=np.array(data.lines)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue())


def load_dataset(path: Path) -> Dataset:
    """Read a dataset written by `save_dataset` (its mutations are not kept)."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in _ARRAYS}
        return Dataset(**arrays, lines=int(stored["lines"]), mutations=[])


def cached_dataset(cache_dir: Path | None, key: str, build: Callable[[], Dataset]) -> Dataset:
    """`build()`'s dataset, read from ``cache_dir/<key>.npz`` when there, else built and kept
    there. No cache directory: always built."""
    if cache_dir is None:
        return build()
    path = cache_dir / f"{key}.npz"
    if path.is_file():
        return load_dataset(path)
    data = build()
    save_dataset(data, path)
    return data
