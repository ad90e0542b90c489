"""External signer: the key stays in a signing service on loopback; edihub posts the canonical SignedInfo and
gets the SignatureValue back. Every profile that fits an RSA/EC key works through it."""
from __future__ import annotations

import base64
import json

import httpx
import pytest

from signing import RemoteSigner, SigningError, VerifyPolicy, sign, verify
from signing import algorithms as alg
from signing.service import SigningService
from signing.wssec import SOAP11, sign_envelope, verify_envelope
from translator import parse

from sign_helpers import NOW

TOKEN = "test-token-not-secret"


@pytest.fixture(scope="module")
def service(signers):
    svc = SigningService({"hub": signers["hub"], "hub-ec": signers["hub-ec"]}, token=TOKEN,
                         methods={"hub": {alg.RSA_SHA256, alg.RSA_SHA1}})
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def remote(service):
    r = RemoteSigner(service.url, "hub", token=TOKEN, timeout=5)
    yield r
    r.close()


@pytest.mark.parametrize("profile", ["default", "prc-eport", "xades-bes"])
def test_profiles_through_the_signing_service(profile, remote, service, decl, trust, signers):
    before = service.signed
    result = sign(decl, profile, remote, now=NOW)
    assert service.signed == before + 1
    res = verify(result.data, VerifyPolicy(now=NOW, trust=trust, profiles=(profile,)))
    assert res.valid, res.reason
    assert res.evidence.signer_certificate == signers["hub"].certificate


def test_ecdsa_key_through_the_service(service, decl, trust):
    r = RemoteSigner(service.url, "hub-ec", token=TOKEN)
    try:
        res = verify(sign(decl, "default", r).data, VerifyPolicy(now=NOW, trust=trust))
        assert res.valid and res.evidence.algorithm == "ecdsa-sha256"
    finally:
        r.close()


def test_ws_security_through_the_service(remote, signers):
    env = parse(f'<s:Envelope xmlns:s="{SOAP11}"><s:Body><x xmlns="urn:x">1</x></s:Body></s:Envelope>'.encode())
    data = sign_envelope(env, remote, NOW)
    assert verify_envelope(parse(data), [signers["hub"].certificate], NOW).body is not None


def test_wrong_token_is_refused(service):
    with pytest.raises(SigningError) as e:
        RemoteSigner(service.url, "hub", token="wrong")
    assert e.value.code == "signer-refused" and "401" in e.value.message


def test_service_signs_only_a_signed_info(service):
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False) as c:
        body = {"key": "hub", "method": alg.RSA_SHA256, "signed_info": base64.b64encode(b"<Order>pay 1M</Order>").decode()}
        r = c.post(f"{service.url}/sign", json=body)
        assert r.status_code == 400 and "SignedInfo" in r.json()["error"]
        body["signed_info"] = base64.b64encode(b"raw bytes").decode()
        assert c.post(f"{service.url}/sign", json=body).status_code == 400
        body["method"] = alg.RSA_SHA1
        body["key"] = "hub-ec"
        r = c.post(f"{service.url}/sign", json=body)
        assert r.status_code == 403
        r = c.post(f"{service.url}/sign", content=b"not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and json.loads(r.text)["error"]


def test_unreachable_service_is_a_clear_error():
    with pytest.raises(SigningError) as e:
        RemoteSigner("http://127.0.0.1:9", "hub", timeout=1)
    assert e.value.code == "signer-unreachable"
