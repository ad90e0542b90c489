"""Helpers for the hub tests (importable as `hubkit`; fixtures live in conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.served import ServedApp, free_port  # noqa: F401  (free_port: test_crash)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


TOKEN = "test-token-partner-a-0123456789"
OTHER_TOKEN = "test-token-partner-b-9876543210"
OPERATOR = "test-operator-token-000"


def config_text(tmp: Path, pki: Path, endpoints: str, *, max_attempts=4, backoff=0.05, extra="",
                routes=None, store=None, concurrency=4, receipts="on-demand", pipeline_processes=0) -> str:
    routes = routes if routes is not None else DEFAULT_ROUTES
    return f"""
[server]
max_body_bytes = 200000
pipeline_threads = 4
pipeline_processes = {pipeline_processes}
[store]
url = "sqlite:///{store or tmp / 'hub.db'}"
[delivery]
max_attempts = {max_attempts}
backoff_initial = {backoff}
backoff_max = 0.5
jitter = 0.1
concurrency = {concurrency}
timeout = 5.0
poll_interval = 0.05
[hub]
id = "edihub-test"
signing = "hub"
operator_token_env = "T_OPERATOR"
receipts = "{receipts}"
[signing.hub]
profile = "default"
key = "{pki / 'hub.key'}"
cert = "{pki / 'hub.pem'}"
[partners.partner-a]
certificates = ["{pki / 'partner-a.pem'}"]
token_env = "T_PARTNER_A"
may_send = ["prc:DecMessage", "siveca:Registration", "vnaccs:IDA"]
[partners.partner-b]
certificates = ["{pki / 'partner-b.pem'}"]
token_env = "T_PARTNER_B"
may_send = ["vnaccs:IDA"]
[facts."prc:DecMessage"]
direction = "*[local-name()='DecHead']/*[local-name()='IEFlag']"
direction_values = {{ E = "export", I = "import" }}
destination = "*[local-name()='DecHead']/*[local-name()='TradeCountry']"
{routes}
[endpoints.vnaccs]
kind = "soap"
url = "{endpoints}/vnaccs"
family = "vnaccs"
timeout = 5.0
[endpoints.sofia]
kind = "soap"
url = "{endpoints}/sofia"
soap_version = "1.2"
family = "siveca"
timeout = 5.0
{extra}
"""


DEFAULT_ROUTES = """
[routes.prc-export-vnaccs]
match = { format = "prc:DecMessage", direction = "export" }
target = "vnaccs:IDA"
profile = "hub"
endpoint = "vnaccs"
[routes.prc-export-siveca]
match = { format = "prc:DecMessage", direction = "export", destination = "PRY" }
target = "siveca:Registration"
profile = "hub"
endpoint = "sofia"
[routes.siveca-pass]
match = { format = "siveca:Registration" }
target = "siveca:Registration"
profile = "hub"
endpoint = "sofia"
[routes.vnaccs-pass]
match = { format = "vnaccs:IDA" }
target = "vnaccs:IDA"
profile = "hub"
endpoint = "vnaccs"
"""

ENV = {"T_PARTNER_A": TOKEN, "T_PARTNER_B": OTHER_TOKEN, "T_OPERATOR": OPERATOR}


def make_runtime(tmp: Path, pki: Path, endpoints: str, **kw):
    import os
    from routing.config import load_config
    from routing.runtime import build_runtime
    os.environ.update(ENV)
    cfg = load_config(tmp, text=config_text(tmp, pki, endpoints, **kw), env=ENV)
    return build_runtime(cfg)


class ServedHub:
    """A hub app served by uvicorn on a free port in a background thread."""

    def __init__(self, runtime):
        from soap.app import create_app
        self.runtime = runtime
        self._served = ServedApp(create_app(runtime))
        self.port, self.url, self.server = self._served.port, self._served.url, self._served.server

    def stop(self):
        self._served.stop()
        if self.runtime.hub.procs is not None:
            self.runtime.hub.procs.close()
        self.runtime.store.close()

    def headers(self, token=TOKEN, **extra):
        return {"Authorization": f"Bearer {token}", **extra}

    def submit(self, data: bytes, token=TOKEN, **params):
        headers = self.headers(token, **{"Content-Type": "application/xml"})
        if "message_id" in params:
            headers["X-Message-Id"] = params.pop("message_id")
        return httpx.post(f"{self.url}/api/messages", content=data, headers=headers, params=params, timeout=10)

    def status(self, mid, token=TOKEN):
        return httpx.get(f"{self.url}/api/messages/{mid}", headers=self.headers(token), timeout=10)

    def wait_state(self, mid, states, timeout=15.0, token=TOKEN) -> dict:
        states = {states} if isinstance(states, str) else set(states)
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(mid, token).json()
            if st["state"] in states:
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"message {mid} stayed {st['state']}, wanted {states}: {st['deliveries']}")
            time.sleep(0.05)


def sample(rel: str) -> bytes:
    return (SAMPLES / rel).read_bytes()


def numbered_ida(n: int, base: int) -> bytes:
    """The one-line IDA sample with its own valid declaration number (base + n): many distinct messages."""
    from translator.rules.vnaccs import make_declaration_number
    return sample("vnaccs/ida_haiphong_valves_1line.xml").replace(
        b"<ICN>100574219060</ICN>", f"<ICN>{make_declaration_number(10, base + n)}</ICN>".encode())


def spawn_hub(cfg_path: Path, port: int, log=subprocess.DEVNULL) -> subprocess.Popen:
    """server.py as its own process on `port`, with the test partners' secrets in its environment."""
    return subprocess.Popen([sys.executable, str(ROOT / "server.py"), "--config", str(cfg_path), "--port",
                             str(port), "--log-level", "warning"], cwd=ROOT, env={**os.environ, **ENV},
                            stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> bool:
    """Until the hub on `port` answers /healthz with 200: True; False when the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False
