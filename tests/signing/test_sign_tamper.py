"""Tampering with one byte of the signed content, of SignedInfo, of the SignatureValue or with the certificate
fails, for every profile, with a reason that names what changed."""
from __future__ import annotations

import base64
import re

import pytest

from signing import VerifyPolicy, sign, verify

from sign_helpers import NOW

PROFILES = [("default", "hub"), ("default", "hub-ec"), ("prc-eport", "hub"), ("sm2-sm3", "sm2"),
            ("xades-bes", "hub")]


@pytest.fixture
def signed(request, decl, signers, trust, sm2_keys):
    profile, signer = request.param
    data = sign(decl, profile, signers[signer], now=NOW).data
    policy = VerifyPolicy(now=NOW, profiles=(profile,), trust=trust, sm2_keys=sm2_keys)
    assert verify(data, policy).valid
    return profile, data, policy


def _flip_b64_char(text: bytes, pos: int) -> bytes:
    c = text[pos:pos + 1]
    return text[:pos] + (b"B" if c != b"B" else b"C") + text[pos + 1:]


@pytest.mark.parametrize("signed", PROFILES, indirect=True, ids=[f"{p}-{s}" for p, s in PROFILES])
def test_one_byte_of_signed_content(signed):
    _, data, policy = signed
    m = re.search(rb"<GQty>(\d)", data)
    assert m, "the declaration has goods quantities"
    digit = m.group(1)
    tampered = data[:m.start(1)] + (b"9" if digit != b"9" else b"8") + data[m.end(1):]
    assert len(tampered) == len(data)
    res = verify(tampered, policy)
    assert not res.valid and res.code == "digest-mismatch"
    assert "URI ''" in res.reason and "/DecMessage" in res.reason and "changed after signing" in res.reason


@pytest.mark.parametrize("signed", PROFILES, indirect=True, ids=[f"{p}-{s}" for p, s in PROFILES])
def test_one_byte_inserted_into_signed_info(signed):
    _, data, policy = signed
    tampered = data.replace(b"<ds:SignedInfo>", b"<ds:SignedInfo> ", 1)
    res = verify(tampered, policy)
    assert not res.valid and res.code == "signature-invalid" and "SignedInfo" in res.reason


@pytest.mark.parametrize("signed", PROFILES, indirect=True, ids=[f"{p}-{s}" for p, s in PROFILES])
def test_one_byte_of_digest_value(signed):
    _, data, policy = signed
    m = re.search(rb"<ds:DigestValue>", data)
    res = verify(_flip_b64_char(data, m.end()), policy)
    assert not res.valid and res.code == "digest-mismatch"


@pytest.mark.parametrize("signed", PROFILES, indirect=True, ids=[f"{p}-{s}" for p, s in PROFILES])
def test_one_byte_of_signature_value(signed):
    _, data, policy = signed
    m = re.search(rb"<ds:SignatureValue>", data)
    res = verify(_flip_b64_char(data, m.end() + 5), policy)
    assert not res.valid and res.code == "signature-invalid"


CERT_PROFILES = [p for p in PROFILES if p[0] != "sm2-sm3"]


@pytest.mark.parametrize("signed", CERT_PROFILES, indirect=True, ids=[f"{p}-{s}" for p, s in CERT_PROFILES])
def test_certificate_byte_in_its_ca_signature(signed):
    """A changed byte in the CA's signature over the certificate: the key still verifies the document, but the
    certificate no longer chains to the CA."""
    _, data, policy = signed
    m = re.search(rb"<ds:X509Certificate>([^<]+)</ds:X509Certificate>", data)
    tampered = _flip_b64_char(data, m.end(1) - 12)
    res = verify(tampered, policy)
    assert not res.valid and res.code == "untrusted-certificate" and "edihub hub" in res.reason


@pytest.mark.parametrize("signed", CERT_PROFILES, indirect=True, ids=[f"{p}-{s}" for p, s in CERT_PROFILES])
def test_certificate_swapped_for_another_trusted_one(signed, signers):
    _, data, policy = signed
    other = base64.b64encode(signers["partner-a"].certificate.public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER))
    tampered = re.sub(rb"(<ds:X509Certificate>)[^<]+", lambda m: m.group(1) + other, data, count=1)
    res = verify(tampered, policy)
    assert not res.valid and res.code == "signature-invalid" and "partner A" in res.reason


@pytest.mark.parametrize("signed", [("sm2-sm3", "sm2")], indirect=True, ids=["sm2"])
def test_sm2_keyname_with_unknown_key(signed):
    _, data, policy = signed
    res = verify(data.replace(b"<ds:KeyName>hub-sm2<", b"<ds:KeyName>other<"), policy)
    assert not res.valid and res.code == "untrusted-key" and "'other'" in res.reason


@pytest.mark.parametrize("signed", [("xades-bes", "hub")], indirect=True, ids=["xades"])
def test_xades_signing_time_changed(signed):
    _, data, policy = signed
    res = verify(data.replace(b"2026-11-23T12:00:00Z", b"2026-11-23T12:00:01Z"), policy)
    assert not res.valid and res.code == "digest-mismatch" and "SignedProperties" in res.reason


def test_unreadable_input_is_a_result_not_a_traceback(trust):
    res = verify(b"<a><b></a>", VerifyPolicy(now=NOW, trust=trust))
    assert not res.valid and res.code == "xml-malformed"
    res = verify(b"<a/>", VerifyPolicy(now=NOW, trust=trust))
    assert not res.valid and res.code == "signature-missing"


def test_xades_signing_time_in_the_future_is_refused(decl, signers, trust):
    import datetime as dt
    data = sign(decl, "xades-bes", signers["hub"], now=NOW + dt.timedelta(hours=1)).data
    res = verify(data, VerifyPolicy(now=NOW, profiles=("xades-bes",), trust=trust))
    assert not res.valid and res.code == "xades-signing-time-future"
    res = verify(data, VerifyPolicy(now=NOW + dt.timedelta(minutes=58), profiles=("xades-bes",), trust=trust))
    assert res.valid


def test_bad_cover_xpath_is_a_result(decl, signers, trust):
    data = sign(decl, "default", signers["hub"]).data
    res = verify(data, VerifyPolicy(now=NOW, trust=trust, cover="/d:DecMessage["))
    assert not res.valid and res.code == "cover-invalid"
