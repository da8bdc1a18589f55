"""A file's raw columns as an analyst would use them: dates become ages, coordinate pairs
distances, codes, counters and free text stay out with a reason; recorded in the bundle, causal,
the same for one transaction as in a file, refused clearly when a scored file lacks a source,
and a card number used as the customer column never written raw."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics.pairwise import haversine_distances

from fraud.features import (
    FeatureSchemaError,
    compute_features,
    features_for_one,
    fit_feature_schema,
)
from tests.fraud.txn_frames import make_frame

CANONICAL = [
    "transaction_id",
    "timestamp",
    "customer_id",
    "amount",
    "currency",
    "merchant_id",
    "mcc",
    "country",
    "channel",
    "lat",
    "lon",
    "is_fraud",
    "label_time",
]


def _card_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct 16-digit Luhn-valid numbers (check digit computed here, independently)."""
    out: set[str] = set()
    while len(out) < n:
        body = [4, *rng.integers(0, 10, 14).tolist()]
        total = 0
        for i, d in enumerate(reversed(body)):  # the check digit will sit right of these
            d = d * 2 if i % 2 == 0 else d
            total += d - 9 if d > 9 else d
        out.add("".join(map(str, body)) + str((10 - total % 10) % 10))
    return sorted(out)


def sparkov_like(n: int = 3000, n_customers: int = 80, seed: int = 3) -> pd.DataFrame:
    """make_frame's rows plus the raw columns of a Sparkov-style file (per-customer values)."""
    frame = make_frame(n=n, n_customers=n_customers, days=50, seed=seed)
    rng = np.random.default_rng(seed + 100)
    cust = frame["customer_id"].str[1:].astype(int).to_numpy()
    home_lat = rng.uniform(40, 50, n_customers)
    home_lon = rng.uniform(0, 10, n_customers)
    dob = pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.uniform(0, 60 * 365, n_customers), "D")
    frame["home_lat"] = np.round(home_lat[cust], 4)
    frame["home_long"] = np.round(home_lon[cust], 4)
    frame["dob"] = pd.Series(dob).dt.strftime("%Y-%m-%d").to_numpy()[cust]
    frame["zip"] = rng.choice(np.arange(1000, 99999), n_customers, replace=False)[cust]
    frame["unix_time"] = frame["timestamp"].astype("int64").to_numpy() // 10**9
    frame["first"] = np.array([f"Name{k:03d}" for k in range(n_customers)])[cust]
    frame["street"] = np.array([f"{k} Main St" for k in rng.integers(1, 9999, n_customers)])[cust]
    frame["city_pop"] = rng.integers(500, 2_000_000, n_customers)[cust]
    return frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return sparkov_like()


def test_dates_and_coordinate_pairs_become_age_and_distance_in_the_schema(frame):
    schema = fit_feature_schema(frame)
    derived = {d.name: d for d in schema.derived}
    assert derived["years_since_dob"].sources == ("dob",)
    assert derived["km_lat_lon_to_home"].sources == ("lat", "lon", "home_lat", "home_long")
    assert {"num_years_since_dob", "num_km_lat_lon_to_home", "num_city_pop"} <= set(schema.names)
    assert {"dob", "home_lat", "home_long"} <= set(schema.required_columns())
    again = type(schema).from_json(schema.to_json())
    assert again == schema and again.derived == schema.derived
    # Values an analyst would compute: age at the transaction, great-circle km.
    feats = compute_features(frame, schema)
    days = (frame["timestamp"] - pd.to_datetime(frame["dob"], utc=True)).dt.total_seconds()
    np.testing.assert_allclose(feats["num_years_since_dob"], days / 86400 / 365.25, rtol=1e-9)
    a = np.radians(frame[["lat", "lon"]].to_numpy(float))
    b = np.radians(frame[["home_lat", "home_long"]].to_numpy(float))
    km = np.array([haversine_distances(a[i : i + 1], b[i : i + 1])[0, 0] for i in range(50)])
    np.testing.assert_allclose(feats["num_km_lat_lon_to_home"][:50], km * 6371.0, rtol=1e-6)


