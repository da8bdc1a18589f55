"""Suite-wide test setup: one torch thread, seeded, and real-server gating.

Two busy processes on two cores make torch collapse (see FIELD_NOTES), so tests pin one thread.
Server tests run for real: with CI=true a missing server is a failure, elsewhere a skip.
"""

import os
import socket
import uuid
from collections.abc import Iterator

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

SERVERS = {
    "postgres": ("127.0.0.1", 5432, "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "redis": ("127.0.0.1", 6379, "redis://127.0.0.1:6379/0"),
    "rabbitmq": ("127.0.0.1", 5672, "amqp://guest:guest@127.0.0.1:5672//"),
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def server_url(kind: str) -> str:
    """URL of a running server for `kind`; fails under CI=true when it is down, else skips."""
    host, port, url = SERVERS[kind]
    url = os.environ.get(f"MOESUITE_TEST_{kind.upper()}_URL", url)
    if not _reachable(host, port):
        message = f"{kind} is not reachable on {host}:{port}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: server tests must run)")
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_url() -> str:
    return server_url("postgres")


@pytest.fixture
def redis_url() -> str:
    return server_url("redis")


@pytest.fixture
def rabbitmq_url() -> str:
    return server_url("rabbitmq")


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema of its own, dropped afterwards:
    tests in parallel never see each other's tables."""
    from sqlalchemy import create_engine, text

    from fraud.review.db import dispose_engines

    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        dispose_engines()  # cached engines hold connections into the schema
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
