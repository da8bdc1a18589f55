"""The learned part: per-statement features from the code model and a classifier over them.

Each candidate statement (see `statements`) is scored in its own window (see `variants`): the
same few lines of context at training and detection time. Features are surprisal statistics of
the statement's tokens against the window's context; in the manner of DeepBugs, how much more
natural the code model finds each candidate edit of the statement than what is written
(surprisal of the statement and the line after it, as written minus as edited: large means "a
nearby variant reads much better"); cheap AST features; and how the statement's names and
attributes are used in the rest of the function and file (`usage`: what the window cannot
show). A HistGradientBoosting classifier ranks statements by bug likelihood; a second one names
the bug kind. Training data are seeded bugs (`mutate`) in the training packages of the corpus.
All windows of a file go through the model in batches, never one forward per statement.

The classifiers do not see the code model's hidden states: a mean-pooled statement embedding
ranked seeded bugs worse on packages the detector was not trained on (it learns what the
training packages look like rather than what a bug looks like; see docs/benchmarks.md).
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codeassist.defects.errors import DetectorArtifactError
from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.mutate import Mutation, list_mutations
from codeassist.defects.statements import SourceIndex, Statement, list_statements
from codeassist.defects.usage import N_USAGE, usage_features
from codeassist.defects.variants import (
    NAME_KINDS,
    candidate_edits,
    choose_variants,
    statement_window,
)
from codeassist.files import write_atomic
from core_model.load import Model
from core_model.token_scores import score_tokens

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
# Statements per model call: bounds memory (per-token hidden states of every window); a file of
# up to this many statements goes through each pass in one call, batched by window length.
_CHUNK_STATEMENTS = 512
# Surprisal statistics, variant deltas (one per kind, then summary), AST features, then the
# usage facts of `usage` appended per source.
N_STATS = 9
N_DELTAS = len(BUG_KINDS) + 5
N_AST = 3
# Position from the end of a row of the number of candidate edits tried (see `_row`).
_VARIANT_COUNT_FROM_END = N_USAGE + N_AST + 2
N_FEATURES = N_STATS + N_DELTAS + N_AST + N_USAGE  # per statement


@dataclass(frozen=True)
class StatementFeatures:
    """Features of the scored statements of one text: ``matrix [S, D]``, the statements, each
    one's candidate edits and their surprisal gains ``deltas[i] [V_i]`` (as written minus as
    edited; positive = the edit reads more naturally)."""

    statements: list[Statement]
    matrix: np.ndarray
    variants: list[list[Mutation]]
    deltas: list[np.ndarray]
    # `gate.cheap_features` of the statements, ``[S, C]`` (what the cheap gate decided on).
    cheap: np.ndarray | None = None

    def best_variant(self, i: int, kind: str | None = None) -> tuple[Mutation, float] | None:
        """The edit of statement `i` (of `kind`, if given) the code model prefers most."""
        pairs = [
            (m, float(d))
            for m, d in zip(self.variants[i], self.deltas[i], strict=True)
            if kind is None or m.kind == kind
        ]
        return max(pairs, key=lambda p: p[1]) if pairs else None


@dataclass
class _Job:
    source: int
    statement: Statement
    window_start: int
    window_text: str
    candidates: list[Mutation]
    variants: list[Mutation] = field(default_factory=list)
    best_name_gain: float = float("nan")
    estimated: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


def _region_surprisal(surprisal: np.ndarray, offsets: np.ndarray, rel_start: int) -> float:
    # Tokens that overlap the statement or come after it; <bos> (index 0) is never one.
    mask = offsets[:, 1] > rel_start
    mask[0] = False
    return float(surprisal[mask].sum())


def _row(job: _Job, surprisal: np.ndarray, offsets: np.ndarray,
         deltas: np.ndarray) -> np.ndarray:  # fmt: skip
    """The feature row (without usage facts) from the written window's surprisal and the
    variants' gains `deltas` (NaN: gain unknown)."""
    statement = job.statement
    rel_start = statement.start - job.window_start
    rel_end = statement.end - job.window_start
    body = (offsets[:, 1] > rel_start) & (offsets[:, 0] < rel_end)
    body[0] = False
    context = offsets[:, 1] <= rel_start
    context[0] = False
    tail = offsets[:, 0] >= rel_end
    s = surprisal[body]
    ctx = surprisal[context]
    ctx_mean = float(ctx.mean()) if ctx.size else 0.0
    ctx_std = float(ctx.std()) + 0.5 if ctx.size > 1 else 1.0
    if s.size:
        top = np.sort(s)[::-1]
        stats = [
            s.max(), s.mean(), s.sum(), s.size, top[1] if s.size > 1 else 0.0,
            (s.max() - ctx_mean) / ctx_std, (s.mean() - ctx_mean) / ctx_std,
            ctx_mean, float(surprisal[tail].sum()),
        ]  # fmt: skip
    else:
        stats = [0.0] * 3 + [0.0] + [0.0] * 3 + [ctx_mean, float(surprisal[tail].sum())]
    per_kind = np.full(len(BUG_KINDS), np.nan, np.float32)
    for mutation, delta in zip(job.variants, deltas, strict=True):
        k = BUG_KINDS.index(mutation.kind)
        per_kind[k] = np.fmax(per_kind[k], delta)
    known = deltas[~np.isnan(deltas)]
    if known.size:
        ordered = np.sort(known)[::-1]
        best = int(np.nanargmax(deltas))
        summary = [
            ordered[0],
            ordered[1] if known.size > 1 else np.nan,
            BUG_KINDS.index(job.variants[best].kind),
            deltas.size,
        ]
    else:
        summary = [np.nan, np.nan, np.nan, deltas.size]
    summary.append(job.best_name_gain)
    node = NODE_TYPES.index(statement.node_type) if statement.node_type in NODE_TYPES else -1
    ast_feats = [node, statement.depth, statement.end_line - statement.line + 1]
    return np.concatenate([stats, per_kind, summary, ast_feats]).astype(np.float32)


