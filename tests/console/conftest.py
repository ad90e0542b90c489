"""Fixtures: development PKI, simulated endpoints on a free loopback port, a served hub with the console."""
from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from consolekit import ServedConsole  # noqa: E402




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
