"""Security: no anonymous API access, scopes, case ownership, CSRF, inert notes, cookies."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from moesuite.web.store import revoke_token
from tests.web.support import PASSWORD

PUBLIC = {"/healthz", "/readyz", "/", "/console/login"}
NEEDED_SCOPE = {"score": "score", "jobs": "jobs", "review": "review", "code": "code"}
HOSTILE_NOTE = "<script>alert('x')</script><img src=x onerror=alert(1)> '; DROP TABLE cases;--"


def _api_routes(client) -> list[tuple[str, str, str]]:
    """(method, concrete path, scope needed) for every endpoint the OpenAPI document lists."""
    routes = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        if path in PUBLIC:
            continue
        concrete = (
            path.replace("{case_id}", "1")
            .replace("{job_id}", "0123456789abcdef0123456789abcdef")
            .replace("{kind}", "score")
        )
        for method, operation in operations.items():
            admin_only = path == "/metrics" or path.endswith("/reassign")
            scope = "admin" if admin_only else NEEDED_SCOPE[operation["tags"][0]]
            routes.append((method.upper(), concrete, scope))
    return routes


def test_every_api_endpoint_needs_a_token_and_its_scope(sqlite_web):
    routes = _api_routes(sqlite_web.client)
    assert len(routes) == 17  # metrics, score, 9 review, 4 jobs, 2 code
    for method, path, scope in routes:
        anonymous = sqlite_web.client.request(method, path)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.json()["error"]["code"] == "unauthenticated"
        assert anonymous.headers["www-authenticate"] == "Bearer"
        forged = sqlite_web.client.request(
            method, path, headers={"Authorization": "Bearer mst_not-a-real-token"}
        )
        assert forged.status_code == 401, (method, path)
        wrong = "code" if scope != "code" else "review"
        refused = sqlite_web.client.request(method, path, headers=sqlite_web.auth(wrong))
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error"]["code"] == "forbidden"
        assert scope in refused.json()["error"]["message"]


def test_admin_scope_reaches_everything_and_revoked_tokens_do_not(sqlite_web):
    assert sqlite_web.client.get("/v1/review/stats", headers=sqlite_web.auth("admin")).is_success
    revoke_token(sqlite_web.engine, "t-review")
    answer = sqlite_web.client.get("/v1/review/stats", headers=sqlite_web.auth("review"))
    assert answer.status_code == 401


def test_tokens_and_passwords_are_stored_hashed(sqlite_web):
    with sqlite_web.engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(text("SELECT token_hash FROM web_api_tokens"))]
        passwords = [r[0] for r in conn.execute(text("SELECT password_hash FROM web_users"))]
    for secret in sqlite_web.tokens.values():
        assert secret not in hashes and secret.removeprefix("mst_") not in "".join(hashes)
    assert all(p.startswith("$argon2id$") and PASSWORD not in p for p in passwords)


def test_analyst_cannot_decide_a_case_another_holds_api(web):
    bob = web.client.post("/v1/review/next", headers=web.auth("review-bob")).json()
    assert bob["analyst"] == "bob"
    for action, body in (
        ("decide", {"label": "legit"}),
        ("release", None),
        ("escalate", None),
    ):
        answer = web.client.post(
            f"/v1/review/cases/{bob['id']}/{action}", headers=web.auth("review"), json=body
        )
        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "not_case_holder"
        assert "bob" in answer.json()["error"]["message"]
    shown = web.client.get(f"/v1/review/cases/{bob['id']}", headers=web.auth("review")).json()
    assert shown["case"]["status"] == "claimed" and shown["case"]["analyst"] == "bob"


def test_analyst_cannot_decide_a_case_another_holds_console(sqlite_web):
    ann = TestClient(sqlite_web.app)
    bob = TestClient(sqlite_web.app)
    ann_csrf = sqlite_web.login(ann, "ann")
    bob_csrf = sqlite_web.login(bob, "bob")
    taken = bob.post("/console/next", data={"csrf_token": bob_csrf}, follow_redirects=False)
    case_id = int(taken.headers["location"].rsplit("/", 1)[1])
    answer = ann.post(
        f"/console/cases/{case_id}/decide", data={"csrf_token": ann_csrf, "label": "fraud"}
    )
    assert answer.status_code == 409
    assert "bob holds this case now" in answer.text
    with sqlite_web.engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM cases WHERE id=:i"), {"i": case_id})
        assert status.scalar() == "claimed"


def test_console_forms_without_their_csrf_token_are_refused(sqlite_web):
    client = TestClient(sqlite_web.app)
    csrf = sqlite_web.login(client, "ann")
    for token in ("", "forged"):
        answer = client.post("/console/next", data={"csrf_token": token})
        assert answer.status_code == 403
        assert "security token" in answer.text
    with sqlite_web.engine.connect() as conn:
        claimed = conn.execute(text("SELECT count(*) FROM cases WHERE status='claimed'"))
        assert claimed.scalar() == 0
    other = TestClient(sqlite_web.app)
    other_csrf = sqlite_web.login(other, "bob")
    assert other_csrf != csrf
    # One user's token does not work in another's session.
    assert client.post("/console/next", data={"csrf_token": other_csrf}).status_code == 403
    assert client.post("/console/next", data={"csrf_token": csrf}).status_code == 200


def test_sign_in_form_needs_its_csrf_token_and_the_right_password(sqlite_web):
    client = TestClient(sqlite_web.app)
    no_token = client.post(
        "/console/login", data={"username": "ann", "password": PASSWORD}, follow_redirects=False
    )
    assert no_token.status_code == 403
    page = client.get("/console/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    wrong = client.post(
        "/console/login",
        data={"username": "ann", "password": "not the password", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    assert "moesuite_session" not in wrong.cookies


def test_session_cookie_is_httponly_samesite_and_redirects_stay_local(sqlite_web):
    client = TestClient(sqlite_web.app)
    page = client.get("/console/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/console/login",
        data={
            "username": "ann",
            "password": PASSWORD,
            "csrf_token": csrf,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/console/"
    cookie = answer.headers["set-cookie"].lower()
    assert "moesuite_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "content-security-policy" in client.get("/console/").headers


def test_console_pages_need_a_session(sqlite_web):
    client = TestClient(sqlite_web.app)
    for path in ("/console/", "/console/dashboard", f"/console/cases/{sqlite_web.case_ids[0]}"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login?next=/console/")
    posted = client.post("/console/next", follow_redirects=False)
    assert posted.status_code == 303


def test_html_and_sql_in_notes_come_back_inert(sqlite_web):
    client = TestClient(sqlite_web.app)
    csrf = sqlite_web.login(client, "ann")
    taken = client.post("/console/next", data={"csrf_token": csrf}, follow_redirects=False)
    case_path = taken.headers["location"]
    page = client.get(case_path).text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    client.post(
        f"{case_path}/decide",
        data={"csrf_token": csrf, "label": "legit", "version": version, "note": HOSTILE_NOTE},
    )
    shown = client.get(case_path).text
    assert "<script>alert" not in shown and "<img src=x" not in shown
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in shown
    case_id = int(case_path.rsplit("/", 1)[1])
    events = sqlite_web.client.get(
        f"/v1/review/cases/{case_id}", headers=sqlite_web.auth("review")
    ).json()["events"]
    assert events[-1]["note"] == HOSTILE_NOTE  # stored as typed, as data
    with sqlite_web.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar() == 6


@pytest.mark.parametrize("role,sees_bob", [("analyst", False), ("lead", True)])
def test_analysts_see_their_own_stats_and_leads_everyone(sqlite_web, role, sees_bob):
    bob = sqlite_web.client.post("/v1/review/next", headers=sqlite_web.auth("review-bob")).json()
    sqlite_web.client.post(
        f"/v1/review/cases/{bob['id']}/decide",
        headers=sqlite_web.auth("review-bob"),
        json={"label": "fraud"},
    )
    client = TestClient(sqlite_web.app)
    sqlite_web.login(client, "ann" if role == "analyst" else "lee")
    page = client.get("/console/dashboard").text
    assert ('<th scope="row">bob</th>' in page) is sees_bob


def test_only_leads_reassign_and_the_new_holder_can_decide(sqlite_web):
    bob_case = sqlite_web.client.post(
        "/v1/review/next", headers=sqlite_web.auth("review-bob")
    ).json()
    path = f"/console/cases/{bob_case['id']}"
    ann = TestClient(sqlite_web.app)
    ann_csrf = sqlite_web.login(ann, "ann")
    assert "Reassign to analyst" not in ann.get(path).text
    refused = ann.post(f"{path}/reassign", data={"csrf_token": ann_csrf, "analyst": "ann"})
    assert refused.status_code == 403
    api = sqlite_web.client.post(
        f"/v1/review/cases/{bob_case['id']}/reassign",
        headers=sqlite_web.auth("review"),
        json={"analyst": "ann"},
    )
    assert api.status_code == 403

    lee = TestClient(sqlite_web.app)
    lee_csrf = sqlite_web.login(lee, "lee")
    done = lee.post(
        f"{path}/reassign", data={"csrf_token": lee_csrf, "analyst": "ann", "note": "bob is out"}
    )
    assert "Case reassigned." in done.text and "held by <strong>ann</strong>" in done.text
    decided = ann.post(f"{path}/decide", data={"csrf_token": ann_csrf, "label": "legit"})
    assert "Decision recorded." in decided.text
    events = sqlite_web.client.get(
        f"/v1/review/cases/{bob_case['id']}", headers=sqlite_web.auth("review")
    ).json()["events"]
    assert [(e["actor"], e["kind"]) for e in events[-2:]] == [
        ("lee", "reassigned"),
        ("ann", "resolved"),
    ]
    assert events[-2]["changes"] == {"analyst": ["bob", "ann"]}
