"""Console pages through httpx: queue filters and counts, conflict messages a person can act on."""

from __future__ import annotations

import re
import time
from dataclasses import replace

from fastapi.testclient import TestClient


def _version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def test_queue_filters_sorts_and_counts(sqlite_web):
    client = TestClient(sqlite_web.app)
    sqlite_web.login(client, "ann")
    page = client.get("/console/?min_score=0.55&sort=sla").text
    assert "3 cases match" in page
    ids = re.findall(r'href="/console/cases/(\d+)"', page)
    assert len(ids) == 3
    assert re.search(r"Open <strong>6</strong>", page)
    empty = client.get("/console/?status=resolved").text
    assert "No case matches these filters." in empty


def test_expired_lease_and_decided_first_are_explained(sqlite_web):
    state = sqlite_web.app.state.web
    ann, bob = TestClient(sqlite_web.app), TestClient(sqlite_web.app)
    ann_csrf = sqlite_web.login(ann, "ann")
    bob_csrf = sqlite_web.login(bob, "bob")
    normal = state.review
    state.review = replace(normal, lease_minutes=0.005)  # 0.3 s
    taken = ann.post("/console/next", data={"csrf_token": ann_csrf}, follow_redirects=False)
    path = taken.headers["location"]
    version = _version(ann.get(path).text)
    time.sleep(0.5)
    state.review = normal
    expired = ann.post(
        f"{path}/decide", data={"csrf_token": ann_csrf, "label": "fraud", "version": version}
    )
    assert expired.status_code == 409
    assert "Your lease on this case expired" in expired.text

    # Bob takes it and decides; Ann, acting on her old page, is told someone decided first.
    assert bob.post("/console/next", data={"csrf_token": bob_csrf}).status_code == 200
    bob_version = _version(bob.get(path).text)
    bob.post(
        f"{path}/decide", data={"csrf_token": bob_csrf, "label": "legit", "version": bob_version}
    )
    late = ann.post(f"{path}/decide", data={"csrf_token": ann_csrf, "label": "fraud"})
    assert late.status_code == 409
    assert "Someone else decided this case first" in late.text
    assert "decided <strong>legitimate</strong> by bob" in late.text
