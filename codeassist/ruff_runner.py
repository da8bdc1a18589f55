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


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [ruff_binary(), *args], cwd=cwd, capture_output=True, text=True, check=False
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


def fix_and_format(
    sources: Sequence[str], suffixes: Sequence[str], line_length: int, pep8: bool
) -> list[str | None]:
    """ruff's safe pycodestyle fixes (``pep8``) then ruff format, over all sources at once.

    Returns the new text of each source, or None for a source ruff could not process (its
    own parser refused it); the others are unaffected by such a file.
    """
    if not sources:
        return []
    batch = _Batch(sources, suffixes)
    try:
        common = ["--isolated", "--no-cache", "--line-length", str(line_length)]
        if pep8:
            _run(
                ["check", "--fix", "--unsafe-fixes", "--exit-zero"]
                + ["--select", ",".join(RUFF_FIXES)]
                + common
                + ["--output-format", "concise", "--quiet", "."],
                batch.root,
            )
        result = _run(["format", *common, "."], batch.root)
        failed = set(_UNPARSABLE.findall(result.stderr))
        if result.returncode not in (0, 2) or (result.returncode == 2 and not failed):
            raise FormatterError(f"ruff format failed: {result.stderr.strip()[:300]}")
        texts = batch.read()
        return [None if n in failed else t for n, t in zip(batch.names, texts, strict=True)]
    finally:
        batch.close()


def naming_findings(sources: Sequence[str], suffixes: Sequence[str]) -> list[list[NamingFinding]]:
    """pep8-naming findings (ruff's N rules, all of them) for each source."""
    found: list[list[NamingFinding]] = [[] for _ in sources]
    if not sources:
        return found
    batch = _Batch(sources, suffixes)
    try:
        result = _run(
            [
                "check",
                "--isolated",
                "--no-cache",
                "--select",
                "N",
                "--exit-zero",
                "--output-format",
                "json",
                ".",
            ],
            batch.root,
        )
        try:
            items = json.loads(result.stdout or "[]")
        except json.JSONDecodeError as exc:
            raise FormatterError(f"ruff check --select N: unreadable output: {exc}") from exc
        index = {name: i for i, name in enumerate(batch.names)}
        for item in items:
            i = index.get(Path(item["filename"]).name)
            if i is None or not item.get("code"):
                continue
            found[i].append(
                NamingFinding(
                    item["location"]["row"],
                    item["location"]["column"],
                    item["code"],
                    item["message"],
                )
            )
        for findings in found:
            findings.sort(key=lambda f: (f.line, f.column))
        return found
    finally:
        batch.close()
