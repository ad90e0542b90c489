"""deliver()/deliver_sync() against the simulated national endpoints on loopback: every kind and SOAP version,
the answer parsed per authority, idempotency headers, and the retryable / non-retryable classification."""
import asyncio

import httpx
import pytest

from routing.endpoints import EndpointConfig, classify, deliver, deliver_sync
from routing.responses import correlates, request_ids, vnaccs_number_ok
from translator import parse

from endpoint_payloads import ROOT, payload

AUTHORITIES = ["vnaccs", "sofia", "prc", "iran"]
FAMILY = {"vnaccs": "vnaccs", "sofia": "siveca", "prc": "prc", "iran": "iran"}


def cfg(base, authority, kind="soap", **kw):
    table = {"kind": kind, "url": f"{base}/{authority}", "timeout": 5}
    table.update(kw)
    return EndpointConfig.from_dict(f"{authority}-test", table)


def check_reference(authority, outcome):
    assert outcome.family == FAMILY[authority]
    assert outcome.accepted, outcome
    if authority == "vnaccs":
        assert vnaccs_number_ok(outcome.reference) and outcome.channel in ("1", "2", "3")
    elif authority == "prc":
        assert len(outcome.reference) == 18 and outcome.reference.isdigit()
    elif authority == "sofia":
        assert len(outcome.references) >= 1 and all(outcome.references)
    elif authority == "iran":
        assert outcome.reference is not None and outcome.reference.isdigit() and len(outcome.reference) == 8


@pytest.mark.parametrize("authority", AUTHORITIES)
@pytest.mark.parametrize("kind, version", [("soap", "1.1"), ("soap", "1.2"), ("http", "1.1")])
def test_each_kind_reaches_each_authority(base, stats, authority, kind, version):
    c = cfg(base, authority, kind, soap_version=version)
    r = deliver_sync(c, payload(authority), message_id=f"msg-{authority}-{kind}-{version}")
    assert r.ok and r.status == 200 and r.error is None, r.error
    check_reference(authority, r.outcome)
    sent = parse(payload(authority)).getroot()
    assert correlates(r.outcome, f"msg-{authority}-{kind}-{version}", *request_ids(sent))
    assert not correlates(r.outcome, "someone-else") or r.outcome.correlation_id is None
    s = stats(authority)
    assert (s["attempts"], s["deliveries"], s["unique"], s["duplicates"]) == (1, 1, 1, 0)


def test_soap_11_and_12_headers_and_answers(base):
    seen = {}
    for version in ("1.1", "1.2"):
        r = deliver_sync(cfg(base, "vnaccs", soap_version=version, soap_action="urn:vn#IDA"), payload("vnaccs"),
                         message_id=f"v{version}")
        assert r.ok
        seen[version] = r.body
    assert b"http://schemas.xmlsoap.org/soap/envelope/" in seen["1.1"]
    assert b"http://www.w3.org/2003/05/soap-envelope" in seen["1.2"]


def test_idempotency_key_counts_duplicates_and_replays_the_same_answer(base, stats):
    c = cfg(base, "vnaccs")
    first = deliver_sync(c, payload("vnaccs"), message_id="m-1", idempotency_key="m-1:route-vn")
    again = deliver_sync(c, payload("vnaccs"), message_id="m-1", idempotency_key="m-1:route-vn")
    other = deliver_sync(c, payload("vnaccs"), message_id="m-2", idempotency_key="m-2:route-vn")
    assert first.outcome.reference == again.outcome.reference != other.outcome.reference
    s = stats("vnaccs")
    assert s["by_key"] == {"m-1:route-vn": 2, "m-2:route-vn": 1}
    assert (s["deliveries"], s["unique"], s["duplicates"]) == (3, 2, 1)


def test_message_id_is_the_key_when_no_idempotency_key_is_given(base, stats):
    deliver_sync(cfg(base, "iran", "http"), payload("iran"), message_id="only-id")
    assert stats("iran")["by_key"] == {"only-id": 1}


