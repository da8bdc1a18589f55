"""fraud.io and fraud.pan: format round trips, stdin/stdout, atomic writes, PAN never leaks."""

import io
import logging
import os
import re
import stat
from datetime import UTC, datetime

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from fraud.errors import InputFileError
from fraud.io import write_frame
from fraud.pan import load_or_create_pan_key, luhn_valid, mask_pan
from fraud.review.db import get_engine
from fraud.review.history import record_transactions
from fraud.schema import IngestOptions, read_transactions, write_rejections

NOW = datetime(2026, 6, 1, tzinfo=UTC)
KEY = b"0123456789abcdef0123456789abcdef"
PANS = ["4111111111111111", "4012888888881881", "5555555555554444"]


def _canonical() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "transaction_id": ["a", "b", "c"],
            "timestamp": pd.to_datetime(
                ["2026-01-01T10:00:00Z", "2026-01-02T11:30:00.5Z", "2026-01-03T00:00:00Z"],
                format="ISO8601",
            ).astype("datetime64[ns, UTC]"),
            "customer_id": ["c1", "c2", "c1"],
            "amount": [1.5, 0.0, 1234.56],
            "currency": ["EUR", "USD", "GBP"],
            "mcc": ["5411", "0742", "6011"],
            "lat": [48.8, None, 51.5],
            "lon": [2.3, None, -0.1],
            "is_fraud": pd.array([0, 1, None], dtype="Int8"),
            "label_time": pd.to_datetime(["2026-02-01T00:00:00Z", None, None]).astype(
                "datetime64[ns, UTC]"
            ),
            "memo": ["x", "y", "z"],
        }
    )


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.jsonl", "t.ndjson", "t.parquet"])
def test_round_trip_every_format(tmp_path, name):
    original = _canonical()
    write_frame(original, tmp_path / name)
    result = read_transactions(tmp_path / name, IngestOptions(now=NOW))
    assert result.rejections == []
    frame = result.frame.drop(columns=["_line"])
    expected = original.copy()
    pd.testing.assert_frame_equal(
        frame.drop(columns=["memo"]), expected.drop(columns=["memo"]), check_dtype=False
    )
    for column in ("timestamp", "label_time"):
        assert str(frame[column].dtype) == "datetime64[ns, UTC]"
    assert list(frame["memo"].astype(str)) == ["x", "y", "z"]
    first_line = 2 if name.startswith("t.csv") else 1
    assert list(result.frame["_line"]) == [first_line, first_line + 1, first_line + 2]


def test_jsonl_lines_and_malformed_records(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"transaction_id": "a", "timestamp": "2026-01-01T00:00:00Z", '
        '"customer_id": 7, "amount": 1}\n'
        "\n"
        "{not json\n"
        "[1, 2]\n"
        '{"transaction_id": "b", "timestamp": "2026-01-01T00:00:00Z", '
        '"customer_id": 8, "amount": -2}\n'
    )
    result = read_transactions(path, IngestOptions(now=NOW))
    assert [(r.line, r.field) for r in result.rejections] == [
        (3, "_row"),
        (4, "_row"),
        (5, "amount"),
    ]
    assert list(result.frame["customer_id"]) == ["7"]
    assert result.rows_in == 4 == len(result.frame) + len(result.rejections)


def test_stdin_and_stdout(tmp_path):
    data = b"transaction_id,timestamp,customer_id,amount\na,2026-01-01T00:00:00Z,c,1\nb,bad,c,1\n"
    result = read_transactions("-", IngestOptions(now=NOW), stdin=io.BytesIO(data))
    assert result.source == "-"
    assert [(r.path, r.line, r.field) for r in result.rejections] == [("-", 3, "timestamp")]
    out = io.BytesIO()
    write_frame(result.frame.drop(columns=["_line"]), "-", stdout=out)
    assert out.getvalue().decode() == (
        "transaction_id,timestamp,customer_id,amount\na,2026-01-01T00:00:00Z,c,1.0\n"
    )


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(RuntimeError):
        write_frame(_canonical(), target)
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.csv"]
    with pytest.raises(InputFileError, match="unknown file type"):
        write_frame(_canonical(), tmp_path / "out.xls")


