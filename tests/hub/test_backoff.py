"""Backoff arithmetic of the delivery worker (pure): exponential, capped, jittered within bounds."""
from __future__ import annotations

import random

from routing.config import load_config
from routing.worker import DeliveryWorker


def test_backoff_exponential_capped_and_jittered(tmp_path):
    cfg = load_config(tmp_path, env={}, text="""
[delivery]
backoff_initial = 1.0
backoff_factor = 2.0
backoff_max = 10.0
jitter = 0.2
[endpoints.e]
kind = "http"
url = "http://127.0.0.1:9/x"
[endpoints.fast]
kind = "http"
url = "http://127.0.0.1:9/y"
backoff = 0.1
backoff_max = 0.3
[routes.r]
target = "vnaccs:IDA"
endpoint = "e"
[routes.f]
target = "vnaccs:IDA"
endpoint = "fast"
""")
    w = DeliveryWorker(cfg, store=None, endpoint_cfgs={}, rng=random.Random(7), deliver=lambda *a, **k: None)
    for attempt, base in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)):
        xs = [w.backoff("r", attempt) for _ in range(200)]
        assert min(xs) >= base * 0.8 - 1e-9 and max(xs) <= base * 1.2 + 1e-9
        assert max(xs) - min(xs) > base * 0.2            # jitter actually spreads the retries
    assert max(w.backoff("f", 6) for _ in range(50)) <= 0.3 * 1.2 + 1e-9    # per-endpoint overrides
