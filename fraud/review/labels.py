"""Write exported labels to CSV or JSON Lines, atomically (temp file + os.replace)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from fraud.review.errors import ReviewError
from fraud.review.queue import LabelRow

FIELDS = ("transaction_id", "is_fraud", "decided_at", "analyst", "model_version")


def _record(row: LabelRow) -> dict[str, object]:
    return {
        "transaction_id": row.transaction_id,
        "is_fraud": row.is_fraud,
        "decided_at": row.decided_at.isoformat(),
        "analyst": row.analyst,
        "model_version": row.model_version,
    }


def render_labels(rows: Sequence[LabelRow], fmt: str) -> str:
    """The labels as ``"csv"`` or ``"jsonl"`` text."""
    if fmt == "jsonl":
        return "".join(json.dumps(_record(r)) + "\n" for r in rows)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(_record(r) for r in rows)
        return buffer.getvalue()
    raise ReviewError(f"unknown label format {fmt!r}; use csv or jsonl")


def write_labels(rows: Sequence[LabelRow], path: Path) -> None:
    """Write labels to ``path`` (format from the suffix: .csv or .jsonl), replacing it atomically.

    Raises:
        ReviewError: Unknown suffix or an unwritable directory.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise ReviewError(f"{path}: label files end in .csv or .jsonl")
    text = render_labels(rows, suffix[1:])
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ReviewError(f"{path}: cannot write here: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
