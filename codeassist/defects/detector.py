"""The learned part: per-statement features from the code model and a classifier over them.

Each candidate statement (see `statements`) is embedded in its file's context: the mean of the
code model's per-token hidden states over the statement's tokens, surprisal statistics of those
tokens (against the file's own level), and cheap AST features. A HistGradientBoosting classifier
ranks statements by bug likelihood; a second one names the bug kind. Training data are seeded
bugs (`mutate`) in the training packages of the corpus, in the manner of DeepBugs.
Inference is one batched forward per file window, never one per statement.
"""

from __future__ import annotations

import ast
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codeassist.defects.errors import DetectorArtifactError
from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.statements import SourceIndex, Statement, list_statements
from core_model.config import FeatureOptions
from core_model.features import extract_features
from core_model.load import Model

DETECTOR_DIR = Path(__file__).resolve().parent.parent / "assets" / "defect_detector"
NODE_TYPES = (
    "Assign", "AugAssign", "AnnAssign", "Expr", "Return", "If", "While", "For", "With", "Raise",
    "Assert", "FunctionDef", "ClassDef", "Import", "ImportFrom", "Try", "Delete", "Pass",
)  # fmt: skip
# sklearn types the skops file may contain; anything else is refused at load.
TRUSTED_TYPES = [
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.link.Interval",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "numpy.dtype",
    "collections.OrderedDict",
    "builtins.slice",
]


@dataclass(frozen=True)
class StatementFeatures:
    """Features of every candidate statement of one text: ``matrix [S, D]`` and the statements."""

    statements: list[Statement]
    matrix: np.ndarray


def _statement_rows(
    statements: list[Statement], hidden: np.ndarray, surprisal: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    # Token t belongs to the statement whose span holds its first character. [T]
    starts = np.array([s.start for s in statements])
    ends = np.array([s.end for s in statements])
    token_start = offsets[:, 0]
    which = np.searchsorted(starts, token_start, side="right") - 1
    valid = (which >= 0) & (offsets[:, 1] > offsets[:, 0])
    valid &= token_start < ends[np.clip(which, 0, None)]
    valid[0] = False  # <bos>
    file_mean = float(surprisal[1:].mean()) if len(surprisal) > 1 else 0.0
    file_std = float(surprisal[1:].std()) + 1e-6 if len(surprisal) > 1 else 1.0
    rows = np.zeros((len(statements), hidden.shape[1] + 12), np.float32)
    for i, statement in enumerate(statements):
        mask = valid & (which == i)
        s = surprisal[mask]
        if s.size:
            rows[i, : hidden.shape[1]] = hidden[mask].mean(0)
            top = np.sort(s)[::-1]
            stats = [
                s.max(),
                s.mean(),
                s.sum(),
                (s.max() - file_mean) / file_std,
                (s.mean() - file_mean) / file_std,
                top[1] if s.size > 1 else 0.0,
                s.size,
            ]
        else:
            stats = [0.0] * 7
        node = NODE_TYPES.index(statement.node_type) if statement.node_type in NODE_TYPES else -1
        rows[i, hidden.shape[1] :] = [
            *stats,
            node,
            statement.depth,
            statement.end_line - statement.line + 1,
            file_mean,
            file_std,
        ]
    return rows


def statement_features(
    model: Model, sources: list[str], trees: list[ast.Module] | None = None
) -> list[StatementFeatures]:
    """Per-statement feature rows for each source (one batched feature pass over all of them)."""
    trees = trees or [ast.parse(s) for s in sources]
    features = extract_features(
        model, sources, FeatureOptions(per_position=True, batch_size=8, max_length=512)
    )
    out = []
    for source, tree, pos in zip(sources, trees, features.positions or [], strict=True):
        statements = list_statements(tree, SourceIndex(source))
        if not statements:
            out.append(StatementFeatures([], np.zeros((0, 1), np.float32)))
            continue
        matrix = _statement_rows(statements, pos.hidden, pos.surprisal, pos.offsets)
        out.append(StatementFeatures(statements, matrix))
    return out


@dataclass
class Detector:
    """The fitted classifiers and the calibrated threshold."""

    bug: object  # HistGradientBoostingClassifier: statement is buggy
    kind: object  # HistGradientBoostingClassifier: which BUG_KINDS index
    threshold: float
    meta: dict

    def score(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bug probability [S], most likely kind index [S] and kind probabilities [S, K]."""
        if len(matrix) == 0:
            return np.zeros(0), np.zeros(0, int), np.zeros((0, len(BUG_KINDS)))
        probability = self.bug.predict_proba(matrix)[:, 1]
        kind_proba = np.zeros((len(matrix), len(BUG_KINDS)))
        kind_proba[:, self.kind.classes_] = self.kind.predict_proba(matrix)
        return probability, kind_proba.argmax(1), kind_proba


def save_detector(detector: Detector, directory: Path) -> None:
    """Write detector.skops and detector.json atomically."""
    import skops.io

    directory.mkdir(parents=True, exist_ok=True)
    blob = skops.io.dumps({"bug": detector.bug, "kind": detector.kind})
    meta = dict(detector.meta, threshold=detector.threshold, kinds=list(BUG_KINDS))
    for name, data in (
        ("detector.skops", blob),
        ("detector.json", json.dumps(meta, indent=2).encode()),
    ):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the artifact is shipped, others read it
        os.replace(tmp, directory / name)


def load_detector(directory: Path | None = None) -> Detector:
    """Load a detector written by `save_detector` (skops with explicit trusted types, no pickle).

    Raises:
        DetectorArtifactError: files missing, or the skops file holds an untrusted type.
    """
    import skops.io

    directory = directory or DETECTOR_DIR
    blob_path, meta_path = directory / "detector.skops", directory / "detector.json"
    if not blob_path.is_file() or not meta_path.is_file():
        raise DetectorArtifactError(str(directory), "no detector.skops/detector.json here")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        blob = blob_path.read_bytes()
        untrusted = [t for t in skops.io.get_untrusted_types(data=blob) if t not in TRUSTED_TYPES]
        if untrusted:
            raise DetectorArtifactError(str(blob_path), f"untrusted types {untrusted}")
        models = skops.io.loads(blob, trusted=TRUSTED_TYPES)
    except (OSError, ValueError, KeyError) as exc:
        raise DetectorArtifactError(str(directory), f"unreadable detector: {exc}") from exc
    return Detector(models["bug"], models["kind"], float(meta["threshold"]), meta)
