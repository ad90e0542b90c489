"""Signature-wrapping defence: each variant below keeps a cryptographically valid signature somewhere in the
document, yet the pipeline must not continue with unsigned content. Signatures of shapes edihub itself does not
produce (Id references, two references, detached, enveloping) are made with signxml and the trusted hub key, as
a partner's software would."""
from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import XMLSigner, methods

from signing import VerifyPolicy, sign, verify
from signing.algorithms import DS, EXC_C14N
from translator import parse

from sign_helpers import NOW

D = "urn:example:dec"
DOC = f'<DecMessage xmlns="{D}" Id="D1"><DecHead Id="H1"><SeqNo>42</SeqNo><Amount>100.00</Amount></DecHead>' \
      f'<DecLists><DecList><GNo>1</GNo><GName>laptop</GName></DecList></DecLists></DecMessage>'.encode()


@pytest.fixture(scope="module")
def legit(signers):
    hub = signers["hub"]
    cert_pem = hub.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def make(reference_uri, method=methods.enveloped, doc=DOC):
        s = XMLSigner(method=method, signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                      c14n_algorithm=EXC_C14N)
        out = s.sign(parse(doc).getroot(), key=hub.key, cert=cert_pem, reference_uri=reference_uri,
                     id_attribute="Id")
        return etree.tostring(out)
    return make


@pytest.fixture
def policy(trust):
    return VerifyPolicy(now=NOW, trust=trust)


def test_baseline_id_reference_to_the_root_is_accepted(legit, policy):
    res = verify(legit(["#D1"]), policy)
    assert res.valid, res.reason
    assert res.covered.get("Id") == "D1" and res.evidence.covered_path == "/DecMessage"


def test_1_signed_document_moved_under_a_new_root(legit, policy):
    signed = parse(legit(["#D1"])).getroot()
    evil = etree.Element(f"{{{D}}}DecMessage", Id="EVIL", nsmap={None: D})
    etree.SubElement(etree.SubElement(evil, f"{{{D}}}DecHead"), f"{{{D}}}SeqNo").text = "666"
    etree.SubElement(evil, f"{{{D}}}Wrapper").append(signed)
    res = verify(etree.tostring(evil), policy)
    assert not res.valid and res.code == "not-covered"
    assert "/DecMessage/Wrapper/DecMessage" in res.reason and "not the required /DecMessage" in res.reason


def test_2_moved_signed_element_with_signature_left_at_the_root(legit, policy):
    """XSW: the signed DecHead (Id H1) is moved into an extension element, an evil DecHead takes its place."""
    signed = parse(legit(["#H1"], method=methods.detached)).getroot()   # a detached Signature over #H1
    doc = parse(DOC).getroot()
    head = doc[0]
    evil_head = copy.deepcopy(head)
    evil_head.attrib.pop("Id")
    evil_head[1].text = "1.00"
    ext = etree.SubElement(doc, f"{{{D}}}Extension")
    doc.replace(head, evil_head)
    ext.append(head)
    doc.append(signed)
    pol = VerifyPolicy(now=NOW, trust=policy.trust, cover="/d:DecMessage/d:DecHead", namespaces={"d": D})
    res = verify(etree.tostring(doc), pol)
    assert not res.valid and res.code == "not-covered" and "/DecMessage/Extension/DecHead" in res.reason


def test_3_duplicated_id(legit, policy):
    doc = parse(legit(["#D1"])).getroot()
    twin = etree.SubElement(doc, f"{{{D}}}Note", Id="D1")
    twin.text = "same id"
    doc.insert(0, twin)
    res = verify(etree.tostring(doc), policy)
    assert not res.valid and res.code == "duplicate-id" and "'D1' occurs 2 times" in res.reason


def test_4_signature_over_a_sibling_only(legit, policy):
    doc = parse(DOC).getroot()
    doc.append(parse(legit(["#H1"], method=methods.detached)).getroot())
    res = verify(etree.tostring(doc), policy)
    assert not res.valid and res.code == "not-covered"
    assert "covers /DecMessage/DecHead, not the required /DecMessage" in res.reason


