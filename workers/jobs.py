"""What the tasks run: job files (chunks, chunk results, outputs) around calls to the domain.

A scoring job lives in ``<jobs_dir>/<job_id>/``: ``manifest.json``, ``chunk-00000.arrow``
(raw input rows) or ``chunk-00000.parquet`` (validated rows) — one customer's rows always in
one chunk so each sequence is scored whole —, ``chunk-00000.scored.parquet`` (or ``.csv``, as
the output) and ``chunk-00000.json`` (the chunk's summary, written last: its presence means
the chunk is done), and for validated chunks ``events.parquet`` / ``context.parquet`` (the
whole input's rows and labels for entity features, and its terminal/merchant record-model
features by transaction id). When the job is aggregated only ``result.json`` is left;
housekeeping removes folders older than the retention.
Every file is written to a temporary name and renamed, so a redelivered chunk either finds a
finished result or rewrites the same one; it never appends.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from celery import Celery, states

from workers import partition, resources
from workers.errors import ChunksPending, JobInputError

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


def _manifest(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


def _summary_path(directory: Path, index: int) -> Path:
    return directory / f"chunk-{index:05d}.json"


def split_job(
    app: Celery,
    job_id: str,
    path: Path,
    output: Path,
    options: dict[str, Any],
    enqueue: Callable[[int, str], None],
) -> dict[str, Any]:
    """Write a job's manifest and chunks, calling ``enqueue(index, chunk)`` after each chunk.

    Plain unlabelled CSV input, for a bundle whose features stay within a customer, is only
    grouped by customer here (raw chunks, validated by their chunk tasks in parallel); other
    input is read and validated whole first (see `workers.partition`), and what its chunks
    need from the rest of it (`fraud.chunk_context`: entity events, other entities'
    record-model features) is written once beside them. The manifest is written before the
    first chunk, so whichever task finishes the last chunk knows it is the last.
    """
    from fraud.chunk_context import context_rows, needs_whole_input
    from fraud.features import label_events
    from fraud.pan import load_or_create_pan_key
    from fraud.pipeline import read_input

    chunk_rows = int(options.get("chunk_rows", app.options.chunk_rows))
    column_map = options.get("column_map") or {}
    if not isinstance(column_map, dict):
        raise JobInputError(
            str(path), "column_map must map input names to canonical ones", "column_map"
        )
    if not path.is_file():
        raise JobInputError(str(path), "no such file")
    pan_key = load_or_create_pan_key(app.settings.home)
    directory = job_dir(app, job_id)
    directory.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "source": str(path),
        "output": str(output),
        "column_map": column_map,
        "keep_files": bool(options.get("keep_job_files", False)),
    }
    bundle = fraud_bundle(app)
    table = partition.raw_csv_table(path)
    plan = None
    # Merchant and terminal risk count every customer's labels, terminal activity every
    # customer's rows, and a terminal's record model reads its whole sequence: for such a
    # bundle, or a labelled input, the input is read whole (validated path) and what chunks
    # need from the rest of it is written once beside them.
    labelled = table is not None and partition.source_column(
        table.column_names, column_map, "is_fraud"
    )
    if table is not None and not labelled and not needs_whole_input(bundle):
        plan = partition.plan_raw(table, path, column_map, pan_key, chunk_rows)
    if plan is not None:
        chunks = [directory / f"chunk-{i:05d}.arrow" for i in range(len(plan.bounds))]
        manifest.update(
            kind="raw",
            now=plan.now,
            chunks=[str(c) for c in chunks],
            rows_in=0,
            rejected={"count": 0, "first": []},
        )
        write_json_atomic(directory / "manifest.json", manifest)
        partition.write_raw_chunks(plan, chunks.__getitem__, lambda i, p: enqueue(i, str(p)))
        return manifest
    frame, rejections, rows_in = read_input(path, column_map, pan_key)
    if "is_fraud" in frame.columns or needs_whole_input(bundle):
        events_path = directory / "events.parquet"
        write_frame_atomic(label_events(frame, bundle.schema).to_frame(), events_path)
        manifest["events"] = str(events_path)
    context = context_rows(frame, bundle)
    if context is not None:
        context_path = directory / "context.parquet"
        write_frame_atomic(context, context_path)
        manifest["context"] = str(context_path)
    parts = partition.split_by_customer(frame, chunk_rows)
    chunks = [directory / f"chunk-{i:05d}.parquet" for i in range(len(parts))]
    manifest.update(
        kind="validated",
        chunks=[str(c) for c in chunks],
        rows_in=int(rows_in),
        rejected={
            "count": len(rejections),
            "first": [_rejection_json(r) for r in rejections[:_MAX_REJECTIONS_REPORTED]],
        },
    )
    write_json_atomic(directory / "manifest.json", manifest)
    for i, (part, chunk_path) in enumerate(zip(parts, chunks, strict=True)):
        if not chunk_path.exists():
            write_frame_atomic(part.reset_index(drop=True), chunk_path)
        enqueue(i, str(chunk_path))
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


def _part_suffix(output: str) -> str:
    return ".csv" if output.lower().endswith(".csv") else ".parquet"


def score_chunk(
    app: Celery, job_id: str, index: int, chunk: Path, options: dict[str, Any] | None
) -> dict[str, Any]:
    """Validate (raw chunks) and score one chunk; write its scored part, then its summary.

    A chunk whose summary exists returns it: a redelivered chunk never scores twice.
    """
    from fraud.pipeline import score_frame

    directory = job_dir(app, job_id)
    summary_path = _summary_path(directory, index)
    if summary_path.exists():
        return json.loads(summary_path.read_text(encoding="utf-8"))
    manifest = _manifest(directory)
    rows_read, rejections = 0, []
    if manifest["kind"] == "raw":
        from fraud.pan import load_or_create_pan_key

        ingested = partition.validate_raw_chunk(
            chunk,
            manifest["source"],
            manifest["column_map"],
            load_or_create_pan_key(app.settings.home),
            manifest["now"],
        )
        frame, rows_read, rejections = ingested.frame, ingested.rows_in, ingested.rejections
    else:
        frame = pd.read_parquet(chunk)
    events = None
    if manifest.get("events"):
        from fraud.features import LabelEvents

        events = LabelEvents.from_frame(pd.read_parquet(manifest["events"]))
    context = pd.read_parquet(manifest["context"]) if manifest.get("context") else None
    result = score_frame(
        frame, fraud_bundle(app), engine=_review_engine(app), events=events, context=context
    )
    scored_path = directory / f"chunk-{index:05d}.scored{_part_suffix(manifest['output'])}"
    write_frame_atomic(result.frame, scored_path)
    summary = {
        "ok": True,
        "index": index,
        "rows": len(result.frame),
        **result.summary(),
        "rows_read": int(rows_read),
        "rejected": {
            "count": len(rejections),
            "first": [_rejection_json(r) for r in rejections[:_MAX_REJECTIONS_REPORTED]],
        },
        "scored_path": str(scored_path),
    }
    write_json_atomic(summary_path, summary)
    return summary


def record_chunk_error(app: Celery, job_id: str, index: int, error: dict[str, Any]) -> None:
    """Record a chunk's error result as its summary, so the job still completes (with it)."""
    summary_path = _summary_path(job_dir(app, job_id), index)
    if not summary_path.exists():
        write_json_atomic(summary_path, {"index": index, **error, "ok": False})


