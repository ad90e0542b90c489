"""The simulated endpoints verify the hub's XML signature (signing.verify, hub certificate pinned) on the document
carried inside the SOAP Body: signed by the hub -> delivered; tampered, unsigned or signed by someone else ->
a SOAP Client/Sender fault, not retryable, not counted as a delivery."""
import datetime as dt

import httpx
import pytest

from routing.endpoints import EndpointConfig, deliver_sync
from samples.endpoints import start_in_thread
from translator import parse

from endpoint_payloads import payload

signing = pytest.importorskip("signing")
from signing.devpki import init_dev_pki  # noqa: E402

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    init_dev_pki(d, NOW)
    return d


@pytest.fixture(scope="module")
def verifying_sim(pki):
    base, stop = start_in_thread(port=0, hub_cert=str(pki / "hub.pem"))
    yield base
    stop()


def signed(pki, authority, profile="default", who="hub"):
    signer = signing.LocalSigner.from_files(pki / f"{who}.key", pki / f"{who}.pem")
    return signing.sign(parse(payload(authority)), profile, signer, now=NOW).data


def send(base, authority, data, version="1.1", mid="m"):
    cfg = EndpointConfig.from_dict("sig", {"kind": "soap", "url": f"{base}/{authority}", "soap_version": version,
                                           "timeout": 5})
    return deliver_sync(cfg, data, message_id=mid)


def stats(base, authority):
    return httpx.get(f"{base}/{authority}/_control/stats", timeout=5).json()


def reset(base):
    httpx.post(f"{base}/_control", json={"reset": True}, timeout=5).raise_for_status()


@pytest.mark.parametrize("authority, profile", [("vnaccs", "default"), ("prc", "prc-eport"), ("sofia", "default"),
                                                ("iran", "xades-bes")])
@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_hub_signature_verified_inside_the_envelope(pki, verifying_sim, authority, profile, version):
    reset(verifying_sim)
    r = send(verifying_sim, authority, signed(pki, authority, profile), version)
    assert r.ok and r.outcome.accepted, r.error
    s = stats(verifying_sim, authority)
    assert s["signature"]["verified"] == 1 and s["signature"]["failed"] == 0
    assert "edihub hub" in s["signature"]["last_signer"]


@pytest.mark.parametrize("case", ["tampered", "unsigned", "other-signer"])
def test_bad_signatures_are_refused_with_a_client_fault(pki, verifying_sim, case):
    reset(verifying_sim)
    if case == "tampered":
        data = signed(pki, "prc")
        doc = parse(data).getroot()
        first_text = next(e for e in doc.iter() if isinstance(e.tag, str) and e.text and e.text.strip()
                          and "Signature" not in e.tag and "Signature" not in str(e.getparent().tag))
        data = data.replace(f">{first_text.text}<".encode(), f">{first_text.text}X<".encode(), 1)
    elif case == "unsigned":
        data = payload("prc")
    else:
        data = signed(pki, "prc", who="partner-b")
    r = send(verifying_sim, "prc", data)
    assert not r.ok and not r.retryable and r.fault_code == "Client"
    assert "signature not accepted" in r.error
    s = stats(verifying_sim, "prc")
    assert s["deliveries"] == 0 and s["signature"]["failed"] == 1


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize("tamper", [False, True])
def test_ws_security_signed_envelopes_are_verified(pki, verifying_sim, version, tamper):
    from routing.endpoints import soap_envelope
    from signing import wssec
    reset(verifying_sim)
    signer = signing.LocalSigner.from_files(pki / "hub.key", pki / "hub.pem")
    env = parse(soap_envelope(payload("vnaccs"), version)).getroot()
    data = wssec.sign_envelope(env, signer, NOW)
    if tamper:
        data = data.replace(b"<ICB>", b"<ICB>X", 1) if b"<ICB>" in data else data.replace(b"Body", b"Body ", 1)
    cfg = EndpointConfig.from_dict("ws", {"kind": "soap", "url": f"{verifying_sim}/vnaccs", "soap_version": version,
                                          "prebuilt_envelope": True, "timeout": 5})
    r = deliver_sync(cfg, data, message_id="ws-1")
    s = stats(verifying_sim, "vnaccs")
    if tamper:
        assert not r.ok and not r.retryable and r.fault_code in ("Client", "Sender")
        assert s["signature"]["failed"] == 1 and s["deliveries"] == 0
    else:
        assert r.ok and r.outcome.accepted, r.error
        assert s["signature"]["verified"] == 1 and "edihub hub" in s["signature"]["last_signer"]
