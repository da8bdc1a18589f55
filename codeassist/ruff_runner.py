"""ruff as a subprocess, one process for many sources.

Starting ruff costs ~4 ms, about what it spends on a typical file, so the engine hands it whole
batches: the sources go into a private temporary directory under names it chooses, one
``ruff check --fix`` and one ``ruff format`` run over all of them, and the results are read
back. ``--isolated`` keeps the user's own ruff configuration from changing what the gate
verified. The analysed code is only read by ruff, never imported or run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from codeassist.refactor.errors import FormatterError

# pycodestyle rules ruff fixes without changing behaviour beyond the gate's named rewrites:
# E711 comparison to None, E713/E714 `not x in`, E731 lambda assignment, E401 multiple imports
# on one line, E70x compound statements, W291/W293 trailing whitespace, W605 invalid escapes.
RUFF_FIXES = (
    "E401",
    "E701",
    "E702",
    "E703",
    "E711",
    "E713",
    "E714",
    "E731",
    "W291",
    "W293",
    "W605",
)
# pycodestyle's whitespace and blank-line rules, fixed by ruff (preview rules) where ruff format
# does not reach: inside `# fmt: off` regions, and everywhere in the minimal mode, which does
# not run the formatter. Whitespace between tokens only: the syntax tree cannot change.
RUFF_WHITESPACE_FIXES = (
    "E201",
    "E202",
    "E203",
    "E204",
    "E211",
    "E221",
    "E222",
    "E223",
    "E224",
    "E225",
    "E227",
    "E228",
    "E231",
    "E241",
    "E242",
    "E251",
    "E252",
    "E261",
    "E262",
    "E265",
    "E266",
    "E271",
    "E272",
    "E273",
    "E274",
    "E275",
    "E301",
    "E302",
    "E303",
    "E304",
    "E305",
    "E306",
    "W391",
)

# The fixes applied although ruff calls some of them unsafe (E711 `is None`, E731 `def`): the
# gate allows exactly those rewrites. Not W291/W293: ruff marks their fix unsafe only where the
# whitespace is inside a multi-line string, where removing it changes the string's value (a
# docstring's is normalised by the formatter instead, and the gate allows that).
_PROMOTED_FIXES = tuple(c for c in RUFF_FIXES + RUFF_WHITESPACE_FIXES if c not in ("W291", "W293"))

# pycodestyle's default ignore list (`codeassist.config.PYCODESTYLE_DEFAULT_IGNORE`), as ruff
# selectors: the per-pass check counts what the final pycodestyle judge counts.
_STYLE_IGNORE = "E121,E123,E126,E226,E24,E704,W503,W504"

_UNPARSABLE = re.compile(r"Failed to parse (?:\S*/)?(s\d+\.pyi?):\d+")


@lru_cache(maxsize=1)
def ruff_binary() -> str:
    """Path of the ruff executable: beside this Python, else where the wheel put it, else on
    PATH (shared by the refactor engine and the static defect engine)."""
    candidate = Path(sys.executable).with_name("ruff")
    if candidate.is_file():
        return str(candidate)
    try:
        from ruff.__main__ import find_ruff_bin

        return os.fspath(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("ruff")
    if found is None:
        raise FormatterError("ruff is not installed: `pip install ruff`")
    return found


@dataclass(frozen=True)
class NamingFinding:
    """A pep8-naming finding (ruff's N8xx rules): reported, never fixed by guessing."""

    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column} {self.code} {self.message}"


