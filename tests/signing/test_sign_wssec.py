"""WS-Security: SOAP 1.1 and 1.2 envelopes signed and verified; clock skew, expiry, replay, wrapping of the
Body, partner certificates; output verifies in xmlsec1."""
from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from lxml import etree

from signing import SigningError, TrustStore
from signing.wssec import SOAP11, SOAP12, WSSE, WSU, ReplayCache, sign_envelope, verify_envelope
from translator import parse

from sign_helpers import NOW

BODY = '<m:SubmitDeclaration xmlns:m="urn:edihub:test"><m:SeqNo>42</m:SeqNo><m:Amount>100.00</m:Amount>' \
       '</m:SubmitDeclaration>'


def envelope(ns: str, header: bool = False) -> etree._ElementTree:
    h = '<soap:Header><a:To xmlns:a="http://www.w3.org/2005/08/addressing">urn:x</a:To></soap:Header>' if header else ""
    return parse(f'<soap:Envelope xmlns:soap="{ns}">{h}<soap:Body>{BODY}</soap:Body></soap:Envelope>'.encode())


@pytest.fixture(params=[SOAP11, SOAP12], ids=["soap11", "soap12"])
def signed(request, signers):
    return request.param, sign_envelope(envelope(request.param), signers["hub"], NOW, ttl=300)


def _verify(data, signers, now=NOW, **kw):
    return verify_envelope(parse(data), [signers["hub"].certificate], now, **kw)


def test_sign_and_verify(signed, signers, trust):
    ns, data = signed
    ev = _verify(data, signers, trust=trust, replay_cache=ReplayCache())
    assert etree.QName(ev.body).localname == "Body" and etree.QName(ev.body).namespace == ns
    assert ev.body[0].tag == "{urn:edihub:test}SubmitDeclaration"
    assert ev.created == NOW and ev.expires == NOW + dt.timedelta(seconds=300)
    assert ev.signature.algorithm == "rsa-sha256" and ev.signature.trusted_by == "pinned"
    assert {r.path for r in ev.signature.references} == {"/Envelope/Body", "/Envelope/Header/Security/Timestamp"}
    tree = parse(data)
    ts = tree.find(f".//{WSU}Timestamp")
    assert len(ts.findall(f"{WSU}Created")) == 1 and len(ts.findall(f"{WSU}Expires")) == 1
    assert tree.find(f".//{WSSE}BinarySecurityToken") is not None


def test_existing_header_is_kept(signers):
    data = sign_envelope(envelope(SOAP11, header=True), signers["hub-ec"], NOW)
    ev = _verify(data, {"hub": signers["hub-ec"]})
    assert ev.signature.algorithm == "ecdsa-sha256"
    assert parse(data).find(".//{http://www.w3.org/2005/08/addressing}To") is not None


def test_clock_skew_tolerance(signed, signers):
    _, data = signed
    assert _verify(data, signers, now=NOW - dt.timedelta(seconds=200), max_skew=300)      # sender clock ahead
    with pytest.raises(SigningError) as e:
        _verify(data, signers, now=NOW - dt.timedelta(seconds=400), max_skew=300)
    assert e.value.code == "timestamp-future"
    assert _verify(data, signers, now=NOW + dt.timedelta(seconds=550), max_skew=300)      # expired 250 s ago
    with pytest.raises(SigningError) as e:
        _verify(data, signers, now=NOW + dt.timedelta(seconds=700), max_skew=300)
    assert e.value.code == "timestamp-expired" and "expired at 2026-11-23T12:05:00Z" in e.value.message


def test_replayed_message_is_refused_within_ttl(signed, signers):
    _, data = signed
    cache = ReplayCache(ttl=600)
    _verify(data, signers, replay_cache=cache)
    with pytest.raises(SigningError) as e:
        _verify(data, signers, now=NOW + dt.timedelta(seconds=10), replay_cache=cache)
    assert e.value.code == "replay"
    # after the TTL the cache forgets it; the expired Timestamp still refuses an old replay
    with pytest.raises(SigningError) as e:
        _verify(data, signers, now=NOW + dt.timedelta(seconds=1000), replay_cache=cache)
    assert e.value.code == "timestamp-expired"


def test_tampered_body(signed, signers):
    _, data = signed
    with pytest.raises(SigningError) as e:
        _verify(data.replace(b"<m:Amount>100.00<", b"<m:Amount>900.00<"), signers)
    assert e.value.code == "digest-mismatch" and "/Envelope/Body" in e.value.message


def test_tampered_timestamp(signed, signers):
    _, data = signed
    with pytest.raises(SigningError) as e:
        _verify(data.replace(b"12:05:00Z", b"12:59:00Z"), signers)
    assert e.value.code == "digest-mismatch" and "Timestamp" in e.value.message


