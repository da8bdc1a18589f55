from pathlib import Path

import pytest

from moesuite.settings import SettingsError, load_settings


def test_defaults_live_under_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(env={"MOESUITE_HOME": str(tmp_path / "h")})
    assert s.home == tmp_path / "h"
    assert s.database_url == f"sqlite:///{tmp_path / 'h' / 'moesuite.db'}"
    assert s.broker_url.startswith("sqla+sqlite:///") and s.result_backend.startswith("db+sqlite")


def test_precedence_flag_over_env_over_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "moesuite.toml"
    cfg.write_text(
        'database_url = "sqlite:///file.db"\nbroker_url = "redis://file"\n'
        "[fraud]\nreview_capacity = 50\n"
    )
    env = {"MOESUITE_CONFIG": str(cfg), "MOESUITE_BROKER_URL": "redis://env"}
    s = load_settings(env=env)
    assert s.database_url == "sqlite:///file.db"
    assert s.broker_url == "redis://env"
    assert s.section("fraud")["review_capacity"] == 50
    s = load_settings(overrides={"broker_url": "redis://flag"}, env=env)
    assert s.broker_url == "redis://flag"


def test_home_file_and_pyproject_are_found(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "moesuite.toml").write_text('result_backend = "redis://r"\n')
    monkeypatch.chdir(tmp_path)
    assert load_settings(env={"MOESUITE_HOME": str(home)}).result_backend == "redis://r"
    (tmp_path / "pyproject.toml").write_text('[tool.moesuite]\nbroker_url = "amqp://p"\n')
    s = load_settings(env={"MOESUITE_HOME": str(tmp_path / "other")})
    assert s.broker_url == "amqp://p" and s.config_file == Path.cwd() / "pyproject.toml"


def test_bad_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    with pytest.raises(SettingsError, match="bad.toml: not valid TOML"):
        load_settings(config_file=bad, env={})
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(config_file=tmp_path / "missing.toml", env={})
