"""The SOAP service: zeep (a legacy client) loads the served WSDL and calls every operation; faults as the SOAP
1.1 and 1.2 specifications require them, each with the edihub detail."""
from __future__ import annotations

import base64

import httpx
import pytest
import requests
from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Fault as ZeepFault
from zeep.transports import Transport

from hubkit import TOKEN, sample

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
HUB = "urn:edihub:hub:1"
IDA = "vnaccs/ida_haiphong_valves_1line.xml"


def zeep_client(hub, token=TOKEN, port=None):
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    client = Client(f"{hub.url}/soap?wsdl", transport=Transport(session=session, timeout=10),
                    settings=Settings(forbid_dtd=True, strict=True))
    if port:
        return client.bind("HubService", port)
    return client.service


@pytest.mark.parametrize("port", ["HubSoap11Port", "HubSoap12Port"])
def test_zeep_calls_every_operation(hub, sim, port):
    svc = zeep_client(hub, port=port)
    raw = sample(IDA)
    v = svc.Validate(Payload=raw)
    assert v.Valid is True and v.Format == "vnaccs:IDA" and not v.Issue
    t = svc.Translate(Target="vnaccs:IDA", Payload=raw)       # identity target: pass-through
    assert t.Target == "vnaccs:IDA" and len(t.Output) == 1 and b"100574219060" in t.Output[0]
    s = svc.Submit(MessageId=f"zeep-{port}", Payload=raw)
    assert s.State == "queued" and s.Duplicate is False and s.Format == "vnaccs:IDA"
    assert [d.Route for d in s.Delivery] == ["vnaccs-pass"]
    hub.wait_state(s.MessageId, "acknowledged")
    st = svc.GetStatus(MessageId=s.MessageId)
    assert st.State == "acknowledged" and st.Delivery[0].State == "acknowledged"
    rc = svc.GetReceipt(MessageId=s.MessageId)
    (r,) = rc.Receipt
    assert r.State == "acknowledged" and r.EndpointStatus == "200"
    assert b"Envelope" in r.EndpointResponse           # the endpoint's answer, exact bytes
    receipt = etree.fromstring(r.HubReceipt)
    assert receipt.findtext(f"{{{HUB}}}MessageId") == s.MessageId
    # resubmission: the existing message, flagged duplicate
    again = svc.Submit(MessageId=f"zeep-{port}", Payload=raw)
    assert again.Duplicate is True and again.MessageId == s.MessageId


def test_zeep_inline_document(hub, sim):
    svc = zeep_client(hub)
    el = etree.fromstring(sample(IDA))
    v = svc.Validate(Document={"_value_1": el})
    assert v.Valid is True


def test_zeep_sees_fault_with_every_validation_error(hub, sim):
    svc = zeep_client(hub)
    bad = sample(IDA).replace(b"<ICN>100574219060</ICN>", b"<ICN>12</ICN>").replace(b"<CH>03CC</CH>", b"<CH>?</CH>")
    with pytest.raises(ZeepFault) as ei:
        svc.Submit(Payload=bad)
    f = ei.value
    assert f.code.endswith("Client")
    detail = f.detail.find(f"{{{HUB}}}HubFault")
    assert detail.findtext(f"{{{HUB}}}Code") == "validation-failed"
    paths = {i.findtext(f"{{{HUB}}}Path") for i in detail.findall(f"{{{HUB}}}Issue")}
    assert {"/IDA/ICN", "/IDA/CH"} <= paths
    mid = detail.findtext(f"{{{HUB}}}MessageId")
    assert hub.runtime.store.message(mid)["state"] == "rejected"


def post(hub, body: bytes, ct="text/xml; charset=utf-8", token=TOKEN):
    h = {"Content-Type": ct}
    if token:
        h["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{hub.url}/soap", content=body, headers=h, timeout=10)


def env(ns, body="", header=""):
    return (f'<e:Envelope xmlns:e="{ns}" xmlns:h="{HUB}">' + (f"<e:Header>{header}</e:Header>" if header else "")
            + (f"<e:Body>{body}</e:Body>" if body is not None else "") + "</e:Envelope>").encode()


STATUS = "<h:GetStatusRequest><h:MessageId>nope</h:MessageId></h:GetStatusRequest>"


def fault11(r):
    x = etree.fromstring(r.content)
    f = x.find(f"{{{S11}}}Body/{{{S11}}}Fault")
    assert f is not None, r.text
    return f.findtext("faultcode"), f.find("detail/{%s}HubFault" % HUB)


def fault12(r):
    x = etree.fromstring(r.content)
    f = x.find(f"{{{S12}}}Body/{{{S12}}}Fault")
    assert f is not None, r.text
    code = f.findtext(f"{{{S12}}}Code/{{{S12}}}Value")
    sub = f.findtext(f"{{{S12}}}Code/{{{S12}}}Subcode/{{{S12}}}Value")
    return code, sub, x