def test_luhn_and_mask():
    values = pd.Series(PANS + ["4111111111111112", "123", None, "41111111111111a1"])
    assert list(luhn_valid(values)) == [True, True, True, False, False, False, False]
    assert mask_pan("card 4111 1111 1111 1111 here") == "card ************1111 here"


def test_pan_key_file_created_once_with_mode_0600(tmp_path):
    key = load_or_create_pan_key(tmp_path, env={})
    mode = stat.S_IMODE((tmp_path / "pan.key").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_pan_key(tmp_path, env={}) == key
    assert load_or_create_pan_key(tmp_path, env={"MOESUITE_PAN_KEY": "k" * 20}) == b"k" * 20


def _written_values(path) -> list[str]:
    """Every column name, value and metadata entry of a written file, as text."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        meta = table.schema.metadata or {}
        frame = table.to_pandas()
        extra = [k.decode() + v.decode() for k, v in meta.items()]
    elif path.suffix == ".jsonl":
        frame = pd.read_json(path, lines=True, dtype=False)
        extra = []
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        extra = []
    assert len(frame.columns) > 0
    return [*map(str, frame.columns), *frame.astype(str).to_numpy().ravel(), *extra]


def _database_values(engine) -> list[str]:
    """Every value of every table in the database, as text."""
    values = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            rows = conn.execute(sa.text(f'select * from "{table}"')).all()
            values += [str(v) for row in rows for v in row]
    assert values, "transactions were expected in the database"
    return values


@pytest.mark.parametrize("name", ["p.csv", "p.jsonl", "p.parquet"])
def test_pan_is_tokenised_and_never_written(tmp_path, name, caplog):
    frame = pd.DataFrame(
        {
            "transaction_id": ["a", "b", "c", "d"],
            "timestamp": "2026-01-01T00:00:00Z",
            "customer_id": ["c1", "c2", "c3", "c1"],
            "amount": [1, 2, 3, 4],
            "card_number": [PANS[0], "4012 8888 8888 1881", "4111111111111112", PANS[0]],
            "hidden": [PANS[2]] * 4,  # detected by shape: 16 Luhn-valid digits
        }
    )
    source = tmp_path / name
    write_frame(frame, source)
    result = read_transactions(source, IngestOptions(now=NOW, pan_key=KEY))
    assert "card_number" not in result.frame.columns and "hidden" not in result.frame.columns
    tokens = list(result.frame["card_token"])
    assert tokens[0] == tokens[2] != tokens[1] and len(tokens[0]) == 32
    (rejection,) = result.rejections
    assert (rejection.line, rejection.field) == ((4 if name.endswith(".csv") else 3), "card_number")
    assert rejection.value == "************1112"
    out, rej = tmp_path / f"out-{name}", tmp_path / "rej.csv"
    write_frame(result.frame, out)
    write_rejections(result.rejections, rej)
    # Read every written value back, not the file's bytes: Parquet stores numbers in binary and
    # compresses text, so a PAN can be in the file without its digits showing up in a grep.
    engine = get_engine(f"sqlite:///{tmp_path / 'history.db'}")
    with caplog.at_level(logging.DEBUG):
        assert record_transactions(engine, result.frame) == 3
    texts = _written_values(out) + _written_values(rej) + _database_values(engine)
    texts += [repr(result), caplog.text]
    digits = [re.sub(r"\D", "", text) for text in texts]
    for pan in PANS + ["4111111111111112", "888888881881"]:
        assert not [text for text in texts if pan in text], pan
        assert not [text for text in digits if pan in text], pan
    with pytest.raises(InputFileError, match="PAN key"):
        read_transactions(source, IngestOptions(now=NOW))


def test_card_id_holding_pans_becomes_token(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "transaction_id,timestamp,card_id,amount\n"
        f"a,2026-01-01T00:00:00Z,{PANS[0]},1\nb,2026-01-01T00:00:00Z,{PANS[1]},1\n"
    )
    result = read_transactions(path, IngestOptions(now=NOW, pan_key=KEY))
    assert list(result.frame["customer_id"]) == list(result.frame["card_token"])
    assert PANS[0] not in result.frame.to_csv()
