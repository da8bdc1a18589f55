"""`moesuite doctor`: what the suite would use here, and whether it is there.

Settings in force with their sources, the database, broker and result backend reachable or not
(a TCP connect with a short timeout, or the SQLite file's directory), the shipped models and their
versions, which optional installs are present, torch's threads and the GPU. Each check reads files
and sockets only; torch is imported last and only if installed (it costs a second or two).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import socket
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from moesuite.settings import Settings

DEFAULT_PORTS = {"postgresql": 5432, "redis": 6379, "rediss": 6379, "amqp": 5672, "amqps": 5671}


@dataclass(frozen=True)
class Check:
    """One line of the report: ``ok`` is None when there is nothing to judge."""

    name: str
    value: str
    ok: bool | None = None
    detail: str = ""


@dataclass(frozen=True)
class DoctorReport:
    settings: list[Check] = field(default_factory=list)
    services: list[Check] = field(default_factory=list)
    models: list[Check] = field(default_factory=list)
    installs: list[Check] = field(default_factory=list)
    runtime: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when a configured service is unreachable or a shipped model is missing."""
        checks = [*self.services, *self.models]
        return all(c.ok is not False for c in checks)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (the report may be pasted in a ticket)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _sqlite_path(url: str) -> Path | None:
    for prefix in ("sqlite:///", "sqla+sqlite:///", "db+sqlite:///"):
        if url.startswith(prefix):
            return Path(url.removeprefix(prefix))
    return None


def check_url(name: str, url: str, timeout: float = 1.5) -> Check:
    """Reachable or not: a SQLite file (or a writable directory to create it in) or a TCP port."""
    shown = mask_url(url)
    path = _sqlite_path(url)
    if path is not None:
        if path.is_file():
            return Check(name, shown, True, "SQLite file present")
        parent = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
        if parent is not None and parent.is_dir() and os.access(parent, os.W_OK):
            return Check(name, shown, True, "SQLite file will be created on first use")
        return Check(name, shown, False, f"cannot create {path}")
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return Check(name, shown, False, "bad port in URL")
    host = parts.hostname
    if host is None or port is None:
        return Check(name, shown, None, "not a network URL: not checked")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return Check(name, shown, True, f"{host}:{port} reachable")
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        return Check(name, shown, False, f"{host}:{port} unreachable ({reason})")


def _find_spec(name: str):
    # A module already imported without a spec (a test double, a frozen build) counts as present.
    try:
        return importlib.util.find_spec(name)
    except ValueError:
        return True if name in sys.modules else None


def _package_dir(name: str) -> Path | None:
    spec = _find_spec(name)
    if spec is True:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _short_sha(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()[:12]


def check_models(settings: Settings) -> list[Check]:
    """The shipped models (and a trained fraud bundle under home), present and their versions."""
    checks = []
    fraud_dir, code_dir = _package_dir("fraud"), _package_dir("codeassist")
    trained = settings.home / "fraud-bundle" / "bundle.json"
    bundles = [("fraud bundle (shipped)", fraud_dir / "assets/default_bundle/bundle.json")]
    if trained.is_file():
        bundles.append(("fraud bundle (home)", trained))
    for name, manifest in bundles:
        if manifest.is_file():
            version = json.loads(manifest.read_text()).get("version", "?")
            checks.append(Check(name, str(manifest.parent), True, f"version {version}"))
        else:
            checks.append(Check(name, str(manifest.parent), False, "missing"))
    weights = code_dir / "assets/code_model/model.safetensors"
    if weights.is_file():
        digest = f"sha256 {_short_sha(weights)}"
        checks.append(Check("code model", str(weights.parent), True, digest))
    else:
        checks.append(Check("code model", str(weights.parent), False, "missing"))
    meta = code_dir / "assets/defect_detector/detector.json"
    if meta.is_file():
        data = json.loads(meta.read_text())
        detail = (
            f"threshold {data.get('threshold', float('nan')):.3f}, "
            f"trained on code model sha256 {str(data.get('code_model_sha256', '?'))[:12]}"
        )
        checks.append(Check("defect detector", str(meta.parent), True, detail))
    else:
        checks.append(Check("defect detector", str(meta.parent), False, "missing"))
    return checks


def check_installs() -> list[Check]:
    """Which optional installs are present (see pyproject.toml's extras)."""
    from moesuite.extras import MODULE_EXTRAS

    checks = []
    for extra in ("model", "fraud", "workers", "web"):
        modules = sorted(m for m, e in MODULE_EXTRAS.items() if e == extra)
        missing = [m for m in modules if _find_spec(m) is None]
        detail = "installed" if not missing else f"missing {', '.join(missing)}"
        checks.append(Check(f"extra [{extra}]", "yes" if not missing else "no", None, detail))
    return checks


def check_runtime() -> list[Check]:
    """torch threads and the GPU, when the model extra is installed."""
    threads_env = ", ".join(
        f"{v}={os.environ[v]}" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if v in os.environ
    )
    checks = [Check("CPU cores", str(os.cpu_count()), None, threads_env)]
    if _find_spec("torch") is None:
        return [*checks, Check("torch", "not installed", None, "extra [model]")]
    from core_model.runtime import describe_runtime

    info = describe_runtime()
    checks.append(Check("torch", info["torch"], None, f"{info['threads']} intra-op thread(s)"))
    checks.append(Check("GPU", info["gpu"] or "none", None, ""))
    return checks


def run_doctor(settings: Settings, timeout: float = 1.5) -> DoctorReport:
    """Every check, in report order."""
    sources = settings.sources
    config = str(settings.config_file) if settings.config_file else "-"
    rows = [
        Check("config_file", config, None, sources.get("config_file", "")),
        Check("home", str(settings.home), None, sources.get("home", "")),
        Check(
            "database_url", mask_url(settings.database_url), None, sources.get("database_url", "")
        ),
        Check("broker_url", mask_url(settings.broker_url), None, sources.get("broker_url", "")),
        Check(
            "result_backend",
            mask_url(settings.result_backend),
            None,
            sources.get("result_backend", ""),
        ),
    ]
    services = [
        check_url("database", settings.database_url, timeout),
        check_url("broker", settings.broker_url, timeout),
        check_url("result backend", settings.result_backend, timeout),
    ]
    return DoctorReport(rows, services, check_models(settings), check_installs(), check_runtime())


def format_report(report: DoctorReport) -> str:
    """One screen of text: a section per kind, a mark per judged check."""
    marks = {True: "ok  ", False: "FAIL", None: "    "}
    sections = [
        ("settings (value, from)", report.settings),
        ("services", report.services),
        ("models", report.models),
        ("installs", report.installs),
        ("runtime", report.runtime),
    ]
    lines = []
    for title, checks in sections:
        lines.append(title)
        for c in checks:
            detail = f"  ({c.detail})" if c.detail else ""
            lines.append(f"  {marks[c.ok]} {c.name:<22} {c.value}{detail}")
    lines.append("all good" if report.ok else "problems found (FAIL above)")
    return "\n".join(lines)