class _LocalScorer:
    """The code model's log-probability gain, at an edit's first token, of the edited text over
    the written one (from the top-k next-token lists of the pass over the written window)."""

    def __init__(self, model: Model) -> None:
        self.tokenizer = model.tokenizer
        self.first_ids: dict[str, int] = {}

    def prepare(self, texts: set[str]) -> None:
        missing = sorted(t for t in texts if t not in self.first_ids)
        if missing:
            encoded = self.tokenizer(missing, add_special_tokens=False)["input_ids"]
            for text, ids in zip(missing, encoded, strict=True):
                self.first_ids[text] = ids[0] if ids else -1

    @staticmethod
    def token_at(offsets: np.ndarray, rel: int) -> int | None:
        hits = np.nonzero((offsets[1:, 0] <= rel) & (rel < offsets[1:, 1]))[0]
        return int(hits[0]) + 1 if hits.size else None

    def gain(self, job: _Job, position, m: Mutation) -> float | None:
        rel = m.start - job.window_start
        j = self.token_at(position.offsets, rel)
        if j is None:
            return None
        prefix = job.window_text[position.offsets[j, 0] : rel]
        cand = self.first_ids.get(prefix + m.mutated, -1)
        ids, logprobs = position.next_top_ids[j - 1], position.next_top_logprobs[j - 1]
        hit = ids == cand
        # Not in the top k: at most as likely as the k-th (an optimistic bound, fine for ranking).
        cand_logprob = float(logprobs[hit][0]) if hit.any() else float(logprobs[-1])
        return cand_logprob + float(position.surprisal[j])


_TOP_K = 64


def _written_pass(model: Model, jobs: list[_Job], scorer: _LocalScorer) -> list:
    """Pass 1: each written window once; the variants to try, chosen by the model's
    next-token preference at each edit; and each variant's estimated gain (that preference:
    NaN where the edit's first token was not scored). Costs one window per statement."""
    # Top-k only where an edit starts: what the model expected there is all `gain` reads.
    written = score_tokens(
        model,
        [job.window_text for job in jobs],
        top_k=_TOP_K,
        top_k_at=[[m.start - job.window_start for m in job.candidates] for job in jobs],
    )
    wanted = set()
    for job, position in zip(jobs, written, strict=True):
        for m in job.candidates:
            rel = m.start - job.window_start
            j = scorer.token_at(position.offsets, rel)
            if j is not None:
                wanted.add(job.window_text[position.offsets[j, 0] : rel] + m.mutated)
    scorer.prepare(wanted)
    for job, position in zip(jobs, written, strict=True):
        gains: dict[Mutation, float | None] = {}

        def score(m: Mutation, job=job, position=position, gains=gains) -> float | None:
            gains[m] = scorer.gain(job, position, m)
            return gains[m]

        job.variants = choose_variants(job.candidates, score)
        known = [g for m, g in gains.items() if g is not None and m.kind in NAME_KINDS]
        job.best_name_gain = max(known) if known else float("nan")
        job.estimated = np.array(
            [np.nan if gains.get(m) is None else gains[m] for m in job.variants], np.float32
        )
    return written


