"""Web-service fixtures: the real app on a fresh SQLite file or PostgreSQL schema per test.

`web` builds the app over a seeded queue (cases with customer history), API tokens per scope
and console users; its `.client` is starlette's TestClient (an httpx client calling the ASGI
app in process). The fraud bundle loads once per session and only for tests that score.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from fraud.review.db import dispose_engines
from tests.web.support import Web, build_web


@pytest.fixture(scope="session")
def fraud_bundle():
    from fraud.bundle import default_bundle_path, load_bundle

    return load_bundle(default_bundle_path(None))


@pytest.fixture
def pg_database_url(postgres_url: str) -> Iterator[str]:
    schema = f"web_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'suite.db'}"
    return request.getfixturevalue("pg_database_url")


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
