"""server.pipeline_processes: the pure pipeline runs in worker processes; what senders and the store see is the
same as with the in-process pipeline (acceptance after commit, full audit trail, rejections with every issue,
refusals, duplicates), and a worker that dies does not cost a submission."""
from __future__ import annotations

import os
import signal

from hubkit import OTHER_TOKEN, sample

IDA = "vnaccs/ida_haiphong_valves_1line.xml"
IDA2 = "vnaccs/ida_catlai_electronics_22lines.xml"
SIV = "siveca/registration_shanghai_asuncion_1line.xml"


def test_submissions_through_worker_processes_behave_as_in_process(hub_factory, sim):
    hub = hub_factory(pipeline_processes=1)
    assert hub.runtime.hub.procs is not None
    r = hub.submit(sample(IDA), message_id="P-1")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["format"] == "vnaccs:IDA" and body["business_key"] == "100574219060"
    st = hub.wait_state(body["message_id"], "acknowledged")
    assert [h["to"] for h in st["history"] if h["delivery"] is None] == \
        ["received", "validated", "translated", "signed", "queued", "acknowledged"]
    assert sim.stats("vnaccs")["signature"]["verified"] == 1
    out = hub.runtime.store.documents(body["message_id"], "outbound")[0]
    assert b"Signature" in out["data"] and out["evidence"]["profile"] == "default"
    # duplicates: by partner message id and by business key
    again = hub.submit(sample(IDA), message_id="P-1")
    assert again.status_code == 200 and again.json()["message_id"] == body["message_id"]
    assert hub.submit(sample(IDA)).json()["message_id"] == body["message_id"]
    # invalid: every issue with code and path; not XML; not authorised (logged as a refusal)
    bad = sample(IDA).replace(b"<ICN>100574219060</ICN>", b"<ICN>12</ICN>").replace(b"<CH>03CC</CH>", b"<CH>?</CH>")
    r = hub.submit(bad)
    assert r.status_code == 422
    assert {i["path"] for i in r.json()["error"]["issues"]} >= {"/IDA/ICN", "/IDA/CH"}
    r = hub.submit(b"<not-closed>")
    assert r.status_code == 422 and r.json()["error"]["issues"][0]["code"] == "xml-malformed"
    r = hub.submit(sample(SIV), token=OTHER_TOKEN)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not-authorised"
    assert "not-authorised" in [x["code"] for x in hub.runtime.store.refusals()]


def test_a_worker_process_that_dies_costs_no_submission(hub_factory, sim):
    hub = hub_factory(pipeline_processes=1)
    procs = hub.runtime.hub.procs
    (pid,) = [w.pid for w in procs.workers]
    os.kill(pid, signal.SIGKILL)
    r = hub.submit(sample(IDA2))
    assert r.status_code == 202, r.text
    hub.wait_state(r.json()["message_id"], "acknowledged")
    # another worker was started and serves the next one
    r2 = hub.submit(sample(IDA))
    assert r2.status_code == 202, r2.text
    assert [w.pid for w in procs.workers] != [pid] and procs.workers[0].proc.is_alive()



class _SentThenWatched:
    """Wraps a worker's pipe: tells the test when the submission has been handed over."""

    def __init__(self, conn, sent):
        self.conn, self.sent = conn, sent

    def send(self, obj):
        self.conn.send(obj)
        self.sent.set()

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_worker_that_dies_holding_a_submission_refuses_it_and_the_hub_lives_on(hub_factory, sim):
    """The document a worker was processing when it ended may be what killed it: it is refused with a server
    error and logged, never re-run in the serving process, and nothing of it is stored."""
    import threading

    hub = hub_factory(pipeline_processes=1)
    procs = hub.runtime.hub.procs
    (w,) = procs.workers
    os.kill(w.pid, signal.SIGSTOP)            # holds the submission without answering
    sent = threading.Event()
    w.conn = _SentThenWatched(w.conn, sent)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", hub.submit(sample(IDA), message_id="DIES-1")))
    t.start()
    assert sent.wait(10), "the submission never reached the worker"
    os.kill(w.pid, signal.SIGKILL)
    t.join(20)
    r = out["r"]
    assert r.status_code == 500, r.text
    assert r.json()["error"]["code"] == "pipeline-worker-lost"
    assert "not accepted" in r.json()["error"]["message"]
    refusal = hub.runtime.store.refusals()[0]
    assert refusal["code"] == "pipeline-worker-lost"
    assert hub.runtime.store.find_active("partner-a", "DIES-1", "vnaccs:IDA", "100574219060") is None
    # a fresh worker serves the same document afterwards, and it is accepted once
    r2 = hub.submit(sample(IDA), message_id="DIES-1")
    assert r2.status_code == 202, r2.text
    assert procs.workers[0].pid != w.pid and procs.workers[0].proc.is_alive()


def _children(pid: int) -> set[int]:
    out = set()
    for t in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{t}/children") as f:
            out.update(int(x) for x in f.read().split())
    return out


def test_worker_processes_end_with_a_terminated_server(tmp_path, pki, endpoints):
    import time

    import httpx

    from hubkit import ENV, config_text, free_port, spawn_hub, wait_healthy
    cfg = tmp_path / "edihub.toml"
    cfg.write_text(config_text(tmp_path, pki, endpoints, pipeline_processes=2))
    port = free_port()
    hub = spawn_hub(cfg, port)
    try:
        wait_healthy(port, hub, 30)
        workers = [p for p in _children(hub.pid)
                   if b"spawn_main" in open(f"/proc/{p}/cmdline", "rb").read()]
        assert len(workers) == 2
        r = httpx.post(f"http://127.0.0.1:{port}/api/messages", content=sample(IDA), timeout=10,
                       headers={"Authorization": f"Bearer {ENV['T_PARTNER_A']}", "Content-Type": "application/xml"})
        assert r.status_code == 202, r.text
    finally:
        hub.terminate()
        hub.wait(15)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in workers):
        time.sleep(0.1)
    assert not [p for p in workers if os.path.exists(f"/proc/{p}")]
