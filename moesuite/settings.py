"""The suite's one settings object, read at the edges (cli.py, workers/app.py).

Precedence, highest first: command-line flag > ``MOESUITE_*`` environment variable >
settings file (``--config``, ``$MOESUITE_CONFIG``, ``$MOESUITE_HOME/moesuite.toml`` or
``[tool.moesuite]`` in ./pyproject.toml) > the defaults below.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

DEFAULT_HOME = Path("~/.moesuite")


class SettingsError(Exception):
    """The settings file or an environment variable cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Where the suite keeps its state and which servers it talks to.

    ``sections`` holds the settings file's other tables (``[fraud]``, ``[refactor]``, ...)
    for the domain commands to read their own options from.
    """

    home: Path
    database_url: str
    broker_url: str
    result_backend: str
    config_file: Path | None = None
    sections: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # Where each value came from ("flag --home", "env MOESUITE_HOME", "file PATH", "default"),
    # for `moesuite doctor`; "config_file" says how the settings file was found.
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.sections.get(name, {})
        if not isinstance(value, Mapping):
            raise SettingsError(f"{self.config_file}: [{name}] must be a table")
        return value


_KEYS = ("home", "database_url", "broker_url", "result_backend")


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc.strerror}") from exc
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("moesuite", {})
    return data


def _find_file(
    explicit: Path | None, env: Mapping[str, str], home: Path
) -> tuple[Path | None, str]:
    """The settings file and how it was found."""
    if explicit is not None:
        return explicit, "flag --config"
    if env.get("MOESUITE_CONFIG"):
        return Path(env["MOESUITE_CONFIG"]), "env MOESUITE_CONFIG"
    candidate = home / "moesuite.toml"
    if candidate.is_file():
        return candidate, "found in home"
    pyproject = Path.cwd() / "pyproject.toml"
    if pyproject.is_file() and _read_file(pyproject):
        return pyproject, "[tool.moesuite] in ./pyproject.toml"
    return None, "none"


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings from flags (``overrides``), environment, file and defaults."""
    env = os.environ if env is None else env
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}

    def env_value(key: str) -> str | None:
        return env.get(f"MOESUITE_{key.upper()}") or None

    # home decides where the default file lives, so resolve it before the file.
    home_hint = flags.get("home") or env_value("home")
    path, file_source = _find_file(config_file, env, Path(home_hint or DEFAULT_HOME).expanduser())
    file_data = _read_file(path) if path is not None else {}
    file_values = {k: file_data[k] for k in _KEYS if k in file_data}
    sections = {k: v for k, v in file_data.items() if k not in _KEYS}

    sources = {"config_file": file_source}

    def pick(key: str) -> Any:
        candidates = (
            (flags.get(key), f"flag --{key.replace('_', '-')}"),
            (env_value(key), f"env MOESUITE_{key.upper()}"),
            (file_values.get(key), f"file {path}"),
        )
        for value, source in candidates:
            if value is not None:
                sources[key] = source
                return value
        sources[key] = "default"
        return None

    home = Path(pick("home") or DEFAULT_HOME).expanduser()
    return Settings(
        home=home,
        database_url=pick("database_url") or f"sqlite:///{home / 'moesuite.db'}",
        broker_url=pick("broker_url") or f"sqla+sqlite:///{home / 'celery-broker.db'}",
        result_backend=pick("result_backend") or f"db+sqlite:///{home / 'celery-results.db'}",
        config_file=path,
        sections=MappingProxyType(sections),
        sources=MappingProxyType(sources),
    )
