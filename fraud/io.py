"""Transaction files on disk: raw reading (CSV, JSONL, Parquet) with line numbers, atomic writing.

The format is chosen by the file extension; ``-`` means CSV on stdin (reading) or stdout
(writing). Reading hands back every value as found (CSV values as strings) together with each
row's source line, so validation in `fraud.schema` can name the exact line of a bad row.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fraud.errors import InputFileError

STDIO = "-"
FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson.gz": "jsonl",
    ".parquet": "parquet",
}


@dataclass(frozen=True)
class RawTable:
    """A file's rows before validation.

    Attributes:
        frame: One row per record; CSV values are strings (missing = NA).
        lines: Source line of each row (CSV: header is line 1; JSONL: its line; Parquet: row + 1).
        source: The path as given, for messages.
        malformed: ``(line, reason)`` for records that could not be parsed at all (a JSONL line
            that is not a JSON object); they are not in ``frame``.
    """

    frame: pd.DataFrame
    lines: np.ndarray
    source: str
    malformed: tuple[tuple[int, str], ...] = ()


def detect_format(path: str | Path) -> str:
    """Return ``csv``, ``jsonl`` or ``parquet`` from the file name (``-`` is CSV).

    Raises:
        InputFileError: The extension is not one of the supported ones.
    """
    name = str(path)
    if name == STDIO:
        return "csv"
    lower = name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if lower.endswith(suffix):
            return FORMATS[suffix]
    raise InputFileError(
        name, f"unknown file type; use one of {', '.join(sorted(FORMATS))} (or - for stdin CSV)"
    )


def read_table(path: str | Path, stdin: BinaryIO | None = None) -> RawTable:
    """Read a transaction file without interpreting its values.

    Args:
        path: File path, or ``-`` for CSV on stdin.
        stdin: Stream used for ``-`` (default ``sys.stdin.buffer``).

    Raises:
        InputFileError: Unknown extension, unreadable or structurally broken file.
    """
    source = str(path)
    kind = detect_format(source)
    try:
        if kind == "csv":
            if source == STDIO:
                data = (stdin or sys.stdin.buffer).read()
                return _read_csv(io.BytesIO(data), source, compression=None)
            return _read_csv(source, source, compression="infer")
        if kind == "jsonl":
            return _read_jsonl(Path(source), source)
        return _read_parquet(Path(source), source)
    except InputFileError:
        raise
    except FileNotFoundError as exc:
        raise InputFileError(source, "no such file") from exc
    except IsADirectoryError as exc:
        raise InputFileError(source, "is a directory, not a file") from exc
    except PermissionError as exc:
        raise InputFileError(source, "permission denied") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pa.ArrowException) as exc:
        raise InputFileError(source, f"cannot read file: {exc}") from exc


def _read_csv(handle, source: str, compression: str | None) -> RawTable:
    try:
        frame = pd.read_csv(
            handle,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            # Keep blank lines as all-NA rows so that row index + 2 stays the line number.
            skip_blank_lines=False,
            compression=compression,
            encoding="utf-8",
        )
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(source, "file is empty (no header line)") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    if len(frame) and _has_embedded_newlines(frame):
        lines = _csv_record_lines(handle, source, compression, len(frame))
    blank = frame.isna().all(axis=1).to_numpy()
    if blank.any():
        frame = frame.loc[~blank].reset_index(drop=True)
        lines = lines[~blank]
    return RawTable(frame=frame, lines=lines, source=source)


def _has_embedded_newlines(frame: pd.DataFrame) -> bool:
    for column in frame.columns:
        values = frame[column]
        if values.str.contains("\n", regex=False).any():
            return True
    return False


def _csv_record_lines(handle, source: str, compression: str | None, rows: int) -> np.ndarray:
    """Start line of every record, with quoted fields spanning lines (slow path, rare)."""
    if isinstance(handle, io.BytesIO):
        handle.seek(0)
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    elif str(source).lower().endswith(".gz"):
        text = gzip.open(source, "rt", encoding="utf-8", newline="")
    else:
        text = open(source, encoding="utf-8", newline="")
    with text:
        reader = csv.reader(text)
        next(reader, None)
        starts = []
        previous_end = reader.line_num
        for _ in reader:
            starts.append(previous_end + 1)
            previous_end = reader.line_num
    if len(starts) != rows:
        raise InputFileError(source, "CSV structure could not be matched to line numbers")
    return np.asarray(starts, dtype=np.int64)


def _read_jsonl(path: Path, source: str) -> RawTable:
    opener = gzip.open if source.lower().endswith(".gz") else open
    records: list[dict] = []
    lines: list[int] = []
    malformed: list[tuple[int, str]] = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                malformed.append((number, f"not valid JSON ({exc.msg})"))
                continue
            if not isinstance(value, dict):
                malformed.append((number, "not a JSON object"))
                continue
            records.append(value)
            lines.append(number)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(
        frame=frame,
        lines=np.asarray(lines, dtype=np.int64),
        source=source,
        malformed=tuple(malformed),
    )


def _read_parquet(path: Path, source: str) -> RawTable:
    table = pq.read_table(path)
    frame = table.to_pandas()
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(frame=frame, lines=np.arange(1, len(frame) + 1, dtype=np.int64), source=source)


def write_frame(frame: pd.DataFrame, path: str | Path, stdout: BinaryIO | None = None) -> None:
    """Write a frame as CSV, JSONL or Parquet (by extension); ``-`` writes CSV to stdout.

    Files are written atomically: to a temporary file in the same directory, then renamed over
    the target, so a reader never sees half a file and a failed write leaves the old one intact.
    Timestamps are written as ISO 8601 in UTC.

    Raises:
        InputFileError: Unknown extension or the directory cannot be written.
    """
    target = str(path)
    kind = detect_format(target)
    if target == STDIO:
        out = stdout or sys.stdout.buffer
        out.write(_csv_text(frame).encode("utf-8"))
        out.flush()
        return
    destination = Path(target)
    gz = target.lower().endswith(".gz")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    except OSError as exc:
        raise InputFileError(target, f"cannot write here: {exc.strerror}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            if kind == "parquet":
                pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), fh)
            else:
                text = _csv_text(frame) if kind == "csv" else _jsonl_text(frame)
                data = text.encode("utf-8")
                if gz:
                    data = gzip.compress(data, mtime=0)
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, destination)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputFileError(target, f"cannot write file: {exc.strerror}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _iso_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO 8601 strings (``2026-01-01T12:00:00Z``), other columns unchanged."""
    out = frame.copy(deep=False)
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
            utc = values.dt.tz_convert("UTC") if values.dt.tz is not None else values
            text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.removesuffix(".000000")
            out[column] = (text + "Z").where(values.notna(), None)
    return out


def _csv_text(frame: pd.DataFrame) -> str:
    return _iso_columns(frame).to_csv(index=False, lineterminator="\n")


def _jsonl_text(frame: pd.DataFrame) -> str:
    if frame.empty:
        return ""
    return _iso_columns(frame).to_json(orient="records", lines=True, force_ascii=False) + "\n"
