"""/metrics read from the store at scrape time, and /readyz, against a served hub."""
from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from consolekit import ENV, ServedConsole, console_section, sample


def scrape(url: str, **kw) -> dict:
    r = httpx.get(url + "/metrics", timeout=10, **kw)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def val(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_follow_the_store(served, sim):
    m = scrape(served.url)
    assert val(m, "edihub_store_up") == 1
    assert val(m, "edihub_messages", state="acknowledged") == 0
    assert val(m, "edihub_queue_depth", route="prc-pass") == 0

    bad = served.submit(sample("prc/invalid/prc-gross-lt-net.xml"))
    assert bad["state"] == "rejected"
    bad2 = served.submit(sample("prc/invalid/code-unknown__cut-mode.xml"))
    assert bad2["state"] == "rejected"
    sim("prc", mode="fail")                                   # HTTP 500: two failed attempts, then dead
    mid = served.submit(sample("prc/import_1_line.xml"))["message_id"]
    served.wait_state(mid, "dead")

    m = scrape(served.url)
    assert val(m, "edihub_messages", state="dead") == 1
    assert val(m, "edihub_messages", state="rejected") == 2
    assert val(m, "edihub_validation_failures_total", code="prc-gross-lt-net") == 1
    assert val(m, "edihub_validation_failures_total", code="code-unknown") == 1
    assert val(m, "edihub_deliveries", route="prc-pass", state="dead") == 1
    assert val(m, "edihub_dead_letters", route="prc-pass") == 1
    assert val(m, "edihub_dead_letter_events_total", route="prc-pass") == 1
    assert val(m, "edihub_delivery_attempts_total", route="prc-pass", outcome="failed") == 2
    assert val(m, "edihub_delivery_retries_total", route="prc-pass") == 1        # attempt 2
    assert val(m, "edihub_delivery_latency_seconds_count", route="prc-pass") == 2
    assert val(m, "edihub_delivery_latency_seconds_bucket", route="prc-pass", le="+Inf") == 2
    assert 0 < val(m, "edihub_delivery_latency_seconds_sum", route="prc-pass") < 30
    assert val(m, "edihub_queue_depth", route="prc-pass") == 0
    assert val(m, "edihub_dead_letters", route="vnaccs-pass") == 0               # every configured route listed
    # certificates: the hub's one-year certificate, the expired partner certificate
    hub = [v for (n, l), v in m.items() if n == "edihub_certificate_days_to_expiry" and ("name", "signing.hub") in l]
    assert len(hub) == 1 and 360 < hub[0] <= 366
    expired = [v for (n, l), v in m.items() if n == "edihub_certificate_days_to_expiry"
               and any(k == "name" and v_.endswith("expired.pem") for k, v_ in l)]
    assert len(expired) == 1 and expired[0] < 0

    # a resend is counted from the store too: the dead letter goes away, the attempts grow
    sim("prc", mode="ok")
    r = httpx.post(f"{served.url}/api/messages/{mid}/resend", headers={"Authorization": "Bearer " + ENV["C_OPERATOR"]},
                   timeout=10)
    assert r.status_code == 200
    served.wait_state(mid, "acknowledged")
    m = scrape(served.url)
    assert val(m, "edihub_messages", state="dead") == 0
    assert val(m, "edihub_messages", state="acknowledged") == 1
    assert val(m, "edihub_dead_letters", route="prc-pass") == 0
    assert val(m, "edihub_dead_letter_events_total", route="prc-pass") == 1
    assert val(m, "edihub_delivery_attempts_total", route="prc-pass", outcome="acknowledged") == 1
    assert val(m, "edihub_delivery_retries_total", route="prc-pass") == 2
    assert val(m, "edihub_delivery_latency_seconds_count", route="prc-pass") == 3


def test_refusals_counted(served):
    r = httpx.post(served.url + "/api/messages", content=b"<x/>", headers={"Authorization": "Bearer wrong"},
                   timeout=10)
    assert r.status_code == 401
    m = scrape(served.url)
    refused = sum(v for (n, l), v in m.items() if n == "edihub_refusals_total" and ("channel", "api") in l)
    assert refused == 1


def test_two_hubs_on_one_database_report_the_same_figures(tmp_path, pki, endpoints, sim, served):
    """The collector reads the database, so a second process (here: a second app on the same file) agrees."""
    mid = served.submit(sample("prc/import_1_line.xml"))["message_id"]
    served.wait_state(mid, "acknowledged")
    other = ServedConsole(served.runtime.cfg.sqlite_path().parent, pki, endpoints)
    try:
        a, b = scrape(served.url), scrape(other.url)
        keys = [k for k in a if k[0] in ("edihub_messages", "edihub_deliveries", "edihub_delivery_attempts_total")]
        assert keys and all(a[k] == b.get(k) for k in keys)
    finally:
        other.stop()


def test_metrics_token(tmp_path, pki, endpoints, sim):
    env_name = "C_METRICS_TOKEN"
    os_env = {env_name: "metrics-secret-0123456789"}
    import os
    os.environ.update(os_env)
    h = ServedConsole(tmp_path, pki, endpoints, section=console_section(metrics_token_env=env_name))
    try:
        assert httpx.get(h.url + "/metrics", timeout=5).status_code == 401
        assert httpx.get(h.url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 401
        scrape(h.url, headers={"Authorization": "Bearer metrics-secret-0123456789"})
    finally:
        h.stop()
        os.environ.pop(env_name, None)


def test_readyz(served):
    r = httpx.get(served.url + "/readyz", timeout=5)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready" and body["checks"]["schemas"]["message_types"] > 0
    assert body["checks"]["keys"]["loaded"] == ["hub"]
    # the store stops answering (the worker keeps its own reference to the real one, which stays open so the
    # hub can shut down cleanly; closing it under a running worker would block the worker thread for ever)
    real = served.runtime.store
    served.runtime.store = _Broken()
    try:
        r = httpx.get(served.url + "/readyz", timeout=5)
        assert r.status_code == 503 and r.json()["checks"]["store"]["ok"] is False
        m = httpx.get(served.url + "/metrics", timeout=5)
        assert m.status_code == 200 and "edihub_store_up 0.0" in m.text
    finally:
        served.runtime.store = real


class _Broken:
    def _read(self):
        raise OSError("database unreachable")

    def close(self):
        pass


def test_without_console_table_only_metrics_and_readyz(tmp_path, pki, endpoints, sim):
    """console.install(app, runtime, None): what the hub gets when edihub.toml has no [console] table."""
    import asyncio
    import threading
    import time

    import uvicorn

    import console
    from consolekit import ENV, config_text, free_port
    from routing.config import load_config
    from routing.runtime import build_runtime
    from soap.app import create_app
    rt = build_runtime(load_config(tmp_path, text=config_text(tmp_path, pki, endpoints), env=ENV))
    app = create_app(rt)
    console.install(app, rt, None)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    t = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    try:
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(url + "/readyz", timeout=5).status_code == 200
        assert val(scrape(url), "edihub_store_up") == 1
        assert httpx.get(url + "/console/messages", timeout=5).status_code == 404
    finally:
        server.should_exit = True
        t.join(timeout=15)
        rt.store.close()
