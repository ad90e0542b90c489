"""Every profile signs and verifies; evidence names signer, algorithm and what was covered; SHA-1 only where a
profile names it; profiles are data."""
from __future__ import annotations

import base64

import pytest
from lxml import etree

from signing import LocalSigner, SigningError, VerifyPolicy, load_profile, load_profiles, sign, verify
from signing import algorithms as alg
from signing.devpki import DEV_P12_PASSWORD
from translator import parse

from sign_helpers import NOW

DS = alg.DS


def _policy(trust, sm2_keys, profile, **kw):
    return VerifyPolicy(now=NOW, profiles=(profile,), trust=trust, sm2_keys=sm2_keys, **kw)


@pytest.mark.parametrize("profile,signer_name,method", [
    ("default", "hub", alg.RSA_SHA256),
    ("default", "hub-ec", alg.ECDSA_SHA256),
    ("prc-eport", "hub", alg.RSA_SHA1),
    ("sm2-sm3", "sm2", alg.SM2_SM3),
    ("xades-bes", "hub", alg.RSA_SHA256),
    ("xades-bes", "hub-ec", alg.ECDSA_SHA256),
])
def test_every_profile_signs_and_verifies(decl, signers, trust, sm2_keys, profile, signer_name, method):
    p = load_profile(profile)
    result = sign(decl, p, signers[signer_name], now=NOW)
    assert result.evidence.signature_method == method
    # the output is re-read with the hardened parser, as a receiving hub would
    res = verify(result.data, _policy(trust, sm2_keys, profile))
    assert res.valid, (res.code, res.reason)
    ev = res.evidence
    assert ev.signature_method == method and ev.profile == profile
    assert ev.covered is not None and etree.QName(ev.covered).localname == "DecMessage"
    assert ev.covered_path == "/DecMessage"
    assert ev.references[0].uri == "" and ev.references[0].digest_method == p.digest_method
    if profile == "sm2-sm3":
        assert ev.key_name == "hub-sm2" and ev.trusted_by == "sm2-key" and ev.signer_certificate is None
    else:
        assert ev.signer_subject == signers[signer_name].certificate.subject.rfc4514_string()
        assert ev.trusted_by == "trust-store" and ev.chain[-1] == "CN=edihub dev CA,O=edihub development,C=CN"
    sig = result.tree.getroot()[-1]
    assert sig.tag == DS + "Signature"
    assert sig.find(f"{DS}SignedInfo/{DS}CanonicalizationMethod").get("Algorithm") == p.c14n_method
    assert sig.find(f"{DS}SignedInfo/{DS}Reference/{DS}DigestMethod").get("Algorithm") == p.digest_method
    if profile == "xades-bes":
        assert ev.signing_time == "2026-11-23T12:00:00Z"
        assert len(ev.references) == 2


def test_signing_keeps_decsign_sign_untouched(decl, signers):
    """edihub does not write DecSign/Sign (the declarant's IC-card text signature); the ds:Signature covers it."""
    before = decl.getroot().find("{http://www.chinaport.gov.cn/dec}DecSign")
    snapshot = etree.tostring(before)
    result = sign(decl, "prc-eport", signers["hub"])
    after = parse(result.data).getroot().find("{http://www.chinaport.gov.cn/dec}DecSign")
    assert etree.tostring(after) == snapshot


def test_sign_uses_the_parsed_tree_in_place(decl, signers):
    root = decl.getroot()
    result = sign(decl, "default", signers["hub"])
    assert result.tree.getroot() is root and root[-1].tag == DS + "Signature"
    assert result.data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_pkcs12_signer_loads_once_and_signs(pki, decl, trust):
    s = LocalSigner.from_files(pki / "hub.p12", password=DEV_P12_PASSWORD)
    assert s.chain and s.chain[0].subject.rfc4514_string().startswith("CN=edihub dev CA")
    res = verify(sign(decl, "default", s).data, VerifyPolicy(now=NOW, trust=trust))
    assert res.valid, res.reason


