"""JSON API v1 against the real app (httpx via TestClient) on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from moesuite.web.config import WebOptions
from tests.web.support import build_web

HISTORY = [
    {
        "transaction_id": f"h{i}",
        "timestamp": f"2026-03-0{i + 1}T10:00:00",
        "customer_id": "c1",
        "amount": 20.0,
        "merchant_id": "m1",
        "terminal_id": "t1",
        "country": "DE",
        "channel": "pos",
    }
    for i in range(6)
]
# Scored "review" by the shipped bundle after HISTORY: a new merchant abroad, online, at 3 am.
SUSPICIOUS = {
    "transaction_id": "x-500",
    "timestamp": "2026-03-07T03:00:00",
    "customer_id": "c1",
    "amount": 500.0,
    "merchant_id": "m9",
    "terminal_id": "t9",
    "country": "BR",
    "channel": "online",
}


def test_review_flow_claim_show_decide_stats_labels(web):
    headers = web.auth("review")
    listed = web.client.get("/v1/review/cases", headers=headers).json()
    assert listed["total"] == 6
    assert [c["priority"] for c in listed["cases"]] == sorted(
        (c["priority"] for c in listed["cases"]), reverse=True
    )
    claimed = web.client.post("/v1/review/next", headers=headers).json()
    assert claimed["id"] == listed["cases"][0]["id"]
    assert claimed["status"] == "claimed" and claimed["analyst"] == "token:t-review"

    # Case of cust-0 has stored history: show returns it oldest first.
    cust0 = next(c for c in listed["cases"] if c["customer_id"] == "cust-0")
    shown = web.client.get(f"/v1/review/cases/{cust0['id']}", headers=headers).json()
    assert [h["amount"] for h in shown["history"]] == [12.5, 40.0, 18.25]

    stale = web.client.post(
        f"/v1/review/cases/{claimed['id']}/decide",
        headers=headers,
        json={"label": "fraud", "version": claimed["version"] - 1},
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"
    decided = web.client.post(
        f"/v1/review/cases/{claimed['id']}/decide",
        headers=headers,
        json={"label": "fraud", "version": claimed["version"], "note": "card testing"},
    ).json()
    assert decided["status"] == "resolved" and decided["decided_by"] == "token:t-review"
    again = web.client.post(
        f"/v1/review/cases/{claimed['id']}/decide", headers=headers, json={"label": "legit"}
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"

    stats = web.client.get("/v1/review/stats", headers=headers).json()
    assert stats["by_status"]["resolved"] == 1 and stats["fraud_found"] == 1
    labels = web.client.get("/v1/review/labels", headers=headers).json()
    assert [(x["transaction_id"], x["is_fraud"]) for x in labels] == [
        (claimed["transaction_id"], 1)
    ]
    events = web.client.get(f"/v1/review/cases/{claimed['id']}", headers=headers).json()["events"]
    assert [(e["actor"], e["kind"]) for e in events][-2:] == [
        ("token:t-review", "claimed"),
        ("token:t-review", "resolved"),
    ]
    assert events[-1]["note"] == "card testing"


def test_release_escalate_and_filters(web):
    headers = web.auth("review")
    first = web.client.post("/v1/review/next", headers=headers).json()
    released = web.client.post(f"/v1/review/cases/{first['id']}/release", headers=headers)
    assert released.json()["status"] == "open"
    again = web.client.post("/v1/review/next", headers=headers).json()
    assert again["id"] == first["id"]
    escalated = web.client.post(
        f"/v1/review/cases/{again['id']}/escalate", headers=headers, json={"note": "big"}
    ).json()
    assert escalated["status"] == "escalated" and escalated["escalated"] is True

    only = web.client.get("/v1/review/cases?status=escalated", headers=headers).json()
    assert [c["id"] for c in only["cases"]] == [first["id"]]
    high = web.client.get("/v1/review/cases?min_score=0.65", headers=headers).json()
    assert high["cases"] and all(c["score"] >= 0.65 for c in high["cases"])
    by_sla = web.client.get("/v1/review/cases?sort=sla", headers=headers).json()["cases"]
    assert [c["sla_due_at"] for c in by_sla] == sorted(c["sla_due_at"] for c in by_sla)


def test_next_on_an_empty_queue_answers_204(web):
    headers = web.auth("review")
    for _ in web.case_ids:
        assert web.client.post("/v1/review/next", headers=headers).status_code == 200
    assert web.client.post("/v1/review/next", headers=headers).status_code == 204


def test_errors_are_json_with_a_stable_code_and_no_trace(web):
    headers = web.auth("review")
    missing = web.client.get("/v1/review/cases/999999", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "case_not_found"
    invalid = web.client.post(
        f"/v1/review/cases/{web.case_ids[0]}/decide", headers=headers, json={"label": "maybe"}
    )
    assert invalid.status_code == 422
    body = invalid.json()["error"]
    assert body["code"] == "validation_error" and "label" in body["message"]
    nowhere = web.client.get("/v2/nothing", headers=headers)
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "not_found"
    for answer in (missing, invalid, nowhere):
        assert "Traceback" not in answer.text


def test_unexpected_failure_is_a_500_with_an_incident_id_not_a_trace(sqlite_web, monkeypatch):
    import fraud.review.stats

    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(fraud.review.stats, "review_stats", boom)
    answer = sqlite_web.client.get("/v1/review/stats", headers=sqlite_web.auth("review"))
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert "secret internal detail" not in answer.text and "Traceback" not in answer.text


def test_request_body_over_the_limit_is_refused_413(tmp_path):
    web = build_web(
        tmp_path / "home",
        f"sqlite:///{tmp_path / 's.db'}",
        options=WebOptions(max_body_bytes=2_000),
    )
    answer = web.client.post(
        "/v1/refactor", headers=web.auth("code"), json={"source": "x = 1\n" * 1000}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "request_too_large"


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    web = build_web(
        tmp_path / "home",
        f"sqlite:///{tmp_path / 's.db'}",
        options=WebOptions(rate_per_minute=60, rate_burst=3),
    )
    codes = [
        web.client.get("/v1/review/stats", headers=web.auth("review")).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    limited = web.client.get("/v1/review/stats", headers=web.auth("review"))
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    # Another caller has its own bucket.
    assert web.client.get("/v1/review/stats", headers=web.auth("admin")).status_code == 200


def test_refactor_returns_formatted_source_and_diff(sqlite_web):
    answer = sqlite_web.client.post(
        "/v1/refactor",
        headers=sqlite_web.auth("code"),
        json={"source": "x=1\nif x==1 :\n  print( x )\n", "path": "demo.py"},
    ).json()
    assert answer["status"] == "changed"
    assert answer["output"] == "x = 1\nif x == 1:\n    print(x)\n"
    assert answer["diff"].startswith("--- a/demo.py\n+++ b/demo.py\n")
    assert "+    print(x)" in answer["diff"]
    broken = sqlite_web.client.post(
        "/v1/refactor", headers=sqlite_web.auth("code"), json={"source": "def (:\n"}
    )
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_source"


def test_detect_returns_findings_and_sarif(sqlite_web):
    body = {"source": "def f():\n    return undefined_name\n", "learned": False}
    found = sqlite_web.client.post("/v1/detect", headers=sqlite_web.auth("code"), json=body).json()[
        "findings"
    ]
    assert [(f["line"], f["rule_id"]) for f in found] == [(2, "ruff/F821")]
    sarif = sqlite_web.client.post(
        "/v1/detect?format=sarif", headers=sqlite_web.auth("code"), json=body
    )
    assert sarif.headers["content-type"].startswith("application/sarif+json")
    results = sarif.json()["runs"][0]["results"]
    assert results[0]["ruleId"] == "ruff/F821"
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "input.py"


def test_health_readiness_and_metrics(sqlite_web):
    assert sqlite_web.client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = sqlite_web.client.get("/readyz").json()
    assert ready["status"] == "ok" and ready["checks"]["database"] == "ok"
    sqlite_web.client.get("/v1/review/stats", headers=sqlite_web.auth("review"))
    metrics = sqlite_web.client.get("/metrics", headers=sqlite_web.auth("admin")).text
    assert 'moesuite_review_cases{status="open"} 6.0' in metrics
    assert (
        'moesuite_http_request_duration_seconds_count{method="GET",'
        'route="/v1/review/stats",status="200"} 1.0'
    ) in metrics


@pytest.mark.slow
def test_score_matches_score_one_and_opens_a_case(web, fraud_bundle, tmp_path):
    import dataclasses

    from fraud.pipeline import score_one
    from fraud.review.db import get_engine
    from fraud.routing import Thresholds

    # The review band starts at the suspicious row's score, so the case path is exercised
    # whatever the shipped thresholds are; history rows at or above it open cases too.
    scratch = get_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
    history_scores = [score_one(row, fraud_bundle, scratch).score for row in HISTORY]
    suspicious = score_one(SUSPICIOUS, fraud_bundle, scratch).score
    fraud_bundle = dataclasses.replace(
        fraud_bundle, thresholds=Thresholds(review=suspicious, decline=1.0)
    )
    reviewed = 1 + sum(score >= suspicious for score in history_scores)
    web.app.state.web.bundle_loader = lambda: fraud_bundle
    headers = web.auth("score")
    for row, score in zip(HISTORY, history_scores, strict=True):
        answer = web.client.post("/v1/score", headers=headers, json=row)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["case_id"] is None) == (score < suspicious)
    scored = web.client.post("/v1/score", headers=headers, json=SUSPICIOUS).json()

    # The same transactions through score_one in process, on a database of their own.
    engine = get_engine(f"sqlite:///{tmp_path / 'inprocess.db'}")
    for row in HISTORY:
        score_one(row, fraud_bundle, engine)
    expected = score_one(SUSPICIOUS, fraud_bundle, engine)
    assert scored["score"] == pytest.approx(expected.score, abs=1e-12)
    assert (scored["band"], scored["reasons"], scored["model_version"]) == (
        expected.band,
        expected.reasons,
        expected.model_version,
    )
    assert scored["band"] == "review" and scored["case_id"] is not None
    case = web.client.get(
        f"/v1/review/cases/{scored['case_id']}", headers=web.auth("review")
    ).json()["case"]
    assert case["transaction_id"] == "x-500" and case["score"] == scored["score"]
    with web.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM transactions WHERE customer_id='c1'"))
        assert stored.scalar() == 7
    bad = web.client.post("/v1/score", headers=headers, json={**SUSPICIOUS, "amount": -1})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    metrics = web.client.get("/metrics", headers=web.auth("admin")).text
    assert f'moesuite_scores_total{{band="review"}} {float(reviewed)}' in metrics


def test_score_refuses_times_outside_the_supported_range_with_422(sqlite_web):
    # Found by schemathesis: year 247 overflowed pandas' nanosecond timestamps (a 500).
    answer = sqlite_web.client.post(
        "/v1/score",
        headers=sqlite_web.auth("score"),
        json={**SUSPICIOUS, "timestamp": "0247-04-25T21:38:01-18:10"},
    )
    assert answer.status_code == 422
    assert "timestamp" in answer.json()["error"]["message"]


def test_docs_page_lists_every_operation_without_any_network_asset(sqlite_web):
    page = sqlite_web.client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    spec = sqlite_web.client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method in item:
            assert f"{method.upper()} {path}" in html
    # Offline sites (no CDN): every script and stylesheet comes from this server.
    assert "https://" not in html and "http://" not in html.replace("http://testserver", "")


@pytest.mark.slow
def test_score_takes_the_files_own_columns_a_bundle_was_trained_on(sqlite_web, tmp_path):
    """A bundle trained on a file with extra columns (a date of birth, coordinates, a
    population) scores over the API with them under ``extra``, exactly as `score_one`; without
    them the answer is a 422 naming the missing column, and a field sent twice is refused."""
    from fraud.pipeline import score_one
    from fraud.review.db import get_engine
    from fraud.training import TrainFraudOptions, train_fraud
    from moesuite.web.schemas import TransactionIn
    from tests.fraud.test_file_columns import sparkov_like

    frame = sparkov_like(n=2000, n_customers=60, seed=5)
    bundle = train_fraud(frame, TrainFraudOptions(seed=0))
    assert "num_years_since_dob" in bundle.schema.names
    sqlite_web.app.state.web.bundle_loader = lambda: bundle
    row = frame.iloc[-1]
    # Every column of the file beyond the canonical ones, as a backend would send it.
    canonical = set(TransactionIn.model_fields)
    extra = {
        k: (v.item() if hasattr(v, "item") else v)
        for k, v in row.items()
        if k not in canonical | {"is_fraud", "label_time"} and v is not None and v == v
    }
    assert {"dob", "home_lat", "home_long", "city_pop"} <= set(extra)
    txn = {
        k: (v.item() if hasattr(v, "item") else v)
        for k, v in row.items()
        if k in canonical and v is not None and v == v
    }
    txn |= {"transaction_id": "api-1", "timestamp": row["timestamp"].isoformat()}
    headers = sqlite_web.auth("score")
    answer = sqlite_web.client.post("/v1/score", headers=headers, json={**txn, "extra": extra})
    assert answer.status_code == 200, answer.text
    expected = score_one({**txn, **extra}, bundle, get_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    assert answer.json()["score"] == pytest.approx(expected.score, abs=1e-12)

    without = {k: v for k, v in extra.items() if k != "dob"}
    missing = sqlite_web.client.post(
        "/v1/score", headers=headers, json={**txn, "transaction_id": "api-2", "extra": without}
    )
    assert missing.status_code == 422 and "dob" in missing.json()["error"]["message"]
    twice = sqlite_web.client.post(
        "/v1/score", headers=headers, json={**txn, "extra": {**extra, "amount": 1.0}}
    )
    assert twice.status_code == 422 and "top level" in twice.text
