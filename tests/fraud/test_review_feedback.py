"""Analyst decisions flow back into training labels (train-fraud --with-review-labels)."""

from datetime import UTC, datetime

from fraud.review.db import get_engine
from fraud.review.queue import CaseInput, claim_next, decide, upsert_cases
from fraud.training import apply_extra_labels, review_labels
from tests.fraud.txn_frames import make_frame


def test_review_decisions_become_labels_known_at_decision_time(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    engine = get_engine(url)
    frame = make_frame(n=200, n_customers=20, days=10, seed=3)
    frame["is_fraud"] = frame["is_fraud"].astype("Int8")
    picked = frame.iloc[[5, 50]]
    now = datetime(2026, 3, 1, tzinfo=UTC)
    upsert_cases(
        engine,
        [
            CaseInput(
                transaction_id=str(r.transaction_id),
                customer_id=str(r.customer_id),
                amount=float(r.amount),
                currency=None,
                score=0.5 + i / 10,
                band="review",
                reasons=("test",),
                model_version="m1",
                occurred_at=r.timestamp.to_pydatetime(),
                transaction={"transaction_id": str(r.transaction_id)},
            )
            for i, r in enumerate(picked.itertuples())
        ],
        now=now,
    )
    decided = {}
    for label in ("fraud", "legit"):
        case = claim_next(engine, "ann", now=now)
        decide(engine, case.id, "ann", label, now=now)
        decided[case.transaction_id] = 1 if label == "fraud" else 0

    labels = review_labels(url)
    assert dict(zip(labels["transaction_id"], labels["is_fraud"], strict=True)) == decided
    relabelled = apply_extra_labels(frame, labels).set_index("transaction_id")
    for txn, value in decided.items():
        assert relabelled.loc[txn, "is_fraud"] == value
        assert relabelled.loc[txn, "label_time"] == now
    untouched = frame.set_index("transaction_id").drop(index=list(decided))
    assert relabelled.drop(index=list(decided))["is_fraud"].equals(untouched["is_fraud"])


def test_review_band_precision_is_reported_per_model_version(tmp_path):
    from fraud.evaluation import review_precision

    url = f"sqlite:///{tmp_path / 'v.db'}"
    engine = get_engine(url)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    versions = {"old": ["fraud", "legit", "legit", "legit"], "new": ["fraud", "fraud", "legit"]}
    cases = [
        CaseInput(
            transaction_id=f"{version}-{i}",
            customer_id="c",
            amount=10.0,
            currency=None,
            score=0.5,
            band="review",
            reasons=("r",),
            model_version=version,
            occurred_at=now,
            transaction={"transaction_id": f"{version}-{i}"},
        )
        for version, labels in versions.items()
        for i in range(len(labels))
    ]
    upsert_cases(engine, cases, now=now)
    for _ in cases:
        case = claim_next(engine, "ann", now=now)
        version, index = case.transaction_id.split("-")
        decide(engine, case.id, "ann", versions[version][int(index)], now=now)
    table = review_precision(url).set_index("model_version")
    assert table.loc["old", "decisions"] == 4 and table.loc["old", "review_precision"] == 0.25
    assert table.loc["new", "decisions"] == 3
    assert abs(table.loc["new", "review_precision"] - 2 / 3) < 1e-9
    assert review_precision(f"sqlite:///{tmp_path / 'empty.db'}") is None


def test_cli_train_fraud_with_review_labels_learns_the_analysts_decisions(tmp_path):
    import json
    from datetime import timedelta

    from click.testing import CliRunner

    from moesuite.cli import cli

    frame = make_frame(n=5000, n_customers=120, days=50, seed=12)
    src = tmp_path / "txns.csv"
    out = frame.copy()
    for column in ("timestamp", "label_time"):
        out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(src, index=False)
    url = f"sqlite:///{tmp_path / 'q.db'}"
    engine = get_engine(url)
    # Five legitimate transactions an analyst marks as fraud a day after they happened.
    picked = frame[frame["is_fraud"] == 0].iloc[100:105]
    upsert_cases(
        engine,
        [
            CaseInput(
                transaction_id=str(r.transaction_id),
                customer_id=str(r.customer_id),
                amount=float(r.amount),
                currency=None,
                score=0.5,
                band="review",
                reasons=("test",),
                model_version="m1",
                occurred_at=r.timestamp.to_pydatetime(),
                transaction={"transaction_id": str(r.transaction_id)},
            )
            for r in picked.itertuples()
        ],
        now=picked["timestamp"].max().to_pydatetime(),
    )
    decided_at = picked["timestamp"].max().to_pydatetime() + timedelta(days=1)
    for _ in range(len(picked)):
        case = claim_next(engine, "ann", now=decided_at)
        decide(engine, case.id, "ann", "fraud", now=decided_at)

    def train(name: str, *flags: str) -> dict:
        result = CliRunner().invoke(
            cli,
            ["--home", str(tmp_path / "home"), "--database-url", url, "train-fraud", str(src),
             "-o", str(tmp_path / name), "--no-sequence", *flags],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return json.loads((tmp_path / name / "bundle.json").read_text())["metadata"]

    plain, reviewed = train("plain"), train("reviewed", "--with-review-labels")
    assert reviewed["labelled_rows"] == plain["labelled_rows"]
    assert reviewed["frauds"] == plain["frauds"] + len(picked)