def test_body_wrapping_attack(signed, signers):
    """The signed Body is moved into a header element; a new, unsigned Body takes its place."""
    ns, data = signed
    env = parse(data).getroot()
    body = env.find(f"{{{ns}}}Body")
    header = env.find(f"{{{ns}}}Header")
    wrapper = etree.SubElement(header, "{urn:evil}Wrapper")
    env.remove(body)
    wrapper.append(body)
    evil = etree.SubElement(env, f"{{{ns}}}Body")
    etree.SubElement(evil, "{urn:edihub:test}SubmitDeclaration").text = "evil"
    with pytest.raises(SigningError) as e:
        verify_envelope(env, [signers["hub"].certificate], NOW)
    assert e.value.code == "not-covered"


def test_two_created_are_refused(signed, signers):
    _, data = signed
    env = parse(data)
    ts = env.find(f".//{WSU}Timestamp")
    extra = etree.SubElement(ts, f"{WSU}Created")
    extra.text = "2026-11-23T12:00:00Z"
    with pytest.raises(SigningError) as e:
        verify_envelope(env, [signers["hub"].certificate], NOW)
    assert e.value.code == "timestamp-malformed" and "exactly one Created" in e.value.message


def test_signer_not_among_partner_certificates(signed, signers, trust):
    _, data = signed
    with pytest.raises(SigningError) as e:
        verify_envelope(parse(data), [signers["partner-a"].certificate, signers["partner-a-next"].certificate], NOW)
    assert e.value.code == "untrusted-certificate" and "edihub hub" in e.value.message
    assert verify_envelope(parse(data), [], NOW, trust=trust).signature.trusted_by == "trust-store"


def test_untrusted_ca_via_trust_store(signers, trust):
    data = sign_envelope(envelope(SOAP12), signers["untrusted"], NOW)
    with pytest.raises(SigningError) as e:
        verify_envelope(parse(data), [], NOW, trust=trust)
    assert e.value.code == "untrusted-certificate"


def test_missing_security_header_and_no_trust(signers):
    with pytest.raises(SigningError) as e:
        verify_envelope(envelope(SOAP11), [signers["hub"].certificate], NOW)
    assert e.value.code == "wssec-missing"
    with pytest.raises(SigningError) as e:
        verify_envelope(envelope(SOAP11), [], NOW)
    assert e.value.code == "no-trust-anchor"
    with pytest.raises(SigningError) as e:
        sign_envelope(parse(b"<notsoap/>"), signers["hub"], NOW)
    assert e.value.code == "soap-malformed"


@pytest.mark.parametrize("ns", [SOAP11, SOAP12], ids=["soap11", "soap12"])
def test_xmlsec1_verifies_ws_security_output(ns, signers, pki, tmp_path, xmlsec1):
    f = tmp_path / "env.xml"
    f.write_bytes(sign_envelope(envelope(ns), signers["hub"], NOW))
    p = subprocess.run([xmlsec1, "--verify", "--pubkey-cert-pem", str(pki / "hub.pem"), "--id-attr:Id", "Body",
                        "--id-attr:Id", "Timestamp", str(f)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "OK" in p.stdout + p.stderr, p.stderr
    assert "SignedInfo References (ok/all): 2/2" in p.stdout + p.stderr
    f.write_bytes(f.read_bytes().replace(b"100.00", b"900.00"))
    p = subprocess.run([xmlsec1, "--verify", "--pubkey-cert-pem", str(pki / "hub.pem"), "--id-attr:Id", "Body",
                        "--id-attr:Id", "Timestamp", str(f)], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0


def test_payload_in_a_default_namespace_declared_on_the_envelope(signers, pki, tmp_path, xmlsec1):
    """Payload in a default namespace declared on the Envelope (outside the signed Body): the exclusive-C14N
    digest over the Body agrees with xmlsec1. (The inclusive-C14N case where lxml writes a spurious xmlns="" is
    caught by the W3C vector aleksey enveloping-sha256-rsa-sha256 in test_sign_interop.py.)"""
    env = parse(f'<soap:Envelope xmlns:soap="{SOAP11}" xmlns="urn:payload"><soap:Body><Ping><a>1</a><b>2</b>'
                f'</Ping></soap:Body></soap:Envelope>'.encode())
    data = sign_envelope(env, signers["hub"], NOW)
    assert verify_envelope(parse(data), [signers["hub"].certificate], NOW).body is not None
    f = tmp_path / "env.xml"
    f.write_bytes(data)
    p = subprocess.run([xmlsec1, "--verify", "--pubkey-cert-pem", str(pki / "hub.pem"), "--id-attr:Id", "Body",
                        "--id-attr:Id", "Timestamp", str(f)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
