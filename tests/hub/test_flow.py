"""End to end over the HTTP API against the simulated national endpoints on loopback: delivery, receipts,
fan-out, retries with backoff, dead letters and operator resend, duplicates, refusals."""
from __future__ import annotations

import base64
import time

import httpx
from lxml import etree

from hubkit import OPERATOR, OTHER_TOKEN, sample

IDA = "vnaccs/ida_haiphong_valves_1line.xml"
IDA2 = "vnaccs/ida_catlai_electronics_22lines.xml"
SIV = "siveca/registration_shanghai_asuncion_1line.xml"


def test_submit_delivers_signed_document_and_records_everything(hub, sim):
    raw = sample(IDA)
    r = hub.submit(raw)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["state"] == "queued" and body["format"] == "vnaccs:IDA" and body["business_key"] == "100574219060"
    assert [d["route"] for d in body["deliveries"]] == ["vnaccs-pass"]
    st = hub.wait_state(body["message_id"], "acknowledged")
    # every step of the life cycle is in the audit trail, in order
    msg_states = [h["to"] for h in st["history"] if h["delivery"] is None]
    assert msg_states == ["received", "validated", "translated", "signed", "queued", "acknowledged"]
    stats = sim.stats("vnaccs")
    assert stats["unique"] == 1 and stats["duplicates"] == 0
    assert stats["signature"]["verified"] == 1          # the endpoint verified the hub's signature
    # the store keeps the raw inbound bytes, the produced document and its signature evidence, the response
    store = hub.runtime.store
    m = store.message(body["message_id"])
    assert m["inbound"] == raw
    out = store.documents(body["message_id"], "outbound")[0]
    assert b"Signature" in out["data"] and out["evidence"]
    rc = httpx.get(f"{hub.url}/api/messages/{body['message_id']}/receipt", headers=hub.headers()).json()
    (one,) = rc["receipts"]
    assert one["state"] == "acknowledged" and one["endpoint_status"] == "200"
    assert one["endpoint_response_info"]["outcome"]["accepted"] is True
    receipt = etree.fromstring(base64.b64decode(one["hub_receipt"]))
    ns = {"h": "urn:edihub:hub:1", "ds": "http://www.w3.org/2000/09/xmldsig#"}
    assert receipt.findtext("h:MessageId", namespaces=ns) == body["message_id"]
    assert receipt.find("ds:Signature", ns) is not None           # signed with the hub key
    import datetime as dt

    import signing
    pem = (hub.runtime.cfg.resolve(hub.runtime.cfg.signing["hub"].cert)).read_bytes()
    from cryptography import x509
    policy = signing.VerifyPolicy(now=dt.datetime.now(dt.timezone.utc),
                                  certificates=(x509.load_pem_x509_certificate(pem),), require_trust=False)
    res = signing.verify(base64.b64decode(one["hub_receipt"]), policy)
    assert res.valid, res


def test_eager_receipts_are_made_at_delivery(hub_factory, sim):
    hub = hub_factory(receipts="eager")
    mid = hub.submit(sample(IDA)).json()["message_id"]
    hub.wait_state(mid, "acknowledged")
    (r,) = hub.runtime.store.documents(mid, "receipt")      # stored by the worker, before anyone asked
    assert b"<DeliveredAt>" in r["data"] and r["evidence"]


def test_fan_out_one_message_two_deliveries(hub_factory, sim, tmp_path):
    routes = """
[routes.vnaccs-pass]
match = { format = "vnaccs:IDA" }
target = "vnaccs:IDA"
profile = "hub"
endpoint = "vnaccs"
[routes.vnaccs-archive]
match = { format = "vnaccs" }
target = "vnaccs:IDA"
endpoint = "archive"
"""
    extra = f"""
[endpoints.archive]
kind = "directory"
path = "{tmp_path / 'archive'}"
"""
    hub = hub_factory(routes=routes, extra=extra)
    r = hub.submit(sample(IDA))
    assert r.status_code == 202, r.text
    mid = r.json()["message_id"]
    st = hub.wait_state(mid, ["acknowledged", "delivered"])
    assert sorted(d["route"] for d in st["deliveries"]) == ["vnaccs-archive", "vnaccs-pass"]
    states = {d["route"]: d["state"] for d in st["deliveries"]}
    assert states == {"vnaccs-pass": "acknowledged", "vnaccs-archive": "delivered"}
    assert st["state"] == "delivered"          # not every delivery has a business acknowledgement
    files = list((tmp_path / "archive").iterdir())
    assert len(files) == 1 and files[0].read_bytes().lstrip().startswith(b"<")


