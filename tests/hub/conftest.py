"""Fixtures for the hub tests: a development PKI, the simulated national endpoints on a free loopback port, and
a hub served by uvicorn in a thread. Short backoffs; everything bounded."""
from __future__ import annotations


import httpx
import pytest

from hubkit import ServedHub, make_runtime




@pytest.fixture
def sim(endpoints):
    """The simulated endpoints, reset before each test; helpers to steer them and read their counters."""
    class Sim:
        base = endpoints

        def control(self, authority: str, **body):
            r = httpx.post(f"{endpoints}/{authority}/_control", json=body, timeout=5)
            r.raise_for_status()

        def stats(self, authority: str) -> dict:
            return httpx.get(f"{endpoints}/{authority}/_control/stats", timeout=5).json()
    s = Sim()
    httpx.post(f"{endpoints}/_control", json={"reset": True, "mode": "ok"}, timeout=5)
    for a in ("vnaccs", "sofia", "prc", "iran"):
        s.control(a, reset=True, mode="ok")
    return s


@pytest.fixture
def hub_factory(tmp_path, pki, endpoints, sim):
    started = []

    def make(**kw):
        h = ServedHub(make_runtime(tmp_path, pki, endpoints, **kw))
        started.append(h)
        return h
    yield make
    for h in started:
        h.stop()


@pytest.fixture
def hub(hub_factory):
    return hub_factory()