def _edited_pass(model: Model, jobs: list[_Job], written: list) -> list[np.ndarray]:
    """Pass 2: every chosen variant in its own edited window; the gains in surprisal of the
    statement and what follows it, as written minus as edited."""
    texts: list[str] = []
    starts: list[int] = []
    for job in jobs:
        for m in job.variants:
            a, b = m.start - job.window_start, m.end - job.window_start
            texts.append(job.window_text[:a] + m.mutated + job.window_text[b:])
            starts.append(job.statement.start - job.window_start)
    # Only the statement and what follows it are compared (`_region_surprisal`): the output
    # layer runs on those positions alone.
    edited = score_tokens(model, texts, surprisal_from=starts) if texts else []
    out, k = [], 0
    for job, position in zip(jobs, written, strict=True):
        rel_start = job.statement.start - job.window_start
        before = _region_surprisal(position.surprisal, position.offsets, rel_start)
        out.append(
            np.array(
                [
                    before - _region_surprisal(p.surprisal, p.offsets, rel_start)
                    for p in edited[k : k + len(job.variants)]
                ],
                np.float32,
            )
        )
        k += len(job.variants)
    return out


# Decides, from a first-pass row per statement (edit gains estimated, see `_written_pass`),
# which statements get their candidate edits scored in full.
Gate = Callable[[np.ndarray], np.ndarray]


def _unscored_row(statement: Statement) -> np.ndarray:
    """The row of a statement the code model did not see: no edit tried (so `Detector.score`
    gives it 0), its AST features as usual."""
    row = np.full(N_FEATURES - N_USAGE, np.nan, np.float32)
    row[:N_STATS] = 0.0
    row[-_VARIANT_COUNT_FROM_END + N_USAGE] = 0.0  # edits tried
    node = NODE_TYPES.index(statement.node_type) if statement.node_type in NODE_TYPES else -1
    row[-N_AST:] = [node, statement.depth, statement.end_line - statement.line + 1]
    return row


