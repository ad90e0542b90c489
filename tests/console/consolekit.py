"""Helpers for the console tests: a hub with the console installed, served by uvicorn on a loopback port in a
thread, the simulated national endpoints, console users with real argon2 hashes, and an httpx client that logs in
through the real form (reading the CSRF token from the page)."""
from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from tests.served import ServedApp, free_port  # noqa: F401  (free_port: test_metrics)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

TOKEN = "console-test-partner-token-0123456789"
OPERATOR_TOKEN = "console-test-operator-token-0123456789"
SECRET = "console-test-session-secret-0123456789abcdef"
PASSWORDS = {"olga": "operator-pass-1", "vic": "viewer-pass-22"}
ENV = {"C_PARTNER": TOKEN, "C_OPERATOR": OPERATOR_TOKEN, "C_CONSOLE_SECRET": SECRET}

_HASHES: dict[str, str] = {}


def hashes() -> dict[str, str]:
    if not _HASHES:
        from console.hashpw import hash_password
        for u, p in PASSWORDS.items():
            _HASHES[u] = hash_password(p)
    return _HASHES


def console_section(**over) -> dict:
    h = hashes()
    sect = {"secret_env": "C_CONSOLE_SECRET", "cookie_secure": False, "cert_warn_days": 400,
            "users": {"olga": {"password_hash": h["olga"], "role": "operator"},
                      "vic": {"password_hash": h["vic"], "role": "viewer"}}}
    sect.update(over)
    return sect


def config_text(tmp: Path, pki: Path, endpoints: str, max_attempts: int = 2, backoff: float = 0.05) -> str:
    return f"""
[store]
url = "sqlite:///{tmp / 'hub.db'}"
[delivery]
max_attempts = {max_attempts}
backoff_initial = {backoff}
backoff_max = {max(backoff, 0.2)}
jitter = 0.1
timeout = 5.0
poll_interval = 0.05
[hub]
id = "edihub-console-test"
signing = "hub"
operator_token_env = "C_OPERATOR"
[signing.hub]
profile = "default"
key = "{pki / 'hub.key'}"
cert = "{pki / 'hub.pem'}"
[partners.partner-a]
certificates = ["{pki / 'partner-a.pem'}", "{pki / 'expired.pem'}"]
token_env = "C_PARTNER"
may_send = ["prc:DecMessage", "vnaccs:IDA", "siveca:Registration"]
[facts."prc:DecMessage"]
direction = "*[local-name()='DecHead']/*[local-name()='IEFlag']"
direction_values = {{ E = "export", I = "import" }}
[routes.prc-pass]
match = {{ format = "prc:DecMessage" }}
target = "prc:DecMessage"
profile = "hub"
endpoint = "prc"
[routes.prc-export-vnaccs]
match = {{ format = "prc:DecMessage", direction = "export" }}
target = "vnaccs:IDA"
profile = "hub"
endpoint = "vnaccs"
[routes.vnaccs-pass]
match = {{ format = "vnaccs:IDA" }}
target = "vnaccs:IDA"
profile = "hub"
endpoint = "vnaccs"
[endpoints.vnaccs]
kind = "soap"
url = "{endpoints}/vnaccs"
family = "vnaccs"
timeout = 5.0
[endpoints.prc]
kind = "soap"
url = "{endpoints}/prc"
family = "prc"
timeout = 5.0
"""


class ServedConsole:
    """create_app(runtime) + console.install(...), served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, tmp: Path, pki: Path, endpoints: str, section: dict | None = None, **kw):
        import os

        import console
        from routing.config import load_config
        from routing.runtime import build_runtime
        from soap.app import create_app
        os.environ.update(ENV)
        cfg = load_config(tmp, text=config_text(tmp, pki, endpoints, **kw), env=ENV)
        self.runtime = build_runtime(cfg)
        self.app = create_app(self.runtime)
        from console.config import parse_console
        console.install(self.app, self.runtime, parse_console(section or console_section(), env={**os.environ, **ENV}))
        self._served = ServedApp(self.app)
        self.port, self.url, self.server = self._served.port, self._served.url, self._served.server

    def stop(self):
        self._served.stop()
        self.runtime.store.close()

    # -- HTTP API (as the partner) -------------------------------------------------------------------------
    def submit(self, data: bytes) -> dict:
        r = httpx.post(f"{self.url}/api/messages", content=data, timeout=10,
                       headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/xml"})
        assert r.status_code in (200, 202, 422), r.text
        return r.json()

    def state(self, mid: str) -> dict:
        return httpx.get(f"{self.url}/api/messages/{mid}", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=10).json()

    def wait_state(self, mid: str, states, timeout: float = 20.0) -> dict:
        states = {states} if isinstance(states, str) else set(states)
        deadline = time.monotonic() + timeout
        while True:
            st = self.state(mid)
            if st["state"] in states:
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"{mid} stayed {st['state']} (wanted {states}): {st['deliveries']}")
            time.sleep(0.05)

    # -- console as a browser would use it ------------------------------------------------------------------
    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, follow_redirects=False)

    def login(self, user: str, password: str | None = None) -> httpx.Client:
        c = self.client()
        page = c.get("/console/login")
        r = c.post("/console/login", data={"username": user, "password": password or PASSWORDS[user],
                                           "csrf": csrf_of(page.text), "next": "/console/messages"})
        assert r.status_code == 303, r.text
        return c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def sample(rel: str) -> bytes:
    return (SAMPLES / rel).read_bytes()
