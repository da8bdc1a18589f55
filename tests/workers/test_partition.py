"""Per-chunk ingest gives what whole-file ingest gives; when it could not, the raw way is not
taken. No worker: `workers.partition` against `fraud.pipeline.read_input` on seeded files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraud.pipeline import read_input
from workers.partition import (
    pack_customers,
    plan_raw,
    raw_csv_table,
    validate_raw_chunk,
    write_raw_chunks,
)

KEY = b"k" * 32


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, 60, n)
    frame = pd.DataFrame(
        {
            "transaction_id": [f"t{i:06d}" for i in range(n)],
            "timestamp": (
                pd.Timestamp("2024-05-01", tz="UTC")
                + pd.to_timedelta(np.sort(rng.uniform(0, 9e5, n)), unit="s")
            ).strftime("%Y-%m-%dT%H:%M:%SZ"),
            # Padding is stripped by the reader: " c7" and "c7" are one customer.
            "customer_id": [f" c{c}" if i % 7 == 0 else f"c{c}" for i, c in enumerate(customer)],
            "amount": rng.lognormal(3, 1, n).round(2).astype(str),
            "merchant_id": [f"m{m}" for m in rng.integers(0, 30, n)],
            "country": rng.choice(["US", "GB", "XX1"], n, p=[0.8, 0.19, 0.01]),
        }
    )
    # Rows each rejected for a different field, spread over the file.
    frame.loc[5, "amount"] = "-3"
    frame.loc[50, "timestamp"] = "yesterday"
    frame.loc[120, "customer_id"] = ""
    frame.loc[300, "amount"] = "abc"
    return frame


def _write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, na_rep="")
    return path


def _per_chunk(path: Path, tmp_path: Path, chunk_rows: int):
    table = raw_csv_table(path)
    assert table is not None
    plan = plan_raw(table, path, {}, KEY, chunk_rows)
    assert plan is not None
    chunks: list[Path] = []
    write_raw_chunks(plan, lambda i: tmp_path / f"c{i}.arrow", lambda i, p: chunks.append(p))
    return [validate_raw_chunk(c, str(path), {}, KEY, plan.now) for c in chunks]


def test_per_chunk_ingest_equals_whole_file_ingest(tmp_path: Path) -> None:
    path = _write(_frame(2000, seed=1), tmp_path / "in.csv")
    whole, rejections, rows_in = read_input(path, {}, KEY)
    parts = _per_chunk(path, tmp_path, chunk_rows=300)
    assert len(parts) >= 6
    assert sum(p.rows_in for p in parts) == rows_in == 2000
    got = pd.concat([p.frame for p in parts]).sort_values("_line").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, whole.reset_index(drop=True), check_dtype=False)
    chunk_rejections = sorted((r for p in parts for r in p.rejections), key=lambda r: r.line)
    assert [(r.line, r.field, r.reason) for r in chunk_rejections] == [
        (r.line, r.field, r.reason) for r in rejections
    ]
    assert {r.line for r in rejections} >= {7, 52, 122, 302}
    # Each customer's rows are in one chunk.
    owners: dict[str, int] = {}
    for i, part in enumerate(parts):
        for customer in part.frame["customer_id"].unique():
            assert owners.setdefault(customer, i) == i


@pytest.mark.parametrize(
    "damage",
    ["quoted", "blank line", "gzip"],
)
def test_files_the_raw_reader_cannot_number_exactly_go_the_whole_file_way(
    damage: str, tmp_path: Path
) -> None:
    frame = _frame(50, seed=2)
    path = _write(frame, tmp_path / "in.csv")
    if damage == "quoted":
        path.write_text(
            path.read_text().replace("m1,", '"m, 1",', 1), encoding="utf-8"
        )
    elif damage == "blank line":
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[:10] + ["\n"] + lines[10:]), encoding="utf-8")
    else:
        path = tmp_path / "in.csv.gz"
        frame.to_csv(path, index=False)
    assert raw_csv_table(path) is None


def test_duplicate_ids_and_card_numbers_go_the_whole_file_way(tmp_path: Path) -> None:
    frame = _frame(200, seed=3)
    frame.loc[150, "transaction_id"] = frame.loc[3, "transaction_id"]
    path = _write(frame, tmp_path / "dup.csv")
    assert plan_raw(raw_csv_table(path), path, {}, KEY, 50) is None
    frame = _frame(200, seed=3)
    frame["card"] = "4111111111111111"
    path = _write(frame, tmp_path / "pan.csv")
    assert plan_raw(raw_csv_table(path), path, {}, KEY, 50) is None


def test_pack_customers_keeps_customers_whole_in_order_of_first_appearance() -> None:
    codes = np.array([0, 1, 0, 2, 2, 2, 2, 3, -1, 1])
    chunks = pack_customers(codes, chunk_rows=4)
    # The row without a customer (-1) opens chunk 0; customer 0 (2 rows) joins it; customer 1
    # (2 more) would overfill it and starts chunk 1; customer 2 (4 rows) and 3 follow.
    assert chunks.tolist() == [0, 1, 0, 2, 2, 2, 2, 3, 0, 1]
    big = pack_customers(np.array([0, 1, 1, 1, 1, 1, 1, 2]), chunk_rows=2)
    assert big.tolist() == [0, 1, 1, 1, 1, 1, 1, 2]  # a customer is never cut


def test_concat_parts_joins_csv_bytes_and_parquet_tables_in_order(tmp_path: Path) -> None:
    from workers.jobs import concat_parts

    frames = [
        pd.DataFrame({"transaction_id": ["a", "b"], "score": [0.1, 0.2], "note": ["x", "y"]}),
        pd.DataFrame({"transaction_id": ["c"], "score": [0.3], "note": [None]}),
        pd.DataFrame({"transaction_id": [], "score": [], "note": []}),
    ]
    expected = pd.concat(frames, ignore_index=True)
    csv_parts, parquet_parts = [], []
    for i, frame in enumerate(frames):
        csv_parts.append(tmp_path / f"p{i}.csv")
        frame.to_csv(csv_parts[-1], index=False)
        parquet_parts.append(tmp_path / f"p{i}.parquet")
        # The all-missing and the empty part store "note" with other Arrow types.
        frame.to_parquet(parquet_parts[-1], index=False)
    concat_parts(csv_parts, tmp_path / "out.csv")
    text = (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert text.splitlines() == ["transaction_id,score,note", "a,0.1,x", "b,0.2,y", "c,0.3,"]
    concat_parts(parquet_parts, tmp_path / "out.parquet")
    got = pd.read_parquet(tmp_path / "out.parquet")
    assert got["transaction_id"].tolist() == ["a", "b", "c"]
    assert got["score"].tolist() == expected["score"].tolist()
    assert got["note"].iloc[:2].tolist() == ["x", "y"] and pd.isna(got["note"].iloc[2])
