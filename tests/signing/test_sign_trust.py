"""Trust: chain to the trust store folder, validity at `now`, key usage, CRL, pinned partner certificates with
a rollover pair, and days-to-expiry reporting."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from signing import LocalSigner, SigningError, TrustStore, VerifyPolicy, sign, verify
from signing.devpki import certificates_in, expiry_of, make_certificate

from sign_helpers import NOW, declaration_bytes
from translator import parse


def _signed(decl, signer):
    return sign(decl, "default", signer).data


@pytest.mark.parametrize("name", ["hub", "partner-a", "partner-a-next", "partner-b", "hub-ec"])
def test_certificates_of_the_dev_ca_are_trusted(decl, signers, trust, name):
    res = verify(_signed(decl, signers[name]), VerifyPolicy(now=NOW, trust=trust))
    assert res.valid, res.reason
    assert res.evidence.trusted_by == "trust-store" and len(res.evidence.chain) == 2


def test_untrusted_ca(decl, signers, trust):
    res = verify(_signed(decl, signers["untrusted"]), VerifyPolicy(now=NOW, trust=trust))
    assert not res.valid and res.code == "untrusted-certificate"
    assert "partner of an untrusted CA" in res.reason and "untrusted CA" in res.reason


def test_expired_certificate(decl, signers, trust):
    res = verify(_signed(decl, signers["expired"]), VerifyPolicy(now=NOW, trust=trust))
    assert not res.valid and res.code == "certificate-expired" and "expired partner" in res.reason


def test_revoked_certificate_via_crl_file(decl, signers, trust):
    res = verify(_signed(decl, signers["revoked"]), VerifyPolicy(now=NOW, trust=trust))
    assert not res.valid and res.code == "certificate-revoked" and "revoked partner" in res.reason


def test_revoked_certificate_accepted_without_the_crl(pki, decl, signers):
    store = TrustStore.from_certificates(TrustStore.from_dir(pki / "trust").anchors)
    assert verify(_signed(decl, signers["revoked"]), VerifyPolicy(now=NOW, trust=store)).valid


def test_stale_crl_fails_closed(decl, signers, trust):
    later = NOW + dt.timedelta(days=60)          # the dev CRL's nextUpdate is now + 30 days
    res = verify(_signed(decl, signers["hub"]), VerifyPolicy(now=later, trust=trust))
    assert not res.valid and res.code == "crl-stale"


def test_validity_is_judged_at_the_now_passed_in(decl, signers, trust):
    data = _signed(decl, signers["hub"])
    res = verify(data, VerifyPolicy(now=NOW - dt.timedelta(days=3), trust=trust))
    assert not res.valid and res.code == "certificate-not-yet-valid"
    res = verify(data, VerifyPolicy(now=NOW + dt.timedelta(days=400), trust=trust))
    assert not res.valid and res.code == "certificate-expired"


def test_partner_rollover_two_pinned_certificates(decl, signers):
    pinned = (signers["partner-a"].certificate, signers["partner-a-next"].certificate)
    policy = VerifyPolicy(now=NOW, certificates=pinned)
    for name in ("partner-a", "partner-a-next"):
        res = verify(_signed(parse(declaration_bytes()), signers[name]), policy)
        assert res.valid and res.evidence.trusted_by == "pinned", res.reason
        assert res.evidence.signer_certificate == signers[name].certificate
    res = verify(_signed(parse(declaration_bytes()), signers["partner-b"]), policy)
    assert not res.valid and res.code == "untrusted-certificate" and "partner B" in res.reason


def test_pinned_and_trust_store_together(decl, signers, trust):
    policy = VerifyPolicy(now=NOW, certificates=(signers["revoked"].certificate,), trust=trust)
    res = verify(_signed(decl, signers["revoked"]), policy)
    assert not res.valid and res.code == "certificate-revoked"


def test_no_trust_configured_is_refused_unless_integrity_only(decl, signers):
    data = _signed(decl, signers["untrusted"])
    res = verify(data, VerifyPolicy(now=NOW))
    assert not res.valid and res.code == "no-trust-anchor"
    res = verify(data, VerifyPolicy(now=NOW, require_trust=False))
    assert res.valid and res.evidence.trusted_by == ""


def test_key_usage_without_digital_signature_is_refused(pki, decl, trust):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    ca_key = load_pem_private_key((pki / "ca" / "ca.key").read_bytes(), None)
    ca = trust.anchors[0]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "encryption only")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(7).not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=9))
            .add_extension(x509.KeyUsage(False, False, True, False, False, False, False, False, False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    assert serialization  # keep import for readers
    res = verify(_signed(decl, LocalSigner(key, cert)), VerifyPolicy(now=NOW, trust=trust))
    assert not res.valid and res.code == "certificate-key-usage"


def test_leaf_used_as_issuer_is_refused(decl, signers, trust):
    """A certificate issued by a non-CA leaf (partner A) does not chain, even with the leaf supplied."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pa = signers["partner-a"]
    cert = make_certificate("issued by a leaf", key, pa.certificate, pa.key, NOW - dt.timedelta(days=1),
                            NOW + dt.timedelta(days=5))
    signer = LocalSigner(key, cert, chain=[pa.certificate])
    res = verify(_signed(decl, signer), VerifyPolicy(now=NOW, trust=trust))
    assert not res.valid and res.code == "issuer-not-ca"