def test_codes_counters_free_text_and_raw_coordinates_stay_out_with_reasons(frame):
    schema = fit_feature_schema(frame)
    why = schema.ignored
    assert "tracks time" in why["unix_time"]
    assert "code or identifier" in why["zip"]  # a zip code is no magnitude
    assert "free text" in why["first"] and "free text" in why["street"]
    assert why["dob"].startswith("date") and "years_since_dob" in why["dob"]
    assert why["home_lat"].startswith("coordinate") and why["home_long"].startswith("coordinate")
    used = {n for n in schema.names if n.startswith(("num_", "cat_"))}
    for col in ("unix_time", "zip", "first", "street", "dob", "home_lat", "home_long"):
        assert f"num_{col}" not in used and f"cat_{col}" not in used
    # A zip code with few values is a category, not a number; a count named after an
    # account is still a magnitude.
    few = frame.assign(zip=np.where(frame["zip"] % 2 == 0, 75001, 75002))
    ages = np.random.default_rng(0).integers(1, 3000, 80)  # per customer: 80 distinct values
    few["account_age_days"] = ages[few["customer_id"].str[1:].astype(int)]
    names = fit_feature_schema(few).names
    assert "cat_zip" in names and "num_account_age_days" in names


def test_a_scored_input_lacking_a_source_column_is_refused_naming_it(frame):
    schema = fit_feature_schema(frame)
    with pytest.raises(FeatureSchemaError, match="home_long.*km_lat_lon_to_home"):
        compute_features(frame.drop(columns=["home_long"]), schema)
    with pytest.raises(FeatureSchemaError, match="dob"):
        compute_features(frame.drop(columns=["dob"]), schema)


