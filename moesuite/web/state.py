"""What every handler shares, built once per app: settings, database, options, lazy resources."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlalchemy import Engine

from fraud.review.config import ReviewConfig
from moesuite.settings import Settings
from moesuite.web.config import WebOptions
from moesuite.web.limits import RateLimiter
from moesuite.web.metrics import ServiceMetrics


@dataclass
class WebState:
    """The app's shared state (``app.state.web``).

    ``bundle_loader`` and ``job_client_factory`` are called at most once, on first use, so the
    service starts without loading the model or reaching the broker.
    """

    settings: Settings
    options: WebOptions
    engine: Engine
    review: ReviewConfig
    bundle_loader: Callable[[], Any]
    job_client_factory: Callable[[], Any]
    limiter: RateLimiter
    login_limiter: RateLimiter
    metrics: ServiceMetrics
    token_cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    _bundle: Any = None
    _jobs: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def uploads_dir(self) -> Path:
        return self.settings.home / "web-jobs"

    def bundle(self) -> Any:
        """The fraud bundle, loaded on first use."""
        with self._lock:
            if self._bundle is None:
                self._bundle = self.bundle_loader()
            return self._bundle

    @property
    def bundle_loaded(self) -> bool:
        return self._bundle is not None

    def jobs(self) -> Any:
        """The `workers.client.JobClient`, connected on first use."""
        with self._lock:
            if self._jobs is None:
                self._jobs = self.job_client_factory()
            return self._jobs

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.close()


async def web_state(request: Request) -> WebState:
    """FastAPI dependency: the app's `WebState`."""
    return request.app.state.web