def test_endpoint_down_is_retried_with_backoff_then_delivered(hub_factory, sim):
    hub = hub_factory(max_attempts=6, backoff=0.1)
    sim.control("vnaccs", mode="down", fail_next=3)
    mid = hub.submit(sample(IDA)).json()["message_id"]
    st = hub.wait_state(mid, "acknowledged")
    (d,) = st["deliveries"]
    assert d["attempts"] == 4
    log = d["attempt_log"]
    assert [a["outcome"] for a in log] == ["failed", "failed", "failed", "acknowledged"]
    # exponential backoff: no retry starts before 0.1, 0.2, 0.4 s (-10 % jitter) after the previous attempt
    # (lower bounds only: a busy machine can only make the gaps longer)
    import datetime as dt
    t = [dt.datetime.fromisoformat(a["started_at"].replace("Z", "+00:00")).timestamp() for a in log]
    gaps = [b - a for a, b in zip(t, t[1:])]
    assert gaps[0] >= 0.089 and gaps[1] >= 0.179 and gaps[2] >= 0.359, gaps
    stats = sim.stats("vnaccs")
    assert stats["attempts"] == 4 and stats["unique"] == 1


def test_failing_past_max_attempts_goes_dead_then_resend_delivers(hub_factory, sim):
    hub = hub_factory(max_attempts=3, backoff=0.05)
    sim.control("vnaccs", mode="fail")
    mid = hub.submit(sample(IDA)).json()["message_id"]
    st = hub.wait_state(mid, "dead")
    (d,) = st["deliveries"]
    assert d["state"] == "dead" and d["attempts"] == 3 and "500" in (d["last_error"] or "")
    sim.control("vnaccs", mode="ok")
    r = httpx.post(f"{hub.url}/api/messages/{mid}/resend", headers=hub.headers(OPERATOR), timeout=10)
    assert r.status_code == 200 and r.json()["requeued"] == [d["id"]]
    st = hub.wait_state(mid, "acknowledged")
    assert st["deliveries"][0]["attempts"] == 4
    trail = [(h["from"], h["to"]) for h in st["history"] if h["delivery"]]
    assert ("dead", "queued") in trail
    assert sim.stats("vnaccs")["unique"] == 1


def test_authority_refusal_is_final_not_retried(hub_factory, sim):
    hub = hub_factory()
    sim.control("vnaccs", mode="reject")
    mid = hub.submit(sample(IDA)).json()["message_id"]
    st = hub.wait_state(mid, "rejected")
    assert st["deliveries"][0]["attempts"] == 1 and "refused" in st["deliveries"][0]["last_error"]
    # a rejected message does not block a corrected resubmission
    sim.control("vnaccs", mode="ok")
    r = hub.submit(sample(IDA))
    assert r.status_code == 202 and not r.json()["duplicate"] and r.json()["message_id"] != mid


def test_duplicates_by_message_id_and_business_key(hub, sim):
    raw = sample(IDA)
    first = hub.submit(raw, message_id="ORDER-1").json()
    again = hub.submit(raw, message_id="ORDER-1")
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["message_id"] == first["message_id"]
    # same declaration number under another partner message id: still the same accepted message
    by_key = hub.submit(raw, message_id="ORDER-2").json()
    assert by_key["duplicate"] is True and by_key["message_id"] == first["message_id"]
    # another document under an already used message id: the existing one is returned, not a second one
    hub.wait_state(first["message_id"], "acknowledged")
    assert sim.stats("vnaccs")["unique"] == 1
    other = hub.submit(sample(IDA2)).json()
    assert other["duplicate"] is False
    listing = httpx.get(f"{hub.url}/api/messages", headers=hub.headers()).json()["messages"]
    assert len(listing) == 2


def test_resubmission_of_rejected_message_is_processed_anew(hub):
    bad = sample(IDA).replace(b"<ICN>100574219060</ICN>", b"<ICN>12</ICN>")
    r1 = hub.submit(bad, message_id="X-1")
    assert r1.status_code == 422
    r2 = hub.submit(bad, message_id="X-1")
    assert r2.status_code == 422 and r2.json()["message_id"] != r1.json()["message_id"]
    ok = hub.submit(sample(IDA), message_id="X-1")
    assert ok.status_code == 202 and ok.json()["duplicate"] is False


