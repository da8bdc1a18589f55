"""The cheap gate: which statements the learned detector sends through the code model at all.

Scoring a statement costs a code-model window for it and one per candidate edit; most
statements of ordinary code are clean and score far below the detector's threshold. The gate
decides from facts that cost no model call: the usage facts (`usage`), the statement's kind,
depth and length, and how many candidate edits of each bug kind apply to it. It is a logistic
regression fitted on seeded bugs against clean statements of training-split files, and its
threshold is chosen on other training-split packages so that it keeps the seeded bugs the full
detector reports (`bench/defects_gate.py`; figures in docs/benchmarks.md, "Cheap gate"). A
statement no candidate edit applies to is never scored: the detector gives it 0 whatever the
model says (`Detector.score`).

The fitted gate is plain numbers in ``gate.json`` beside the detector (no pickle), read by
`load_gate`; without that file every statement with a candidate edit is scored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codeassist.defects.errors import DetectorArtifactError
from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.mutate import Mutation
from codeassist.defects.statements import Statement
from codeassist.defects.usage import USAGE_FEATURES
from codeassist.files import write_atomic

GATE_FILE = "gate.json"
# What the gate reads, per statement, in this column order (`cheap_features`).
CHEAP_FEATURES: tuple[str, ...] = (
    *USAGE_FEATURES,
    *(f"missing_{name}" for name in USAGE_FEATURES),
    "depth",
    "lines",
    *(f"node_{name}" for name in ("Assign", "AugAssign", "Expr", "Return", "If", "While",
                                  "For", "Assert", "other")),
    *(f"edits_{kind}" for kind in BUG_KINDS),
    "edits",
)  # fmt: skip
_NODES = ("Assign", "AugAssign", "Expr", "Return", "If", "While", "For", "Assert")


def cheap_features(
    statements: list[Statement], candidates: list[list[Mutation]], usage: np.ndarray
) -> np.ndarray:
    """``[S, len(CHEAP_FEATURES)]``: usage facts (NaN as 0 plus a missing flag), depth, lines,
    the statement's node type one-hot, and log1p of the candidate edits per kind and in all."""
    n = len(statements)
    out = np.zeros((n, len(CHEAP_FEATURES)), np.float32)
    if n == 0:
        return out
    u = len(USAGE_FEATURES)
    missing = np.isnan(usage)
    out[:, :u] = np.where(missing, 0.0, np.log1p(np.abs(np.nan_to_num(usage))))
    out[:, u : 2 * u] = missing
    column = 2 * u
    for row, (statement, edits) in enumerate(zip(statements, candidates, strict=True)):
        out[row, column] = statement.depth
        out[row, column + 1] = np.log1p(statement.end_line - statement.line)
        node = _NODES.index(statement.node_type) if statement.node_type in _NODES else len(_NODES)
        out[row, column + 2 + node] = 1.0
        counts = np.zeros(len(BUG_KINDS), np.float32)
        for m in edits:
            counts[BUG_KINDS.index(m.kind)] += 1
        first = column + 2 + len(_NODES) + 1
        out[row, first : first + len(BUG_KINDS)] = np.log1p(counts)
        out[row, -1] = np.log1p(len(edits))
    return out


@dataclass(frozen=True)
class CheapGate:
    """A fitted logistic regression over `cheap_features` and the score at which it opens.

    Attributes:
        mean: Per-column mean of the fitting rows (standardisation).
        scale: Per-column standard deviation (1 where constant).
        coef: Weights on the standardised columns.
        intercept: Bias.
        threshold: Statements scoring at or above it go through the code model.
        meta: How it was fitted and chosen (files, recall kept, share scored).
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    meta: dict

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Gate probability per row ``[S]``."""
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def keep(self, rows: np.ndarray) -> np.ndarray:
        """True where the statement is to be scored by the learned detector ``[S]``."""
        return self.score(rows) >= self.threshold


def fit_gate(rows: np.ndarray, y: np.ndarray, seed: int = 0) -> CheapGate:
    """A gate fitted on `rows` (`cheap_features`) against `y` (1 = seeded bug); its threshold
    is set afterwards (`dataclasses.replace`) on other files."""
    from sklearn.linear_model import LogisticRegression

    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale == 0] = 1.0
    # Balanced classes: the gate ranks; where it cuts is chosen on other files.
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=seed)
    model.fit((rows - mean) / scale, y)
    return CheapGate(mean, scale, model.coef_[0], float(model.intercept_[0]), 0.0, {})


def save_gate(gate: CheapGate, directory: Path) -> None:
    """Write ``gate.json`` into `directory` atomically."""
    data = {
        "features": list(CHEAP_FEATURES),
        "mean": gate.mean.tolist(),
        "scale": gate.scale.tolist(),
        "coef": gate.coef.tolist(),
        "intercept": gate.intercept,
        "threshold": gate.threshold,
        "meta": gate.meta,
    }
    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(directory / GATE_FILE, json.dumps(data, indent=1).encode() + b"\n", mode=0o644)


def load_gate(directory: Path) -> CheapGate | None:
    """The gate in ``directory/gate.json``; None when there is none (every statement with a
    candidate edit is then scored).

    Raises:
        DetectorArtifactError: the file is unreadable or was made for other features.
    """
    path = directory / GATE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["features"] != list(CHEAP_FEATURES):
            raise DetectorArtifactError(str(path), "made for other cheap features")
        return CheapGate(
            np.asarray(data["mean"], np.float64),
            np.asarray(data["scale"], np.float64),
            np.asarray(data["coef"], np.float64),
            float(data["intercept"]),
            float(data["threshold"]),
            dict(data.get("meta", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DetectorArtifactError(str(path), f"unreadable gate: {exc}") from exc


def cheap_rows(
    sources: list[str], mutants_per_file: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gate rows without the code model: every statement of each source that some candidate
    edit applies to (y = 0) and the statement of each seeded bug in its mutant (y = 1), with
    the source index of each row. The same facts `detector.statement_features` gives the gate.
    """
    import ast
    import random

    from codeassist.defects.mutate import list_mutations, sample_mutations
    from codeassist.defects.statements import SourceIndex, list_statements, statement_at
    from codeassist.defects.usage import usage_features
    from codeassist.defects.variants import candidate_edits

    rng = random.Random(seed)
    rows, labels, groups = [], [], []

    def add(text: str, tree: ast.Module, statements: list[Statement], label: int, g: int):
        index = SourceIndex(text)
        mutations = list_mutations(text, tree)
        edits = [candidate_edits(text, st, mutations) for st in statements]
        keep = [i for i, e in enumerate(edits) if e]
        if not keep:
            return
        chosen = [statements[i] for i in keep]
        usage = usage_features(tree, index, chosen)
        rows.append(cheap_features(chosen, [edits[i] for i in keep], usage))
        labels.append(np.full(len(keep), label))
        groups.append(np.full(len(keep), g))

    for g, text in enumerate(sources):
        tree = ast.parse(text)
        add(text, tree, list_statements(tree, SourceIndex(text)), 0, g)
        for mutation in sample_mutations(text, mutants_per_file, rng.randrange(2**31)):
            mutant = mutation.apply(text)
            mutant_tree = ast.parse(mutant)
            hit = statement_at(list_statements(mutant_tree, SourceIndex(mutant)), mutation.start)
            if hit is not None:
                add(mutant, mutant_tree, [hit], 1, g)
    if not rows:
        return np.zeros((0, len(CHEAP_FEATURES)), np.float32), np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(rows), np.concatenate(labels), np.concatenate(groups)