def test_wrong_p12_password_is_a_clear_error(pki):
    with pytest.raises(SigningError) as e:
        LocalSigner.from_files(pki / "hub.p12", password="wrong")
    assert e.value.code == "key-unreadable"


def test_key_certificate_mismatch_is_refused(pki):
    with pytest.raises(SigningError) as e:
        LocalSigner.from_files(pki / "hub.key", pki / "partner-a.pem")
    assert e.value.code == "key-certificate-mismatch"


def test_profile_key_type_mismatch(decl, signers):
    with pytest.raises(SigningError) as e:
        sign(decl, "sm2-sm3", signers["hub"])
    assert e.value.code == "key-profile-mismatch"
    with pytest.raises(SigningError) as e:
        sign(parse(b"<a/>"), "prc-eport", signers["hub-ec"])
    assert e.value.code == "key-profile-mismatch"


def test_already_signed_document_is_refused(decl, signers):
    sign(decl, "default", signers["hub"])
    with pytest.raises(SigningError) as e:
        sign(decl, "default", signers["hub"])
    assert e.value.code == "already-signed"


def test_xades_needs_now(decl, signers):
    with pytest.raises(SigningError) as e:
        sign(decl, "xades-bes", signers["hub"])
    assert e.value.code == "now-missing"


def test_sha1_verification_needs_an_explicit_profile(decl, signers, trust):
    data = sign(decl, "prc-eport", signers["hub"]).data
    res = verify(data, VerifyPolicy(now=NOW, trust=trust, profiles=("default", "xades-bes", "sm2-sm3")))
    assert not res.valid and res.code == "algorithm-not-allowed"
    assert verify(data, VerifyPolicy(now=NOW, trust=trust, profiles=("prc-eport",))).valid


def test_a_sha1_profile_must_say_so(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('[profiles.sneaky]\nsignature = ["rsa-sha1"]\ndigest = "sha256"\nc14n = "c14n"\n')
    with pytest.raises(SigningError) as e:
        load_profiles(f)
    assert e.value.code == "profile-invalid" and "allow_sha1" in e.value.message
    f.write_text('[profiles.x]\nsignature = ["rsa-md5"]\n')
    with pytest.raises(SigningError) as e:
        load_profiles(f)
    assert "rsa-md5" in e.value.message


def test_profile_from_data_file(tmp_path, decl, signers, trust):
    f = tmp_path / "p.toml"
    f.write_text('[profiles.partner-x]\nsignature = ["rsa-sha256"]\ndigest = "sha256"\nc14n = "c14n"\n')
    prof = load_profiles(f)["partner-x"]
    data = sign(decl, prof, signers["hub"]).data
    assert verify(data, VerifyPolicy(now=NOW, trust=trust, profiles=(prof,))).valid


def test_unknown_profile_name():
    with pytest.raises(SigningError) as e:
        load_profile("nope")
    assert e.value.code == "profile-unknown" and "default" in e.value.message


def test_ecdsa_signature_value_is_raw_r_s(decl, signers):
    result = sign(decl, "default", signers["hub-ec"])
    sv = result.tree.getroot()[-1].find(f"{DS}SignatureValue").text
    assert len(base64.b64decode(sv)) == 64


@pytest.mark.parametrize("profile,signer_name", [("prc-eport", "hub"), ("default", "hub"), ("sm2-sm3", "sm2"),
                                                 ("xades-bes", "hub")])
def test_signed_prc_declaration_stays_schema_valid(signers, profile, signer_name):
    """The enveloped ds:Signature sits where xsd/prc/DecMessage.xsd allows it (last child of DecMessage)."""
    from sign_helpers import PRC_SAMPLE
    from translator import validate
    if not PRC_SAMPLE.exists():
        pytest.skip("samples/prc/export_20_lines.xml is not there yet")
    tree = parse(PRC_SAMPLE.read_bytes())
    assert validate(tree).valid
    data = sign(tree, profile, signers[signer_name], now=NOW).data
    report = validate(parse(data))
    assert report.format == "prc:DecMessage"
    assert report.valid, [i.to_dict() for i in report.issues]
