"""Crash recovery: the hub runs as a process, receives a stream of messages, is SIGKILLed mid-delivery and
restarted on the same store. Every accepted message is delivered, and exactly once for every delivery whose
outcome was recorded; the only possible repeats are the deliveries that were in flight at the kill (in doubt),
which the restarted hub reports and resends under the same idempotency key."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import httpx
import pytest

from hubkit import TOKEN, config_text, free_port, numbered_ida, spawn_hub, wait_healthy

pytestmark = pytest.mark.slow

ROUTES = """
[routes.vnaccs-pass]
match = { format = "vnaccs:IDA" }
target = "vnaccs:IDA"
profile = "hub"
endpoint = "vnaccs"
concurrency = 4
"""


def start(cfg_path, port, log):
    p = spawn_hub(cfg_path, port, log)
    if not wait_healthy(port, p):
        p.kill()
        raise AssertionError(f"hub did not start; log: {log.name}")
    return p


def ida(n: int) -> bytes:
    return numbered_ida(n, 57_000_000)


def test_sigkill_mid_delivery_then_restart_delivers_each_once(tmp_path, pki, endpoints, sim):
    cfg = tmp_path / "edihub.toml"
    cfg.write_text(config_text(tmp_path, pki, endpoints, routes=ROUTES, max_attempts=10, backoff=0.05))
    sim.control("vnaccs", mode="slow", delay=0.15)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "hub.log", "wb")
    proc = start(cfg, port, log)
    accepted: dict[str, str] = {}           # message id -> delivery id
    stop = threading.Event()

    def stream():
        n = 0
        with httpx.Client(timeout=5) as c:
            while not stop.is_set() and n < 200:
                n += 1
                try:
                    r = c.post(f"{url}/api/messages", content=ida(n),
                               headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/xml"})
                except httpx.HTTPError:
                    return                  # the hub is gone: this one was not acknowledged
                if r.status_code == 202:
                    b = r.json()
                    accepted[b["message_id"]] = b["deliveries"][0]["id"]
                time.sleep(0.01)
    t = threading.Thread(target=stream)
    t.start()
    deadline = time.monotonic() + 20
    while sim.stats("vnaccs")["unique"] < 10:
        assert time.monotonic() < deadline, "no deliveries happened"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)        # mid-stream and mid-delivery
    proc.wait(timeout=10)
    stop.set()
    t.join(timeout=10)
    before = sim.stats("vnaccs")
    assert 0 < len(accepted) and before["unique"] < len(accepted), "the kill came too late to test anything"

    sim.control("vnaccs", mode="ok")
    proc = start(cfg, port, log)
    try:
        deadline = time.monotonic() + 20
        while not (health := httpx.get(f"{url}/healthz", timeout=5).json())["worker"]["ready"]:
            assert time.monotonic() < deadline, "the restarted hub's delivery worker never became ready"
            time.sleep(0.05)
        in_doubt_n = health["worker"]["in_doubt_at_start"]
        deadline = time.monotonic() + 60
        while True:
            states = httpx.get(f"{url}/api/messages", params={"limit": 1000},
                               headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()["messages"]
            pending = [m for m in states if m["state"] not in ("acknowledged",)]
            if not pending:
                break
            assert time.monotonic() < deadline, f"not delivered after restart: {pending[:3]}"
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()

    stats = sim.stats("vnaccs")
    by_key = stats["by_key"]
    db = sqlite3.connect(tmp_path / "hub.db")
    in_doubt = {r[0] for r in db.execute("SELECT delivery_id FROM attempts WHERE outcome = 'in-doubt'")}
    stored = {r[0] for r in db.execute("SELECT id FROM deliveries")}
    db.close()
    assert len(in_doubt) == in_doubt_n
    # every accepted message was delivered
    for mid, did in accepted.items():
        assert by_key.get(did, 0) >= 1, f"{mid} never reached the endpoint"
    # the endpoint saw exactly the deliveries the hub stored (accepted, plus any committed whose answer was lost)
    assert set(by_key) == stored
    # a delivery is repeated only if it was in flight at the kill; everything else exactly once
    repeated = {k for k, c in by_key.items() if c > 1}
    assert repeated <= in_doubt, (repeated, in_doubt)
    assert all(c <= 2 for c in by_key.values())
    assert stats["duplicates"] <= len(in_doubt) <= 4          # bounded by the route's concurrency
    print(f"\ncrash test: accepted {len(accepted)}, stored {len(stored)}, delivered before kill "
          f"{before['unique']}, in doubt {len(in_doubt)}, repeated {len(repeated)}")


def test_multi_process_mode_accepts_and_delivers(tmp_path, pki, endpoints, sim):
    """server.workers = 2: two accepting processes and one delivery process on one store."""
    cfg = tmp_path / "edihub.toml"
    cfg.write_text(config_text(tmp_path, pki, endpoints, routes=ROUTES).replace("[server]", "[server]\nworkers = 2"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "hub.log", "wb") as log:
        proc = start(cfg, port, log)
        try:
            ids = []
            with httpx.Client(timeout=10) as c:
                for n in range(12):
                    r = c.post(f"{url}/api/messages", content=ida(1000 + n),
                               headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/xml"})
                    assert r.status_code == 202, r.text
                    ids.append(r.json()["message_id"])
                deadline = time.monotonic() + 30
                while True:
                    states = {c.get(f"{url}/api/messages/{m}", headers={"Authorization": f"Bearer {TOKEN}"})
                              .json()["state"] for m in ids}
                    if states == {"acknowledged"}:
                        break
                    assert time.monotonic() < deadline, states
                    time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    stats = sim.stats("vnaccs")
    assert stats["unique"] == 12 and stats["duplicates"] == 0
