"""Options of the refactor service and ``[tool.moesuite.refactor]`` of the nearest pyproject.toml.

Defaults live here and only here. Precedence: command-line flag > pyproject table > default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeassist.refactor.errors import RefactorConfigError

STYLES = ("pep8", "black")
# ruff format's quote styles; "preserve" keeps each string's quotes as written
QUOTE_STYLES = ("double", "single", "preserve")
DEFAULT_LINE_LENGTH = {"pep8": 79, "black": 88}
# Upper bound of cyclomatic complexity per function for each target (radon's A/B/C-ish bands).
COMPLEXITY_TARGETS = {"low": 5, "medium": 10, "high": 20}
# pycodestyle's own default ignore list (pycodestyle.DEFAULT_IGNORE, 2.15): the pep8 gate uses it
# unchanged, so these codes are NOT required to be clean: E121, E123, E126, E226, E24, E704,
# W503, W504.
PYCODESTYLE_DEFAULT_IGNORE = ("E121", "E123", "E126", "E226", "E24", "E704", "W503", "W504")


@dataclass(frozen=True)
class RefactorOptions:
    """How one source is refactored (the pure core reads only this).

    Attributes:
        style: ``"pep8"`` (ruff + fixers until pycodestyle is clean) or ``"black"`` (ruff format).
        line_length: Maximum line length; ``None`` means 79 for pep8 and 88 for black.
        complexity_target: ``low`` (<= 5), ``medium`` (<= 10) or ``high`` (<= 20).
        max_iterations: Rounds of ruff + fixers before giving up on a fixed point.
        use_model: Ask a code model for rewrites of functions above the complexity target.
        model_path: Local HF causal-LM checkpoint dir; ``None`` means the suite's default model.
        quantize: ``None`` or ``"4bit"``.
        verify_with_tests: Shell command run on a temporary copy of the project to accept a
            model rewrite (``pytest tests/x.py``).
        test_timeout: Seconds allowed for one run of ``verify_with_tests`` or of doctests.
        candidates: Model rewrites generated per over-complex function.
        add_noqa: Under pep8, give the violations that have no behaviour-preserving fix
            (`refactor.noqa.NOQA_CODES`) a ``# noqa`` instead of leaving the file untouched.
        minimal: Under pep8, change only the lines pycodestyle names (quotes and wrapping
            elsewhere stay as written) instead of reformatting whole files.
        quote_style: ``double`` (black's), ``single`` or ``preserve`` (ruff format's option);
            ``minimal`` always preserves.
    """

    style: str = "pep8"
    line_length: int | None = None
    complexity_target: str = "medium"
    max_iterations: int = 6
    use_model: bool = False
    model_path: Path | None = None
    quantize: str | None = None
    verify_with_tests: str | None = None
    test_timeout: float = 300.0
    candidates: int = 2
    add_noqa: bool = True
    minimal: bool = False
    quote_style: str = "double"

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise RefactorConfigError("options", "style", f"must be one of {STYLES}")
        if self.line_length is None:
            object.__setattr__(self, "line_length", DEFAULT_LINE_LENGTH[self.style])
        if not 20 <= int(self.line_length) <= 400:
            raise RefactorConfigError("options", "line-length", "must be between 20 and 400")
        if self.complexity_target not in COMPLEXITY_TARGETS:
            raise RefactorConfigError(
                "options", "complexity-target", f"must be one of {tuple(COMPLEXITY_TARGETS)}"
            )
        if self.quote_style not in QUOTE_STYLES:
            raise RefactorConfigError("options", "quote-style", f"must be one of {QUOTE_STYLES}")
        if self.minimal and self.style != "pep8":
            raise RefactorConfigError("options", "minimal", "only with style = 'pep8'")
        if self.quantize not in (None, "4bit"):
            raise RefactorConfigError("options", "quantize", "only '4bit' is supported")

    @property
    def max_complexity(self) -> int:
        """Largest cyclomatic complexity a function may have under ``complexity_target``."""
        return COMPLEXITY_TARGETS[self.complexity_target]


@dataclass(frozen=True)
class DiscoveryOptions:
    """Which files a directory argument expands to.

    Attributes:
        exclude: gitwildmatch patterns (as in .gitignore) matched against paths relative to
            the directory given on the command line.
        respect_gitignore: Skip what the .gitignore files on the way say to ignore.
        extensions: File name endings that count as Python sources.
    """

    exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    extensions: tuple[str, ...] = (".py", ".pyi")


# Keys accepted in [tool.moesuite.refactor] and the type each must have.
_CONFIG_KEYS: dict[str, tuple[type, ...]] = {
    "style": (str,),
    "line-length": (int,),
    "complexity-target": (str,),
    "exclude": (list,),
    "use-model": (bool,),
    "model": (str,),
    "quantize": (str,),
    "verify-with-tests": (str,),
    "test-timeout": (int, float),
    "jobs": (int,),
    "add-noqa": (bool,),
    "minimal": (bool,),
    "quote-style": (str,),
}


@dataclass(frozen=True)
class ProjectConfig:
    """The ``[tool.moesuite.refactor]`` table found for a run, already type-checked."""

    path: Path | None = None
    values: Mapping[str, Any] = field(default_factory=dict)


def find_pyproject(start: Path) -> Path | None:
    """Return the nearest pyproject.toml at or above ``start`` (a file or directory)."""
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


def load_project_config(start: Path) -> ProjectConfig:
    """Read and check ``[tool.moesuite.refactor]`` of the pyproject.toml nearest to ``start``.

    Raises:
        RefactorConfigError: The file is not TOML, or a key is unknown or has the wrong type.
    """
    path = find_pyproject(start)
    if path is None:
        return ProjectConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RefactorConfigError(path, "(file)", f"cannot read: {exc}") from exc
    table = data.get("tool", {}).get("moesuite", {}).get("refactor", {})
    if not isinstance(table, dict):
        raise RefactorConfigError(path, "(table)", "must be a table")
    for key, value in table.items():
        if key not in _CONFIG_KEYS:
            raise RefactorConfigError(path, key, f"unknown key; known: {sorted(_CONFIG_KEYS)}")
        types = _CONFIG_KEYS[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise RefactorConfigError(
                path, key, f"must be {' or '.join(t.__name__ for t in types)}"
            )
    if not all(isinstance(p, str) for p in table.get("exclude", [])):
        raise RefactorConfigError(path, "exclude", "must be a list of strings")
    return ProjectConfig(path=path, values=table)


def resolve_options(
    flags: Mapping[str, Any], config: ProjectConfig
) -> tuple[RefactorOptions, DiscoveryOptions, int]:
    """Merge command-line flags (``None`` = not given) over the project table over defaults.

    Args:
        flags: Values keyed like the pyproject keys (``line-length``, ``exclude``, ``jobs`` ...).
        config: The project table from `load_project_config`.

    Returns:
        The refactor options, the discovery options and the number of worker processes.

    Raises:
        RefactorConfigError: A merged value is out of range; names the file when it came from it.
    """
    merged: dict[str, Any] = dict(config.values)
    merged.update({k: v for k, v in flags.items() if v is not None and v != ()})
    source = config.path if config.path is not None else "command line"
    try:
        options = RefactorOptions(
            style=merged.get("style", "pep8"),
            line_length=merged.get("line-length"),
            complexity_target=merged.get("complexity-target", "medium"),
            use_model=bool(merged.get("use-model", False)),
            model_path=Path(merged["model"]) if merged.get("model") else None,
            quantize=merged.get("quantize"),
            verify_with_tests=merged.get("verify-with-tests"),
            test_timeout=float(merged.get("test-timeout", 300.0)),
            add_noqa=bool(merged.get("add-noqa", True)),
            minimal=bool(merged.get("minimal", False)),
            quote_style=merged.get("quote-style", "double"),
        )
    except RefactorConfigError as exc:
        raise RefactorConfigError(source, exc.field, exc.reason) from exc
    excludes = tuple(config.values.get("exclude", ())) + tuple(flags.get("exclude") or ())
    # Like black and ruff: all cores unless told otherwise (0 also means all cores).
    jobs = int(merged.get("jobs", 0)) or (os.cpu_count() or 1)
    if jobs < 1:
        raise RefactorConfigError(source, "jobs", "must be >= 0 (0 = all cores)")
    return options, DiscoveryOptions(exclude=excludes), jobs


def with_line_length(options: RefactorOptions, line_length: int) -> RefactorOptions:
    """Return ``options`` with another line length (a convenience for tests and benchmarks)."""
    return dataclasses.replace(options, line_length=line_length)
