"""Seeded-bug datasets: statement feature rows labelled buggy/clean with the bug kind.

For each corpus file, mutants are made with `mutate.sample_mutations`; each mutant is cropped to a
window of lines around the seeded bug (the model sees the bug in context), and the statement that
holds the bug is the positive row. Clean crops of the unmodified file give the negatives.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

import numpy as np

from codeassist.defects.corpus import CorpusFile
from codeassist.defects.detector import statement_features
from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.mutate import sample_mutations
from core_model.load import Model

CROP_LINES = 40


@dataclass(frozen=True)
class Dataset:
    """Rows ``x [N, D]``, ``y [N]`` (1 = seeded bug), ``kind [N]`` (BUG_KINDS index, -1 clean),
    ``group [N]`` (crop id), ``lines`` (clean lines covered, for false alarms per 1,000 lines)."""

    x: np.ndarray
    y: np.ndarray
    kind: np.ndarray
    group: np.ndarray
    lines: int


def _crop(text: str, line: int, rng: random.Random) -> tuple[str, int] | None:
    """A parseable block of about CROP_LINES lines holding `line` (1-based); (text, first line)."""
    lines = text.splitlines(keepends=True)
    for _ in range(4):
        first = max(0, line - 1 - rng.randint(5, CROP_LINES - 5))
        block = lines[first : first + CROP_LINES]
        # Dedent by the first line's indent so nested code parses as a module.
        indent = len(block[0]) - len(block[0].lstrip(" ")) if block else 0
        if any(b.strip() and len(b) - len(b.lstrip(" ")) < indent for b in block):
            continue
        candidate = "".join(b[indent:] if b.strip() else b.lstrip(" ") for b in block)
        try:
            ast.parse(candidate)
        except (SyntaxError, ValueError):
            continue
        return candidate, first + 1
    return None


def build_dataset(
    model: Model, files: list[CorpusFile], mutants_per_file: int, seed: int
) -> Dataset:
    """Feature rows for seeded bugs and clean code of `files` (see module docstring)."""
    rng = random.Random(seed)
    texts: list[str] = []
    targets: list[tuple[int, int]] = []  # (line in crop of the bug or 0, kind index or -1)
    clean_lines = 0
    for item in files:
        n_lines = item.text.count("\n") + 1
        for mutation in sample_mutations(item.text, mutants_per_file, rng.randrange(2**31)):
            mutant = mutation.apply(item.text)
            line = item.text.count("\n", 0, mutation.start) + 1
            cropped = _crop(mutant, line, rng)
            if cropped is None:
                continue
            texts.append(cropped[0])
            targets.append((line - cropped[1] + 1, BUG_KINDS.index(mutation.kind)))
        for _ in range(max(1, mutants_per_file // 3)):
            cropped = _crop(item.text, rng.randint(1, n_lines), rng)
            if cropped is not None:
                texts.append(cropped[0])
                targets.append((0, -1))
                clean_lines += cropped[0].count("\n")
    xs, ys, kinds, groups = [], [], [], []
    for start in range(0, len(texts), 64):
        chunk = texts[start : start + 64]
        for j, feats in enumerate(statement_features(model, chunk)):
            bug_line, kind = targets[start + j]
            if not feats.statements:
                continue
            # The buggy statement: the innermost one whose lines hold the bug line.
            hit = [
                i
                for i, s in enumerate(feats.statements)
                if bug_line and s.line <= bug_line <= s.end_line
            ]
            labels = np.zeros(len(feats.statements), np.int64)
            kind_row = np.full(len(feats.statements), -1, np.int64)
            if hit:
                labels[hit[-1]] = 1
                kind_row[hit[-1]] = kind
            elif bug_line:
                continue
            xs.append(feats.matrix)
            ys.append(labels)
            kinds.append(kind_row)
            groups.append(np.full(len(labels), start + j))
    return Dataset(
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(kinds),
        np.concatenate(groups),
        clean_lines,
    )
