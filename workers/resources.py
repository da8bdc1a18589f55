"""Per-process cache of loaded models and bundles, filled at process init or on first use.

``worker_process_init`` fires in prefork children and the solo pool but not in the threads
pool (FIELD_NOTES), so every lookup goes through a lock-guarded lazy loader as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

_LOCK = threading.Lock()
_CACHE: dict[Hashable, Any] = {}
_LOADS: dict[Hashable, int] = {}


def cached(key: Hashable, load: Callable[[], Any]) -> Any:
    """Return the object cached under ``key``, calling ``load()`` once per process to make it."""
    value = _CACHE.get(key)
    if value is not None:
        return value
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load()
            _LOADS[key] = _LOADS.get(key, 0) + 1
        return _CACHE[key]


def load_counts() -> dict[str, int]:
    """How many times each key was loaded in this process (1 means loaded once and reused)."""
    with _LOCK:
        return {str(k): v for k, v in _LOADS.items()}


def clear() -> None:
    """Forget every cached object (after a fork in a parent that loaded some)."""
    with _LOCK:
        _CACHE.clear()
        _LOADS.clear()