def chunks_done(app: Celery, job_id: str) -> dict[str, Any]:
    """Progress of a job: chunks finished out of all, read from the job directory."""
    directory = job_dir(app, job_id)
    try:
        total = len(_manifest(directory)["chunks"])
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


def _concat_csv(parts: list[Path], output: Path) -> None:
    """Join CSV parts byte for byte: the first part's header, then every part's rows."""

    def write(tmp: Path) -> None:
        header = None
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    first = fh.readline()
                    if header is None:
                        header = first
                        out.write(first)
                    elif first != header:
                        raise JobInputError(str(part), "scored parts have different columns")
                    shutil.copyfileobj(fh, out, 1 << 20)

    _atomic_path(output, write)


def _concat_parquet(parts: list[Path], output: Path) -> None:
    """Join Parquet parts table by table with Arrow (no pandas round trip)."""

    def write(tmp: Path) -> None:
        schema = pq.read_schema(parts[0])
        with pq.ParquetWriter(tmp, schema) as writer:
            for part in parts:
                table = pq.read_table(part)
                if table.schema != schema:
                    # A column that is all-missing in one chunk reads as nulls there.
                    table = table.cast(schema)
                writer.write_table(table)

    _atomic_path(output, write)


def concat_parts(parts: list[Path], output: Path) -> None:
    """Write the scored parts, in order, as one output file (CSV or Parquet, by suffix)."""
    if not parts:
        write_frame_atomic(pd.DataFrame(), output)
        return
    try:
        if output.suffix.lower() == ".csv":
            _concat_csv(parts, output)
        else:
            _concat_parquet(parts, output)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, JobInputError):
        # Parts that disagree on columns or types: let pandas reconcile them.
        readers = pd.read_csv if output.suffix.lower() == ".csv" else pd.read_parquet
        frame = pd.concat([readers(p) for p in parts], ignore_index=True)
        write_frame_atomic(frame, output)