def test_invalid_document_rejected_with_every_error_nothing_delivered(hub, sim):
    bad = sample(IDA).replace(b"<ICN>100574219060</ICN>", b"<ICN>12</ICN>").replace(b"<CH>03CC</CH>",
                                                                                    b"<CH>?</CH>")
    r = hub.submit(bad)
    assert r.status_code == 422
    body = r.json()
    issues = body["error"]["issues"]
    assert len(issues) >= 2 and all(i["code"] and i["path"].startswith("/IDA/") for i in issues)
    assert {i["path"] for i in issues} >= {"/IDA/ICN", "/IDA/CH"}
    st = hub.status(body["message_id"]).json()
    assert st["state"] == "rejected" and st["deliveries"] == []
    time.sleep(0.3)
    assert sim.stats("vnaccs")["attempts"] == 0


def test_refusals_authentication_authorisation_size(hub):
    store = hub.runtime.store
    r = httpx.post(f"{hub.url}/api/messages", content=sample(IDA), timeout=5)
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth-missing"
    r = hub.submit(sample(IDA), token="wrong-token")
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth-failed"
    r = hub.submit(sample(SIV), token=OTHER_TOKEN)      # partner-b may send vnaccs:IDA only
    assert r.status_code == 403 and r.json()["error"]["code"] == "not-authorised"
    big = b"<a>" + b"x" * 300_000 + b"</a>"
    r = hub.submit(big)
    assert r.status_code == 413
    codes = [x["code"] for x in store.refusals()]
    assert {"auth-missing", "auth-failed", "not-authorised", "body-too-large"} <= set(codes)
    assert store.list_messages() == []                  # nothing was accepted
    # partner-b cannot see partner-a's messages; the operator can
    mid = hub.submit(sample(IDA)).json()["message_id"]
    assert hub.status(mid, OTHER_TOKEN).status_code == 404
    assert hub.status(mid, OPERATOR).status_code == 200


def test_streamed_body_refused_as_soon_as_limit_passes(hub):
    """A chunked upload without Content-Length: the hub answers 413 once the limit (200 kB) is passed, while
    the client has not finished sending (it never sends the final chunk). A hub that read the whole body first
    would wait for the rest and the read below would time out."""
    import socket
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
    try:
        s.sendall(b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
                  b"Authorization: Bearer " + hub.headers()["Authorization"].split()[1].encode() +
                  b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"<x>" + b"y" * 16_000 + b"</x>"
        for _ in range(15):                   # 240 kB sent, then the client stops (no terminating chunk)
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = s.recv(4096)
    finally:
        s.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]


def test_openapi_and_docs_served(hub):
    spec = httpx.get(f"{hub.url}/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/messages" in spec["paths"]
    assert "openapi.json" in httpx.get(f"{hub.url}/docs").text


def test_cancel_stops_retries(hub_factory, sim):
    hub = hub_factory(max_attempts=50, backoff=0.2)
    sim.control("vnaccs", mode="fail")
    mid = hub.submit(sample(IDA)).json()["message_id"]
    hub.wait_state(mid, "failed")
    r = httpx.post(f"{hub.url}/api/messages/{mid}/cancel", headers=hub.headers(), timeout=10)
    assert r.status_code == 200
    st = hub.wait_state(mid, "cancelled")
    n = st["deliveries"][0]["attempts"]
    time.sleep(0.6)
    assert hub.status(mid).json()["deliveries"][0]["attempts"] == n      # no further attempt
    # a cancelled message no longer blocks a resubmission
    sim.control("vnaccs", mode="ok")
    assert hub.submit(sample(IDA)).json()["duplicate"] is False


def test_rate_limited_partner_gets_429_and_refusal_is_logged(tmp_path, pki, endpoints, sim):
    """partners.<id>.rate/burst, enforced by soap/limits.py in the app (before the body is read)."""
    from hubkit import ServedHub, config_text
    from routing.config import load_config
    from routing.runtime import build_runtime
    from hubkit import ENV
    text = config_text(tmp_path, pki, endpoints).replace('token_env = "T_PARTNER_A"',
                                                         'token_env = "T_PARTNER_A"\nrate = 0.001\nburst = 1')
    hub = ServedHub(build_runtime(load_config(tmp_path, text=text, env=ENV)))
    try:
        assert hub.submit(sample(IDA)).status_code == 202
        r = hub.submit(sample(IDA2))
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate-limited"
        assert "rate-limited" in {x["code"] for x in hub.runtime.store.refusals()}
        assert len(hub.runtime.store.list_messages()) == 1
    finally:
        hub.stop()
