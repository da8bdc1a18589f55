"""Seeded-bug datasets: statement feature rows labelled buggy/clean with the bug kind.

For each corpus file, mutants are made with `mutate.sample_mutations`; in each mutant the
statement that holds the seeded bug is the positive row, scored in the mutant file exactly as
detection scores it (`detector.statement_features`: the same window around the statement).
Statements of the unmodified file are the negatives: a sample of them for training, every one of
them for validation and evaluation (false alarms per 1,000 lines are then counted on whole
files, as a user would see them).
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

import numpy as np

from codeassist.defects.corpus import CorpusFile
from codeassist.defects.detector import N_FEATURES, Gate, statement_features
from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.gate import CHEAP_FEATURES
from codeassist.defects.mutate import Mutation, list_mutations, sample_mutations
from codeassist.defects.statements import SourceIndex, list_statements, statement_at
from codeassist.defects.variants import candidate_edits
from core_model.load import Model
from core_model.progress import NULL_PROGRESS, Progress

# Files per feature call: bounds how much text is held at once.
_FILES_PER_CALL = 4


@dataclass(frozen=True)
class Dataset:
    """Rows ``x [N, D]``, ``y [N]`` (1 = seeded bug), ``kind [N]`` (BUG_KINDS index, -1 clean),
    ``group [N]`` (file index), ``spans [N, 2]`` (first and last line of each row's statement,
    in its file or mutant), ``lines`` (lines of the files whose clean statements were all
    scored; 0 when they were sampled) and the seeded ``mutations`` as (file index, mutation),
    one per positive row in row order; ``cheap [N, C]`` the rows' `gate.cheap_features`
    (None for a dataset read from the feature cache)."""

    x: np.ndarray
    y: np.ndarray
    kind: np.ndarray
    group: np.ndarray
    spans: np.ndarray
    lines: int
    mutations: list[tuple[int, Mutation]]
    cheap: np.ndarray | None = None


def build_dataset(
    model: Model,
    files: list[CorpusFile],
    mutants_per_file: int,
    seed: int,
    clean_per_file: int | None = None,
    progress: Progress = NULL_PROGRESS,
    gate: Gate | None = None,
) -> Dataset:
    """Feature rows for seeded bugs and clean statements of `files` (see module docstring).

    Args:
        model: The code model.
        files: Corpus files (unmodified).
        mutants_per_file: Seeded bugs per file.
        seed: Seed for mutation and clean-statement sampling.
        clean_per_file: Clean statements sampled per file, among those some candidate edit
            applies to; None scores all of them.
        progress: advanced by one per file featurized (the caller names the stage).
        gate: Passed to `statement_features` (evaluation scores as detection does).
    """
    rng = random.Random(seed)
    xs, ys, kinds, groups, spans, cheap = [], [], [], [], [], []
    seeded: list[tuple[int, Mutation]] = []
    lines = 0
    for first in range(0, len(files), _FILES_PER_CALL):
        sources: list[str] = []
        trees: list[ast.Module] = []
        selected: list[list[int] | None] = []
        meta: list[tuple[int, int, Mutation | None]] = []  # (file, kind or -1, mutation)
        for f, item in enumerate(files[first : first + _FILES_PER_CALL], start=first):
            tree = ast.parse(item.text)
            if clean_per_file is None:
                chosen = None
                lines += item.text.count("\n") + 1
            else:
                # Only statements some edit applies to: the others score 0 (`Detector.score`).
                statements = list_statements(tree, SourceIndex(item.text))
                mutations = list_mutations(item.text, tree)
                eligible = [
                    j
                    for j, st in enumerate(statements)
                    if candidate_edits(item.text, st, mutations)
                ]
                chosen = sorted(rng.sample(eligible, min(clean_per_file, len(eligible))))
            sources.append(item.text)
            trees.append(tree)
            selected.append(chosen)
            meta.append((f, -1, None))
            for mutation in sample_mutations(item.text, mutants_per_file, rng.randrange(2**31)):
                mutant = mutation.apply(item.text)
                mutant_tree = ast.parse(mutant)
                statements = list_statements(mutant_tree, SourceIndex(mutant))
                hit = statement_at(statements, mutation.start)
                if hit is None:
                    continue
                sources.append(mutant)
                trees.append(mutant_tree)
                selected.append([statements.index(hit)])
                meta.append((f, BUG_KINDS.index(mutation.kind), mutation))
        for feats, (f, kind, mutation) in zip(
            statement_features(model, sources, trees, selected, gate), meta, strict=True
        ):
            if not feats.statements:
                continue
            n = len(feats.statements)
            xs.append(feats.matrix)
            cheap.append(feats.cheap)
            ys.append(np.full(n, int(kind >= 0)))
            kinds.append(np.full(n, kind))
            groups.append(np.full(n, f))
            spans.append(np.array([(st.line, st.end_line) for st in feats.statements]))
            if mutation is not None:
                seeded.append((f, mutation))
        progress.advance(len(files[first : first + _FILES_PER_CALL]))
    width = N_FEATURES
    return Dataset(
        np.concatenate(xs) if xs else np.zeros((0, width), np.float32),
        np.concatenate(ys).astype(np.int64) if ys else np.zeros(0, np.int64),
        np.concatenate(kinds).astype(np.int64) if kinds else np.zeros(0, np.int64),
        np.concatenate(groups).astype(np.int64) if groups else np.zeros(0, np.int64),
        np.concatenate(spans).astype(np.int64) if spans else np.zeros((0, 2), np.int64),
        lines,
        seeded,
        np.concatenate(cheap) if cheap else np.zeros((0, len(CHEAP_FEATURES)), np.float32),
    )