def test_async_deliver_with_a_shared_client(base, stats):
    async def run():
        async with httpx.AsyncClient() as client:
            return await asyncio.gather(*[
                deliver(cfg(base, a), payload(a), message_id=f"async-{a}-{i}", client=client)
                for a in AUTHORITIES for i in range(3)])
    results = asyncio.run(run())
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    for a in AUTHORITIES:
        assert stats(a)["unique"] == 3 and stats(a)["duplicates"] == 0


def test_prebuilt_envelope_is_sent_as_is(base, stats):
    env = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body>'
           + payload("prc").split(b"?>", 1)[1].strip() + b"</soap:Body></soap:Envelope>")
    r = deliver_sync(cfg(base, "prc", prebuilt_envelope=True), env, message_id="pre-1")
    assert r.ok and r.outcome.family == "prc", r.error


def test_wsdl_driven_zeep_transport(base, stats):
    c = EndpointConfig.from_dict("vn-zeep", {"kind": "soap", "transport": "zeep", "wsdl": f"{base}/vnaccs?wsdl",
                                             "operation": "Submit", "timeout": 5})
    r = asyncio.run(deliver(c, payload("vnaccs"), message_id="zeep-1"))
    assert r.ok, r.error
    check_reference("vnaccs", r.outcome)
    assert stats("vnaccs")["by_key"] == {"zeep-1": 1}


def test_business_refusal_is_delivered_but_not_accepted(base, control):
    control("vnaccs", mode="reject")
    r = deliver_sync(cfg(base, "vnaccs"), payload("vnaccs"), message_id="rej-1")
    assert r.ok and not r.retryable
    assert not r.outcome.accepted and r.outcome.status == "REJECTED"
    assert ("OE1001-00009", "Doanh nghiệp đã tồn tại bản khai đăng ký trên hệ thống") in r.outcome.messages


# ---------------------------------------------------------------------------------------------- failures
@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize("mode, extra, retryable, status, fault", [
    ("fail", {}, True, 500, None),
    ("down", {}, True, 503, None),
    ("fault", {"fault_code": "Server"}, True, 500, "Server|Receiver"),
    ("fault", {"fault_code": "Client"}, False, None, "Client|Sender"),
])
def test_failure_modes_are_classified(base, control, stats, version, mode, extra, retryable, status, fault):
    control("prc", mode=mode, **extra)
    r = deliver_sync(cfg(base, "prc", soap_version=version), payload("prc"), message_id="f-1")
    assert not r.ok and r.retryable is retryable
    if status is not None:
        assert r.status == status
    if fault:
        assert r.fault_code in fault.split("|") and r.error.startswith("SOAP fault")
    else:
        assert r.fault_code is None and r.error.startswith(f"HTTP {r.status}")
    s = stats("prc")
    assert s["attempts"] == 1 and s["deliveries"] == 0 and s["failed"] == 1


def test_timeout_is_retryable(base, control, stats):
    control("sofia", mode="slow", delay=1.5)
    r = deliver_sync(cfg(base, "sofia"), payload("sofia"), message_id="slow-1", timeout=0.3)
    assert not r.ok and r.retryable and r.status is None
    assert r.error.startswith("timeout after 0.3s")


def test_slow_but_within_timeout_is_ok(base, control):
    control("sofia", mode="slow", delay=0.2)
    r = deliver_sync(cfg(base, "sofia"), payload("sofia"), message_id="slow-2", timeout=5)
    assert r.ok and r.elapsed >= 0.2


def test_connection_refused_is_retryable(closed_port):
    c = EndpointConfig.from_dict("gone", {"kind": "soap", "url": f"http://127.0.0.1:{closed_port}/vnaccs",
                                          "timeout": 2})
    r = deliver_sync(c, payload("vnaccs"), message_id="x")
    assert not r.ok and r.retryable and r.status is None
    assert r.error.startswith("connection refused")
    r2 = asyncio.run(deliver(c, payload("vnaccs"), message_id="x"))
    assert not r2.ok and r2.retryable and r2.error.startswith("connection refused")


