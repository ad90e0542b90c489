"""The console against a served hub and the simulated national endpoints: search, journey, documents,
resend of a dead message, cancel of a waiting one, each action audited with the console user's name."""
from __future__ import annotations

import re
import time

import pytest

from consolekit import ServedConsole, csrf_of, sample

IMPORT = "prc/import_1_line.xml"
DECL_NO = "224820241000654321"           # EntryId of samples/prc/import_1_line.xml (the business key)


def _ids(html: str) -> list[str]:
    return re.findall(r'href="/console/messages/(M[0-9A-F]+)" class="mid"', html)


def test_find_by_declaration_number_reference_and_filters(served):
    bad = served.submit(sample("prc/invalid/prc-gross-lt-net.xml"))     # same declaration number, rejected
    assert bad["state"] == "rejected"
    mid = served.submit(sample(IMPORT))["message_id"]
    st = served.wait_state(mid, "acknowledged")
    c = served.login("vic")

    # (the hub stores no business key for a message rejected by validation, so only the accepted one is found)
    assert _ids(c.get("/console/messages", params={"q": DECL_NO}).text) == [mid]
    assert _ids(c.get("/console/messages", params={"q": mid}).text) == [mid]
    # the customs number the (simulated) PRC single window gave in its DEC_RESULT answer
    receipt = [a for a in st["history"] if a["to"] == "acknowledged"]
    assert receipt
    page = c.get(f"/console/messages/{mid}").text
    ref = re.search(r'reference <b class="ref">([^<]+)</b>', page).group(1)
    assert ref != DECL_NO and len(ref) == 18
    assert _ids(c.get("/console/messages", params={"q": ref}).text) == [mid]
    assert _ids(c.get("/console/messages", params={"q": ref[:-1]}).text) == []
    assert _ids(c.get("/console/messages", params={"q": "%"}).text) == []

    all_ids = _ids(c.get("/console/messages").text)
    assert set(all_ids) == {mid, bad["message_id"]}
    assert _ids(c.get("/console/messages", params={"state": "rejected"}).text) == [bad["message_id"]]
    assert _ids(c.get("/console/messages", params={"route": "prc-pass"}).text) == [mid]
    assert _ids(c.get("/console/messages", params={"format": "prc"}).text) == all_ids
    assert _ids(c.get("/console/messages", params={"format": "vnaccs"}).text) == []
    assert _ids(c.get("/console/messages", params={"partner": "partner-a", "state": "acknowledged"}).text) == [mid]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert set(_ids(c.get("/console/messages", params={"since": today, "until": today}).text)) == set(all_ids)
    assert _ids(c.get("/console/messages", params={"until": "2001-01-01"}).text) == []
    r = c.get("/console/messages", params={"since": "yesterday"})
    assert r.status_code == 200 and "since: expected YYYY-MM-DD" in r.text
    # counts per state under the other filters
    page = c.get("/console/messages", params={"format": "prc"}).text
    assert re.search(r"acknowledged <b>1</b>", page) and re.search(r"rejected <b>1</b>", page)


def test_journey_documents_signature_and_downloads(served):
    raw = sample(IMPORT)
    mid = served.submit(raw)["message_id"]
    served.wait_state(mid, "acknowledged")
    c = served.login("vic")
    page = c.get(f"/console/messages/{mid}").text
    tl = page[page.index('id="timeline"'):page.index("</ol>")]
    for state in ("received", "validated", "queued", "sending", "acknowledged"):
        assert f"<b>{state}</b>" in tl, state
    assert "prc-pass" in tl and " ms" in tl
    # signature evidence of the outbound document, with the certificate's validity from the configuration
    assert "CN=edihub hub" in page and "signing.hub: valid" in page and "days left" in page
    assert "passed through unchanged" in page
    # highlighted XML, escaped
    assert '<span class="x-name">DecMessage</span>' in page
    assert f'<span class="x-text">{DECL_NO}</span>' in page
    # downloads: the stored bytes, unchanged
    d = c.get(f"/console/messages/{mid}/inbound.xml")
    assert d.status_code == 200 and d.content == raw and "attachment" in d.headers["content-disposition"]
    doc_ids = re.findall(rf"/console/messages/{mid}/documents/(\d+)\.xml", page)
    assert doc_ids
    out = c.get(f"/console/messages/{mid}/documents/{doc_ids[0]}.xml")
    assert out.status_code == 200 and b"Signature" in out.content
    resp = re.search(rf"/console/messages/{mid}/deliveries/([^/]+)/attempts/1\.xml", page)
    got = c.get(resp.group(0))
    assert got.status_code == 200 and b"DEC_RESULT" in got.content
    assert c.get(f"/console/messages/{mid}/documents/99999.xml").status_code == 404
    assert c.get("/console/messages/MNOSUCHMESSAGE").status_code == 404


def test_rejected_message_shows_its_validation_errors(served):
    bad = served.submit(sample("prc/invalid/prc-gross-lt-net.xml"))
    c = served.login("vic")
    page = c.get(f"/console/messages/{bad['message_id']}").text
    v = page[page.index('id="validation"'):]
    assert "<code>prc-gross-lt-net</code>" in v
    assert "No delivery" in page