def statement_features(
    model: Model,
    sources: list[str],
    trees: list[ast.Module] | None = None,
    selected: list[list[int] | None] | None = None,
    gate: Gate | None = None,
    cheap_gate: Gate | None = None,
) -> list[StatementFeatures]:
    """Per-statement feature rows for each source.

    Args:
        model: The code model.
        sources: Python texts.
        trees: Their parsed modules (parsed here when None).
        selected: Per source, indices (into `list_statements` order) of the statements to
            score, or None for all of them (training scores a sample of clean statements).
        gate: Given first-pass rows (the same features, with each edit's gain estimated from
            the model's next-token preference at the edit instead of scored in its own
            window), True where the edits are to be scored in full; the other rows keep the
            estimates. None scores every statement in full (training and evaluation).
        cheap_gate: Given `gate.cheap_features` rows, True where the statement goes through
            the code model at all; the others, and every statement no candidate edit applies
            to, get an unscored row (`Detector.score` gives it 0). None sends every statement
            through the model (training, evaluation and the features' own tests).
    """
    from codeassist.defects.gate import cheap_features

    trees = trees or [ast.parse(s) for s in sources]
    selected = selected or [None] * len(sources)
    per_source: list[list[Statement]] = []
    usage: list[np.ndarray] = []
    cheap: list[np.ndarray] = []
    jobs: list[_Job] = []
    scored: list[np.ndarray] = []  # per source: which statements have a job
    for i, (source, tree, chosen) in enumerate(zip(sources, trees, selected, strict=True)):
        index = SourceIndex(source)
        statements = list_statements(tree, index)
        if chosen is not None:
            statements = [statements[j] for j in chosen]
        per_source.append(statements)
        usage.append(usage_features(tree, index, statements))
        mutations = list_mutations(source, tree) if statements else {}
        candidates = [candidate_edits(source, st, mutations) for st in statements]
        cheap.append(cheap_features(statements, candidates, usage[-1]))
        keep = np.ones(len(statements), bool)
        if cheap_gate is not None and statements:
            keep = np.array([bool(c) for c in candidates]) & np.asarray(cheap_gate(cheap[-1]), bool)
        scored.append(keep)
        for statement, edits, wanted in zip(statements, candidates, keep, strict=True):
            if wanted:
                window = statement_window(index, statement)
                text = source[window.start : window.end]
                jobs.append(_Job(i, statement, window.start, text, edits))
    usage_rows = (
        np.concatenate([u[s] for u, s in zip(usage, scored, strict=True)])
        if usage
        else (np.zeros((0, N_USAGE), np.float32))
    )
    rows: list[np.ndarray] = []
    deltas: list[np.ndarray] = []
    scorer = _LocalScorer(model)
    for start in range(0, len(jobs), _CHUNK_STATEMENTS):
        chunk = jobs[start : start + _CHUNK_STATEMENTS]
        written = _written_pass(model, chunk, scorer)
        full = np.ones(len(chunk), bool)
        if gate is not None and chunk:
            first = [
                _row(job, p.surprisal, p.offsets, job.estimated)
                for job, p in zip(chunk, written, strict=True)
            ]
            facts = usage_rows[start : start + len(chunk)]
            full = np.asarray(gate(np.concatenate([np.stack(first), facts], axis=1)), bool)
        picked = [i for i in range(len(chunk)) if full[i]]
        gains = dict(
            zip(
                picked,
                _edited_pass(model, [chunk[i] for i in picked], [written[i] for i in picked]),
                strict=True,
            )
        )
        for i, (job, position) in enumerate(zip(chunk, written, strict=True)):
            gain = gains.get(i, job.estimated)
            rows.append(_row(job, position.surprisal, position.offsets, gain))
            deltas.append(gain)
    out, k = [], 0
    for statements, facts, keep, easy in zip(per_source, usage, scored, cheap, strict=True):
        matrix = np.zeros((len(statements), N_FEATURES - N_USAGE), np.float32)
        variants: list[list[Mutation]] = [[] for _ in statements]
        gains_out = [np.zeros(0, np.float32) for _ in statements]
        for j, statement in enumerate(statements):
            if keep[j]:
                matrix[j] = rows[k]
                variants[j] = jobs[k].variants
                gains_out[j] = deltas[k]
                k += 1
            else:
                matrix[j] = _unscored_row(statement)
        matrix = np.concatenate([matrix, facts], axis=1)
        out.append(StatementFeatures(statements, matrix, variants, gains_out, easy))
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
        expected = self.bug.n_features_in_
        if matrix.shape[1] != expected:
            raise DetectorArtifactError(
                "the defect detector",
                f"trained on {expected} features per statement, this version of moesuite "
                f"computes {matrix.shape[1]}",
            )
        probability = self.bug.predict_proba(matrix)[:, 1]
        # No edit of any known kind applies to the statement (``pass``, ``import x``, a bare
        # name): nothing to flag or fix. Training samples its clean rows among the others.
        probability[matrix[:, -_VARIANT_COUNT_FROM_END] == 0] = 0.0
        kind_proba = np.zeros((len(matrix), len(BUG_KINDS)))
        kind_proba[:, self.kind.classes_] = self.kind.predict_proba(matrix)
        return probability, kind_proba.argmax(1), kind_proba


def _write_artifact(path: Path, data: bytes) -> None:
    write_atomic(path, data, mode=0o644)  # the artifact is shipped: others read it


def _meta_bytes(detector: Detector) -> bytes:
    meta = dict(detector.meta, threshold=detector.threshold, kinds=list(BUG_KINDS))
    return json.dumps(meta, indent=2).encode()


def save_detector(detector: Detector, directory: Path) -> None:
    """Write detector.skops and detector.json atomically."""
    import skops.io

    directory.mkdir(parents=True, exist_ok=True)
    _write_artifact(
        directory / "detector.skops", skops.io.dumps({"bug": detector.bug, "kind": detector.kind})
    )
    _write_artifact(directory / "detector.json", _meta_bytes(detector))


def save_calibration(detector: Detector, directory: Path) -> None:
    """Rewrite only detector.json (threshold and metadata): the classifiers are unchanged."""
    _write_artifact(directory / "detector.json", _meta_bytes(detector))


def code_model_digest(model: Model) -> str | None:
    """SHA-256 of the code model's weights file: the identity a detector's features depend on.
    None for a model not loaded from a directory."""
    if model.path is None or not (Path(model.path) / "model.safetensors").is_file():
        return None
    with open(Path(model.path) / "model.safetensors", "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def check_code_model(detector: Detector, model: Model, directory: Path | None = None) -> None:
    """Refuse a code model other than the one the detector was trained on: its features would
    mean something else and every score would be noise.

    Raises:
        DetectorArtifactError: the detector records another code model's weights.
    """
    expected = detector.meta.get("code_model_sha256")
    actual = code_model_digest(model)
    if expected is None or actual is None or expected == actual:
        return
    raise DetectorArtifactError(
        str(directory or DETECTOR_DIR),
        f"trained on another code model (weights sha256 {expected[:12]}...), not the one in "
        f"{model.path} ({actual[:12]}...); use the code model it was trained with",
    )


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