def _run(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [ruff_binary(), *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
        )
    except OSError as exc:
        raise FormatterError(f"cannot run ruff: {exc}") from exc


class _Batch:
    """The sources as files ``s0.py``, ``s1.pyi`` ... in a temporary directory."""

    def __init__(self, sources: Sequence[str], suffixes: Sequence[str]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="moesuite-ruff-")
        self.root = Path(self._dir.name)
        self.names = [f"s{i}{suffix}" for i, suffix in enumerate(suffixes)]
        for name, text in zip(self.names, sources, strict=True):
            (self.root / name).write_bytes(text.encode("utf-8"))

    def read(self) -> list[str]:
        return [(self.root / n).read_bytes().decode("utf-8") for n in self.names]

    def close(self) -> None:
        self._dir.cleanup()


@dataclass(frozen=True)
class StyleFinding:
    """A finding of ruff's pycodestyle rules (E/W): the line and the code, as pycodestyle
    would name them where the two agree."""

    line: int
    code: str


def _style_findings(
    root: Path, names: Sequence[str], line_length: int, fix: bool = False
) -> list[list[StyleFinding]]:
    """ruff's pycodestyle findings on the files under ``root``; with ``fix``, the same process
    first applies the fixes of `RUFF_FIXES` and `RUFF_WHITESPACE_FIXES` (and reports what is
    left after them)."""
    fixing = (
        ["--fix", "--fixable", ",".join(RUFF_FIXES + RUFF_WHITESPACE_FIXES)]
        + ["--config", f"lint.extend-safe-fixes = {list(_PROMOTED_FIXES)!r}"]
        if fix
        else []
    )
    result = _run(
        ["check", "--isolated", "--no-cache", "--preview", "--exit-zero", *fixing]
        + ["--select", "E,W", "--ignore", _STYLE_IGNORE, "--line-length", str(line_length)]
        + ["--output-format", "json", "."],
        root,
    )
    try:
        items = json.loads(result.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise FormatterError(f"ruff check --select E,W: unreadable output: {exc}") from exc
    index = {name: i for i, name in enumerate(names)}
    found: list[list[StyleFinding]] = [[] for _ in names]
    for item in items:
        i = index.get(Path(item["filename"]).name)
        if i is not None and item.get("code"):
            found[i].append(StyleFinding(item["location"]["row"], item["code"]))
    return found


def style_findings(
    sources: Sequence[str], suffixes: Sequence[str], line_length: int
) -> list[list[StyleFinding]]:
    """ruff's pycodestyle findings (E/W, pycodestyle's default ignore list) for each source."""
    if not sources:
        return []
    batch = _Batch(sources, suffixes)
    try:
        return _style_findings(batch.root, batch.names, line_length)
    finally:
        batch.close()


def fix_named(
    sources: Sequence[str], suffixes: Sequence[str], line_length: int
) -> tuple[list[str], list[list[StyleFinding]]]:
    """The minimal mode's pass: ruff's pycodestyle fixes alone, no formatter (each edit at a
    spot a finding names), then ruff's pycodestyle findings on the results; one batch."""
    if not sources:
        return [], []
    batch = _Batch(sources, suffixes)
    try:
        found = _style_findings(batch.root, batch.names, line_length, fix=True)
        return batch.read(), found
    finally:
        batch.close()


def format_lines(
    source: str, suffix: str, spans: Sequence[tuple[int, int]], line_length: int
) -> str:
    """Format only the statements that the 1-based line ``spans`` touch (``ruff format
    --range``, quotes preserved), bottom span first so the spans above keep their lines.
    A span ruff cannot format is left as it was."""
    for first, last in sorted(spans, reverse=True):
        lines = source.split("\n")
        if last > len(lines):
            continue
        result = _run(
            ["format", "--isolated", "--no-cache", "--line-length", str(line_length)]
            + ["--config", "format.quote-style = 'preserve'"]
            + ["--range", f"{first}:1-{last}:{len(lines[last - 1]) + 1}"]
            + ["--stdin-filename", f"s{suffix}", "-"],
            Path.cwd(),
            stdin=source,
        )
        if result.returncode == 0:
            source = result.stdout
    return source


def fix_and_format(
    sources: Sequence[str],
    suffixes: Sequence[str],
    line_length: int,
    pep8: bool,
    *,
    quote_style: str = "double",
    check: bool = False,
) -> tuple[list[str | None], list[list[StyleFinding]]]:
    """ruff format, then (``pep8``) ruff's safe pycodestyle fixes, over all sources at once:
    two processes. With ``check``, the fixing process also reports ruff's pycodestyle findings
    on its results. (A fix the formatter would lay out differently is formatted on the next
    pass; the caller iterates to a fixed point anyway.)

    Returns the new text of each source, or None for a source ruff could not process (its
    own parser refused it; the others are unaffected by such a file), and each result's
    findings (empty lists without ``check``).
    """
    if not sources:
        return [], []
    batch = _Batch(sources, suffixes)
    try:
        common = ["--isolated", "--no-cache", "--line-length", str(line_length)]
        fmt = ["--config", f"format.quote-style = '{quote_style}'"]
        result = _run(["format", *common, *fmt, "."], batch.root)
        failed = set(_UNPARSABLE.findall(result.stderr))
        if result.returncode not in (0, 2) or (result.returncode == 2 and not failed):
            raise FormatterError(f"ruff format failed: {result.stderr.strip()[:300]}")
        findings: list[list[StyleFinding]] = [[] for _ in batch.names]
        if pep8:
            findings = _style_findings(batch.root, batch.names, line_length, fix=True)
            if not check:
                findings = [[] for _ in batch.names]
        texts = batch.read()
        texts_out = [None if n in failed else t for n, t in zip(batch.names, texts, strict=True)]
        return texts_out, findings
    finally:
        batch.close()


_NAMING_ARGS = ["check", "--isolated", "--no-cache", "--select", "N", "--exit-zero"]
_NAMING_ARGS += ["--output-format", "json", "."]


class NamingRun:
    """pep8-naming findings (ruff's N rules, all of them) for each source, from a ruff
    process started at once and read by `result`: the caller does other work meanwhile
    (the refactor pipeline runs its pycodestyle judge while ruff looks at names)."""

    def __init__(self, sources: Sequence[str], suffixes: Sequence[str]) -> None:
        self.sources = list(sources)
        self._batch = _Batch(sources, suffixes) if sources else None
        self._process: subprocess.Popen | None = None
        if self._batch is not None:
            try:
                self._process = subprocess.Popen(
                    [ruff_binary(), *_NAMING_ARGS],
                    cwd=self._batch.root,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                )
            except OSError as exc:
                self._batch.close()
                raise FormatterError(f"cannot run ruff: {exc}") from exc

    def result(self) -> list[list[NamingFinding]]:
        found: list[list[NamingFinding]] = [[] for _ in self.sources]
        if self._batch is None or self._process is None:
            return found
        try:
            stdout, _ = self._process.communicate()
            items = json.loads(stdout or "[]")
        except json.JSONDecodeError as exc:
            raise FormatterError(f"ruff check --select N: unreadable output: {exc}") from exc
        finally:
            self._batch.close()
        index = {name: i for i, name in enumerate(self._batch.names)}
        for item in items:
            i = index.get(Path(item["filename"]).name)
            if i is None or not item.get("code"):
                continue
            location = item["location"]
            found[i].append(
                NamingFinding(location["row"], location["column"], item["code"], item["message"])
            )
        for findings in found:
            findings.sort(key=lambda f: (f.line, f.column))
        return found


def naming_findings(sources: Sequence[str], suffixes: Sequence[str]) -> list[list[NamingFinding]]:
    """pep8-naming findings (ruff's N rules, all of them) for each source."""
    return NamingRun(sources, suffixes).result()