def test_resend_a_dead_message_until_delivered(served, sim):
    sim("prc", mode="fail")                                    # HTTP 500 on every attempt
    mid = served.submit(sample(IMPORT))["message_id"]
    st = served.wait_state(mid, "dead")
    assert st["deliveries"][0]["attempts"] == 2
    sim("prc", mode="ok")
    c = served.login("olga")
    page = c.get(f"/console/messages/{mid}").text
    assert 'id="state">dead<' in page and 'id="resend"' in page and "HTTP 500" in page
    r = c.post(f"/console/messages/{mid}/resend", data={"csrf": csrf_of(page)})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/console/messages/{mid}?done=resent")
    st = served.wait_state(mid, "acknowledged")
    page = c.get(r.headers["location"]).text
    assert "1 delivery(ies) put back in the queue" in page
    assert "console: resend by olga (1 delivery(ies) requeued)" in page
    assert any(h["detail"] == "console: resend by olga (1 delivery(ies) requeued)" for h in st["history"])
    assert [a["outcome"] for a in st["deliveries"][0]["attempt_log"]] == ["failed", "failed", "acknowledged"]


def test_cancel_a_waiting_message_then_resend_it(tmp_path, pki, endpoints, sim):
    sim("prc", mode="down")                                    # 503: retryable, next attempt in 30 s
    h = ServedConsole(tmp_path, pki, endpoints, max_attempts=5, backoff=30.0)
    try:
        mid = h.submit(sample(IMPORT))["message_id"]
        h.wait_state(mid, "failed")
        c = h.login("olga")
        page = c.get(f"/console/messages/{mid}").text
        assert 'id="cancel"' in page
        r = c.post(f"/console/messages/{mid}/cancel", data={"csrf": csrf_of(page)})
        assert r.status_code == 303 and "done=cancelled" in r.headers["location"]
        st = h.state(mid)
        assert st["state"] == "cancelled" and st["deliveries"][0]["state"] == "cancelled"
        assert any(x["detail"] == "console: cancelled by olga" and x["to"] == "cancelled" for x in st["history"])
        # cancelled is final: nothing waits any more, and cancelling again does nothing
        page = c.get(r.headers["location"]).text
        assert 'id="cancel"' not in page and 'id="resend"' in page
        r = c.post(f"/console/messages/{mid}/cancel", data={"csrf": csrf_of(page)})
        assert "done=cancel-none" in r.headers["location"]
        # the operator changes their mind: resend puts it back; the endpoint is up again
        sim("prc", mode="ok")
        r = c.post(f"/console/messages/{mid}/resend", data={"csrf": csrf_of(page)})
        assert r.status_code == 303
        assert h.wait_state(mid, "acknowledged")["state"] == "acknowledged"
    finally:
        h.stop()


def test_routes_page_shows_health_queue_and_failures(served, sim):
    ok = served.submit(sample(IMPORT))["message_id"]
    served.wait_state(ok, "acknowledged")
    c = served.login("vic")
    page = c.get("/console/routes").text
    row = re.search(r'<tr class="health-(\w+)">\s*<td><a href="/console/messages\?route=prc-pass">', page)
    assert row and row.group(1) == "up"
    assert re.search(r'route=vnaccs-pass">vnaccs-pass</a></td>.*?health unknown', page, re.S)
    sim("prc", mode="fail")
    bad = served.submit(sample("prc/export_20_lines.xml"), )["message_id"]
    served.wait_state(bad, {"dead", "rejected"})
    page = c.get("/console/routes").text
    row = re.search(r'<tr class="health-(\w+)">\s*<td><a href="/console/messages\?route=prc-pass">.*?</tr>',
                    page, re.S)
    assert row.group(1) == "failing"
    assert "HTTP 500" in row.group(0) and "2 since the last success" in row.group(0)


def test_certificates_page_warns_and_flags_expired(served):
    c = served.login("vic")
    page = c.get("/console/certificates").text
    assert re.search(r'<tr class="cert-expired">\s*<td>partners\.partner-a: [^<]*expired\.pem</td>', page)
    # warn threshold 400 days in the test configuration: the one-year certificates are warnings
    assert re.search(r'<tr class="cert-warning">\s*<td>signing\.hub</td>', page)
    assert page.index("cert-expired") < page.index("cert-warning")       # soonest expiry first


@pytest.mark.parametrize("path", ["/console", "/console/"])
def test_console_root_goes_to_messages(served, path):
    c = served.login("vic")
    r = c.get(path)
    assert r.status_code == 303 and r.headers["location"] == "/console/messages"


def test_translated_delivery_shows_its_mapping_report(served):
    """A PRC export declaration fans out to the PRC pass-through and the VNACCS import declaration (translated):
    the VNACCS delivery shows the mapping report of the translation."""
    res = served.submit(sample("prc/export_20_lines.xml"))
    assert res["state"] == "queued", res
    mid = res["message_id"]
    served.wait_state(mid, {"acknowledged", "delivered", "rejected", "dead"})
    c = served.login("vic")
    page = c.get(f"/console/messages/{mid}").text
    sections = re.findall(r'<section class="delivery".*?</section>', page, re.S)
    vn = [s for s in sections if "prc-export-vnaccs" in s]
    assert len(vn) == 1
    m = re.search(r"Mapping report: prc:DecMessage → vnaccs:IDA —\s*(\d+) filled, (\d+) converted", vn[0])
    assert m and int(m.group(1)) > 0
    assert '<tr class="map-' in vn[0]                        # one row per target field
    assert '<span class="x-name">IDA</span>' in vn[0]        # the translated document, highlighted