def test_unknown_path_4xx_is_not_retryable(base):
    r = deliver_sync(cfg(base, "nowhere", "http"), payload("prc"), message_id="x")
    assert r.status == 404 and not r.ok and not r.retryable


def test_fail_next_returns_to_ok(base, control, stats):
    control("iran", mode="fail", fail_next=2)
    c = cfg(base, "iran")
    results = [deliver_sync(c, payload("iran"), message_id="retry-me") for _ in range(3)]
    assert [r.ok for r in results] == [False, False, True]
    assert all(r.retryable for r in results[:2])
    s = stats("iran")
    assert (s["attempts"], s["failed"], s["deliveries"], s["duplicates"], s["mode"]) == (3, 2, 1, 0, "ok")


def test_payload_that_is_not_xml_is_refused_before_sending_when_it_must_be_parsed(base, stats):
    c = EndpointConfig.from_dict("z", {"kind": "soap", "transport": "zeep", "wsdl": f"{base}/vnaccs?wsdl",
                                       "operation": "Submit"})
    r = deliver_sync(c, b"not xml", message_id="bad")
    assert not r.ok and not r.retryable and r.error.startswith("payload is not XML")
    assert stats("vnaccs")["attempts"] == 0


@pytest.mark.parametrize("status, retryable", [(429, True), (408, True), (502, True), (400, False), (403, False),
                                               (409, False)])
def test_classify_http_status(status, retryable):
    c = EndpointConfig.from_dict("c", {"kind": "http", "url": "http://127.0.0.1:9/x"})
    r = classify(c, status, b"", 0.01)
    assert not r.ok and r.retryable is retryable


def test_classify_fault_inside_http_200():
    c = EndpointConfig.from_dict("c", {"kind": "soap", "url": "http://127.0.0.1:9/x"})
    body = (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Code><e:Value>'
            b'e:Sender</e:Value></e:Code><e:Reason><e:Text xml:lang="en">bad</e:Text></e:Reason></e:Fault>'
            b'</e:Body></e:Envelope>')
    r = classify(c, 200, body, 0.0)
    assert not r.ok and not r.retryable and r.fault_code == "Sender" and r.error == "SOAP fault Sender: bad"


def test_to_dict_is_json_safe(base):
    import json
    r = deliver_sync(cfg(base, "prc"), payload("prc"), message_id="d")
    d = json.loads(json.dumps(r.to_dict()))
    assert d["ok"] and d["outcome"]["family"] == "prc" and d["outcome"]["reference"] == r.outcome.reference


# ---------------------------------------------------------------------------------------------- odd answers
def _mock_client(status, body, headers=None):
    return httpx.Client(transport=httpx.MockTransport(lambda req: httpx.Response(status, content=body,
                                                                                 headers=headers or {})))


def test_an_oversized_answer_is_not_read_whole():
    from routing import endpoints
    big = b"<a>" + b"x" * (endpoints.MAX_RESPONSE_BYTES + 10) + b"</a>"
    c = EndpointConfig.from_dict("m", {"kind": "http", "url": "http://127.0.0.1:9/x"})
    r = deliver_sync(c, payload("prc"), message_id="m", client=_mock_client(200, big))
    assert not r.ok and r.retryable and r.body == b"" and "larger than" in r.error


def test_an_answer_for_another_message_is_flagged():
    answer = ((ROOT / "samples/siveca/cid_notification_1container.xml").read_bytes())
    c = EndpointConfig.from_dict("m", {"kind": "http", "url": "http://127.0.0.1:9/x"})
    r = deliver_sync(c, payload("sofia"), message_id="ours", client=_mock_client(200, answer))
    assert r.ok and r.outcome.accepted and not r.correlated
    assert "correlates to" in r.error
    own = answer.replace(b"0b6c2f3e-6a0e-4b4e-9d1c-7f5a2b0c9e11", b"ours")
    r2 = deliver_sync(c, payload("sofia"), message_id="ours", client=_mock_client(200, own))
    assert r2.ok and r2.correlated and r2.error is None


