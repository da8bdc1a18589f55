"""`moesuite doctor` and the settings' recorded sources."""

import json
import socket

from click.testing import CliRunner

from moesuite.cli import cli
from moesuite.doctor import check_url, mask_url
from moesuite.settings import load_settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_settings_record_where_each_value_came_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "s.toml"
    cfg.write_text('broker_url = "redis://file"\nresult_backend = "redis://file/1"\n')
    env = {
        "MOESUITE_CONFIG": str(cfg),
        "MOESUITE_RESULT_BACKEND": "redis://env/1",
        "MOESUITE_HOME": str(tmp_path / "h"),
    }
    s = load_settings(overrides={"database_url": "sqlite:///flag.db"}, env=env)
    assert dict(s.sources) == {
        "config_file": "env MOESUITE_CONFIG",
        "home": "env MOESUITE_HOME",
        "database_url": "flag --database-url",
        "broker_url": f"file {cfg}",
        "result_backend": "env MOESUITE_RESULT_BACKEND",
    }
    assert load_settings(env={}).sources["home"] == "default"


def test_doctor_reports_settings_models_and_runtime_in_json(tmp_path):
    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path), "doctor", "--format", "json"], env={"MOESUITE_CONFIG": ""}
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    settings = {c["name"]: c for c in report["settings"]}
    assert settings["home"]["value"] == str(tmp_path)
    assert settings["home"]["detail"] == "flag --home"
    assert settings["database_url"]["detail"] == "default"
    assert all(c["ok"] for c in report["services"])  # SQLite files under a writable home
    models = {c["name"]: c for c in report["models"]}
    assert models["fraud bundle (shipped)"]["detail"].startswith("version fraud-")
    assert models["code model"]["ok"] and models["defect detector"]["ok"]
    runtime = {c["name"]: c for c in report["runtime"]}
    assert "GPU" in runtime and "intra-op thread" in runtime["torch"]["detail"]
    assert report["ok"] is True


def test_doctor_fails_on_an_unreachable_server_quickly(tmp_path):
    port = _closed_port()
    url = f"redis://:secret@127.0.0.1:{port}/0"
    result = CliRunner().invoke(
        cli,
        ["--home", str(tmp_path), "--broker-url", url, "doctor", "--timeout", "0.5"],
        env={"MOESUITE_CONFIG": ""},
    )
    assert result.exit_code == 1
    line = next(x for x in result.stdout.splitlines() if " broker " in x)
    assert "FAIL" in line and f"127.0.0.1:{port} unreachable" in line
    assert "secret" not in result.stdout and ":***@" in line


def test_check_url_and_mask(tmp_path):
    assert mask_url("postgresql+psycopg://u:pw@h:5432/db") == "postgresql+psycopg://u:***@h:5432/db"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert check_url("db", f"sqlite:///{blocker}/sub/x.db").ok is False
    assert check_url("db", f"sqlite:///{tmp_path}/new/x.db").ok is True
