"""Console and /metrics cost on a store holding many messages (default 20 000: 95 % acknowledged with one or
two attempts, 5 % rejected with validation issues; six audit rows each), SQLite, one process.

Figures, each against the floor that does the least the same answer needs:
  metrics_scrape     /metrics text (collector + exposition)   vs  the collector's SQL alone (metric_rows)
  console_list       GET /console/messages (50 rows, counts)  vs  store.list_messages(limit=50) (hub API query)
  console_search     GET /console/messages?q=<decl. number>   vs  store.list_messages(business_key=...)
  console_detail     GET /console/messages/<id>               vs  hub.status(id) (the API's JSON of the message)
Run: .venv/bin/python bench/bench_console.py [N]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import interleaved, line  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
SAMPLE = (ROOT / "samples" / "prc" / "import_1_line.xml").read_bytes()


def fill(store, n: int, t0: float) -> str:
    msgs, dels, atts, audit = [], [], [], []
    err = json.dumps({"valid": False, "format": "prc", "message_type": "DecMessage",
                      "errors": [{"code": "prc-gross-lt-net", "severity": "error", "message": "x", "path": "/a",
                                  "line": 3}]})
    for i in range(n):
        mid = f"M{i:024X}"
        at = t0 + i * 0.01
        rejected = i % 20 == 7
        key = None if rejected else f"2248{i:014d}"
        msgs.append((mid, "p", None, "prc:DecMessage", key, "rejected" if rejected else "acknowledged", 0,
                     SAMPLE if i == n - 1 else b"<x/>", "sha256:0", err if rejected else None, None, None, at, at + 1))
        audit += [(mid, None, None, "received", at, None), (mid, None, "received", "validated", at, None)]
        if rejected:
            audit.append((mid, None, "validated", "rejected", at, "x"))
            continue
        did = f"{mid}-1"
        dels.append((did, mid, "r", "prc:DecMessage", "e", "acknowledged", 1 + i % 2, 6, None, b"<x/>", at, at + 1))
        for k in range(1 + i % 2):
            ok = k == i % 2
            info = json.dumps({"outcome": {"family": "prc", "accepted": True, "reference": f"REF{i:012d}"}}
                              if ok else {"error": "HTTP 500"})
            atts.append((did, k + 1, f"c{i}-{k}", at + k * 0.1, at + k * 0.1 + 0.02 + (i % 50) / 100,
                         "acknowledged" if ok else "failed", None if ok else "HTTP 500", "200" if ok else "500",
                         b"<DEC_RESULT/>", info))
        audit += [(mid, None, "validated", "queued", at, None), (mid, did, None, "queued", at, "route r"),
                  (mid, did, None, "sending", at, "attempt 1"), (mid, did, "sending", "acknowledged", at + 1, "ok")]

    def job(c):
        c.executemany("INSERT INTO messages (id, partner, client_msg_id, format, business_key, state, active, inbound,"
                      " inbound_digest, validation, hints, error, created_at, updated_at) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)", msgs)
        c.executemany("INSERT INTO deliveries (id, message_id, route, target, endpoint, state, attempts, max_attempts,"
                      " next_at, payload, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", dels)
        c.executemany("INSERT INTO attempts (delivery_id, n, claim, started_at, finished_at, outcome, error, status,"
                      " response, response_info) VALUES (?,?,?,?,?,?,?,?,?,?)", atts)
        c.executemany("INSERT INTO audit (message_id, delivery_id, from_state, to_state, at, detail) VALUES "
                      "(?,?,?,?,?,?)", audit)
    if callable(getattr(store, "_run", None)):
        store._run(job)
    else:
        with store._tx() as c:
            job(c)
    return f"M{n - 1:024X}"


def main() -> None:
    import re

    from prometheus_client import generate_latest
    from starlette.testclient import TestClient

    import console
    from console import queries
    from console.config import ConsoleCfg, ConsoleUser
    from console.hashpw import hash_password
    from routing.config import load_config
    from routing.runtime import build_runtime
    from soap.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    cfg = load_config(tmp, text=f"""
[store]
url = "sqlite:///{tmp / 'bench.db'}"
synchronous = "NORMAL"
[partners.p]
may_send = ["prc"]
[routes.r]
match = {{ format = "prc" }}
target = "prc:DecMessage"
endpoint = "e"
[endpoints.e]
kind = "directory"
path = "out"
""", env={})
    rt = build_runtime(cfg, with_worker=False)
    t0 = time.time() - N * 0.01 - 10
    last = fill(rt.store, N, t0)
    app = create_app(rt, start_worker=False)
    ccfg = ConsoleCfg(users={"u": ConsoleUser("u", hash_password("bench-password"), "operator")},
                      secret=b"b" * 40, cookie_secure=False)
    console.install(app, rt, ccfg)
    reg = app.state.metrics_registry
    client = TestClient(app)
    page = client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/console/login", data={"username": "u", "password": "bench-password", "csrf": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    decl = "2248" + f"{N - 1:014d}"
    for path in ("/console/messages", f"/console/messages?q={decl}", f"/console/messages/{last}", "/metrics"):
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
    assert last in client.get(f"/console/messages?q={decl}").text

    t = interleaved({
        "scrape": lambda: generate_latest(reg),
        "scrape_floor": lambda: queries.metric_rows(rt.store),
    }, repeat=7, number=3)
    print(line("metrics_scrape", t["scrape"] * 1000, "ms", t["scrape_floor"] * 1000,
               "collector SQL alone (metric_rows)", N))
    t = interleaved({
        "list": lambda: client.get("/console/messages"),
        "list_floor": lambda: rt.store.list_messages(limit=50),
        "search": lambda: client.get(f"/console/messages?q={decl}"),
        "search_floor": lambda: rt.store.list_messages(business_key=decl),
        "detail": lambda: client.get(f"/console/messages/{last}"),
        "detail_floor": lambda: rt.hub.status(last),
    }, repeat=7, number=5)
    print(line("console_list", t["list"] * 1000, "ms", t["list_floor"] * 1000,
               "store.list_messages(limit=50)", N))
    print(line("console_search", t["search"] * 1000, "ms", t["search_floor"] * 1000,
               "store.list_messages(business_key=...)", N))
    print(line("console_detail", t["detail"] * 1000, "ms", t["detail_floor"] * 1000, "hub.status(id)", N))
    rt.store.close()


if __name__ == "__main__":
    main()
