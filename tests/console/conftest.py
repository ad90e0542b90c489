"""Fixtures: development PKI, simulated endpoints on a free loopback port, a served hub with the console."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from consolekit import ServedConsole  # noqa: E402


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    from signing.devpki import init_dev_pki
    d = tmp_path_factory.mktemp("console-pki")
    init_dev_pki(d, dt.datetime.now(dt.timezone.utc))
    return d


@pytest.fixture(scope="session")
def endpoints(pki):
    from samples.endpoints import start_in_thread
    base, stop = start_in_thread(port=0, hub_cert=str(pki / "hub.pem"))
    yield base
    stop()


@pytest.fixture
def sim(endpoints):
    def control(authority: str, **body):
        httpx.post(f"{endpoints}/{authority}/_control", json=body, timeout=5).raise_for_status()
    httpx.post(f"{endpoints}/_control", json={"reset": True, "mode": "ok"}, timeout=5)
    for a in ("vnaccs", "sofia", "prc", "iran"):
        control(a, reset=True, mode="ok")
    return control


@pytest.fixture
def served(tmp_path, pki, endpoints, sim):
    h = ServedConsole(tmp_path, pki, endpoints)
    yield h
    h.stop()
