"""Three hub processes (server.py) on one PostgreSQL schema, delivering to the simulated VNACCS endpoint. 2,000
messages are submitted across them over HTTP (a client that finds an instance gone retries the same document on
another one, as a load balancer would); one instance is SIGKILLed mid-run. Then:
- every accepted message reaches the endpoint; the endpoint saw exactly the deliveries the store holds;
- a delivery reaches the endpoint twice only if its attempt was in flight in the killed instance (in doubt, taken
  over when its lease ran out and resent under the same Idempotency-Key, which the endpoint deduplicates);
- documents submitted to all three instances at the same moment are accepted once (one message id; the others
  answer 200 with that id)."""
from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from hubkit import TOKEN, config_text, free_port, numbered_ida, spawn_hub

pytestmark = pytest.mark.slow

N = 2000
ROUTES = """
[routes.vnaccs-pass]
match = { format = "vnaccs:IDA" }
target = "vnaccs:IDA"
profile = "hub"
endpoint = "vnaccs"
concurrency = 8
"""


def pg_config(tmp, pki, endpoints, pg_url, lease=2.0) -> str:
    text = config_text(tmp, pki, endpoints, routes=ROUTES, max_attempts=20, backoff=0.05)
    old = f'url = "sqlite:///{tmp / "hub.db"}"'
    assert old in text
    return text.replace(old, f'url = "{pg_url}"\nlease_seconds = {lease}\npool_size = 8')


start = spawn_hub


def wait_ready(procs: dict, deadline_s=40):
    deadline = time.monotonic() + deadline_s
    for port, p in procs.items():
        while True:
            try:
                h = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if h.status_code == 200 and h.json()["worker"]["ready"]:
                    break
            except (httpx.HTTPError, KeyError, TypeError):
                pass
            assert p.poll() is None, f"instance on {port} exited"
            assert time.monotonic() < deadline, f"instance on {port} not ready"
            time.sleep(0.05)


def ida(n: int) -> bytes:
    return numbered_ida(n, 58_000_000)


def db(pg_url):
    import psycopg
    from routing.store_pg import split_url
    url, schema = split_url(pg_url)
    c = psycopg.connect(url, autocommit=True)
    c.execute(f'SET search_path TO "{schema}"')
    return c


def test_three_instances_one_killed_each_message_delivered_once(tmp_path, pki, endpoints, sim, pg_schema):
    cfg = tmp_path / "edihub.toml"
    cfg.write_text(pg_config(tmp_path, pki, endpoints, pg_schema))
    sim.control("vnaccs", mode="slow", delay=0.02)   # attempts take a while: the kill finds some in flight
    ports = [free_port() for _ in range(3)]
    log = open(tmp_path / "hubs.log", "wb")
    procs = {port: start(cfg, port, log) for port in ports}
    victim = ports[1]
    try:
        wait_ready(procs)
        accepted: dict[str, str] = {}                 # message id -> delivery id
        answers: dict[int, set] = {}                  # document n -> message ids it was answered with
        lock = threading.Lock()
        alive = list(ports)

        clients = threading.local()

        def submit(n: int):
            body = ida(n)
            if not hasattr(clients, "c"):
                clients.c = httpx.Client(timeout=10)          # keep-alive per sender thread
            for k in range(6):
                with lock:
                    port = alive[(n + k) % len(alive)]
                try:
                    r = clients.c.post(f"http://127.0.0.1:{port}/api/messages", content=body,
                                       headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/xml"})
                except httpx.HTTPError:
                    continue                          # instance gone: the same document to another one
                assert r.status_code in (200, 202), r.text[:300]
                b = r.json()
                with lock:
                    accepted[b["message_id"]] = b["deliveries"][0]["id"]
                    answers.setdefault(n, set()).add(b["message_id"])
                return
            raise AssertionError(f"document {n} not accepted by any instance")

        def killer():
            deadline = time.monotonic() + 60
            while sim.stats("vnaccs")["unique"] < N // 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            os.kill(procs[victim].pid, signal.SIGKILL)
            with lock:
                alive.remove(victim)
        k = threading.Thread(target=killer)
        k.start()
        with ThreadPoolExecutor(16) as ex:
            list(ex.map(submit, range(N)))
        k.join(timeout=70)
        assert procs[victim].wait(timeout=10) == -signal.SIGKILL

        # concurrent duplicates: each document sent to the two live instances at the same moment, twice each
        live = [p for p in ports if p != victim]
        barrier = threading.Barrier(4)

        def dup(args):
            n, port = args
            barrier.wait(timeout=10)
            r = httpx.post(f"http://127.0.0.1:{port}/api/messages", content=ida(n), timeout=10,
                           headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/xml"})
            return r.status_code, r.json()["message_id"], r.json()["deliveries"][0]["id"]
        for n in range(N, N + 15):
            barrier.reset()
            with ThreadPoolExecutor(4) as ex:
                res = list(ex.map(dup, [(n, live[0]), (n, live[1]), (n, live[0]), (n, live[1])]))
            assert len({mid for _, mid, _ in res}) == 1, res
            assert sorted(s for s, _, _ in res) == [200, 200, 200, 202], res
            accepted[res[0][1]] = res[0][2]

        # everything delivered (the victim's claims are taken over when their 2 s leases run out)
        conn = db(pg_schema)
        deadline = time.monotonic() + 60
        while True:
            pending = conn.execute("SELECT COUNT(*) FROM deliveries WHERE state NOT IN ('acknowledged', "
                                   "'delivered')").fetchone()[0]
            if pending == 0:
                break
            assert time.monotonic() < deadline, f"{pending} deliveries still pending"
            time.sleep(0.2)
        stored = {r[0] for r in conn.execute("SELECT id FROM deliveries")}
        in_doubt = {r[0] for r in conn.execute("SELECT delivery_id FROM attempts WHERE outcome = 'in-doubt'")}
        messages = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        conn.close()
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        for p in procs.values():
            p.wait(timeout=15)
        log.close()

    stats = sim.stats("vnaccs")
    by_key = stats["by_key"]
    assert all(len(ids) == 1 for ids in answers.values()), "a document got two message ids"
    assert len(answers) == N and messages == len(accepted) == N + 15 == len(stored)
    assert set(accepted.values()) == stored
    assert set(by_key) == stored                                   # each one reached the endpoint
    assert stats["unique"] == len(stored)
    repeated = {k for k, c in by_key.items() if c > 1}
    assert repeated <= in_doubt, (repeated, in_doubt)              # repeats only for in-doubt attempts
    assert len(in_doubt) <= 8                                      # the victim's route concurrency
    print(f"\nscale test: {len(stored)} delivered by 3 instances (one killed), in doubt {len(in_doubt)}, "
          f"repeated at the endpoint {len(repeated)} (deduplicated there by Idempotency-Key)")