def test_derived_features_are_causal_and_one_transaction_matches_the_file(frame):
    schema = fit_feature_schema(frame)
    cols = ["num_years_since_dob", "num_km_lat_lon_to_home"]
    base = compute_features(frame, schema)
    half = len(frame) // 2
    later = frame.copy()
    later.loc[half:, "dob"] = "1999-12-31"
    later.loc[half:, "home_lat"] = later.loc[half:, "home_lat"] + 5
    after = compute_features(later, schema)
    pd.testing.assert_frame_equal(base.loc[: half - 1, cols], after.loc[: half - 1, cols])
    assert not np.allclose(base.loc[half:, cols], after.loc[half:, cols])  # the check can fail
    # score_one's stored history carries canonical columns only: the row's own fields suffice.
    cust = frame["customer_id"].value_counts().index[0]
    rows = frame.index[frame["customer_id"] == cust]
    non_risk = [c for c in schema.names if "_risk" not in c]
    for pos in (rows[0], rows[len(rows) // 2], rows[-1]):
        history = frame.loc[rows[rows < pos], CANONICAL]
        single = features_for_one(frame.loc[pos].to_dict(), history, schema)
        np.testing.assert_allclose(single[cols].to_numpy(float), base.loc[pos, cols], rtol=1e-12)
        np.testing.assert_allclose(
            single[non_risk].to_numpy(float),
            compute_features(pd.concat([history, frame.loc[[pos]]]), schema)
            .iloc[-1][non_risk]
            .to_numpy(float),
            rtol=1e-9,
        )


def test_card_number_as_customer_trains_scores_and_is_never_written_raw(tmp_path):
    """A Sparkov-shaped file through the CLI: derived columns and reasons printed, no raw PAN."""
    import sqlite3

    from click.testing import CliRunner

    from moesuite.cli import cli

    frame = sparkov_like(n=4000, n_customers=90, seed=5)
    rng = np.random.default_rng(5)
    cards = np.array(_card_numbers(rng, 90))
    cust = frame["customer_id"].str[1:].astype(int).to_numpy()
    raw = frame.drop(columns=["customer_id", "currency", "mcc", "country", "channel"])
    raw = raw.drop(columns=["label_time"]).rename(
        columns={"timestamp": "trans_date_trans_time", "amount": "amt"}
    )
    raw.insert(1, "cc_num", cards[cust].astype(np.int64))  # integers, as the public file has
    raw["trans_date_trans_time"] = frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    src = tmp_path / "sparkov.csv"
    raw.to_csv(src, index=False)
    column_map = "trans_date_trans_time=timestamp,cc_num=customer_id"
    home = ["--home", str(tmp_path / "home")]
    bundle = tmp_path / "bundle"
    runner = CliRunner()
    trained = runner.invoke(
        cli,
        [
            *home,
            "train-fraud",
            str(src),
            "-o",
            str(bundle),
            "--until",
            "2026-02-05",
            "--no-sequence",
            "--column-map",
            column_map,
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert "derived years_since_dob (years_since) from dob" in trained.output
    assert "derived km_lat_lon_to_home (distance_km) from lat, lon, home_lat, home_long" in (
        trained.output
    )
    assert "left out unix_time: tracks time" in trained.output
    assert "left out zip: code or identifier" in trained.output
    db_file = tmp_path / "q.db"
    scored = runner.invoke(
        cli,
        [
            *home,
            "--database-url",
            f"sqlite:///{db_file}",
            "score-transactions",
            str(src),
            "--bundle",
            str(bundle),
            "--no-sequence",
            "-o",
            str(tmp_path / "out.csv"),
            "--column-map",
            column_map,
        ],
    )
    assert scored.exit_code == 0, scored.output
    written = (tmp_path / "out.csv").read_text()
    stored = ""
    with sqlite3.connect(db_file) as conn:
        for table in ("cases", "transactions"):
            stored += "\n".join(str(r) for r in conn.execute(f"select * from {table}"))
    saved = "\n".join(p.read_bytes().decode("latin-1") for p in bundle.rglob("*") if p.is_file())
    assert "card_token" in written.splitlines()[0]
    for card in cards:
        for text in (written, stored, saved, trained.output, scored.output):
            assert card not in text
    # A scoring file without the date of birth: refused, naming the file and the column.
    (tmp_path / "no_dob.csv").write_text(raw.drop(columns=["dob"]).to_csv(index=False))
    refused = runner.invoke(
        cli,
        [
            *home,
            "score-transactions",
            str(tmp_path / "no_dob.csv"),
            "--bundle",
            str(bundle),
            "--no-sequence",
            "-o",
            str(tmp_path / "out2.csv"),
            "--column-map",
            column_map,
        ],
    )
    assert refused.exit_code == 2
    assert "no_dob.csv" in refused.output and "dob" in refused.output


def test_a_card_keyed_customer_column_with_odd_numbers_is_tokenised_whole(tmp_path):
    """Card files mix 12-digit Maestro numbers and numbers a float export broke: none stays raw,
    no row is lost."""
    from fraud.schema import IngestOptions, read_transactions

    cards = _card_numbers(np.random.default_rng(1), 30)
    odd = ["630423337322", "4767265376804500", "38859492057661", "4767265376804512"]
    values = cards + odd * 3  # 30 of 42 pass the Luhn check: under the 95% a PAN column needs
    n = 210
    raw = pd.DataFrame(
        {
            "trans_num": [f"t{i}" for i in range(n)],
            "trans_date_trans_time": pd.date_range("2026-01-01", periods=n, freq="h").strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "cc_num": [values[i % len(values)] for i in range(n)],
            "amt": 10.0,
        }
    )
    src = tmp_path / "cards.csv"
    raw.to_csv(src, index=False)
    column_map = {
        "trans_num": "transaction_id",
        "trans_date_trans_time": "timestamp",
        "cc_num": "customer_id",
    }
    result = read_transactions(src, IngestOptions(column_map=column_map, pan_key=b"k" * 32))
    assert len(result.frame) == n and not result.rejections
    assert result.frame["customer_id"].nunique() == len(set(values))
    text = result.frame.to_csv()
    assert not [v for v in values if v in text]