def test_version_mismatch(hub):
    r = post(hub, env("http://example.com/not-soap", STATUS))
    assert r.status_code == 500
    code, detail = fault11(r)
    assert code == "soap:VersionMismatch"
    up = etree.fromstring(r.content).find(f"{{{S11}}}Header/{{{S12}}}Upgrade")
    assert up is not None and len(up) == 2
    sv = {x.get("qname") for x in up}
    resolved = {etree.QName(x.nsmap[q.split(":")[0]], q.split(":")[1]).text for x, q in zip(up, sv) for q in [x.get("qname")]}
    assert resolved == {f"{{{S11}}}Envelope", f"{{{S12}}}Envelope"}
    # a SOAP 1.2 envelope under the SOAP 1.1 content type (text/xml): answered as a SOAP 1.1 node does
    # (SOAP 1.2 Part 1, appendix A): a 1.1 VersionMismatch fault with the Upgrade header
    r = post(hub, env(S12, STATUS), ct="text/xml")
    assert r.status_code == 500 and fault11(r)[0] == "soap:VersionMismatch"
    # and a SOAP 1.1 envelope under the SOAP 1.2 content type
    r = post(hub, env(S11, STATUS), ct="application/soap+xml")
    assert r.status_code == 500 and fault11(r)[0] == "soap:VersionMismatch"


def test_must_understand_11_and_12(hub):
    hdr11 = f'<x:Tx xmlns:x="urn:other" e:mustUnderstand="1">1</x:Tx>'
    r = post(hub, env(S11, STATUS, hdr11))
    assert r.status_code == 500 and fault11(r)[0] == "soap:MustUnderstand"
    r = post(hub, env(S12, STATUS, hdr11.replace('"1"', '"true"')), ct="application/soap+xml")
    code, sub, x = fault12(r)
    assert code == "soap:MustUnderstand" and r.status_code == 500
    nu = x.find(f"{{{S12}}}Header/{{{S12}}}NotUnderstood")
    assert nu is not None and nu.get("qname").endswith(":Tx")
    # mustUnderstand="0", or a header for another role, is ignored
    r = post(hub, env(S11, STATUS, hdr11.replace('"1"', '"0"')))
    assert fault11(r)[0] == "soap:Client"           # message-unknown, not MustUnderstand
    r = post(hub, env(S12, STATUS, hdr11.replace('e:mustUnderstand="1"', 'e:mustUnderstand="true" e:role="urn:someone-else"')),
             ct="application/soap+xml")
    assert fault12(r)[1] == "hub:message-unknown"


@pytest.mark.parametrize("body,code", [
    (None, "soap-no-body"),
    ("", "soap-empty-body"),
    ("<h:Frobnicate/>", "soap-unknown-operation"),
])
def test_envelope_errors_are_client_faults(hub, body, code):
    r = post(hub, env(S11, body))
    fc, detail = fault11(r)
    assert fc == "soap:Client" and detail.findtext(f"{{{HUB}}}Code") == code
    r = post(hub, env(S12, body), ct="application/soap+xml")
    c, sub, _ = fault12(r)
    assert c == "soap:Sender" and sub == f"hub:{code}" and r.status_code == 400


def test_not_xml_and_hostile_xml_are_client_faults(hub):
    r = post(hub, b"<e:Envelope xmlns:e='%s'><e:Body>" % S11.encode())
    assert fault11(r)[0] == "soap:Client"
    evil = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<e:Envelope xmlns:e="' + S11.encode() + b'"><e:Body>&x;</e:Body></e:Envelope>')
    r = post(hub, evil)
    fc, detail = fault11(r)
    assert fc == "soap:Client" and detail.findtext(f"{{{HUB}}}Code") == "xml-dtd-forbidden"
    assert b"root:" not in r.content


def test_unauthenticated_soap_is_refused_and_logged(hub):
    body = ("<h:SubmitRequest><h:Payload>%s</h:Payload></h:SubmitRequest>"
            % base64.b64encode(sample(IDA)).decode())
    r = post(hub, env(S11, body), token=None)
    fc, detail = fault11(r)
    assert fc == "soap:Client" and detail.findtext(f"{{{HUB}}}Code") == "auth-missing"
    r = post(hub, env(S11, body), token="forged")
    assert fault11(r)[1].findtext(f"{{{HUB}}}Code") == "auth-failed"
    assert hub.runtime.store.list_messages() == []
    assert {"auth-missing", "auth-failed"} <= {x["code"] for x in hub.runtime.store.refusals()}


def test_soap_body_limit_413(hub):
    big = env(S11, "<h:ValidateRequest><h:Payload>" + "A" * 300_000 + "</h:Payload></h:ValidateRequest>")
    r = post(hub, big)
    assert r.status_code == 413 and fault11(r)[0] == "soap:Client"


def test_wsdl_is_served_with_this_address(hub):
    w = httpx.get(f"{hub.url}/soap?wsdl").content
    assert f'location="{hub.url}/soap"'.encode() in w
    xsd = httpx.get(f"{hub.url}/edihub.xsd")
    assert xsd.status_code == 200 and b"SubmitRequest" in xsd.content
