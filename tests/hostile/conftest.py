"""Fixtures for the hostile suite: a development PKI, the simulated national endpoints, and one hub (per module)
served by uvicorn on loopback with small limits (see hostilekit.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from hostilekit import build  # noqa: E402
from hubkit import ServedHub  # noqa: E402




@pytest.fixture(scope="module")
def hostile_hub(tmp_path_factory, pki, endpoints):
    h = ServedHub(build(tmp_path_factory.mktemp("hostile-hub"), pki, endpoints))
    yield h
    h.stop()
