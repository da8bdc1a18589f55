"""Scoring: files, frames (worker chunks) and single transactions.

Output rows are the input rows (pass-through columns kept) plus ``score``, ``band``,
``reasons`` and ``model_version``. Review-band rows become review cases. Card numbers never
reach the output: a ``card_token`` is the only card reference the schema admits, and any
column named like a PAN is dropped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from core_model.progress import NULL_PROGRESS, Progress
from fraud.bundle import Bundle
from fraud.chunk_context import context_rows, sequence_features
from fraud.errors import FraudError
from fraud.feature_schema import require_columns, string_keys
from fraud.features import LabelEvents, compute_features, label_events, single_frame
from fraud.key_tables import schema_for_keys
from fraud.routing import BANDS, REVIEW, Decision, Thresholds, route

PAN_COLUMNS = ("pan", "card_number", "card_no", "cardnumber", "primary_account_number")
HISTORY_LIMIT = 200
# Rows per entity read for single-transaction entity features (busy terminals are capped).
ENTITY_LIMIT = 2000
_CHUNK = 200_000
if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a transaction is scored
    from fraud.entity_history import HistoryScan
_threadpools: ThreadpoolController | None = None


def _one_thread():  # noqa: ANN202
    """Context pinning OpenMP/BLAS to one thread; the controller (a library scan, ~1.5 ms) is
    built once per process."""
    global _threadpools
    if _threadpools is None:
        _threadpools = ThreadpoolController()
    return _threadpools.limit(limits=1)


@dataclass(frozen=True)
class ScoreOptions:
    """Options of `score_file`.

    Attributes:
        column_map: renames input columns to canonical names (``{"ts": "timestamp"}``).
        thresholds: override the bundle's thresholds.
        with_sequence: require (True) or refuse (False) a bundle with sequence features;
            None = use what the bundle has.
        rejections_path: where to write rejected rows (CSV); None = not written.
        progress: report scoring progress (rows) for large inputs to `score_file`'s
            ``progress``; False reports nothing.
        pan_key: key that tokenises card numbers at ingest (``fraud.pan``).
        chunk_rows: rows per customer-split chunk (bounds memory; the scores do not depend
            on it).
    """

    column_map: Mapping[str, str] | None = None
    thresholds: Thresholds | None = None
    with_sequence: bool | None = None
    rejections_path: Path | None = None
    progress: bool = True
    pan_key: bytes | None = field(default=None, repr=False)
    chunk_rows: int = _CHUNK


@dataclass
class ScoreResult:
    """Scored rows of a frame and their per-band counts and amounts."""

    frame: pd.DataFrame
    cases_created: int = 0
    cases_updated: int = 0

    def summary(self) -> dict[str, Any]:
        bands = self.frame["band"] if len(self.frame) else pd.Series([], dtype=object)
        amounts = self.frame["amount"] if len(self.frame) else pd.Series([], dtype=float)
        return {
            "scored": int(len(self.frame)),
            "bands": {b: int((bands == b).sum()) for b in BANDS},
            "amounts": {b: float(amounts[bands == b].sum()) for b in BANDS},
            "cases_created": self.cases_created,
            "cases_updated": self.cases_updated,
        }


@dataclass
class ScoreSummary:
    """What `score_file` did; rows_in == rows_scored + rows_rejected."""

    rows_in: int
    rows_scored: int
    rows_rejected: int
    bands: dict[str, int] = field(default_factory=dict)
    amounts: dict[str, float] = field(default_factory=dict)
    cases_created: int = 0
    cases_updated: int = 0
    seconds: float = 0.0
    model_version: str = ""
    output: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_scored": self.rows_scored,
            "rows_rejected": self.rows_rejected,
            "bands": self.bands,
            "amounts": self.amounts,
            "cases_created": self.cases_created,
            "cases_updated": self.cases_updated,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "model_version": self.model_version,
            "output": self.output,
        }


def read_input(
    path: Path, column_map: Mapping[str, str] | None = None, pan_key: bytes | None = None
) -> tuple[pd.DataFrame, list[Any], int]:
    """Read and validate a transactions file: (canonical frame, rejections, rows in).

    ``pan_key`` tokenises card numbers at ingest; a file holding them is refused without it.
    """
    from fraud.schema import IngestOptions, read_transactions

    options = IngestOptions(column_map=dict(column_map or {}), pan_key=pan_key)
    result = read_transactions(path, options)
    return result.frame, list(result.rejections), int(result.rows_in)


def _drop_pan(frame: pd.DataFrame) -> pd.DataFrame:
    drop = [c for c in frame.columns if c.lower().replace("-", "_") in PAN_COLUMNS]
    return frame.drop(columns=drop) if drop else frame


def score_frame(
    frame: pd.DataFrame,
    bundle: Bundle,
    *,
    engine: Any = None,
    thresholds: Thresholds | None = None,
    events: LabelEvents | None = None,
    context: pd.DataFrame | None = None,
) -> ScoreResult:
    """Score a canonical frame (all of each customer's rows together, as workers split them).

    Args:
        frame: canonical transaction rows.
        bundle: the model bundle.
        engine: review database engine; review-band rows become cases when given.
        thresholds: override the bundle's thresholds.
        events: when ``frame`` is one customer-split chunk of a larger input, that whole
            input's `label_events`, so merchant/terminal risk counts every customer's labels;
            None = the labels in ``frame``.
        context: when ``frame`` is such a chunk, the whole input's
            `fraud.chunk_context.context_rows`, so a record model over a terminal's sequence
            reads all of it; None = ``frame`` is the whole input.

    Returns:
        The scored rows (``_line`` dropped) and band counts.
    """
    thresholds = thresholds or bundle.thresholds
    x = feature_matrix(frame, bundle, events, context)
    scores = bundle.classifier.score(x) if len(x) else np.empty(0)
    bands = route(scores, thresholds)
    reasons = bundle.classifier.reasons.explain(x) if len(x) else []
    out = _drop_pan(frame.drop(columns=[c for c in ("_line",) if c in frame.columns]))
    out = out.copy()
    out["score"] = scores
    out["band"] = bands
    out["reasons"] = ["; ".join(r) for r in reasons]
    out["model_version"] = bundle.version
    result = ScoreResult(out)
    if engine is not None:
        created, updated = create_review_cases(engine, out, reasons, bundle.version)
        result.cases_created, result.cases_updated = created, updated
    return result


def feature_matrix(
    frame: pd.DataFrame,
    bundle: Bundle,
    events: LabelEvents | None = None,
    context: pd.DataFrame | None = None,
) -> np.ndarray:
    """Classifier input for ``frame``: behavioural (+ sequence, if the bundle has them).

    ``events`` and ``context`` come from the whole input when ``frame`` is one chunk of it
    (see `score_frame`).
    """
    x = compute_features(frame, bundle.schema, events).to_numpy(dtype=np.float64)
    if bundle.sequence is not None:
        seq = sequence_features(bundle.sequence, frame, context)
        x = np.hstack([x, seq.to_numpy(dtype=np.float64)])
    return x


def _check_sequence(bundle: Bundle, with_sequence: bool) -> None:
    if with_sequence and bundle.sequence is None:
        raise FraudError(
            f"bundle {bundle.version} has no sequence features; score with --no-sequence "
            "or train a bundle without --no-sequence"
        )
    if not with_sequence and bundle.sequence is not None:
        raise FraudError(
            f"bundle {bundle.version} was trained with sequence features; --no-sequence needs "
            "a bundle trained with --no-sequence"
        )


def create_review_cases(
    engine: Any, scored: pd.DataFrame, reasons: list[list[str]], version: str
) -> tuple[int, int]:
    """Upsert review-band rows into the review queue; returns (created, updated)."""
    from fraud.review.queue import CaseInput, upsert_cases

    mask = (scored["band"] == REVIEW).to_numpy()
    if not mask.any():
        return 0, 0
    keep = [c for c in scored.columns if c not in ("score", "band", "reasons", "model_version")]
    cases = []
    for pos in np.flatnonzero(mask):
        row = scored.iloc[pos]
        txn = {k: _plain(row[k]) for k in keep}
        cases.append(
            CaseInput(
                transaction_id=str(row["transaction_id"]),
                customer_id=str(row["customer_id"]),
                amount=float(row["amount"]),
                currency=None
                if "currency" not in row or pd.isna(row["currency"])
                else str(row["currency"]),
                score=float(row["score"]),
                band=REVIEW,
                reasons=tuple(reasons[pos]),
                model_version=version,
                occurred_at=pd.Timestamp(row["timestamp"]).floor("us").to_pydatetime(),
                transaction=txn,
            )
        )
    report = upsert_cases(engine, cases)
    return int(report.created), int(report.updated)


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def score_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    options: ScoreOptions,
    bundle: Bundle,
    database_url: str | None = None,
    progress: Progress = NULL_PROGRESS,
) -> ScoreSummary:
    """Score a transactions file into ``output_path`` (format from its suffix).

    Rows failing validation go to ``options.rejections_path``; the summary reconciles
    rows in = scored + rejected.

    Raises:
        FraudError: unreadable input, a column the bundle needs is missing, bad output path.
    """
    if options.with_sequence is not None:
        _check_sequence(bundle, options.with_sequence)
    start = time.perf_counter()
    frame, rejections, rows_in = read_input(Path(input_path), options.column_map, options.pan_key)
    require_columns(frame, bundle.schema, str(input_path))
    if options.rejections_path is not None:
        from fraud.schema import write_rejections

        write_rejections(rejections, Path(options.rejections_path))
    engine = None
    if database_url:
        from fraud.review.db import get_engine

        engine = get_engine(database_url)
    parts: list[pd.DataFrame] = []
    created = updated = 0
    # Chunks split by customer keep each customer's history whole inside one chunk; entity
    # activity and labels come from the whole file (labels only from their known time).
    events = label_events(frame, bundle.schema)
    cust = frame["customer_id"].astype(str)
    codes = pd.util.hash_pandas_object(cust, index=False).to_numpy() % max(
        1, -(-len(frame) // max(1, options.chunk_rows))
    )
    groups = [np.flatnonzero(codes == k) for k in np.unique(codes)]
    # A terminal's (merchant's) record model reads that entity's whole sequence.
    context = context_rows(frame, bundle) if len(groups) > 1 else None
    report = options.progress and len(frame) > options.chunk_rows
    if report:
        progress.stage("scoring", total=len(frame), unit="rows")
    for rows in groups:
        res = score_frame(
            frame.iloc[rows],
            bundle,
            engine=engine,
            thresholds=options.thresholds,
            events=events,
            context=context,
        )
        parts.append(res.frame)
        created += res.cases_created
        updated += res.cases_updated
        if report:
            progress.advance(len(rows))
    scored = pd.concat(parts).sort_index() if parts else _drop_pan(frame).iloc[0:0]
    from fraud.io import write_frame

    write_frame(scored, Path(output_path))
    bands = scored["band"] if len(scored) else pd.Series([], dtype=object)
    return ScoreSummary(
        rows_in=rows_in,
        rows_scored=int(len(scored)),
        rows_rejected=len(rejections),
        bands={b: int((bands == b).sum()) for b in BANDS},
        amounts={b: float(scored.loc[bands == b, "amount"].sum()) for b in BANDS},
        cases_created=created,
        cases_updated=updated,
        seconds=time.perf_counter() - start,
        model_version=bundle.version,
        output=str(output_path),
    )


def score_one(
    txn: Mapping[str, Any], bundle: Bundle, engine: Any, *, record: bool = True
) -> Decision:
    """Score one transaction with its customer's stored history.

    Args:
        txn: canonical fields of the transaction (``transaction_id``, ``timestamp``,
            ``customer_id``, ``amount``, optional ones).
        bundle: the model bundle.
        engine: review database engine holding the transaction history.
        record: store the transaction in the history afterwards.

    Raises:
        FraudError: a required field is missing or malformed.
    """
    from fraud.entity_history import transaction_history
    from fraud.review.history import record_transactions

    for key in ("transaction_id", "timestamp", "customer_id", "amount"):
        if txn.get(key) in (None, ""):
            raise FraudError(f"transaction lacks required field {key!r}")
    try:
        ts = pd.Timestamp(txn["timestamp"])
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        amount = float(txn["amount"])
    except (TypeError, ValueError) as exc:
        raise FraudError(f"transaction {txn.get('transaction_id')}: bad field: {exc}") from exc
    row = dict(txn)
    row["timestamp"], row["amount"] = ts, amount
    before: datetime = ts.floor("us").to_pydatetime()
    # One round trip for the customer's and every entity's rows (indexed range scans).
    history = transaction_history(engine, _history_scans(row, bundle, before), before)
    # One frame for both feature sets: the same rows `features_for_one` would build.
    combined = single_frame(row, history)
    # Only this transaction's keys of the bundle's label tables (the features are the same).
    keys = {
        e: string_keys(combined[e].iloc[-1:])[0]
        for e in bundle.schema.entities
        if e in combined.columns
    }
    schema = schema_for_keys(bundle.schema, keys)
    # Behavioural features of the last row read its customer's rows and other customers' rows
    # inside the entity windows; older rows at its terminal are there for the record model.
    x = compute_features(_within_windows(combined, bundle, before), schema)
    x = x.to_numpy(dtype=np.float64)[-1:]
    if bundle.sequence is not None:
        # Each record model reads only the transaction's own sequence (its customer's, its
        # terminal's): the other rows added above would only cost forward passes.
        seq = bundle.sequence.features_for_last(combined)[None, :]
        x = np.hstack([x, seq])
    # One thread: OpenMP in sklearn's predict costs 45-130 ms per row under contention.
    with _one_thread():
        score = float(bundle.classifier.score(x)[0])
    band = str(route(np.array([score]), bundle.thresholds)[0])
    reasons = bundle.classifier.reasons.explain(x)[0]
    if record:
        record_transactions(engine, _drop_pan(pd.DataFrame([row])))
    return Decision(str(txn["transaction_id"]), score, band, reasons, bundle.version)


def _entity_window_start(bundle: Bundle, before: datetime) -> datetime:
    """Start of the longest entity activity window ending at ``before``."""
    longest = max([s for _, s in bundle.schema.config.entity_windows] + [0.0])
    return before - pd.Timedelta(seconds=longest).to_pytimedelta()


def _within_windows(combined: pd.DataFrame, bundle: Bundle, before: datetime) -> pd.DataFrame:
    """The rows of ``combined`` (history + the transaction last) that its behavioural
    features can see: the customer's own, and any inside the longest entity window.

    Stored history carries no labels, so older rows of other customers feed no feature.
    """
    start = pd.Timestamp(_entity_window_start(bundle, before))
    own = (combined["customer_id"] == combined["customer_id"].iloc[-1]).to_numpy()
    keep = own | (combined["timestamp"] >= start).to_numpy()
    keep[-1] = True
    return combined if keep.all() else combined[keep]


def _history_scans(
    txn: Mapping[str, Any], bundle: Bundle, before: datetime
) -> list[HistoryScan]:
    """What one transaction's features read from the store: its customer's latest rows, and
    the recent rows of every entity it touches.

    Entity activity features count every customer's rows at a terminal, merchant, device...
    within the longest entity window, so a single transaction needs those rows too (the
    batch features of a file see them in the file); a record model over a terminal's
    (merchant's) sequence reads its latest rows, however old.
    """
    from fraud.entity_history import HistoryScan

    scans = [HistoryScan("customer_id", str(txn["customer_id"]), None, HISTORY_LIMIT)]
    cfg = bundle.schema.config
    counted = {
        e
        for e in bundle.schema.entities
        if cfg.entity_windows and any(n.startswith(f"{e}_count_") for n in bundle.schema.names)
    }
    sequenced = set(getattr(bundle.sequence, "entities", ())) - {"customer_id"}
    wanted = [
        e
        for e in (*bundle.schema.entities, *sorted(sequenced))
        if e in counted | sequenced and e != "customer_id" and txn.get(e) not in (None, "")
    ]
    window_start = _entity_window_start(bundle, before)
    for entity in dict.fromkeys(wanted):
        since = None if entity in sequenced else window_start
        scans.append(HistoryScan(entity, str(txn[entity]), since, ENTITY_LIMIT))
    return scans
