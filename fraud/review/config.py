"""Review-queue options: one frozen dataclass with every default, built from `[review]` settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from fraud.review.errors import ReviewConfigError

_DEFAULT_SLA_HOURS = {"high": 4.0, "medium": 24.0, "low": 72.0}


@dataclass(frozen=True)
class ReviewConfig:
    """How the queue ranks, leases and times cases.

    Attributes:
        lease_minutes: How long a claim lasts before the case goes back to the queue.
        sla_hours: Hours from case creation to its SLA deadline, per band.
        default_sla_hours: SLA for a band not listed in ``sla_hours``.
        at_risk_fraction: A case is *at risk* during this last fraction of its SLA window.
        age_tau_hours: Priority grows by 1 (a factor e on score x amount) every this many hours
            of waiting; see `fraud.review.priority`.
        history_limit: Transactions of the customer's history shown by ``review show``.
    """

    lease_minutes: float = 15.0
    sla_hours: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(dict(_DEFAULT_SLA_HOURS))
    )
    default_sla_hours: float = 24.0
    at_risk_fraction: float = 0.25
    age_tau_hours: float = 24.0
    history_limit: int = 10

    def __post_init__(self) -> None:
        for name in ("lease_minutes", "default_sla_hours", "age_tau_hours"):
            if not getattr(self, name) > 0:
                raise ReviewConfigError(name, f"must be > 0, got {getattr(self, name)!r}")
        if not 0 <= self.at_risk_fraction < 1:
            raise ReviewConfigError("at_risk_fraction", "must be in [0, 1)")
        if self.history_limit < 0:
            raise ReviewConfigError("history_limit", "must be >= 0")
        for band, hours in self.sla_hours.items():
            if not isinstance(hours, int | float) or isinstance(hours, bool) or hours <= 0:
                raise ReviewConfigError(f"sla_hours.{band}", f"must be a number > 0, got {hours!r}")
        object.__setattr__(self, "sla_hours", MappingProxyType(dict(self.sla_hours)))

    def sla_for(self, band: str) -> float:
        """SLA window in hours for ``band``."""
        return float(self.sla_hours.get(band, self.default_sla_hours))


def review_config_from_mapping(section: Mapping[str, Any]) -> ReviewConfig:
    """Build a `ReviewConfig` from the settings file's ``[review]`` table.

    Args:
        section: Keys named like the `ReviewConfig` fields; ``sla_hours`` is a table of
            band -> hours that overrides the defaults band by band.

    Raises:
        ReviewConfigError: An unknown key or a value of the wrong type.
    """
    known = {f.name: f for f in fields(ReviewConfig)}
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key not in known:
            raise ReviewConfigError(key, f"unknown key; expected one of {', '.join(sorted(known))}")
        if key == "sla_hours":
            if not isinstance(value, Mapping):
                raise ReviewConfigError(key, "must be a table of band = hours")
            values[key] = {**_DEFAULT_SLA_HOURS, **value}
        elif key == "history_limit":
            if not isinstance(value, int) or isinstance(value, bool):
                raise ReviewConfigError(key, f"must be an integer, got {value!r}")
            values[key] = value
        else:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ReviewConfigError(key, f"must be a number, got {value!r}")
            values[key] = float(value)
    return ReviewConfig(**values)
