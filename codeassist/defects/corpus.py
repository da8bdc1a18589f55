"""The code corpus for training and evaluation, split by package so nothing leaks.

The corpus is the standard library (and optionally installed site-packages). A file's split is
decided by a hash of its top-level package name, so a package seen in training (by the code model
or the detector) never appears in evaluation.
"""

from __future__ import annotations

import ast
import hashlib
import random
import sysconfig
from dataclasses import dataclass
from pathlib import Path

EVAL_FRACTION = 0.2


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
    skip = {"site-packages", "test", "tests", "idlelib", "lib2to3", "__pycache__", "turtledemo"}
    paths = [
        p
        for p in sorted(root.rglob("*.py"))
        if not skip.intersection(p.relative_to(root).parts)
        and split_of(package_of(p, root)) == split
    ]
    random.Random(seed).shuffle(paths)
    files: list[CorpusFile] = []
    for path in paths:
        if max_files is not None and len(files) >= max_files:
            break
        try:
            if path.stat().st_size > max_bytes:
                continue
            text = path.read_text(encoding="utf-8")
            ast.parse(text)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        files.append(CorpusFile(package_of(path, root), path, text))
    return files