def test_5_comment_splitting_signed_text(legit, policy):
    data = legit(["#D1"]).replace(b"<GName>laptop</GName>", b"<GName>lap<!-- -->top</GName>")
    assert parse(data).getroot().find(f"{{{D}}}DecLists/{{{D}}}DecList/{{{D}}}GName").text == "lap"
    res = verify(data, policy)
    assert not res.valid and res.code == "comment-in-signed-content" and "GName" in res.path


def test_6_whitespace_added_inside_signed_content(legit, policy):
    data = legit(["#D1"]).replace(b"<SeqNo>42</SeqNo>", b"<SeqNo> 42</SeqNo>")
    res = verify(data, policy)
    assert not res.valid and res.code == "digest-mismatch"


def test_7_extra_reference(legit, policy):
    res = verify(legit(["#D1", "#H1"]), policy)
    assert not res.valid and res.code == "reference-count" and "exactly 1" in res.reason


def test_8_second_signature_added(legit, policy, signers):
    """An attacker appends a valid signature of their own (here: the untrusted partner's) over a sibling."""
    doc = parse(legit(["#D1"])).getroot()
    other = XMLSigner(method=methods.detached, signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                      c14n_algorithm=EXC_C14N).sign(
        parse(DOC).getroot(), key=signers["untrusted"].key, reference_uri=["#H1"], id_attribute="Id",
        cert=signers["untrusted"].certificate.public_bytes(serialization.Encoding.PEM).decode())
    doc[0].append(other)
    res = verify(etree.tostring(doc), policy)
    assert not res.valid and res.code == "signature-multiple"


def test_9_enveloping_signature_carrying_the_signed_content_in_an_object(legit, policy, signers):
    """The signed payload sits in ds:Object inside the Signature; the document around it is unsigned."""
    enveloping = parse(legit(None, method=methods.enveloping, doc=b'<p:Payload xmlns:p="urn:p">approve 1.00</p:Payload>')).getroot()
    evil = parse(DOC).getroot()
    evil.append(enveloping)
    res = verify(etree.tostring(evil), policy)
    assert not res.valid and res.code == "not-covered" and "/DecMessage/Signature/Object" in res.reason


def test_10_xpath_transform_is_refused(decl, signers, policy):
    data = sign(decl, "default", signers["hub"]).data.replace(
        b'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>',
        b'<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(ancestor-or-self::*'
        b'[local-name()=\'DecLists\'])</ds:XPath></ds:Transform>')
    res = verify(data, policy)
    assert not res.valid and res.code == "transform-not-allowed"


def test_11_xpointer_uri_is_refused(decl, signers, policy):
    data = sign(decl, "default", signers["hub"]).data.replace(b'<ds:Reference URI="">',
                                                               b'<ds:Reference URI="#xpointer(/)">')
    res = verify(data, policy)
    assert not res.valid and res.code == "reference-unsupported"


def test_12_signature_moved_out_of_the_content_it_envelops(legit, policy):
    """Enveloped-signature transform, but the Signature is no longer inside the referenced element."""
    doc = parse(legit(["#H1"], method=methods.enveloped, doc=DOC)).getroot()
    # signxml put the Signature under the root; the reference with enveloped transform names DecHead
    res = verify(etree.tostring(doc), policy)
    assert not res.valid and res.code == "transform-not-allowed"


def test_13_enveloped_signature_moved_deeper_changes_nothing_signed(decl, signers, policy):
    """Not an attack: the enveloped transform removes the Signature wherever it sits inside the signed
    element, so moving it leaves the signed content and the verdict unchanged (documented behaviour)."""
    data = sign(decl, "default", signers["hub"]).data
    doc = parse(data).getroot()
    sig = doc[-1]
    doc.remove(sig)
    doc[0].append(sig)
    res = verify(etree.tostring(doc), policy)
    assert res.valid and res.covered is not None and res.evidence.covered_path == "/DecMessage"
