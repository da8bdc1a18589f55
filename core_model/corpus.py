"""Text corpora found on the machine: no dataset can be downloaded, so the Python standard
library is the default code corpus."""

from __future__ import annotations

import random
import sysconfig
from collections.abc import Iterable
from pathlib import Path


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def read_corpus(
    paths: Iterable[Path],
    suffixes: tuple[str, ...] = (".py",),
    max_bytes: int | None = None,
    seed: int = 0,
) -> list[str]:
    """Read text files under ``paths`` (files or directories), in a seeded shuffled order,
    until ``max_bytes``. Undecodable files are skipped: a corpus is a sample, not an input."""
    files: list[Path] = []
    for root in paths:
        root = Path(root)
        if root.is_file():
            files.append(root)
        else:
            files.extend(p for p in sorted(root.rglob("*")) if p.suffix in suffixes and p.is_file())
    random.Random(seed).shuffle(files)
    texts, total = [], 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        texts.append(text)
        total += len(text)
        if max_bytes is not None and total >= max_bytes:
            break
    return texts
