"""One simulator (all four authorities on one loopback port) per test session; counters reset per test."""
import socket

import httpx
import pytest

from samples.endpoints import start_in_thread


@pytest.fixture(scope="session")
def sim():
    base, stop = start_in_thread(port=0)
    yield base, stop.simulator
    stop()


@pytest.fixture
def base(sim):
    url, simulator = sim
    for st in simulator.states.values():
        with st.lock:
            st.reset()
    return url


@pytest.fixture
def control(base):
    def ctl(authority: str, **data):
        r = httpx.post(f"{base}/{authority}/_control", json=data, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()
    return ctl


@pytest.fixture
def stats(base):
    def get(authority: str):
        r = httpx.get(f"{base}/{authority}/_control/stats", timeout=5)
        assert r.status_code == 200, r.text
        return r.json()
    return get


@pytest.fixture
def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
