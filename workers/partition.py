"""Splitting a scoring job's input into chunks: each customer's rows in one chunk.

Two ways in. The *raw* way reads a plain CSV file with Arrow (strings only, no validation),
groups rows by customer and writes each chunk's raw rows (with their source line numbers) as
an Arrow IPC file; each chunk task then validates its own rows with `fraud.schema` and scores
them, so ingest runs in parallel. It is taken only where validating per chunk is exactly what
validating the whole file would give (`raw_csv_table` and `plan_raw` say when); otherwise the
*whole-file* way validates everything first, as `fraud.pipeline.read_input` does, and chunks
hold canonical rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc

from workers.errors import JobInputError

CUSTOMER_COLUMN = "customer_id"
TRANSACTION_COLUMN = "transaction_id"
#: Column of a raw chunk holding each row's source line (header is line 1).
LINE_COLUMN = "__line"
#: Rows validated up front (whole-file column checks, card-number detection on the same
#: first values `fraud.pan.looks_like_pan_column` samples from the whole file).
HEAD_ROWS = 10_000


def pack_customers(codes: np.ndarray, chunk_rows: int) -> np.ndarray:
    """Chunk number of each row, from customer codes numbered by first appearance.

    Customers are packed in order of first appearance; a customer with more rows than
    ``chunk_rows`` gets a chunk of its own rather than being cut. Rows with code -1 (no
    customer; they will be rejected) go to the first chunk.
    """
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    known = codes >= 0
    counts = np.bincount(codes[known]) if known.any() else np.zeros(0, dtype=np.int64)
    chunk_of_customer = np.empty(len(counts), dtype=np.int64)
    chunk, filled = 0, int((~known).sum())
    for customer, count in enumerate(counts):
        if filled and filled + count > chunk_rows:
            chunk, filled = chunk + 1, 0
        chunk_of_customer[customer] = chunk
        filled += int(count)
    return np.where(known, chunk_of_customer[np.where(known, codes, 0)], 0)


def split_by_customer(frame: pd.DataFrame, chunk_rows: int) -> list[pd.DataFrame]:
    """Split canonical rows into chunks of about ``chunk_rows``, each customer in one chunk."""
    if CUSTOMER_COLUMN not in frame.columns:
        raise JobInputError(
            "<input>", f"no {CUSTOMER_COLUMN!r} column to split by", CUSTOMER_COLUMN
        )
    if frame.empty:
        return []
    codes, _ = pd.factorize(frame[CUSTOMER_COLUMN], sort=False)
    row_chunk = pack_customers(codes, chunk_rows)
    return [frame[row_chunk == i] for i in range(int(row_chunk.max()) + 1)]


def raw_csv_table(path: Path) -> pa.Table | None:
    """The file's rows as Arrow strings plus `LINE_COLUMN`, or None where only the whole-file
    reader gives the right rows and line numbers.

    None for anything but a plain ``.csv`` file, quoting (embedded newlines and commas), blank
    lines, a byte-order mark, duplicate or blank header names, ragged rows or invalid UTF-8:
    `fraud.io` handles (or reports) each of them with exact line numbers.
    """
    if path.suffix.lower() != ".csv":
        return None
    data = path.read_bytes()
    end = data.find(b"\n")
    if end <= 0 or data.startswith(b"\xef\xbb\xbf") or b'"' in data:
        return None
    try:
        header = [c.strip() for c in data[:end].decode("utf-8").rstrip("\r").split(",")]
    except UnicodeDecodeError:
        return None
    if len(set(header)) != len(header) or "" in header or LINE_COLUMN in header:
        return None
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=False, skip_rows=1, column_names=header),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    lines_in_file = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if table.num_rows != lines_in_file - 1:
        return None  # blank lines were skipped: row i is no longer line i + 2
    return table.append_column(LINE_COLUMN, pa.array(np.arange(2, table.num_rows + 2)))


def source_column(header: list[str], column_map: Mapping[str, str], canonical: str) -> str | None:
    """The input column that gives ``canonical``: named in the map, or by its exact name."""
    mapped = [their for their, our in column_map.items() if our == canonical]
    if mapped:
        return mapped[0] if len(mapped) == 1 else None
    named = [c for c in header if c.lower() == canonical and c not in column_map]
    return named[0] if len(named) == 1 else None


def _keys(column: pa.ChunkedArray) -> pa.Array:
    # As fraud.schema reads ids: stripped text, empty means missing.
    text = pc.utf8_trim_whitespace(column.combine_chunks())
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


@dataclass(frozen=True)
class RawPlan:
    """Raw chunks of one input: ``order[start:end]`` are chunk i's rows of ``table``, in file
    order, for ``(start, end) = bounds[i]``."""

    table: pa.Table
    order: np.ndarray
    bounds: list[tuple[int, int]]
    now: str


def plan_raw(
    table: pa.Table,
    path: Path,
    column_map: Mapping[str, str],
    pan_key: bytes | None,
    chunk_rows: int,
) -> RawPlan | None:
    """Validate the head, then group rows by customer; None where per-chunk validation could
    differ from whole-file validation.

    That is: no customer or transaction id column found by name or column map (aliases are
    resolved by the whole-file reader), card numbers in the file (detection and customer
    tokens), or a transaction id that occurs twice (the first *valid* occurrence wins, which
    needs every row validated first).

    Raises:
        InputFileError: (from fraud.schema) the head shows a missing column or similar.
    """
    from fraud.io import RawTable
    from fraud.schema import IngestOptions, validate_table

    now = datetime.now(UTC)
    options = IngestOptions(column_map=dict(column_map), pan_key=pan_key, now=now)
    head = table.slice(0, HEAD_ROWS)
    head_frame = head.drop_columns([LINE_COLUMN]).to_pandas()
    lines = head.column(LINE_COLUMN).to_numpy()
    checked = validate_table(RawTable(head_frame, lines, str(path)), options)
    if "card_token" in checked.frame.columns:
        return None
    header = [c for c in table.column_names if c != LINE_COLUMN]
    customer = source_column(header, column_map, CUSTOMER_COLUMN)
    transaction = source_column(header, column_map, TRANSACTION_COLUMN)
    if customer is None or transaction is None:
        return None
    ids = _keys(table.column(transaction))
    if pc.count_distinct(ids).as_py() != len(ids) - ids.null_count:
        return None
    encoded = pc.dictionary_encode(_keys(table.column(customer)))
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    row_chunk = pack_customers(codes.astype(np.int64), chunk_rows)
    order = np.argsort(row_chunk, kind="stable")
    sizes = np.bincount(row_chunk) if len(row_chunk) else np.zeros(0, dtype=np.int64)
    ends = np.cumsum(sizes)
    bounds = [(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True) if s]
    return RawPlan(table, order, bounds, now.isoformat())


def write_raw_chunks(
    plan: RawPlan, paths: Callable[[int], Path], written: Callable[[int, Path], None]
) -> None:
    """Write each raw chunk to ``paths(i)`` (kept when already there) and call ``written``.

    ``written`` runs after each chunk so its task can start while later chunks are gathered.
    """
    for i, (start, end) in enumerate(plan.bounds):
        path = paths(i)
        if not path.exists():
            tmp = path.with_name(f".{path.name}.tmp")
            with pa.OSFile(str(tmp), "wb") as sink:
                part = plan.table.take(pa.array(plan.order[start:end]))
                with ipc.new_file(sink, part.schema) as writer:
                    writer.write_table(part)
            tmp.replace(path)
        written(i, path)


def read_raw_chunk(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """A raw chunk's rows (strings, as `fraud.io` reads CSV) and their source lines."""
    with pa.memory_map(str(path)) as source:
        table = ipc.open_file(source).read_all()
    lines = table.column(LINE_COLUMN).to_numpy()
    return table.drop_columns([LINE_COLUMN]).to_pandas(), lines


def validate_raw_chunk(
    path: Path, source: str, column_map: Mapping[str, str], pan_key: bytes | None, now: str
) -> Any:
    """Validate a raw chunk's rows as the whole file's would be; returns the IngestResult."""
    from fraud.io import RawTable
    from fraud.schema import IngestOptions, validate_table

    frame, lines = read_raw_chunk(path)
    options = IngestOptions(
        column_map=dict(column_map), pan_key=pan_key, now=datetime.fromisoformat(now)
    )
    result = validate_table(RawTable(frame, lines, source), options)
    if "card_token" in result.frame.columns:
        # The head showed no card numbers but this chunk's first values look like them.
        raise JobInputError(
            source,
            "card-number detection differs between parts of the file; name the card column "
            "with a column map (their_name=card_number) or the other column explicitly",
            "card_number",
        )
    return result
