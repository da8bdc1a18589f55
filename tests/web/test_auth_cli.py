"""`moesuite auth` (click's CliRunner), `moesuite serve` started for real, the web migrations."""

from __future__ import annotations

import json
import time

from alembic import command
from alembic.config import Config
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from fraud.review.db import dispose_engines, get_engine
from moesuite.cli import cli
from moesuite.settings import load_settings
from moesuite.web.app import create_app
from moesuite.web.config import WebOptions
from moesuite.web.store import MIGRATIONS_DIR, open_store


def _run(home, *args, input=None):  # noqa: A002, ANN001, ANN202
    env = {"MOESUITE_HOME": str(home), "MOESUITE_DATABASE_URL": f"sqlite:///{home / 's.db'}"}
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def test_created_token_works_with_its_scope_only_until_revoked(tmp_path):
    made = _run(tmp_path, "auth", "create-token", "backend", "--scope", "review")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    assert secret.startswith("mst_") and len(secret) > 40
    listed = _run(tmp_path, "auth", "list-tokens")
    assert "backend\treview\ttoken:backend\tlive" in listed.output and secret not in listed.output

    settings = load_settings(
        overrides={"home": str(tmp_path), "database_url": f"sqlite:///{tmp_path / 's.db'}"},
        env={},
    )
    client = TestClient(create_app(settings, WebOptions(token_cache_s=0.3)))
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/review/stats", headers=headers).status_code == 200
    assert client.post("/v1/refactor", headers=headers, json={"source": ""}).status_code == 403
    assert _run(tmp_path, "auth", "revoke-token", "backend").exit_code == 0
    time.sleep(0.4)  # a verified token is trusted for token_cache_s without a database query
    assert client.get("/v1/review/stats", headers=headers).status_code == 401
    dispose_engines()


def test_create_user_then_sign_in_and_clear_errors(tmp_path):
    made = _run(tmp_path, "auth", "create-user", "ann", "--role", "lead",
                input="long enough pw\nlong enough pw\n")  # fmt: skip
    assert made.exit_code == 0 and "user ann (lead) created" in made.output
    again = _run(tmp_path, "auth", "create-user", "ann", input="long enough pw\nlong enough pw\n")
    assert again.exit_code == 2 and "user 'ann' exists" in again.output
    short = _run(tmp_path, "auth", "create-user", "bob", input="short\nshort\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    bad_scope = _run(tmp_path, "auth", "create-token", "x", "--scope", "root")
    assert bad_scope.exit_code == 2
    dispose_engines()


def test_web_tables_migrate_without_drift_beside_the_review_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = open_store(url)
    tables = set(inspect(engine).get_table_names())
    assert {"web_api_tokens", "web_users", "web_sessions", "web_alembic_version"} <= tables
    assert {"cases", "alembic_version"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM web_alembic_version")).scalar() == (
            "w0001"
        )
        config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        command.check(config)  # raises when models and migrations disagree
    assert get_engine(url) is engine
    dispose_engines()


def test_moesuite_serve_starts_and_answers(tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys
    from pathlib import Path

    import httpx

    root = Path(__file__).resolve().parents[2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, MOESUITE_HOME=str(tmp_path))
    env.pop("MOESUITE_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, str(root / "cli.py"), "serve", "--port", str(port),
         "--log-level", "error"],
        env=env, cwd=tmp_path, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        assert ready.json()["checks"]["database"] == "ok"
        assert (tmp_path / "moesuite.db").is_file()  # the default: SQLite under MOESUITE_HOME
        console = httpx.get(f"http://127.0.0.1:{port}/console/", follow_redirects=False)
        assert console.status_code == 303 and "/console/login" in console.headers["location"]
        assert httpx.get(f"http://127.0.0.1:{port}/v1/review/stats").status_code == 401
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_auth_commands_in_json_show_the_secret_once_and_never_a_password(tmp_path):
    made = _run(tmp_path, "auth", "create-token", "ci", "--scope", "jobs", "--scope", "code",
                "--expires-days", "2", "--format", "json")  # fmt: skip
    assert made.exit_code == 0, made.output
    document = json.loads(made.stdout)
    secret, token = document["secret"], document["token"]
    assert secret.startswith("mst_") and token["name"] == "ci"
    assert token["scopes"] == ["code", "jobs"] and token["identity"] == "token:ci"
    assert token["revoked"] is False and token["expires_at"] > token["created_at"]

    listed = _run(tmp_path, "auth", "list-tokens", "--format", "json")
    assert listed.exit_code == 0 and json.loads(listed.stdout) == [token]
    assert secret not in listed.output

    revoked = _run(tmp_path, "auth", "revoke-token", "ci", "--format", "json")
    assert revoked.exit_code == 0 and json.loads(revoked.stdout) == {"name": "ci", "revoked": True}
    (after,) = json.loads(_run(tmp_path, "auth", "list-tokens", "--format", "json").stdout)
    assert after["revoked"] is True
    again = _run(tmp_path, "auth", "revoke-token", "ci", "--format", "json")
    assert again.exit_code == 2 and again.stdout == "" and "no live token" in again.stderr

    # A script passes the password through the environment: no prompt, stdout is the document.
    password = "long enough pw"
    user = CliRunner().invoke(
        cli,
        ["auth", "create-user", "ann", "--role", "lead", "--format", "json"],
        env={
            "MOESUITE_HOME": str(tmp_path),
            "MOESUITE_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
            "MOESUITE_NEW_PASSWORD": password,
        },
    )
    assert user.exit_code == 0, user.output
    assert json.loads(user.stdout) == {"username": "ann", "role": "lead", "created": True}
    assert password not in user.output
    dispose_engines()
