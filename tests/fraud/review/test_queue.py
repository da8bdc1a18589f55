"""Queue lifecycle, idempotent re-scoring, leases on an injected clock, audit trail, labels.

Runs on SQLite and on PostgreSQL (a fresh schema per test).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from fraud.review.config import ReviewConfig, review_config_from_mapping
from fraud.review.errors import (
    CaseNotFound,
    InvalidCaseInput,
    InvalidTransition,
    LeaseExpired,
    NotCaseHolder,
    ReviewConfigError,
    StaleCaseVersion,
)
from fraud.review.labels import write_labels
from fraud.review.models import Case
from fraud.review.priority import priority_at, rank_key
from fraud.review.queue import (
    claim_next,
    decide,
    escalate,
    expire_leases,
    export_labels,
    release,
    upsert_cases,
)
from fraud.review.stats import review_stats
from fraud.review.views import case_events, get_case, list_cases
from moesuite.settings import load_settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the fixtures' make_case occurs at T0
MIN = timedelta(minutes=1)


def _replay(events) -> str | None:
    """Status reached by following the audit trail; fails if a transition does not chain."""
    status = None
    for event in events:
        if event.kind == "rescored":
            assert event.from_status == event.to_status == status
            continue
        assert event.from_status == status, f"{event.kind} starts at {event.from_status}"
        status = event.to_status
    return status


def test_full_lifecycle_with_audit_trail(make_case, engine):
    report = upsert_cases(engine, [make_case(i) for i in range(3)], now=T0)
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)

    case = claim_next(engine, "ann", now=T0 + MIN)
    assert case.status == "claimed" and case.analyst == "ann"
    assert case.lease_expires_at == T0 + MIN + timedelta(minutes=15)
    done = decide(engine, case.id, "ann", "fraud", note="card testing", now=T0 + 2 * MIN)
    assert (done.status, done.resolution, done.decided_by) == ("resolved", "confirmed_fraud", "ann")

    other = claim_next(engine, "bob", now=T0 + 3 * MIN)
    escalated = escalate(engine, other.id, "bob", note="needs senior", now=T0 + 4 * MIN)
    assert escalated.status == "escalated" and escalated.analyst is None
    senior = claim_next(engine, "carol", now=T0 + 5 * MIN)
    assert senior.id == other.id  # escalated cases stay claimable, by anyone
    assert release(engine, senior.id, "carol", now=T0 + 6 * MIN).status == "escalated"
    again = claim_next(engine, "carol", now=T0 + 7 * MIN)
    assert decide(engine, again.id, "carol", "legit", now=T0 + 8 * MIN).resolution == "legitimate"

    kinds = [e.kind for e in case_events(engine, other.id)]
    assert kinds == [
        "created",
        "claimed",
        "escalated",
        "claimed",
        "released",
        "claimed",
        "resolved",
    ]
    for case_id in (case.id, other.id):
        assert _replay(case_events(engine, case_id)) == "resolved"
    resolved_event = case_events(engine, case.id)[-1]
    assert resolved_event.note == "card testing"
    assert resolved_event.changes == {"resolution": [None, "confirmed_fraud"]}

    labels = export_labels(engine)
    assert [(r.transaction_id, r.is_fraud, r.analyst) for r in labels] == [
        (case.transaction_id, 1, "ann"),
        (other.transaction_id, 0, "carol"),
    ]
    assert [r.transaction_id for r in export_labels(engine, since=T0 + 5 * MIN)] == [
        other.transaction_id
    ]


def test_rescoring_updates_the_case_never_duplicates_and_never_reopens(make_case, engine):
    upsert_cases(engine, [make_case(1), make_case(2)], now=T0)
    same = upsert_cases(engine, [make_case(1)], now=T0 + MIN)
    assert (same.created, same.updated, same.unchanged) == (0, 0, 1)

    rescored = make_case(1, score=0.99, reasons=("velocity",), model_version="v2")
    report = upsert_cases(engine, [rescored], now=T0 + 2 * MIN)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    view = list_cases(engine, status="all", now=T0 + 2 * MIN)
    assert len(view) == 2
    case = next(c for c in view if c.transaction_id == "tx-00001")
    assert (case.score, case.reasons, case.model_version, case.version) == (
        0.99,
        ("velocity",),
        "v2",
        2,
    )
    event = case_events(engine, case.id)[-1]
    assert event.kind == "rescored" and event.actor == "scorer"
    assert event.changes["score"] == [make_case(1).score, 0.99]
    assert event.changes["model_version"] == ["fraud-2026.03", "v2"]

    # Resolve it, then re-score: the decision stands.
    claimed = claim_next(engine, "ann", now=T0 + 3 * MIN)
    assert claimed.id == case.id  # higher score after re-scoring
    decide(engine, case.id, "ann", "legit", now=T0 + 4 * MIN)
    late = upsert_cases(engine, [make_case(1, score=0.2)], now=T0 + 5 * MIN)
    assert (late.created, late.updated, late.unchanged) == (0, 0, 1)
    after = get_case(engine, case.id, now=T0 + 5 * MIN)
    assert (after.status, after.score) == ("resolved", 0.99)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Case)).scalar_one() == 2


def test_duplicate_ids_in_one_batch_keep_the_last(make_case, engine):
    report = upsert_cases(engine, [make_case(1), make_case(1, score=0.9)], now=T0)
    assert (report.created, report.updated, report.unchanged) == (1, 0, 0)
    assert list_cases(engine, now=T0)[0].score == 0.9


def test_lease_expiry_returns_the_case_and_blocks_the_old_holder(make_case, engine):
    upsert_cases(engine, [make_case(1)], now=T0)
    case = claim_next(engine, "ann", now=T0)
    later = T0 + timedelta(minutes=16)
    # Reads show the lapsed claim as back in the queue without writing.
    assert get_case(engine, case.id, now=later).status == "open"
    assert [c.id for c in list_cases(engine, status="open", now=later)] == [case.id]
    assert list_cases(engine, status="claimed", now=later) == []

    with pytest.raises(LeaseExpired, match="claim it again"):
        decide(engine, case.id, "ann", "fraud", now=later)
    kinds = [e.kind for e in case_events(engine, case.id)]
    assert kinds == ["created", "claimed", "lease_expired"]  # the expiry was committed

    bob = claim_next(engine, "bob", now=later)
    assert bob.id == case.id and bob.analyst == "bob"
    with pytest.raises(NotCaseHolder, match="held by 'bob'"):
        decide(engine, case.id, "ann", "fraud", now=later + MIN)
    decide(engine, case.id, "bob", "legit", now=later + MIN)
    assert _replay(case_events(engine, case.id)) == "resolved"


def test_claim_takes_over_a_lapsed_lease_and_logs_the_expiry(make_case, engine):
    upsert_cases(engine, [make_case(1)], now=T0)
    first = claim_next(engine, "ann", now=T0)
    assert claim_next(engine, "bob", now=T0 + MIN) is None  # still leased
    taken = claim_next(engine, "bob", now=T0 + timedelta(minutes=20))
    assert taken.id == first.id
    events = case_events(engine, first.id)
    assert [(e.kind, e.actor) for e in events[-2:]] == [
        ("lease_expired", "system"),
        ("claimed", "bob"),
    ]


def test_expire_leases_sweeps_and_escalated_cases_return_escalated(make_case, engine):
    upsert_cases(engine, [make_case(1), make_case(2)], now=T0)
    a = claim_next(engine, "ann", now=T0)
    escalate(engine, a.id, "ann", now=T0)
    claim_next(engine, "bob", now=T0)  # the escalated case or the other one
    claim_next(engine, "bob", now=T0)
    assert expire_leases(engine, now=T0 + MIN) == 0
    assert expire_leases(engine, now=T0 + timedelta(hours=1)) == 2
    statuses = {c.id: c.status for c in list_cases(engine, now=T0 + timedelta(hours=1))}
    assert statuses[a.id] == "escalated"
    assert sorted(statuses.values()) == ["escalated", "open"]


def test_stale_version_cannot_overwrite_newer_information(make_case, engine):
    upsert_cases(engine, [make_case(1)], now=T0)
    case = claim_next(engine, "ann", now=T0)
    upsert_cases(engine, [make_case(1, score=0.97)], now=T0 + MIN)  # re-scored while held
    with pytest.raises(StaleCaseVersion, match="version 2, now 3"):
        decide(engine, case.id, "ann", "legit", expected_version=case.version, now=T0 + 2 * MIN)
    fresh = get_case(engine, case.id, now=T0 + 2 * MIN)
    done = decide(engine, case.id, "ann", "fraud", expected_version=fresh.version, now=T0 + 2 * MIN)
    assert done.version == fresh.version + 1


def test_error_paths(make_case, engine):
    upsert_cases(engine, [make_case(1), make_case(2)], now=T0)
    with pytest.raises(CaseNotFound):
        decide(engine, 999, "ann", "fraud", now=T0)
    open_case = list_cases(engine, now=T0)[0]
    with pytest.raises(NotCaseHolder, match="nobody holds it"):
        decide(engine, open_case.id, "ann", "fraud", now=T0)
    with pytest.raises(NotCaseHolder):
        release(engine, open_case.id, "ann", now=T0)
    held = claim_next(engine, "ann", now=T0)
    with pytest.raises(NotCaseHolder):
        escalate(engine, held.id, "bob", now=T0)
    escalate(engine, held.id, "ann", now=T0)
    again = claim_next(engine, "ann", now=T0)
    assert again.id == held.id
    with pytest.raises(InvalidTransition, match="already escalated"):
        escalate(engine, held.id, "ann", now=T0)
    decide(engine, held.id, "ann", "fraud", now=T0)
    with pytest.raises(InvalidTransition, match="resolved"):
        decide(engine, held.id, "ann", "legit", now=T0)
    assert get_case(engine, held.id, now=T0).resolution == "confirmed_fraud"


def test_invalid_inputs_name_the_row_and_field(make_case, engine):
    with pytest.raises(InvalidCaseInput, match="row 1 .*'score'"):
        upsert_cases(engine, [make_case(0), make_case(1, score=math.nan)], now=T0)
    with pytest.raises(InvalidCaseInput, match="card number"):
        upsert_cases(engine, [make_case(0, transaction={"pan": "4111 1111 1111 1111"})], now=T0)
    with pytest.raises(InvalidCaseInput, match="occurred_at"):
        upsert_cases(engine, [make_case(0, occurred_at=T0.replace(tzinfo=None))], now=T0)
    assert list_cases(engine, status="all", now=T0) == []  # nothing half-written


def test_priority_is_score_times_amount_plus_age(make_case, engine):
    config = ReviewConfig(age_tau_hours=24.0)
    small_old = make_case(1, score=0.9, amount=100.0)
    big_new = make_case(2, score=0.9, amount=100.0 * math.e**2)
    upsert_cases(engine, [small_old], now=T0, config=config)
    upsert_cases(engine, [big_new], now=T0 + timedelta(hours=24), config=config)
    now = T0 + timedelta(hours=24)

    def shown(at: datetime) -> dict[str, float]:
        return {c.transaction_id: c.priority for c in list_cases(engine, now=at, config=config)}

    first = shown(now)
    assert list(first) == ["tx-00002", "tx-00001"]
    # One day of waiting is worth +1; the bigger one leads by about 2 - 1.
    assert first["tx-00002"] - first["tx-00001"] == pytest.approx(1.0, abs=0.02)
    key = rank_key(0.9, 100.0, T0, 24.0)
    assert priority_at(key, T0, 24.0) == pytest.approx(math.log1p(90.0))
    # The clock moves two days: every waiting case gains 2, so the order holds.
    later = now + timedelta(hours=48)
    second = shown(later)
    for tx, priority in first.items():
        assert second[tx] - priority == pytest.approx(2.0, abs=1e-6)
    # A case as big as tx-00002 arriving now is 3 days younger than tx-00001: the old, small
    # case overtakes it (score x amount alone would rank the newcomer first).
    upsert_cases(
        engine, [make_case(3, score=0.9, amount=100.0 * math.e**2)], now=later, config=config
    )
    third = shown(later)
    assert list(third) == ["tx-00002", "tx-00001", "tx-00003"]
    assert third["tx-00001"] - third["tx-00003"] == pytest.approx(1.0, abs=0.02)
    claimed = [claim_next(engine, "ann", now=later, config=config) for _ in range(3)]
    assert [c.transaction_id for c in claimed] == ["tx-00002", "tx-00001", "tx-00003"]


def test_sla_at_risk_and_breached_by_band(make_case, engine):
    config = ReviewConfig(sla_hours={"high": 4.0, "medium": 8.0}, at_risk_fraction=0.25)
    upsert_cases(engine, [make_case(1), make_case(2)], now=T0, config=config)  # high, medium
    by_tx = lambda now: {  # noqa: E731
        c.transaction_id: c.sla for c in list_cases(engine, now=now, config=config)
    }
    assert by_tx(T0 + timedelta(hours=2)) == {"tx-00001": "ok", "tx-00002": "ok"}
    assert by_tx(T0 + timedelta(hours=3.5)) == {"tx-00001": "at_risk", "tx-00002": "ok"}
    assert by_tx(T0 + timedelta(hours=6.5)) == {"tx-00001": "breached", "tx-00002": "at_risk"}
    stats = review_stats(engine, config=config, now=T0 + timedelta(hours=6.5))
    assert (stats.sla_at_risk, stats.sla_breached) == (1, 1)
    assert stats.backlog_by_age["4-24h"] == 2


def test_stats_count_backlog_decisions_and_fraud_rate(make_case, engine):
    upsert_cases(engine, [make_case(i) for i in range(5)], now=T0)
    for label, analyst in (("fraud", "ann"), ("legit", "ann"), ("fraud", "bob")):
        case = claim_next(engine, analyst, now=T0 + MIN)
        decide(engine, case.id, analyst, label, now=T0 + 2 * MIN)
    claim_next(engine, "bob", now=T0 + 2 * MIN)
    held = review_stats(engine, now=T0 + 3 * MIN)
    assert held.by_status == {"open": 1, "claimed": 1, "escalated": 0, "resolved": 3}
    # Two hours later bob's lease has lapsed: the case counts as open again.
    stats = review_stats(engine, now=T0 + timedelta(hours=2))
    assert stats.by_status == {"open": 2, "claimed": 0, "escalated": 0, "resolved": 3}
    assert stats.backlog_by_age == {"<1h": 0, "1-4h": 2, "4-24h": 0, "1-3d": 0, ">3d": 0}
    assert [(a.analyst, a.decided, a.fraud) for a in stats.analysts] == [
        ("ann", 2, 1),
        ("bob", 1, 1),
    ]
    assert stats.fraud_rate == pytest.approx(2 / 3)


def test_list_filters(make_case, engine):
    upsert_cases(engine, [make_case(i, score=0.1 * (i + 1)) for i in range(4)], now=T0)
    held = claim_next(engine, "ann", now=T0)
    assert [c.id for c in list_cases(engine, status="claimed", now=T0)] == [held.id]
    assert [c.id for c in list_cases(engine, analyst="ann", now=T0)] == [held.id]
    scores = sorted(c.score for c in list_cases(engine, min_score=0.25, now=T0))
    assert scores == pytest.approx([0.3, 0.4])
    assert len(list_cases(engine, limit=2, now=T0)) == 2


def test_label_files_are_written_atomically(make_case, engine, tmp_path):
    upsert_cases(engine, [make_case(1)], now=T0)
    case = claim_next(engine, "ann", now=T0)
    decide(engine, case.id, "ann", "fraud", now=T0)
    rows = export_labels(engine)
    out = tmp_path / "out"
    out.mkdir()
    jsonl = out / "labels.jsonl"
    write_labels(rows, jsonl)
    record = json.loads(jsonl.read_text())
    assert record == {
        "transaction_id": "tx-00001",
        "is_fraud": 1,
        "decided_at": T0.isoformat(),
        "analyst": "ann",
        "model_version": "fraud-2026.03",
    }
    csv_path = out / "labels.csv"
    write_labels(rows, csv_path)
    assert csv_path.read_text().splitlines()[1].startswith("tx-00001,1,")
    assert sorted(p.name for p in out.iterdir()) == ["labels.csv", "labels.jsonl"]


def test_review_config_from_settings_section(make_case, engine, tmp_path):
    config = review_config_from_mapping({"lease_minutes": 5, "sla_hours": {"high": 1}})
    assert config.lease_minutes == 5.0 and config.sla_for("high") == 1.0
    assert config.sla_for("medium") == 24.0 and config.sla_for("unknown") == 24.0
    with pytest.raises(ReviewConfigError, match="unknown key"):
        review_config_from_mapping({"lease": 5})
    with pytest.raises(ReviewConfigError, match="sla_hours.high"):
        review_config_from_mapping({"sla_hours": {"high": -1}})
    # From a settings file's [review] table to the queue: a 5-minute lease is what claims get.
    settings_file = tmp_path / "moesuite.toml"
    settings_file.write_text("[review]\nlease_minutes = 5\n[review.sla_hours]\nhigh = 1\n")
    settings = load_settings(settings_file, env={"MOESUITE_HOME": str(tmp_path / "home")})
    from_file = review_config_from_mapping(settings.section("review"))
    assert from_file == config
    upsert_cases(engine, [make_case(1)], now=T0, config=from_file)
    claimed = claim_next(engine, "ann", now=T0, config=from_file)
    assert claimed.lease_expires_at == T0 + timedelta(minutes=5)
    assert claimed.sla_due_at == T0 + timedelta(hours=1)
    assert claim_next(engine, "bob", now=T0 + 4 * MIN, config=from_file) is None
    assert claim_next(engine, "bob", now=T0 + 6 * MIN, config=from_file).id == claimed.id


def test_random_operations_keep_the_audit_log_complete(make_case, engine):
    """Seeded random claims/decisions/releases/escalations/re-scores on a moving clock: replaying
    each case's events always reproduces its stored status, and holders are unique."""
    import random

    from fraud.review.errors import ReviewError

    rng = random.Random(1234)
    upsert_cases(engine, [make_case(i) for i in range(12)], now=T0)
    now = T0
    analysts = ["ann", "bob", "carol"]
    for _ in range(150):
        now += timedelta(minutes=rng.choice([0, 1, 5, 20]))
        who = rng.choice(analysts)
        action = rng.choice(["claim", "claim", "decide", "release", "escalate", "rescore"])
        held = list_cases(engine, status="claimed", analyst=who, now=now)
        try:
            if action == "claim":
                claim_next(engine, who, now=now)
            elif action == "rescore":
                index = rng.randrange(12)
                upsert_cases(engine, [make_case(index, score=rng.random())], now=now)
            else:
                # Act on a case we hold, or (to exercise the errors) on any case.
                target = held[0].id if held and rng.random() < 0.8 else rng.randrange(1, 14)
                if action == "decide":
                    decide(engine, target, who, rng.choice(["fraud", "legit"]), now=now)
                elif action == "release":
                    release(engine, target, who, now=now)
                else:
                    escalate(engine, target, who, now=now)
        except ReviewError:
            pass
    cases = list_cases(engine, status="all", limit=100, now=now)
    assert len(cases) == 12
    with engine.connect() as conn:
        stored = {r.id: r.status for r in conn.execute(select(Case.id, Case.status))}
    kinds = Counter()
    for case in cases:
        events = case_events(engine, case.id)
        kinds.update(e.kind for e in events)
        assert _replay(events) == stored[case.id]
    # The run really exercised the lifecycle.
    for kind in ("claimed", "resolved", "released", "escalated", "lease_expired", "rescored"):
        assert kinds[kind] > 0, kind
