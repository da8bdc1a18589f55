"""The code corpora, kept apart so nothing leaks.

The detector learns from and is evaluated on the standard library: a file's split is decided by a
hash of its top-level package name, so a package the detector was trained on never appears in
evaluation. The code model learns from the packages installed beside the suite
(`list_installed`), minus any file that copies standard-library code, so every standard-library
file is as new to it as a user's code: the detector's training, calibration and evaluation
statements all read as unseen text.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import random
import sysconfig
from dataclasses import dataclass
from pathlib import Path

EVAL_FRACTION = 0.2
_SKIPPED_DIRS = {
    "site-packages",
    "test",
    "tests",
    "idlelib",
    "lib2to3",
    "__pycache__",
    "turtledemo",
}
# A code line this long is specific enough that sharing many of them means copied code
# (comments are left out: licence headers are shared by unrelated files).
_COPY_LINE_CHARS = 40


@dataclass(frozen=True)
class CorpusFile:
    """One corpus file: its package (split key), path and text."""

    package: str
    path: Path
    text: str


def stdlib_root() -> Path:
    """Where this interpreter's standard library lives."""
    return Path(sysconfig.get_paths()["stdlib"])


def package_of(path: Path, root: Path) -> str:
    """Top-level package (or module) name of `path` under `root`."""
    parts = path.relative_to(root).parts
    return parts[0].removesuffix(".py")


def split_of(package: str, seed: int = 0) -> str:
    """``"train"`` or ``"eval"`` for a package, stable across runs and machines."""
    digest = hashlib.sha256(f"{seed}:{package}".encode()).digest()
    return "eval" if digest[0] < 256 * EVAL_FRACTION else "train"


def list_corpus(
    split: str,
    root: Path | None = None,
    max_files: int | None = None,
    max_bytes: int = 200_000,
    seed: int = 0,
) -> list[CorpusFile]:
    """Parseable UTF-8 Python files of one split, shuffled with `seed`.

    Args:
        split: ``"train"`` or ``"eval"``.
        root: Corpus root; the standard library by default.
        max_files: Stop after this many files.
        max_bytes: Skip files larger than this (generated tables, not code).
        seed: Shuffle seed (the split itself does not depend on it).
    """
    root = root or stdlib_root()
    paths = [p for p in _python_files(root) if split_of(package_of(p, root)) == split]
    random.Random(seed).shuffle(paths)
    files: list[CorpusFile] = []
    for path in paths:
        if max_files is not None and len(files) >= max_files:
            break
        text = _read_source(path, max_bytes)
        if text is not None:
            files.append(CorpusFile(package_of(path, root), path, text))
    return files


def installed_root() -> Path:
    """Where this interpreter's installed pure-Python packages live."""
    return Path(sysconfig.get_paths()["purelib"])


def list_installed(
    max_chars: int,
    max_package_chars: int,
    root: Path | None = None,
    max_bytes: int = 200_000,
    max_copied: float = 0.2,
    seed: int = 0,
) -> list[CorpusFile]:
    """Parseable Python files of the installed packages, for training the code model.

    Every package contributes at most `max_package_chars` (a few large packages would otherwise
    make up most of the text), files drawn in a seeded order. A file whose long lines are more
    than `max_copied` standard-library lines (a vendored backport, a copy of ``distutils``) is
    skipped, so no standard-library code reaches the model through a copy.

    Args:
        max_chars: Total text budget.
        max_package_chars: Budget per top-level package.
        root: Where the packages are; this interpreter's site-packages by default.
        max_bytes: Skip files larger than this (generated tables, not code).
        max_copied: Largest tolerated share of a file's long lines found in the standard library.
        seed: Draw order.
    """
    root = root or installed_root()
    stdlib = _stdlib_line_hashes()
    by_package: dict[str, list[Path]] = {}
    for path in _python_files(root):
        # an editable install's finder names the checkout's path: not code, and not reproducible
        if not path.name.startswith("__editable__"):
            by_package.setdefault(package_of(path, root), []).append(path)
    rng = random.Random(seed)
    chosen: list[CorpusFile] = []
    for package in sorted(by_package):
        paths = by_package[package]
        rng.shuffle(paths)
        used = 0
        for path in paths:
            text = _read_source(path, max_bytes, max_chars=max_package_chars - used)
            if text is None:
                continue
            lines = _long_line_hashes_of(text)
            if lines and len(lines & stdlib) > max_copied * len(lines):
                continue
            chosen.append(CorpusFile(package, path, text))
            used += len(text)
    rng.shuffle(chosen)
    files, total = [], 0
    for item in chosen:
        if total >= max_chars:
            break
        files.append(item)
        total += len(item.text)
    return files


def _python_files(root: Path) -> list[Path]:
    return [
        p
        for p in sorted(root.rglob("*.py"))
        if not _SKIPPED_DIRS.intersection(p.relative_to(root).parts[:-1])
    ]


def _read_source(path: Path, max_bytes: int, max_chars: int | None = None) -> str | None:
    """The file's text if it is a parseable UTF-8 Python file of at most `max_bytes` (and
    `max_chars`)."""
    try:
        size = path.stat().st_size
        # UTF-8 takes at most 4 bytes a character: a file surely over `max_chars` is not read
        if size > max_bytes or (max_chars is not None and size // 4 > max_chars):
            return None
        text = path.read_text(encoding="utf-8")
        if max_chars is not None and len(text) > max_chars:
            return None
        ast.parse(text)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None
    return text


def _long_line_hashes_of(text: str) -> set[str]:
    return {
        hashlib.blake2b(line.encode(), digest_size=8).hexdigest()
        for line in map(str.strip, text.splitlines())
        if len(line) >= _COPY_LINE_CHARS and not line.startswith("#")
    }


@functools.cache
def _stdlib_line_hashes() -> frozenset[str]:
    hashes: set[str] = set()
    for item in list_corpus("train") + list_corpus("eval"):
        hashes |= _long_line_hashes_of(item.text)
    return frozenset(hashes)
