"""The simulators' own surface: control API (modes, validation of settings, reset, all-at-once), stats, WSDL,
refusal of unreadable bodies, and the `python -m samples.endpoints` runner as a real process."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from routing.endpoints import EndpointConfig, deliver_sync
from translator import parse

from endpoint_payloads import payload

ROOT = Path(__file__).resolve().parents[2]


def test_index_lists_the_four_authorities(base):
    assert set(httpx.get(base + "/", timeout=5).json()["authorities"]) == {"vnaccs", "sofia", "prc", "iran"}


@pytest.mark.parametrize("data, word", [
    ({"mode": "sleepy"}, "mode"), ({"delay": -1}, "delay"), ({"delay": "x"}, "could not convert"),
    ({"fail_next": -2}, "fail_next"), ({"fault_code": "Teapot"}, "fault_code"),
])
def test_bad_control_settings_are_refused(base, data, word):
    r = httpx.post(f"{base}/vnaccs/_control", json=data, timeout=5)
    assert r.status_code == 400 and word in r.json()["error"]


def test_control_body_must_be_a_json_object(base):
    r = httpx.post(f"{base}/vnaccs/_control", content=b"[1,2]", timeout=5)
    assert r.status_code == 400
    r = httpx.post(f"{base}/vnaccs/_control", content=b"{not json", timeout=5)
    assert r.status_code == 400


def test_unknown_authority_control_is_404(base):
    assert httpx.post(f"{base}/mars/_control", json={}, timeout=5).status_code == 404
    assert httpx.get(f"{base}/mars/_control/stats", timeout=5).status_code == 404


def test_global_control_sets_all_and_stats_aggregate(base):
    r = httpx.post(f"{base}/_control", json={"mode": "down"}, timeout=5)
    assert r.status_code == 200 and {v["mode"] for v in r.json().values()} == {"down"}
    for a in ("vnaccs", "sofia", "prc", "iran"):
        resp = deliver_sync(EndpointConfig.from_dict("x", {"kind": "http", "url": f"{base}/{a}"}), payload(a),
                            message_id="m")
        assert resp.status == 503 and resp.retryable
    allstats = httpx.get(f"{base}/_control/stats", timeout=5).json()
    assert {a: (s["attempts"], s["failed"], s["deliveries"]) for a, s in allstats.items()} == \
        {a: (1, 1, 0) for a in ("vnaccs", "sofia", "prc", "iran")}


def test_reset_clears_counters_and_mode(base, control, stats):
    deliver_sync(EndpointConfig.from_dict("x", {"kind": "soap", "url": f"{base}/prc"}), payload("prc"), message_id="a")
    control("prc", mode="fail")
    s = control("prc", reset=True)
    assert (s["attempts"], s["deliveries"], s["mode"], s["by_key"]) == (0, 0, "ok", {})


def test_channel_can_be_chosen(base, control):
    control("vnaccs", channel=3)
    r = deliver_sync(EndpointConfig.from_dict("x", {"kind": "soap", "url": f"{base}/vnaccs"}), payload("vnaccs"),
                     message_id="red")
    assert r.outcome.channel == "3"


def test_iran_status_can_stop_before_registration(base, control):
    control("iran", iran_status="NEW")
    r = deliver_sync(EndpointConfig.from_dict("x", {"kind": "soap", "url": f"{base}/iran"}), payload("iran"),
                     message_id="new")
    assert r.ok and r.outcome.status == "NEW" and r.outcome.accepted
    assert len(r.outcome.references) == 1          # the file number only: no order-registration number yet


def test_wsdl_is_served_and_names_this_address(base):
    r = httpx.get(f"{base}/sofia?wsdl", timeout=5)
    assert r.status_code == 200
    root = parse(r.content).getroot()
    loc = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address").get("location")
    assert loc == f"{base}/sofia"


@pytest.mark.parametrize("body, ctype, expect", [
    (b"not xml at all", "text/xml", 500),                         # SOAP 1.1 Client fault travels with 500
    (b"not xml at all", "application/soap+xml", 400),             # SOAP 1.2 Sender fault: 400
    (b"<x>", "application/xml", 400),                             # plain XML error
    (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "application/xml", 400),
])
def test_unreadable_bodies_are_refused_and_not_counted(base, stats, body, ctype, expect):
    r = httpx.post(f"{base}/vnaccs", content=body, headers={"Content-Type": ctype}, timeout=5)
    assert r.status_code == expect
    s = stats("vnaccs")
    assert s["deliveries"] == 0 and s["failed"] == 1


def test_registration_without_container_is_a_client_fault(base, stats):
    doc = b'<siv:SivecaExportRegistration xmlns:siv="urn:hub:py:siveca:1"><siv:Header/></siv:SivecaExportRegistration>'
    r = deliver_sync(EndpointConfig.from_dict("x", {"kind": "soap", "url": f"{base}/sofia"}), doc, message_id="m")
    assert not r.ok and not r.retryable and "no container" in r.error
    assert stats("sofia")["deliveries"] == 0


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def test_runner_serves_all_four_on_one_port():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "samples.endpoints", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "runner did not start within 15 s"
                time.sleep(0.1)
        for a in ("vnaccs", "sofia", "prc", "iran"):
            r = deliver_sync(EndpointConfig.from_dict(a, {"kind": "soap", "url": f"{base}/{a}", "timeout": 5}),
                             payload(a), message_id=f"run-{a}")
            assert r.ok and r.outcome.accepted, (a, r.error)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_runner_reports_a_busy_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        r = subprocess.run([sys.executable, "-m", "samples.endpoints", "--port", str(s.getsockname()[1])], cwd=ROOT,
                           capture_output=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert r.returncode == 2 and b"cannot listen" in r.stderr and b"Traceback" not in r.stderr
    finally:
        s.close()


@pytest.mark.parametrize("reject", [False, True])
def test_prc_can_answer_with_the_import_response(base, control, reject):
    control("prc", prc_answer="DecImportResponse", **({"mode": "reject"} if reject else {}))
    r = deliver_sync(EndpointConfig.from_dict("x", {"kind": "soap", "url": f"{base}/prc"}), payload("prc"),
                     message_id="imp")
    assert r.ok and r.outcome.kind == "DecImportResponse" and r.outcome.accepted is (not reject)
    if not reject:
        assert len(r.outcome.reference) == 18
    from translator import validate
    assert validate(r.outcome.document_root.getroottree()).valid      # the answer's own tree, not the envelope


def test_sofia_acknowledges_each_cid_of_a_notification_and_answers_checks_from_them(base):
    from endpoint_payloads import ROOT as R
    note = (R / "samples/siveca/cid_notification_3containers.xml").read_bytes()
    sent = parse(note).getroot()
    ns = {"siv": "urn:hub:py:siveca:1"}
    cids = [e.text for e in sent.findall("siv:ContainerCid/siv:Cid", ns)]
    sofia = EndpointConfig.from_dict("s", {"kind": "soap", "url": f"{base}/sofia"})
    r = deliver_sync(sofia, note, message_id="note-1")
    assert r.ok and r.outcome.accepted and list(r.outcome.references) == cids
    assert r.outcome.correlation_id == sent.findtext("siv:Header/siv:MessageId", namespaces=ns)
    from translator import validate
    assert validate(r.outcome.document_root).valid
    container = sent.findtext("siv:ContainerCid[2]/siv:ContainerNo", namespaces=ns)
    ruc = sent.findtext("siv:ImporterId", namespaces=ns)
    ask = (f'<ws:consultarCid xmlns:ws="http://aduana.gov.py/webservices"><ws:autenticacion><ws:firma>f</ws:firma>'
           f'<ws:token>t</ws:token><ws:usuario>u</ws:usuario></ws:autenticacion><ws:rucImportador>{ruc}'
           f'</ws:rucImportador><ws:contenedor>{container}</ws:contenedor></ws:consultarCid>').encode()
    check = deliver_sync(sofia, ask, message_id="check-1")
    assert check.ok and check.outcome.accepted and check.outcome.reference == cids[1]


def test_a_real_outage_and_recovery_keeps_the_counts():
    from samples.endpoints import start_in_thread
    base, stop = start_in_thread(port=0)
    port, sim = stop.port, stop.simulator
    cfg = EndpointConfig.from_dict("o", {"kind": "soap", "url": f"{base}/vnaccs", "timeout": 2})
    assert deliver_sync(cfg, payload("vnaccs"), message_id="before").ok
    stop()
    down = deliver_sync(cfg, payload("vnaccs"), message_id="during")
    assert not down.ok and down.retryable and down.error.startswith("connection refused")
    base2, stop2 = start_in_thread(port=port, simulator=sim)
    try:
        assert base2 == base
        again = deliver_sync(cfg, payload("vnaccs"), message_id="during")
        assert again.ok
        s = httpx.get(f"{base}/vnaccs/_control/stats", timeout=5).json()
        assert (s["attempts"], s["unique"], s["duplicates"]) == (2, 2, 0)
    finally:
        stop2()
