"""Review-queue fixtures: a fresh SQLite file or a fresh PostgreSQL schema (tests/conftest.py's
`pg_url`) per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from fraud.review.db import dispose_engines, get_engine
from fraud.review.queue import CaseInput

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'review.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    yield get_engine(db_url)
    dispose_engines()


def _make_case(index: int, **overrides) -> CaseInput:
    """A scoring-like case; deterministic from ``index``."""
    values = dict(
        transaction_id=f"tx-{index:05d}",
        customer_id=f"cust-{index % 7}",
        amount=10.0 + (index * 37) % 900,
        currency="EUR",
        score=0.5 + (index % 50) / 100,
        band="high" if index % 2 else "medium",
        reasons=("amount_vs_history", "new_device"),
        model_version="fraud-2026.03",
        occurred_at=T0,
        transaction={"mcc": "5411", "card_token": f"tok_{index}", "channel": "web"},
    )
    values.update(overrides)
    return CaseInput(**values)


@pytest.fixture
def make_case():
    """``make_case(index, **overrides) -> CaseInput`` (occurred at T0 = 2026-03-02 09:00 UTC)."""
    return _make_case
