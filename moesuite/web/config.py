"""Options of the web service: one frozen dataclass, built from the settings file's ``[web]``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from moesuite.web.errors import WebConfigError


@dataclass(frozen=True)
class WebOptions:
    """How the service limits, signs and stores.

    Attributes:
        max_body_bytes: Largest request body for JSON and form endpoints.
        max_upload_bytes: Largest job upload (streamed to disk, refused past this size).
        rate_per_minute: Requests a caller (token, session or client address) may make per
            minute, with bursts of up to ``rate_burst``.
        rate_burst: Bucket size of the rate limiter.
        login_attempts_per_minute: Sign-in attempts per client address and user name.
        session_hours: How long a console session lasts.
        cookie_secure: Send cookies only over HTTPS (set it behind a TLS proxy).
        result_wait_max_s: Longest ``?wait=`` a job-result request may ask for.
        token_cache_s: How long a verified API token is trusted without asking the database
            again; a revoked token stops working within this time.
    """

    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 200_000_000
    rate_per_minute: float = 1200.0
    rate_burst: int = 200
    login_attempts_per_minute: float = 10.0
    session_hours: float = 8.0
    cookie_secure: bool = False
    result_wait_max_s: float = 30.0
    token_cache_s: float = 2.0

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_upload_bytes", "rate_burst"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise WebConfigError(name, f"must be an integer >= 1, got {getattr(self, name)!r}")
        for name in ("rate_per_minute", "login_attempts_per_minute", "session_hours"):
            if not getattr(self, name) > 0:
                raise WebConfigError(name, f"must be > 0, got {getattr(self, name)!r}")
        for name in ("result_wait_max_s", "token_cache_s"):
            if getattr(self, name) < 0:
                raise WebConfigError(name, "must be >= 0")


def web_options_from_mapping(section: Mapping[str, Any]) -> WebOptions:
    """Build `WebOptions` from the ``[web]`` table (keys named like the fields, dashes allowed).

    Raises:
        WebConfigError: An unknown key or a value of the wrong type.
    """
    known = {f.name: f for f in fields(WebOptions)}
    values: dict[str, Any] = {}
    for raw_key, value in section.items():
        key = raw_key.replace("-", "_")
        if key not in known:
            raise WebConfigError(
                raw_key, f"unknown key; expected one of {', '.join(sorted(known))}"
            )
        expected = bool if key == "cookie_secure" else (int | float)
        if not isinstance(value, expected) or (key != "cookie_secure" and isinstance(value, bool)):
            raise WebConfigError(raw_key, f"has the wrong type: {value!r}")
        values[key] = value
    return WebOptions(**values)