def test_trust_store_folder_errors(tmp_path):
    with pytest.raises(SigningError) as e:
        TrustStore.from_dir(tmp_path / "missing")
    assert e.value.code == "trust-store-unreadable"
    with pytest.raises(SigningError) as e:
        TrustStore.from_dir(tmp_path)
    assert e.value.code == "trust-store-empty"
    (tmp_path / "bad.pem").write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(SigningError) as e:
        TrustStore.from_dir(tmp_path)
    assert e.value.code == "certificate-unreadable"


def test_days_to_expiry_with_warning_threshold(pki):
    certs = certificates_in([pki])
    names = {n.rsplit("/", 1)[-1] for n, _ in certs}
    assert {"hub.pem", "expired.pem", "ca.pem", "partner-a-next.pem"} <= names
    report = {e.name.rsplit("/", 1)[-1]: e for e in expiry_of(certs, NOW, warn_days=30)}
    assert report["expired.pem"].status == "expired" and report["expired.pem"].days_left == -1
    assert report["hub.pem"].status == "ok" and report["hub.pem"].days_left == 365
    soon = {e.name.rsplit("/", 1)[-1]: e for e in expiry_of(certs, NOW + dt.timedelta(days=350), warn_days=30)}
    assert soon["hub.pem"].status == "warning" and soon["hub.pem"].days_left == 15
    assert soon["ca.pem"].status == "ok"
    assert expiry_of(certs, NOW)[0].name.endswith("expired.pem")      # soonest first


def test_signers_from_configuration_and_their_expiry(pki):
    from signing.config import configured_certificates, load_signers
    tables = {"hub": {"key": str(pki / "hub.p12"), "password_env": "HUB_PW", "profile": "xades-bes"},
              "gm": {"key": str(pki / "sm2.key"), "profile": "sm2-sm3", "key_name": "hub-sm2"}}
    signers = load_signers(tables, env={"HUB_PW": "edihub-dev"})
    assert signers["hub"].profile.name == "xades-bes" and signers["gm"].signer.key_kind == "sm2"
    report = expiry_of(configured_certificates(signers), NOW, warn_days=30)
    assert [(e.name, e.status, e.days_left) for e in report] == [("hub", "ok", 365)]
    with pytest.raises(SigningError) as e:
        load_signers(tables, env={})
    assert e.value.code == "config-invalid" and "HUB_PW" in e.value.message
    with pytest.raises(SigningError) as e:
        load_signers({"x": {"profile": "default"}})
    assert e.value.code == "config-invalid"
