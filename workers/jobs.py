"""What the tasks run: job files (chunks, chunk results, outputs) around calls to the domain.

A scoring job lives in ``<jobs_dir>/<job_id>/``: ``chunk-00000.parquet`` (input rows, one
customer's rows always in one chunk so each sequence is scored whole),
``chunk-00000.scored.parquet`` and ``chunk-00000.json`` (the chunk's summary, written last:
its presence means the chunk is done).
Every file is written to a temporary name and renamed, so a redelivered chunk either finds a
finished result or rewrites the same one; it never appends.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from celery import Celery, states

from workers import resources
from workers.errors import ChunksPending, JobInputError

CUSTOMER_COLUMN = "customer_id"
_MAX_REJECTIONS_REPORTED = 20


def _atomic_path(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically."""
    _atomic_path(path, lambda tmp: tmp.write_text(json.dumps(data), encoding="utf-8"))


def write_frame_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically: CSV for ``.csv``, else Parquet."""
    if path.suffix.lower() == ".csv":
        _atomic_path(path, lambda tmp: frame.to_csv(tmp, index=False))
    else:
        _atomic_path(path, lambda tmp: frame.to_parquet(tmp, index=False))


def job_dir(app: Celery, job_id: str) -> Path:
    """The directory of one job's chunk files."""
    return app.jobs_dir() / job_id


# --- cancellation ----------------------------------------------------------------------------


def cancel_marker(job_id: str) -> str:
    """The result-backend key that records a cancelled job (no task ever writes to it)."""
    return f"{job_id}.cancelled"


def is_cancelled(app: Celery, job_id: str) -> bool:
    """Whether the job was cancelled (checked by each task of the job before it starts)."""
    return app.backend.get_task_meta(cancel_marker(job_id))["status"] == states.REVOKED


# --- fraud scoring ---------------------------------------------------------------------------


def split_by_customer(frame: pd.DataFrame, chunk_rows: int) -> list[pd.DataFrame]:
    """Split rows into chunks of about ``chunk_rows`` with each customer's rows in one chunk.

    Customers are packed in order of first appearance; a customer with more rows than
    ``chunk_rows`` gets a chunk of its own rather than being cut.
    """
    if CUSTOMER_COLUMN not in frame.columns:
        raise JobInputError(
            "<input>", f"no {CUSTOMER_COLUMN!r} column to split by", CUSTOMER_COLUMN
        )
    if frame.empty:
        return []
    codes, _ = pd.factorize(frame[CUSTOMER_COLUMN], sort=False)
    counts = pd.Series(codes).value_counts(sort=False).sort_index()
    chunk_of_customer = []
    chunk, filled = 0, 0
    for count in counts.to_numpy():
        if filled and filled + count > chunk_rows:
            chunk, filled = chunk + 1, 0
        chunk_of_customer.append(chunk)
        filled += int(count)
    row_chunk = pd.Series(chunk_of_customer).to_numpy()[codes]
    return [frame[row_chunk == i] for i in range(chunk + 1)]


