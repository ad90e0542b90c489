"""Fixtures for the scale tests: a fresh PostgreSQL schema (skipped, saying why, when PostgreSQL is unreachable)
and the simulated national endpoints in their own process, trusting the session PKI of tests/conftest.py (their
/_control/stats count what arrived, per Idempotency-Key)."""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "hub"))        # hubkit: configuration text, tokens, samples

PG_URL = os.environ.get("EDIHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_schema():
    try:
        import psycopg
        with psycopg.connect(PG_URL, connect_timeout=3) as c:
            c.execute("SELECT 1")
    except Exception as e:  # noqa: BLE001 - the reason is the skip message
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {type(e).__name__}: {str(e).strip()[:200]}")
    name = "edihub_test_" + uuid.uuid4().hex[:12]
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}schema={name}"
    with psycopg.connect(PG_URL, autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="module")
def endpoints(pki, tmp_path_factory):
    """The simulated endpoints in their own process (in this one they would share the GIL with the senders)."""
    import socket
    import subprocess
    import time
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path_factory.mktemp("endpoints") / "endpoints.log", "wb")
    p = subprocess.Popen([sys.executable, "-m", "samples.endpoints", "--port", str(port), "--hub-cert",
                          str(pki / "hub.pem"), "--log-level", "warning"], cwd=ROOT, stdout=log,
                         stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{base}/vnaccs/_control/stats", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            assert p.poll() is None and time.monotonic() < deadline, "simulated endpoints did not start"
            time.sleep(0.05)
    yield base
    p.terminate()
    p.wait(timeout=15)
    log.close()


@pytest.fixture
def sim(endpoints):
    class Sim:
        base = endpoints

        def control(self, authority: str, **body):
            httpx.post(f"{endpoints}/{authority}/_control", json=body, timeout=5).raise_for_status()

        def stats(self, authority: str) -> dict:
            return httpx.get(f"{endpoints}/{authority}/_control/stats", timeout=5).json()
    s = Sim()
    for a in ("vnaccs", "sofia", "prc", "iran"):
        s.control(a, reset=True, mode="ok")
    return s