def test_a_2xx_answer_that_is_not_xml_is_delivered_with_a_note():
    c = EndpointConfig.from_dict("m", {"kind": "http", "url": "http://127.0.0.1:9/x"})
    r = deliver_sync(c, payload("prc"), message_id="m", client=_mock_client(200, b"OK thanks"))
    assert r.ok and r.outcome is None and r.error.startswith("answer is not XML")


@pytest.mark.parametrize("version, ctype", [("1.1", "text/xml; charset=utf-8"),
                                            ("1.2", 'application/soap+xml; charset=utf-8; action="urn:a#Submit"')])
def test_request_headers_and_envelope(version, ctype):
    seen = []

    def handler(req):
        seen.append(req)
        return httpx.Response(200, content=b"")
    c = EndpointConfig.from_dict("h", {"kind": "soap", "url": "http://127.0.0.1:9/x", "soap_version": version,
                                       "soap_action": "urn:a#Submit", "headers": {"X-Partner": "vn-01"}})
    doc = payload("vnaccs")
    r = deliver_sync(c, doc, message_id="mid-1", idempotency_key="mid-1:r1",
                     client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert r.ok and r.outcome is None and r.error is None
    h = seen[0].headers
    assert (h["content-type"], h["x-edihub-message-id"], h["idempotency-key"], h["x-partner"]) == \
        (ctype, "mid-1", "mid-1:r1", "vn-01")
    assert ("soapaction" in h) is (version == "1.1") and h.get("soapaction", '"urn:a#Submit"') == '"urn:a#Submit"'
    env = parse(seen[0].content).getroot()
    body_doc = env[0][0]
    # the document travels byte for byte (minus its XML declaration) inside the Body
    root_start = doc.index(b"<" + etree_local(parse(doc).getroot()).encode())
    assert doc[root_start:].strip() in seen[0].content
    assert b"<!--" not in seen[0].content or b"<!--" in doc[root_start:]
    assert etree_local(body_doc) == etree_local(parse(doc).getroot())


def etree_local(el):
    return el.tag.rpartition("}")[2]


def test_http_kind_posts_the_document_itself():
    seen = []
    c = EndpointConfig.from_dict("h", {"kind": "http", "url": "http://127.0.0.1:9/x"})
    deliver_sync(c, payload("prc"), message_id="m", client=httpx.Client(transport=httpx.MockTransport(
        lambda req: seen.append(req) or httpx.Response(202))))
    assert seen[0].content == payload("prc") and seen[0].headers["content-type"] == "application/xml; charset=utf-8"


def test_non_utf8_payload_is_reencoded_inside_the_envelope():
    from routing.endpoints import soap_envelope
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><A>Asunción</A>'.encode("iso-8859-1")
    env = parse(soap_envelope(latin, "1.1")).getroot()
    assert env[0][0].text == "Asunción"


def test_unreachable_wsdl_is_retryable_and_unknown_operation_is_not(base, closed_port):
    gone = EndpointConfig.from_dict("zw", {"kind": "soap", "transport": "zeep", "operation": "Submit",
                                           "wsdl": f"http://127.0.0.1:{closed_port}/vnaccs?wsdl", "timeout": 2})
    r = deliver_sync(gone, payload("vnaccs"), message_id="m")
    assert not r.ok and r.retryable and "WSDL not reachable" in r.error
    wrong = EndpointConfig.from_dict("zo", {"kind": "soap", "transport": "zeep", "operation": "Launch",
                                            "wsdl": f"{base}/vnaccs?wsdl", "timeout": 2})
    r = deliver_sync(wrong, payload("vnaccs"), message_id="m")
    assert not r.ok and not r.retryable and r.error.startswith("cannot build the request")
