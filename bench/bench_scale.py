"""Scale-out throughput: end-to-end messages/s (first submission until every delivery is acknowledged) with 1, 2
and 4 hub instances (server.py processes) on one PostgreSQL schema, against 1 instance on SQLite, in one run.
Loopback only: the simulated endpoints in their own process, 16 concurrent senders spread round-robin over the
instances (as a load balancer without stickiness would).

Floor: 1 instance on SQLite (the single-process figure bench_hub.py measures). On a 2-core machine more
instances cannot add CPU: the figures show the cost of the shared database, not the gain of more machines.

    .venv/bin/python bench/bench_scale.py [--n 600] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_hub import TOKEN, config, documents, free_port, wait_http  # noqa: E402


async def load(urls: list[str], docs: list[bytes], concurrency: int) -> None:
    import httpx
    q = list(enumerate(docs))
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/xml"}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as c:
        async def worker():
            while q:
                i, d = q.pop()
                r = await c.post(f"{urls[i % len(urls)]}/api/messages", content=d, headers=headers)
                assert r.status_code == 202, r.text
        await asyncio.gather(*(worker() for _ in range(concurrency)))


def done_counter(store_url: str):
    """A function returning how many deliveries are acknowledged/delivered."""
    sql = "SELECT COUNT(*) FROM deliveries WHERE state IN ('acknowledged','delivered')"
    if store_url.startswith("sqlite:///"):
        import sqlite3
        c = sqlite3.connect(store_url[len("sqlite:///"):])
        return lambda: c.execute(sql).fetchone()[0], c.close
    import psycopg
    from routing.store_pg import split_url
    url, schema = split_url(store_url)
    c = psycopg.connect(url, autocommit=True)
    c.execute(f'SET search_path TO "{schema}"')
    return lambda: c.execute(sql).fetchone()[0], c.close


def run(tmp: Path, pki: Path, ep_url: str, store_url: str, instances: int, docs: list[bytes]) -> float:
    cfg = tmp / f"edihub-{uuid.uuid4().hex[:6]}.toml"
    text = config(tmp, pki, ep_url, 1)
    text = text.replace(f'url = "sqlite:///{tmp / "bench.db"}"', f'url = "{store_url}"')
    cfg.write_text(text)
    env = {**os.environ, "BENCH_TOKEN": TOKEN}
    ports = [free_port() for _ in range(instances)]
    procs = [subprocess.Popen([sys.executable, str(ROOT / "server.py"), "--config", str(cfg), "--port", str(p),
                               "--log-level", "error"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for p in ports]
    try:
        for p, proc in zip(ports, procs):
            wait_http(f"http://127.0.0.1:{p}/healthz", proc, timeout=60)
        count, close = done_counter(store_url)
        t0 = time.perf_counter()
        asyncio.run(load([f"http://127.0.0.1:{p}" for p in ports], docs, 16))
        deadline = time.monotonic() + 300
        while (done := count()) < len(docs):
            if time.monotonic() > deadline:
                raise SystemExit(f"only {done} of {len(docs)} delivered")
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        close()
        return len(docs) / elapsed
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=600, help="messages per run")
    ap.add_argument("--pg", default=os.environ.get("EDIHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--instances", default="1,2,4", help="PostgreSQL instance counts to run")
    a = ap.parse_args()
    import psycopg
    from signing.devpki import init_dev_pki
    results = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        pki = tmp / "pki"
        init_dev_pki(pki, dt.datetime.now(dt.timezone.utc))
        counts = [int(x) for x in a.instances.split(",")]
        docs = documents(a.n * (1 + len(counts)), 20_000_000)
        ep_port = free_port()
        ep = subprocess.Popen([sys.executable, "-m", "samples.endpoints", "--port", str(ep_port),
                               "--hub-cert", str(pki / "hub.pem")], cwd=ROOT, env=os.environ,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        schemas = []
        try:
            ep_url = f"http://127.0.0.1:{ep_port}"
            wait_http(f"{ep_url}/vnaccs/_control/stats", ep)
            floor = run(tmp, pki, ep_url, f"sqlite:///{tmp / 'bench.db'}", 1, docs[:a.n])
            for k, n in enumerate(counts, 1):
                schema = "edihub_bench_" + uuid.uuid4().hex[:10]
                schemas.append(schema)
                sep = "&" if "?" in a.pg else "?"
                rate = run(tmp, pki, ep_url, f"{a.pg}{sep}schema={schema}", n, docs[k * a.n:(k + 1) * a.n])
                results.append((n, rate))
        finally:
            ep.terminate()
            ep.wait(timeout=15)
            with psycopg.connect(a.pg, autocommit=True) as c:
                for s in schemas:
                    c.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')
    cores = os.cpu_count()
    print(f"bench: scale_sqlite_1_instance_end_to_end {floor:.0f} msg/s ratio=1.00 floor=itself cores={cores} "
          f"n={a.n}")
    for n, rate in results:
        print(f"bench: scale_pg_{n}_instance{'s' if n > 1 else ''}_end_to_end {rate:.0f} msg/s "
              f"ratio={rate / floor:.2f} floor=1 instance on SQLite {floor:.0f} msg/s cores={cores} n={a.n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