def split_job(app: Celery, job_id: str, path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Read and validate the input file, write its chunks and manifest, return the manifest."""
    from fraud.pipeline import read_input

    chunk_rows = int(options.get("chunk_rows", app.options.chunk_rows))
    column_map = options.get("column_map")
    if column_map is not None and not isinstance(column_map, dict):
        raise JobInputError(
            str(path), "column_map must map input names to canonical ones", "column_map"
        )
    from fraud.pan import load_or_create_pan_key

    pan_key = load_or_create_pan_key(app.settings.home)
    frame, rejections, rows_in = read_input(path, column_map, pan_key)
    directory = job_dir(app, job_id)
    chunks = []
    for i, part in enumerate(split_by_customer(frame, chunk_rows)):
        chunk_path = directory / f"chunk-{i:05d}.parquet"
        if not chunk_path.exists():
            write_frame_atomic(part.reset_index(drop=True), chunk_path)
        chunks.append(str(chunk_path))
    manifest = {
        "chunks": chunks,
        "rows_in": int(rows_in),
        "rows_valid": len(frame),
        "rejected": {
            "count": len(rejections),
            "first": [_rejection_json(r) for r in rejections[:_MAX_REJECTIONS_REPORTED]],
        },
    }
    write_json_atomic(directory / "manifest.json", manifest)
    return manifest


def _rejection_json(rejection: Any) -> dict[str, Any]:
    to_dict = getattr(rejection, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return {k: getattr(rejection, k, None) for k in ("path", "line", "field", "reason")}


def fraud_bundle(app: Celery) -> Any:
    """The fraud bundle, loaded once per worker process."""
    from fraud.bundle import default_bundle_path, load_bundle

    path = Path(
        app.settings.section("fraud").get("bundle") or default_bundle_path(app.settings.home)
    )
    return resources.cached(("fraud-bundle", str(path)), lambda: load_bundle(path))


def _review_engine(app: Celery) -> Any:
    from fraud.review.db import get_engine

    return get_engine(app.settings.database_url)


def score_chunk(
    app: Celery, job_id: str, index: int, chunk: Path, options: dict[str, Any] | None
) -> dict[str, Any]:
    """Score one chunk file, write its scored rows and summary; reuse them when present."""
    from fraud.pipeline import score_frame

    summary_path = chunk.with_suffix(".json")
    if summary_path.exists():
        return json.loads(summary_path.read_text(encoding="utf-8"))
    frame = pd.read_parquet(chunk)
    result = score_frame(frame, fraud_bundle(app), engine=_review_engine(app))
    scored_path = chunk.with_suffix(".scored.parquet")
    write_frame_atomic(result.frame, scored_path)
    summary = {"index": index, "rows": len(result.frame), **result.summary()}
    summary["scored_path"] = str(scored_path)
    write_json_atomic(summary_path, summary)
    return summary


def chunks_done(app: Celery, job_id: str) -> dict[str, Any]:
    """Progress of a job: chunks finished out of all, read from the job directory."""
    directory = job_dir(app, job_id)
    try:
        total = len(json.loads((directory / "manifest.json").read_text("utf-8"))["chunks"])
    except (OSError, ValueError, KeyError):
        total = None
    done = len(list(directory.glob("chunk-*.json")))
    return {"chunks_done": done, "chunks": total}


def _sum_counts(items: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for item in items:
        for key, value in item.items():
            if isinstance(value, bool) or key in ("index", "attempts"):
                continue
            if isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
            elif isinstance(value, dict):
                total[key] = _sum_counts([total.get(key, {}), value])
    return total


def aggregate(
    app: Celery, job_id: str, chunk_results: list[dict[str, Any]], output: Path
) -> dict[str, Any]:
    """Concatenate the scored chunks (in chunk order) into ``output``; sum their summaries.

    The manifest and the chunk summaries on disk are the truth, not ``chunk_results``: a chunk
    redelivered after a worker died may report twice to the chord, so its list can repeat one
    chunk and lack another. A chunk not finished yet raises `ChunksPending` (retried).
    """
    failed = [r["error"] for r in chunk_results if not r.get("ok", True)]
    if failed:
        # The first chunk's error stands for the job (the same input problem, typically).
        return {"ok": False, "error": failed[0], "chunk_errors": failed, "job_id": job_id}
    directory = job_dir(app, job_id)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    summaries = []
    for chunk in manifest["chunks"]:
        summary_path = Path(chunk).with_suffix(".json")
        if not summary_path.exists():
            raise ChunksPending(f"job {job_id}: {summary_path.name} not written yet")
        summaries.append(json.loads(summary_path.read_text(encoding="utf-8")))
    frames = [pd.read_parquet(s["scored_path"]) for s in summaries]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    write_frame_atomic(frame, output)
    totals = _sum_counts(summaries)
    totals.pop("rows", None)
    totals.pop("scored", None)
    return {
        "job_id": job_id,
        "output": str(output),
        "chunks": len(summaries),
        "rows_in": manifest["rows_in"],
        "rows_scored": len(frame),
        "rows_rejected": manifest["rejected"]["count"],
        "rejections": manifest["rejected"]["first"],
        "summary": totals,
    }


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def plain(value: Any) -> Any:
    """A domain result (dataclass, object with ``to_dict``, numpy values) as plain JSON data."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        value = to_dict()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.loads(json.dumps(value, default=_json_default))


def score_one(app: Celery, transaction: dict[str, Any]) -> dict[str, Any]:
    """Score one transaction with its customer's history from the review database."""
    from fraud.pipeline import score_one as score_one_txn

    decision = score_one_txn(transaction, fraud_bundle(app), _review_engine(app))
    return {"decision": plain(decision)}


def train_fraud(
    app: Celery,
    path: Path,
    output: Path,
    options: dict[str, Any],
    progress: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Train a fraud bundle from ``path`` into ``output``; return its metrics."""
    from fraud.pan import load_or_create_pan_key
    from fraud.training import TrainFraudOptions
    from fraud.training import train_fraud as train

    try:
        train_options = TrainFraudOptions(
            **options, pan_key=load_or_create_pan_key(app.settings.home)
        )
    except TypeError as exc:
        raise JobInputError(str(path), f"bad training options: {exc}", "options") from exc
    progress({"stage": "training", "input": str(path)})
    bundle = train(path, train_options)
    progress({"stage": "saving", "output": str(output)})
    bundle.save(output)
    return {"output": str(output), "bundle": plain(getattr(bundle, "metadata", {}))}


# --- code --------------------------------------------------------------------------------


def refactor_file(path: Path, output: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """Refactor one file; write the result atomically to ``output`` (default: in place)."""
    from codeassist.config import RefactorOptions
    from codeassist.files import encode_source, read_source, write_atomic
    from codeassist.refactor import refactor_source

    source = read_source(path)
    try:
        refactor_options = RefactorOptions(**options)
    except TypeError as exc:
        raise JobInputError(str(path), f"bad refactor options: {exc}", "options") from exc
    result = refactor_source(source.text, refactor_options, str(path))
    target = Path(output) if output else path
    if result.changed or target != path:
        write_atomic(target, encode_source(source, result.output), source.mode)
    return {
        "path": str(path),
        "output": str(target),
        "status": result.status,
        "changed": result.changed,
        "reason": result.reason,
        "violations": list(result.violations),
        "rewrites": [{"name": n, "sites": c} for n, c in result.rewrites],
    }


def detect_file(path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Detect suspected defects in one file; findings as plain dicts."""
    from codeassist.defects.detect import detect_source
    from codeassist.defects.findings import DetectOptions
    from codeassist.files import read_source

    try:
        detect_options = DetectOptions(**options)
    except TypeError as exc:
        raise JobInputError(str(path), f"bad detect options: {exc}", "options") from exc
    source = read_source(path)
    findings = detect_source(source.text, str(path), detect_options)
    return {"path": str(path), "findings": [f.to_dict() for f in findings]}
