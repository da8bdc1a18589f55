"""Case priority and SLA arithmetic, kept apart from SQL so it is easy to read and test.

Priority of a case at time ``t``::

    priority(t) = ln(1 + score * amount) + age_hours(t) / tau

``score * amount`` is the expected loss; the log keeps one huge amount from burying every other
case, and the age term makes a case gain +1 (a factor e on expected loss) for every ``tau`` hours
it waits (``ReviewConfig.age_tau_hours``, default 24 h), so nothing starves.

Because every case ages at the same rate, the order of ``priority(t)`` over cases does not depend
on ``t``: ``priority(t) = rank_key + t_hours / tau`` with
``rank_key = ln(1 + score * amount) - created_hours / tau``. The queue stores ``rank_key`` in an
indexed column and claims by ``ORDER BY rank_key DESC``; no date arithmetic in SQL.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _hours_since_epoch(moment: datetime) -> float:
    return (moment - _EPOCH).total_seconds() / 3600.0


def rank_key(score: float, amount: float, created_at: datetime, tau_hours: float) -> float:
    """Time-independent sort key: larger means claimed sooner."""
    expected_loss = max(score, 0.0) * max(amount, 0.0)
    return math.log1p(expected_loss) - _hours_since_epoch(created_at) / tau_hours


def priority_at(key: float, now: datetime, tau_hours: float) -> float:
    """The priority shown to analysts at ``now`` for a case with ``rank_key`` ``key``."""
    return key + _hours_since_epoch(now) / tau_hours


def sla_state(
    created_at: datetime, due_at: datetime, now: datetime, at_risk_fraction: float
) -> str:
    """``"ok"``, ``"at_risk"`` (last ``at_risk_fraction`` of the window) or ``"breached"``."""
    if now >= due_at:
        return "breached"
    window = due_at - created_at
    if now >= due_at - timedelta(seconds=window.total_seconds() * at_risk_fraction):
        return "at_risk"
    return "ok"
