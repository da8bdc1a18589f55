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
