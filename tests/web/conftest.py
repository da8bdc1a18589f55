"""Web-service fixtures: the real app on a fresh SQLite file or PostgreSQL schema per test.

`web` builds the app over a seeded queue (cases with customer history), API tokens per scope
and console users; its `.client` is starlette's TestClient (an httpx client calling the ASGI
app in process). The fraud bundle loads once per session and only for tests that score.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fraud.review.db import dispose_engines
from tests.web.support import Web, build_web


@pytest.fixture(scope="session")
def fraud_bundle():
    from fraud.bundle import default_bundle_path, load_bundle

    return load_bundle(default_bundle_path(None))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'suite.db'}"
    return request.getfixturevalue("pg_url")  # tests/conftest.py


@pytest.fixture
def web(tmp_path, database_url) -> Iterator[Web]:
    built = build_web(tmp_path / "home", database_url)
    yield built
    built.client.close()
    dispose_engines()


@pytest.fixture
def sqlite_web(tmp_path) -> Iterator[Web]:
    built = build_web(tmp_path / "home", f"sqlite:///{tmp_path / 'suite.db'}")
    yield built
    built.client.close()
    dispose_engines()
