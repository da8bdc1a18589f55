"""The console in real headless Chromium (Debian's /usr/bin/chromium driven by playwright).

Asserts what a person sees: headings, messages, table cells, counts. With CI=true a missing
browser is a failure, elsewhere a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import uvicorn

from fraud.review.db import dispose_engines
from tests.web.support import PASSWORD, Web, build_web

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-extensions",
    "--no-first-run",
]
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _chromium() -> str:
    if shutil.which(CHROMIUM):
        return CHROMIUM
    message = f"{CHROMIUM} is not installed (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true: browser tests must run")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    path = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class LiveServer:
    """uvicorn serving the app on a free local port, in a thread of this process."""

    def __init__(self, web: Web) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(web.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live(tmp_path) -> Iterator[tuple[Web, str]]:
    web = build_web(tmp_path / "home", f"sqlite:///{tmp_path / 'suite.db'}")
    with LiveServer(web) as server:
        yield web, server.url
    dispose_engines()


def _sign_in(browser, url: str, user: str, **context):  # noqa: ANN202
    page = browser.new_context(**context).new_page()
    page.goto(f"{url}/console/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    return page


def _count(page, label: str) -> str:
    item = page.locator(".counts li", has_text=re.compile(rf"^\s*{label}\b"))
    return item.locator("strong").inner_text()


def test_analyst_takes_next_case_reads_history_decides_and_sees_the_dashboard(browser, live):
    web, url = live
    page = _sign_in(browser, url, "ann", viewport={"width": 1280, "height": 800})
    assert _count(page, "Open") == "6"

    page.get_by_role("link", name="Dashboard").click()
    assert _count(page, "Decided") == "0" and _count(page, "Fraud found") == "0"
    page.get_by_role("link", name="Queue").click()

    page.get_by_role("button", name="Next case").click()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("Case #")
    assert "held by ann" in page.locator(".state").inner_text()
    history = page.get_by_role("table", name="Customer history")
    assert "75.00" in history.inner_text() and "9.99" in history.inner_text()
    assert "this transaction (flagged)" in history.inner_text()
    assert page.get_by_role("img", name="Amount over time").count() == 1
    assert "amount well above this customer's usual" in page.inner_text("main")

    page.get_by_label("Fraud").check()
    page.get_by_label("Note (optional)").fill("card testing pattern <b>bold?</b>")
    page.get_by_role("button", name="Record decision").click()
    assert page.get_by_role("status").inner_text() == "✔ Decision recorded."
    assert "decided fraud by ann" in page.locator(".state").inner_text()
    assert "card testing pattern <b>bold?</b>" in page.locator(".events").inner_text()

    # The keyboard: n takes the next case, l then d records "legitimate".
    page.keyboard.press("n")
    page.get_by_role("heading", name="Case #").wait_for()
    page.keyboard.press("l")
    page.keyboard.press("d")
    page.get_by_role("status").wait_for()
    assert "decided legitimate by ann" in page.locator(".state").inner_text()

    page.get_by_role("link", name="Dashboard").click()
    assert _count(page, "Decided") == "2" and _count(page, "Fraud found").startswith("1")
    row = page.get_by_role("row", name="ann")
    assert row.locator("td").last.inner_text() == "2"
    assert "Backlog by age" in page.inner_text("main")


def test_two_analysts_racing_each_see_a_correct_outcome(browser, live):
    web, url = live
    state = web.app.state.web
    # One case left in the queue: the others are decided through the API first.
    for _ in range(5):
        case = web.client.post("/v1/review/next", headers=web.auth("review")).json()
        web.client.post(
            f"/v1/review/cases/{case['id']}/decide",
            headers=web.auth("review"),
            json={"label": "legit"},
        )
    ann = _sign_in(browser, url, "ann")
    bob = _sign_in(browser, url, "bob")

    ann.get_by_role("button", name="Next case").click()
    assert "held by ann" in ann.locator(".state").inner_text()
    bob.get_by_role("button", name="Next case").click()
    assert bob.get_by_role("status").inner_text() == "✔ The queue is empty: no case to take."

    # Ann gives it back, takes it again with a short lease, and reads past its end; Bob takes
    # the case meanwhile. Ann's decision must not land; Bob's must.
    ann.get_by_role("button", name="Release").click()
    assert ann.get_by_role("status").inner_text() == "✔ Case released back to the queue."
    normal = state.review
    state.review = replace(normal, lease_minutes=0.01)  # 0.6 s
    ann.get_by_role("button", name="Next case").click()
    assert "held by ann" in ann.locator(".state").inner_text()
    time.sleep(1.0)
    state.review = normal
    bob.get_by_role("button", name="Next case").click()
    assert "held by bob" in bob.locator(".state").inner_text()

    ann.get_by_label("Fraud").check()
    ann.get_by_role("button", name="Record decision").click()
    assert ann.get_by_role("alert").inner_text() == (
        "⚠ bob holds this case now; your action was not recorded."
    )
    bob.get_by_label("Legitimate").check()
    bob.get_by_role("button", name="Record decision").click()
    assert bob.get_by_role("status").inner_text() == "✔ Decision recorded."
    assert "decided legitimate by bob" in bob.locator(".state").inner_text()


def test_console_reads_at_phone_width(browser, live):
    web, url = live
    page = _sign_in(browser, url, "ann", viewport={"width": 390, "height": 844})
    for path in ("/console/", "/console/dashboard", f"/console/cases/{web.case_ids[0]}"):
        page.goto(url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    page.goto(url + "/console/")
    assert page.get_by_role("button", name="Next case").is_visible()
    assert page.get_by_label("Min score").is_visible()
