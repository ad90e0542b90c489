"""The console in a real browser: Playwright for Python driving Debian's chromium (headless, no downloads),
against a hub served by uvicorn on 127.0.0.1 with the simulated national endpoints.

Flow: a message goes dead (the simulated PRC endpoint is told to fail), the operator logs in, finds it by its
declaration number, opens its journey, the endpoint recovers, the operator resends, and the page shows it
acknowledged. Screenshots of the list and the detail page go to test-artifacts/; the list is copied to
docs/console-list.png when that file is missing or EDIHUB_UPDATE_SCREENSHOTS=1 (so a test run leaves the tree clean).

Skipped, with the reason, when chromium or playwright is missing (CI installs both: tools/system-test-deps.sh).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from consolekit import PASSWORDS, ROOT, sample

CHROMIUM = os.environ.get("EDIHUB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
DECL_NO = "224820241000654321"

pw = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed "
                                                       "(pip install playwright; never `playwright install`)")
if not Path(CHROMIUM).exists():
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    p = ctx.new_page()
    p.set_default_timeout(15000)
    yield p
    ctx.close()


def login(page, base: str, user: str, next_path: str = "/console/messages"):
    page.goto(base + next_path)
    assert "/console/login" in page.url                      # anonymous: sent to the login form
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}*")


def test_find_open_resend_dead_message(served, sim, page):
    ARTIFACTS.mkdir(exist_ok=True)
    # a little history for the list: one rejected declaration, one VNACCS declaration passed through
    served.submit(sample("prc/invalid/prc-gross-lt-net.xml"))
    vn = served.submit(sample("vnaccs/ida_haiphong_valves_1line.xml"))
    served.wait_state(vn["message_id"], {"acknowledged", "delivered", "rejected", "dead"})
    sim("prc", mode="fail")                                   # the PRC single window answers HTTP 500
    mid = served.submit(sample("prc/import_1_line.xml"))["message_id"]
    served.wait_state(mid, "dead")

    login(page, served.url, "olga")
    # find it by its declaration number
    page.fill("input[name=q]", DECL_NO)
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**q=" + DECL_NO + "*")
    rows = page.locator("#messages tbody tr")
    assert rows.count() == 1
    assert rows.first.locator(".state").inner_text() == "dead"
    assert DECL_NO in rows.first.inner_text()
    page.goto(served.url + "/console/messages")
    assert page.locator("#messages tbody tr").count() == 3
    page.screenshot(path=str(ARTIFACTS / "console-list.png"), full_page=True)
    page.go_back()

    # open the journey
    rows.first.locator("a.mid").click()
    page.wait_for_url(f"**/console/messages/{mid}")
    assert page.locator("#state").inner_text() == "dead"
    tl = page.locator("#timeline").inner_text()
    for s in ("received", "queued", "sending", "failed", "dead"):
        assert s in tl
    assert "HTTP 500" in page.locator("section.delivery").inner_text()

    # the endpoint recovers; resend from the console
    sim("prc", mode="ok")
    page.click("#resend")
    page.wait_for_url(f"**/console/messages/{mid}?done=resent*")
    assert "put back in the queue" in page.locator(".flash").inner_text()
    deadline = time.monotonic() + 20
    while page.locator("#state").inner_text() != "acknowledged":
        assert time.monotonic() < deadline, "the resent message was not delivered"
        time.sleep(0.2)
        page.reload()
    tl = page.locator("#timeline").inner_text()
    assert "console: resend by olga" in tl and "acknowledged" in tl
    attempts = page.locator("table.attempts tbody tr")
    assert attempts.count() == 3 and "acknowledged" in attempts.nth(2).inner_text()
    # the highlighted inbound document opens and shows the declaration number as text
    page.click("details.doc summary >> nth=0")
    assert DECL_NO in page.locator("pre.xml >> nth=0").inner_text()
    page.screenshot(path=str(ARTIFACTS / "console-detail.png"), full_page=True)
    docs_png = ROOT / "docs" / "console-list.png"
    if not docs_png.exists() or os.environ.get("EDIHUB_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(ARTIFACTS / "console-list.png", docs_png)


def test_viewer_has_no_action_buttons_and_logout_works(served, page):
    mid = served.submit(sample("prc/import_1_line.xml"))["message_id"]
    served.wait_state(mid, "acknowledged")
    login(page, served.url, "vic", f"/console/messages/{mid}")
    assert page.locator("#state").inner_text() == "acknowledged"
    assert page.locator("#resend").count() == 0 and page.locator("#cancel").count() == 0
    page.click("header .who button")
    page.wait_for_url("**/console/login")
    page.goto(served.url + "/console/routes")
    assert "/console/login" in page.url


def test_wrong_password_stays_on_login(served, page):
    page.goto(served.url + "/console/login")
    page.fill("input[name=username]", "olga")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "Wrong user name or password" in page.locator(".flash").inner_text()
    page.goto(served.url + "/console/messages")
    assert "/console/login" in page.url
