"""Helpers of the web tests: seeding, the app builder and console sign-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from fraud.review.history import record_transactions
from fraud.review.queue import CaseInput, upsert_cases
from moesuite.settings import load_settings
from moesuite.web.app import create_app
from moesuite.web.config import WebOptions
from moesuite.web.store import create_token, create_user

PASSWORD = "correct horse battery"
SCOPES = ("score", "jobs", "review", "code", "admin")


def seed_cases(engine, n: int = 6, now: datetime | None = None) -> list[int]:
    """``n`` review cases (cust-0 has three earlier transactions, cust-1 two); returns the ids."""
    now = now or datetime.now(UTC)
    history = pd.DataFrame(
        {
            "transaction_id": [f"h-{i}" for i in range(5)],
            "timestamp": [now - timedelta(days=5 - i) for i in range(5)],
            "customer_id": ["cust-0"] * 3 + ["cust-1"] * 2,
            "amount": [12.5, 40.0, 18.25, 75.0, 9.99],
            "merchant_id": ["m-7", "m-8", "m-7", "m-1", "m-2"],
            "terminal_id": ["t-1", "t-2", "t-1", "t-5", "t-6"],
            "country": ["DE"] * 5,
        }
    )
    record_transactions(engine, history)
    cases = [
        CaseInput(
            transaction_id=f"tx-{i}",
            customer_id=f"cust-{i % 2}",
            amount=100.0 + 50 * i,
            currency="EUR",
            score=0.3 + 0.1 * i,
            band="review",
            reasons=("amount well above this customer's usual", "new terminal"),
            model_version="fraud-test-v1",
            occurred_at=now - timedelta(minutes=5 * i),
            transaction={"merchant_id": "m-7", "terminal_id": f"t-{i % 3}", "channel": "web"},
        )
        for i in range(n)
    ]
    upsert_cases(engine, cases, now=now - timedelta(hours=1))
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT id FROM cases ORDER BY id"))]


@dataclass
class Web:
    """A running app with its database, tokens per scope and console users."""

    app: Any
    client: TestClient
    tokens: dict[str, str]
    case_ids: list[int]
    home: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def engine(self):  # noqa: ANN201
        return self.app.state.web.engine

    def auth(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}

    def login(self, client: TestClient, username: str) -> str:
        """Sign ``client`` in as ``username``; returns the session's CSRF token from a page."""
        page = client.get("/console/login")
        csrf = _hidden(page.text, "csrf_token")
        answer = client.post(
            "/console/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return _hidden(client.get("/console/").text, "csrf_token")


def _hidden(html: str, name: str) -> str:
    import re

    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, f"no hidden {name} in page"
    return found.group(1)


def build_web(
    home: Path,
    database_url: str,
    *,
    options: WebOptions | None = None,
    bundle_loader=None,
    job_client_factory=None,
    cases: int = 6,
) -> Web:
    settings = load_settings(overrides={"home": str(home), "database_url": database_url}, env={})
    app = create_app(
        settings,
        options or WebOptions(),
        bundle_loader=bundle_loader or (lambda: pytest.fail("this test should not score")),
        job_client_factory=job_client_factory,
    )
    engine = app.state.web.engine
    tokens = {scope: create_token(engine, f"t-{scope}", (scope,)) for scope in SCOPES}
    tokens["review-bob"] = create_token(engine, "t-bob", ("review",), identity="bob")
    for name, role in (("ann", "analyst"), ("bob", "analyst"), ("lee", "lead")):
        create_user(engine, name, role, PASSWORD)
    case_ids = seed_cases(engine, cases)
    client = TestClient(app, raise_server_exceptions=False)
    return Web(app=app, client=client, tokens=tokens, case_ids=case_ids, home=home)
