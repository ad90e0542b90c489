"""SOAP submissions authenticated by a WS-Security signature (signing.wssec) against the partner's certificate."""
from __future__ import annotations

import base64
import datetime as dt

import httpx
from lxml import etree

from hubkit import sample

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
HUB = "urn:edihub:hub:1"


def signed_submit(pki, who: str, doc: bytes, tamper=None) -> bytes:
    from signing import LocalSigner
    from signing.wssec import sign_envelope
    env = etree.fromstring(
        f'<s:Envelope xmlns:s="{S11}"><s:Header/><s:Body><h:SubmitRequest xmlns:h="{HUB}">'
        f'<h:Payload>{base64.b64encode(doc).decode()}</h:Payload></h:SubmitRequest></s:Body></s:Envelope>'.encode())
    signer = LocalSigner.from_files(pki / f"{who}.key", pki / f"{who}.pem")
    data = sign_envelope(env, signer, dt.datetime.now(dt.timezone.utc))
    return tamper(data) if tamper else data


def post(hub, data):
    return httpx.post(f"{hub.url}/soap", content=data, headers={"Content-Type": "text/xml"}, timeout=10)


def code_of(r):
    return etree.fromstring(r.content).findtext(f".//{{{HUB}}}HubFault/{{{HUB}}}Code")


def test_signed_submission_accepted_without_token(hub, pki, sim):
    r = post(hub, signed_submit(pki, "partner-a", sample("vnaccs/ida_haiphong_valves_1line.xml")))
    assert r.status_code == 200, r.text
    x = etree.fromstring(r.content)
    mid = x.findtext(f".//{{{HUB}}}MessageId")
    assert hub.runtime.store.message(mid)["partner"] == "partner-a"
    # the same signed envelope again: a replay, refused
    hub.wait_state(mid, "acknowledged")


def test_replayed_envelope_refused(hub, pki):
    data = signed_submit(pki, "partner-a", sample("vnaccs/ida_haiphong_valves_1line.xml"))
    assert post(hub, data).status_code == 200
    r = post(hub, data)
    assert r.status_code == 500 and code_of(r) == "wssec-invalid"


def test_tampered_body_refused_and_nothing_accepted(hub, pki):
    doc = sample("vnaccs/ida_haiphong_valves_1line.xml")
    other = base64.b64encode(sample("vnaccs/ida_catlai_electronics_22lines.xml"))

    def swap(data: bytes) -> bytes:
        start = data.index(b"Payload>") + len(b"Payload>")
        end = data.index(b"</", start)
        return data[:start] + other + data[end:]
    r = post(hub, signed_submit(pki, "partner-a", doc, swap))
    assert code_of(r) == "wssec-invalid"
    assert hub.runtime.store.list_messages() == []
    assert "wssec-invalid" in {x["code"] for x in hub.runtime.store.refusals()}


def test_unknown_certificate_and_unauthorised_type(hub, pki):
    doc = sample("vnaccs/ida_haiphong_valves_1line.xml")
    r = post(hub, signed_submit(pki, "untrusted", doc))
    assert code_of(r) == "wssec-unknown-certificate"
    r = post(hub, signed_submit(pki, "partner-b", sample("siveca/registration_shanghai_asuncion_1line.xml")))
    assert code_of(r) == "not-authorised"
    assert hub.runtime.store.list_messages() == []