def finish_job_dir(directory: Path, result: dict[str, Any], keep_files: bool) -> None:
    """Record the job's result in its folder and remove its chunks and parts.

    ``result.json`` stays (a redelivered aggregation returns it) until the retention expires.
    """
    write_json_atomic(directory / "result.json", result)
    if keep_files:
        return
    for entry in directory.iterdir():
        if entry.name != "result.json":
            entry.unlink(missing_ok=True)


def aggregate(app: Celery, job_id: str) -> dict[str, Any]:
    """Join the scored parts (in chunk order) into the output; sum the chunk summaries.

    The manifest and the chunk summaries on disk are the truth: a chunk redelivered after a
    worker died may finish twice, and the last two chunks may both ask for the aggregation.
    A chunk not finished yet raises `ChunksPending` (retried).
    """
    directory = job_dir(app, job_id)
    done = directory / "result.json"
    if done.exists():
        return json.loads(done.read_text(encoding="utf-8"))
    manifest = _manifest(directory)
    summaries = []
    for index in range(len(manifest["chunks"])):
        summary_path = _summary_path(directory, index)
        if not summary_path.exists():
            raise ChunksPending(f"job {job_id}: {summary_path.name} not written yet")
        summaries.append(json.loads(summary_path.read_text(encoding="utf-8")))
    failed = [s["error"] for s in summaries if not s.get("ok", True)]
    keep = manifest.get("keep_files", False)
    if failed:
        # The first chunk's error stands for the job (the same input problem, typically).
        result = {"ok": False, "error": failed[0], "chunk_errors": failed, "job_id": job_id}
        finish_job_dir(directory, result, keep)
        return result
    output = Path(manifest["output"])
    concat_parts([Path(s["scored_path"]) for s in summaries], output)
    rows_scored = sum(int(s["rows"]) for s in summaries)
    rows_in = int(manifest["rows_in"]) + sum(int(s.get("rows_read", 0)) for s in summaries)
    rejected = [manifest["rejected"], *(s.get("rejected", {}) for s in summaries)]
    first = sorted(
        (r for group in rejected for r in group.get("first", [])),
        key=lambda r: (r.get("line") or 0),
    )[:_MAX_REJECTIONS_REPORTED]
    rows_rejected = sum(int(group.get("count", 0)) for group in rejected)
    totals = _sum_counts(
        [
            {k: v for k, v in s.items() if k not in ("rows", "scored", "rows_read", "rejected")}
            for s in summaries
        ]
    )
    result = {
        "job_id": job_id,
        "output": str(output),
        "chunks": len(summaries),
        "ingest": "per chunk" if manifest["kind"] == "raw" else "whole file",
        "rows_in": rows_in,
        "rows_scored": rows_scored,
        "rows_rejected": rows_rejected,
        "reconciled": rows_in == rows_scored + rows_rejected,
        "rejections": first,
        "summary": totals,
    }
    finish_job_dir(directory, result, keep)
    return result


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
    from codeassist.refactor.pipeline import refactor_source

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
