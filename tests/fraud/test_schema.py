"""fraud.schema: every rejection kind with exact line and field, column maps, reconciliation."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from fraud.errors import ConfigError, InputFileError
from fraud.schema import IngestOptions, parse_column_map, read_transactions

NOW = datetime(2026, 6, 1, tzinfo=UTC)
HEADER = (
    "transaction_id,timestamp,customer_id,amount,currency,mcc,country,channel,"
    "lat,lon,is_fraud,label_time,note\n"
)
GOOD = "t{i},2026-01-0{d}T10:00:00Z,c1,10.50,usd,5411,us,Card Present,40.7,-74.0,0,,n{i}\n"


def _read(tmp_path, body: str, **options):
    path = tmp_path / "in.csv"
    path.write_text(body)
    return read_transactions(path, IngestOptions(now=NOW, **options))


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (",2026-01-01T00:00:00Z,c,1,EUR,5411,FR,online,1,1,0,,x", "transaction_id", "missing"),
        ("x,,c,1,EUR,5411,FR,online,1,1,0,,x", "timestamp", "missing"),
        ("x,31/01/2026,c,1,EUR,5411,FR,online,1,1,0,,x", "timestamp", "ISO 8601"),
        ("x,2027-01-01T00:00:00Z,c,1,EUR,5411,FR,online,1,1,0,,x", "timestamp", "future"),
        ("x,2026-01-01T00:00:00Z,,1,EUR,5411,FR,online,1,1,0,,x", "customer_id", "missing"),
        ("x,2026-01-01T00:00:00Z,c,,EUR,5411,FR,online,1,1,0,,x", "amount", "missing"),
        ("x,2026-01-01T00:00:00Z,c,ten,EUR,5411,FR,online,1,1,0,,x", "amount", "not a number"),
        ("x,2026-01-01T00:00:00Z,c,-1,EUR,5411,FR,online,1,1,0,,x", "amount", "negative"),
        ("x,2026-01-01T00:00:00Z,c,1,ZZZ,5411,FR,online,1,1,0,,x", "currency", "unknown currency"),
        ("x,2026-01-01T00:00:00Z,c,1,EUR,54a1,FR,online,1,1,0,,x", "mcc", "4 digits"),
        ("x,2026-01-01T00:00:00Z,c,1,EUR,5411,QQ,online,1,1,0,,x", "country", "unknown country"),
        ("x,2026-01-01T00:00:00Z,c,1,EUR,5411,FR,on$line,1,1,0,,x", "channel", "word"),
        ("x,2026-01-01T00:00:00Z,c,1,EUR,5411,FR,online,91,1,0,,x", "lat", "out of range"),
        ("x,2026-01-01T00:00:00Z,c,1,EUR,5411,FR,online,1,181,0,,x", "lon", "out of range"),
        ("x,2026-01-01T00:00:00Z,c,1,EUR,5411,FR,online,north,1,0,,x", "lat", "not a number"),
        ("x,2026-01-01T00:00:00Z,c,1,EUR,5411,FR,online,1,,0,,x", "lon", "without lon"),
        ("x,2026-01-01T00:00:00Z,c,1,EUR,5411,FR,online,1,1,maybe,,x", "is_fraud", "0 or 1"),
        (
            "x,2026-01-02T00:00:00Z,c,1,EUR,5411,FR,online,1,1,1,2026-01-01,x",
            "label_time",
            "before",
        ),
        ("x,2026-01-02T00:00:00Z,c,1,EUR,5411,FR,online,1,1,1,soon,x", "label_time", "ISO 8601"),
    ],
)
def test_each_rejection_kind_names_line_and_field(tmp_path, row, field, reason):
    body = HEADER + GOOD.format(i=1, d=1) + row + "\n" + GOOD.format(i=2, d=2)
    result = _read(tmp_path, body)
    assert [r.line for r in result.rejections] == [3]
    rejection = result.rejections[0]
    assert rejection.field == field
    assert reason in rejection.reason
    assert rejection.path == str(tmp_path / "in.csv")
    assert list(result.frame["transaction_id"]) == ["t1", "t2"]
    assert list(result.frame["_line"]) == [2, 4]
    assert result.rows_in == 3


def test_duplicate_second_occurrence_rejected_and_blank_lines_keep_numbering(tmp_path):
    body = HEADER + GOOD.format(i=1, d=1) + "\n" + GOOD.format(i=1, d=2) + GOOD.format(i=3, d=3)
    result = _read(tmp_path, body)
    (rejection,) = result.rejections
    assert (rejection.line, rejection.field) == (4, "transaction_id")
    assert "first seen on line 2" in rejection.reason
    assert list(result.frame["_line"]) == [2, 5]
    assert result.rows_in == len(result.frame) + len(result.rejections) == 3


def test_canonical_dtypes_normalisation_and_extras(tmp_path):
    body = (
        HEADER
        + GOOD.format(i=1, d=1)
        + "t2,2026-01-02 12:00:00+02:00,c2,3,EUR,742,fr,ATM,,,1,2026-02-01T00:00:00Z,z\n"
    )
    result = _read(tmp_path, body)
    frame = result.frame
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["label_time"].dtype) == "datetime64[ns, UTC]"
    assert frame["amount"].dtype == "float64"
    assert str(frame["is_fraud"].dtype) == "Int8"
    assert frame["timestamp"][1] == pd.Timestamp("2026-01-02T10:00:00Z")
    assert list(frame["currency"]) == ["USD", "EUR"]
    assert list(frame["mcc"]) == ["5411", "0742"]
    assert list(frame["channel"]) == ["card_present", "atm"]
    assert list(frame["country"]) == ["US", "FR"]
    assert result.extra_columns == ["note"]
    assert "merchant_id" not in frame.columns
    assert result.present_optional == frozenset(
        {"currency", "mcc", "country", "channel", "lat", "lon", "is_fraud", "label_time"}
    )


def test_column_map_and_card_id_alias(tmp_path):
    body = "id,when,card_id,value\na,2026-01-01T00:00:00Z,c1,5\n"
    result = _read(
        tmp_path,
        body,
        column_map=parse_column_map("id=transaction_id, when=timestamp,value=amount"),
    )
    assert list(result.frame.columns) == [
        "transaction_id",
        "timestamp",
        "customer_id",
        "amount",
        "_line",
    ]
    assert result.frame["customer_id"][0] == "c1"


def test_rejection_field_uses_input_column_name(tmp_path):
    body = "id,when,card_id,value\na,2026-01-01T00:00:00Z,c1,-5\n"
    result = _read(
        tmp_path, body, column_map={"id": "transaction_id", "when": "timestamp", "value": "amount"}
    )
    assert (result.rejections[0].line, result.rejections[0].field) == (2, "value")


def test_parse_column_map_errors():
    assert parse_column_map("a=amount,,b=timestamp") == {"a": "amount", "b": "timestamp"}
    with pytest.raises(ConfigError, match="their_name=our_name"):
        parse_column_map("a")
    with pytest.raises(ConfigError, match="not a canonical column"):
        parse_column_map("a=price")
    with pytest.raises(ConfigError, match="two columns"):
        parse_column_map("a=amount,b=amount")


def test_whole_file_problems_raise_with_path(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("transaction_id,timestamp,amount\nx,2026-01-01,1\n")
    with pytest.raises(InputFileError, match=r"in\.csv.*customer_id"):
        read_transactions(path)
    with pytest.raises(InputFileError, match="unknown file type"):
        read_transactions(tmp_path / "in.xlsx")
    with pytest.raises(InputFileError, match="no such file"):
        read_transactions(tmp_path / "missing.csv")
    path.write_text("")
    with pytest.raises(InputFileError, match="empty"):
        read_transactions(path)
    path.write_text("transaction_id,timestamp,customer_id,amount\n")
    with pytest.raises(InputFileError, match="column map names"):
        read_transactions(path, IngestOptions(column_map={"nope": "amount"}))


def test_allow_future(tmp_path):
    body = HEADER + "x,2027-01-01T00:00:00Z,c,1,EUR,5411,FR,online,1,1,0,,x\n"
    assert len(_read(tmp_path, body, allow_future=True).frame) == 1


def test_quoted_newlines_keep_exact_lines(tmp_path):
    body = (
        HEADER
        + 't1,2026-01-01T00:00:00Z,c,1,EUR,5411,FR,online,1,1,0,,"two\nlines"\n'
        + "t2,2026-01-01T00:00:00Z,c,-1,EUR,5411,FR,online,1,1,0,,x\n"
    )
    result = _read(tmp_path, body)
    assert [r.line for r in result.rejections] == [4]
    assert list(result.frame["_line"]) == [2]


def test_vectorised_rows_reconcile_on_large_input(tmp_path):
    n = 20_000
    frame = pd.DataFrame(
        {
            "transaction_id": [f"t{i % (n - 50)}" for i in range(n)],  # 50 duplicates
            "timestamp": "2026-01-01T00:00:00Z",
            "customer_id": "c",
            "amount": ["-1" if i % 1000 == 0 else "2.5" for i in range(n)],
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    result = read_transactions(path, IngestOptions(now=NOW))
    assert result.rows_in == n == len(result.frame) + len(result.rejections)
    assert len(result.rejections) == 20 + 50 - 1  # t0 is rejected (negative), so its repeat is kept
