"""Who may do what, against a served hub: anonymous users are sent to the login page (pages) or refused (actions,
downloads); viewers see but cannot act; posts without the session's CSRF token or from another origin are
refused; cookies carry HttpOnly/SameSite; wrong passwords are refused without saying which part was wrong."""
from __future__ import annotations

import httpx
import pytest

from consolekit import csrf_of, sample

PAGES = ["/console/messages", "/console/routes", "/console/certificates"]


@pytest.fixture
def message_id(served):
    r = served.submit(sample("prc/import_1_line.xml"))
    served.wait_state(r["message_id"], {"acknowledged", "delivered"})
    return r["message_id"]


def test_anonymous_pages_redirect_to_login(served, message_id):
    c = served.client()
    for p in PAGES + [f"/console/messages/{message_id}"]:
        r = c.get(p)
        assert r.status_code == 303, p
        assert r.headers["location"].startswith("/console/login?next=")
    for p in (f"/console/messages/{message_id}/inbound.xml", f"/console/messages/{message_id}/documents/1.xml"):
        r = c.get(p)
        assert r.status_code == 303 and "next=" in r.headers["location"], p
        assert b"DecMessage" not in r.content


def test_anonymous_actions_refused_and_nothing_changes(served, message_id):
    c = served.client()
    page = c.get("/console/login")            # even with an anonymous session and its valid CSRF token
    token = csrf_of(page.text)
    for action in ("resend", "cancel"):
        r = c.post(f"/console/messages/{message_id}/{action}", data={"csrf": token})
        assert r.status_code == 401
    assert served.state(message_id)["state"] == "acknowledged"
    assert all("console" not in (h["detail"] or "") for h in served.state(message_id)["history"])


def test_viewer_sees_but_cannot_act(served, message_id):
    c = served.login("vic")
    for p in PAGES:
        assert c.get(p).status_code == 200
    page = c.get(f"/console/messages/{message_id}")
    assert page.status_code == 200 and message_id in page.text
    assert 'id="resend"' not in page.text and 'id="cancel"' not in page.text
    r = c.post(f"/console/messages/{message_id}/resend", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 403 and "may look but not act" in r.text
    r = c.post(f"/console/messages/{message_id}/cancel", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 403
    assert all("console" not in (h["detail"] or "") for h in served.state(message_id)["history"])


def test_post_without_or_with_wrong_csrf_is_refused(served, message_id):
    c = served.login("olga")
    page = c.get(f"/console/messages/{message_id}")
    good = csrf_of(page.text)
    assert c.post(f"/console/messages/{message_id}/resend", data={}).status_code == 403
    assert c.post(f"/console/messages/{message_id}/resend", data={"csrf": good[:-2] + "xx"}).status_code == 403
    # the token of another session does not work here
    other = served.login("olga")
    other_token = csrf_of(other.get("/console/messages").text)
    assert other_token != good
    assert c.post(f"/console/messages/{message_id}/cancel", data={"csrf": other_token}).status_code == 403
    # a cross-site form post (right cookie sent by the browser, Origin of another site) is refused
    r = c.post(f"/console/messages/{message_id}/resend", data={"csrf": good},
               headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    # logout needs the token too
    assert c.post("/console/logout", data={}).status_code == 403
    assert c.get("/console/messages").status_code == 200
    assert all("console" not in (h["detail"] or "") for h in served.state(message_id)["history"])


def test_login_form_needs_its_csrf_token(served):
    c = served.client()
    c.get("/console/login")
    r = c.post("/console/login", data={"username": "olga", "password": "operator-pass-1", "csrf": "x"})
    assert r.status_code == 403
    assert c.get("/console/messages").status_code == 303


def test_wrong_password_and_unknown_user_get_the_same_answer(served):
    answers = []
    for user, pw in (("olga", "not-her-password"), ("nobody", "operator-pass-1")):
        c = served.client()
        page = c.get("/console/login")
        r = c.post("/console/login", data={"username": user, "password": pw, "csrf": csrf_of(page.text)})
        answers.append((r.status_code, "Wrong user name or password" in r.text))
        assert c.get("/console/messages").status_code == 303
    assert answers == [(401, True), (401, True)]


def test_login_sets_hardened_cookie_and_new_session(served):
    c = served.client()
    page = c.get("/console/login")
    anon_cookie = page.headers["set-cookie"]
    r = c.post("/console/login", data={"username": "olga", "password": "operator-pass-1",
                                       "csrf": csrf_of(page.text), "next": "/console/routes"})
    assert r.status_code == 303 and r.headers["location"] == "/console/routes"
    sc = r.headers["set-cookie"].lower()
    assert "httponly" in sc and "samesite=lax" in sc and "path=/console" in sc
    assert r.headers["set-cookie"].split(";")[0] != anon_cookie.split(";")[0]     # fresh session id
    page2 = c.get("/console/messages")
    assert csrf_of(page2.text) != csrf_of(page.text)
    assert page2.headers["content-security-policy"].startswith("default-src 'none'")
    assert page2.headers["x-frame-options"] == "DENY"


def test_next_parameter_cannot_leave_the_console(served):
    c = served.client()
    page = c.get("/console/login")
    r = c.post("/console/login", data={"username": "olga", "password": "operator-pass-1",
                                       "csrf": csrf_of(page.text), "next": "//evil.example/console"})
    assert r.headers["location"] == "/console/messages"


def test_logout_ends_the_session(served):
    c = served.login("olga")
    page = c.get("/console/messages")
    r = c.post("/console/logout", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    assert c.get("/console/messages").status_code == 303


def test_forged_cookie_is_anonymous(served):
    c = served.login("vic")
    name = "edihub_console"
    value = c.cookies.get(name)
    body, mac = value.split(".")
    c2 = served.client()
    c2.cookies.set(name, body + "." + mac[::-1], domain="127.0.0.1", path="/console")
    assert c2.get("/console/messages").status_code == 303


def test_metrics_and_readyz_are_open_but_console_json_api_is_not_exposed(served):
    assert httpx.get(served.url + "/metrics", timeout=5).status_code == 200
    assert httpx.get(served.url + "/readyz", timeout=5).status_code == 200


def test_refused_console_requests_are_logged_as_refusals(served, message_id):
    from consolekit import OPERATOR_TOKEN
    c = served.client()
    page = c.get("/console/login")
    c.post("/console/login", data={"username": "olga", "password": "nope", "csrf": csrf_of(page.text)})
    v = served.login("vic")
    p = v.get(f"/console/messages/{message_id}")
    v.post(f"/console/messages/{message_id}/resend", data={"csrf": csrf_of(p.text)})
    o = served.login("olga")
    o.post(f"/console/messages/{message_id}/cancel", data={})
    r = httpx.get(served.url + "/api/refusals", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=5)
    got = {(x["channel"], x["code"]) for x in r.json()["refusals"]}
    assert {("console", "login-failed"), ("console", "role-refused"), ("console", "csrf-failed")} <= got
    assert "nope" not in r.text                               # the password is never logged
