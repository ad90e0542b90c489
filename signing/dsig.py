"""XMLDSig signing and verification on lxml C14N + cryptography (and gmssl for SM2).

Signing works on the tree translator.parse produced (the tree is signed in place and serialised once).
Verification is strict, to defend against signature wrapping:
- exactly one ds:Signature in the document; SignedInfo with exactly the References the profile expects;
- Reference URIs only "" or "#id"; an id that occurs twice in the document is refused;
- transforms only enveloped-signature (when the Signature sits inside the referenced element) and C14N;
- comments / processing instructions inside signed content are refused (they are outside the digest);
- the element the caller requires (policy.cover) must be the very element a Reference resolves to, and the
  evidence hands back that element: the pipeline continues with what was signed, nothing else.
"""
from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import hashlib
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from translator.parsing import ParseError, parse
from translator.xpath import readable_path

from . import algorithms as alg
from .algorithms import DS, DS_NS
from .errors import SigningError
from .evidence import (ReferenceEvidence, SignatureEvidence, SignResult, VerifyPolicy, VerifyResult, certificate_facts,
                       subject_of)
from .profiles import SigningProfile, load_profile
from .trust import check_validity

XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
XADES = "{%s}" % XADES_NS
XADES_SIGNED_PROPS_TYPE = "http://uri.etsi.org/01903#SignedProperties"
EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
WSU_ID = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}Id"
XADES_MAX_SKEW = 300          # seconds a XAdES SigningTime may lie ahead of the verifier's clock
ID_ATTRS = ("Id", "ID", "id", WSU_ID, "{http://www.w3.org/XML/1998/namespace}id")


def _root_of(tree_or_root) -> etree._Element:
    if isinstance(tree_or_root, etree._ElementTree):
        return tree_or_root.getroot()
    if isinstance(tree_or_root, etree._Element):
        return tree_or_root
    raise TypeError("pass the lxml tree or element translator.parse produced")


def _sub(parent, tag, text=None, **attrs):
    el = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _utc_text(now: dt.datetime) -> str:
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------------ signing
def sign(tree_or_root, profile: str | SigningProfile, signer, *, now: dt.datetime | None = None,
         signature_id: str | None = None) -> SignResult:
    """Sign the document in place (enveloped: ds:Signature as last child of the document element) and return
    its bytes plus evidence. `now` is needed for XAdES SigningTime."""
    profile = load_profile(profile)
    root = _root_of(tree_or_root)
    tree = root.getroottree()
    if root.getparent() is not None:
        raise SigningError("sign-not-root", "enveloped profiles sign the document element, not a sub-element")
    if next(root.iter(DS + "Signature"), None) is not None:
        raise SigningError("already-signed", "the document already holds a ds:Signature",
                           readable_path(next(root.iter(DS + "Signature"))))
    method = alg.signature_method_for(signer.public_key(), list(profile.signature_methods))
    if method is None:
        raise SigningError("key-profile-mismatch",
                           f"profile {profile.name} signs with {', '.join(alg.short(u) for u in profile.signature_methods)}; "
                           f"the signer holds a {signer.key_kind} key")
    cert = getattr(signer, "certificate", None)
    if profile.key_info == "x509" and cert is None:
        raise SigningError("certificate-missing", f"profile {profile.name} puts the certificate in KeyInfo; the signer has none")
    if profile.xades and now is None:
        raise SigningError("now-missing", "XAdES needs `now` for SigningTime")

    c14n = profile.c14n_method
    doc_digest = alg.b64(alg.digest(profile.digest_method, alg.canonicalize(tree, c14n)))

    sig_id = signature_id or ("sig-" + uuid.uuid4().hex[:16]) if profile.xades else signature_id
    sig = etree.SubElement(root, DS + "Signature", nsmap={"ds": DS_NS})
    if sig_id:
        sig.set("Id", sig_id)
    si = _sub(sig, DS + "SignedInfo")
    _sub(si, DS + "CanonicalizationMethod", Algorithm=c14n)
    _sub(si, DS + "SignatureMethod", Algorithm=method)
    ref = _sub(si, DS + "Reference", URI="")
    tr = _sub(ref, DS + "Transforms")
    _sub(tr, DS + "Transform", Algorithm=alg.ENVELOPED)
    _sub(tr, DS + "Transform", Algorithm=c14n)
    _sub(ref, DS + "DigestMethod", Algorithm=profile.digest_method)
    _sub(ref, DS + "DigestValue", doc_digest)
    sv = _sub(sig, DS + "SignatureValue")
    ki = _sub(sig, DS + "KeyInfo")
    key_name = getattr(signer, "key_name", None)
    if profile.key_info == "keyname":
        _sub(ki, DS + "KeyName", key_name or "")
    else:
        xd = _sub(ki, DS + "X509Data")
        for c in [cert, *getattr(signer, "chain", [])]:
            _sub(xd, DS + "X509Certificate", certificate_facts(c)["der_b64"])
    refs = [ReferenceEvidence("", profile.digest_method, doc_digest, readable_path(root), root)]
    signing_time = None
    if profile.xades:
        signing_time = _utc_text(now)
        props_id = sig_id + "-signedprops"
        obj = _sub(sig, DS + "Object")
        qp = etree.SubElement(obj, XADES + "QualifyingProperties", {"Target": "#" + sig_id}, nsmap={"xades": XADES_NS})
        sp = _sub(qp, XADES + "SignedProperties", Id=props_id)
        ssp = _sub(sp, XADES + "SignedSignatureProperties")
        _sub(ssp, XADES + "SigningTime", signing_time)
        scv = _sub(_sub(ssp, XADES + "SigningCertificateV2"), XADES + "Cert")
        cd = _sub(scv, XADES + "CertDigest")
        _sub(cd, DS + "DigestMethod", Algorithm=profile.digest_method)
        _sub(cd, DS + "DigestValue", alg.b64(alg.digest(profile.digest_method, cert.public_bytes(serialization.Encoding.DER))))
        sp_digest = alg.b64(alg.digest(profile.digest_method, alg.canonicalize(sp, c14n)))
        ref2 = _sub(si, DS + "Reference", URI="#" + props_id, Type=XADES_SIGNED_PROPS_TYPE)
        _sub(_sub(ref2, DS + "Transforms"), DS + "Transform", Algorithm=c14n)
        _sub(ref2, DS + "DigestMethod", Algorithm=profile.digest_method)
        _sub(ref2, DS + "DigestValue", sp_digest)
        refs.append(ReferenceEvidence(ref2.get("URI"), profile.digest_method, sp_digest, readable_path(sp), sp))
    signed_info = alg.canonicalize(si, c14n)
    sv.text = alg.b64(signer.sign(signed_info, method))
    data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    ev = SignatureEvidence(profile.name, method, c14n, hashlib.sha256(signed_info).hexdigest(), refs, cert,
                           key_name, root, readable_path(root), signing_time)
    return SignResult(data, ev, tree)


# ------------------------------------------------------------------------------------------- verification
class _Fail(Exception):
    def __init__(self, code, reason, el=None):
        super().__init__(reason)
        self.code, self.reason, self.path = code, reason, readable_path(el) if el is not None else ""


def _one(parent, tag, what):
    found = parent.findall(tag)
    if len(found) != 1:
        raise _Fail("signature-malformed", f"{what}: expected exactly one {etree.QName(tag).localname}, found {len(found)}",
                    parent)
    return found[0]


_ID_XPATH = etree.XPath("//@*[local-name()='Id' or local-name()='ID' or local-name()='id']")


def id_index(root: etree._Element) -> dict[str, list[etree._Element]]:
    """Id value -> elements carrying it (Id, ID, id, wsu:Id, xml:id). One XPath pass over the document."""
    index: dict[str, list[etree._Element]] = {}
    for a in _ID_XPATH(root):
        name = a.attrname
        if "}" in name and name not in ID_ATTRS:
            continue
        index.setdefault(str(a), []).append(a.getparent())
    return index


def _index_path(el: etree._Element) -> list[int]:
    out = []
    while (p := el.getparent()) is not None:
        out.append(p.index(el))
        el = p
    return out[::-1]


def _follow(root: etree._Element, path: list[int]) -> etree._Element:
    for i in path:
        root = root[i]
    return root


def _remove_keep_tail(el: etree._Element) -> None:
    parent, tail = el.getparent(), el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _b64decode(text: str | None, what: str, el) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise _Fail("signature-malformed", f"{what} is not base64", el) from None


def resolve_reference(ref: etree._Element, sig: etree._Element, root: etree._Element, ids, allowed_c14n: set[str],
                      refuse_comments: bool = True) -> tuple[etree._Element, bytes, str]:
    """-> (referenced element, digest computed over the transformed content, digest method uri). Used by the
    enveloped XMLDSig verifier and by WS-Security."""
    uri = ref.get("URI")
    if uri is None:
        raise _Fail("reference-unsupported", "a Reference without URI (detached content) is not accepted", ref)
    if uri == "":
        target, whole_doc = root, True
    elif uri.startswith("#") and len(uri) > 1 and "(" not in uri:
        found = ids.get(uri[1:], [])
        if len(found) > 1:
            raise _Fail("duplicate-id", f"Id {uri[1:]!r} occurs {len(found)} times in the document "
                        f"({', '.join(readable_path(e) for e in found)}): the reference is ambiguous", found[1])
        if not found:
            raise _Fail("reference-unresolved", f"Reference URI {uri!r} names no element of the document", ref)
        target, whole_doc = found[0], False
    else:
        raise _Fail("reference-unsupported", f"Reference URI {uri!r}: only \"\" and \"#id\" are accepted", ref)
    transforms = [t.get("Algorithm") for t in ref.findall(DS + "Transforms/" + DS + "Transform")]
    enveloped = False
    if transforms and transforms[0] == alg.ENVELOPED:
        enveloped = True
        transforms = transforms[1:]
    if len(transforms) > 1 or any(t not in alg.C14N_MODES for t in transforms):
        raise _Fail("transform-not-allowed", f"transforms {transforms} are not accepted (only enveloped-signature "
                    "followed by one C14N)", ref)
    c14n = transforms[0] if transforms else alg.C14N_10
    if c14n not in allowed_c14n and c14n.replace("WithComments", "").rstrip("#") not in allowed_c14n:
        raise _Fail("algorithm-not-allowed", f"reference canonicalisation {c14n} is not allowed here", ref)
    # Same-document references exclude comments whatever the C14N says (XMLDSig 4.4.3.3).
    exclusive, _ = alg.C14N_MODES[c14n]
    c14n = alg.EXC_C14N if exclusive else alg.C14N_10
    prefixes = None
    tnode = ref.find(DS + "Transforms/" + DS + "Transform[last()]")
    if tnode is not None:
        inc = tnode.find("{%s}InclusiveNamespaces" % EC_NS)
        if inc is not None:
            prefixes = [p for p in (inc.get("PrefixList") or "").split() if p != "#default"]
    if refuse_comments:
        odd = next(target.iter(etree.Comment, etree.ProcessingInstruction), None)
        if odd is not None:
            raise _Fail("comment-in-signed-content", "signed content holds a comment or processing instruction; "
                        "it is outside the digest and could split signed text", odd.getparent())
    inside = sig is not None and any(a is target for a in sig.iterancestors())
    if enveloped and not inside:
        raise _Fail("transform-not-allowed", "enveloped-signature transform on content that does not hold the "
                    "Signature", ref)
    if inside and not enveloped:
        raise _Fail("transform-not-allowed", "the Signature sits inside the referenced content but the Reference "
                    "has no enveloped-signature transform", ref)
    if enveloped:
        doc = copy.deepcopy(root.getroottree())
        croot = doc.getroot()
        _remove_keep_tail(_follow(croot, _index_path(sig)))
        node = doc if whole_doc else _follow(croot, _index_path(target))
    else:
        node = root.getroottree() if whole_doc else target
    dm_el = ref.find(DS + "DigestMethod")
    dm = dm_el.get("Algorithm") if dm_el is not None else None
    if dm not in alg.DIGESTS:
        raise _Fail("algorithm-not-allowed", f"digest method {dm} is not supported", ref)
    return target, alg.digest(dm, alg.canonicalize(node, c14n, prefixes)), dm


def _policy_profiles(policy: VerifyPolicy) -> list[SigningProfile]:
    return [load_profile(p) for p in policy.profiles]


def _cover_element(policy: VerifyPolicy, tree: etree._ElementTree) -> etree._Element:
    if policy.cover is None:
        return tree.getroot()
    if callable(policy.cover):
        el = policy.cover(tree)
        if el is None:
            raise _Fail("cover-missing", "the element that must be signed is not in the document")
        return el
    try:
        found = tree.xpath(policy.cover, namespaces=policy.namespaces)
    except etree.XPathError as e:
        raise _Fail("cover-invalid", f"policy.cover {policy.cover!r} is not a usable XPath: {e}") from None
    if not isinstance(found, list) or len(found) != 1 or not isinstance(found[0], etree._Element):
        raise _Fail("cover-missing", f"{policy.cover} must select exactly one element; it selects "
                    f"{len(found) if isinstance(found, list) else 'a non-element'}")
    return found[0]


def _key_info_certs(sig) -> list[x509.Certificate]:
    out = []
    for el in sig.findall(DS + "KeyInfo/" + DS + "X509Data/" + DS + "X509Certificate"):
        try:
            out.append(x509.load_der_x509_certificate(_b64decode(el.text, "X509Certificate", el)))
        except ValueError:
            raise _Fail("certificate-unreadable", "KeyInfo holds an unreadable X509Certificate", el) from None
    return out


def _choose_key(sig, si_bytes, method, sv, policy: VerifyPolicy):
    """-> (public key, certificate or None, key name, intermediates, trusted_by) with the signature checked."""
    kind = alg.SIGNATURES[method][1]
    if kind == "sm2":
        name_el = sig.find(DS + "KeyInfo/" + DS + "KeyName")
        name = (name_el.text or "").strip() if name_el is not None else ""
        key = policy.sm2_keys.get(name)
        if key is None:
            raise _Fail("untrusted-key", f"no SM2 public key is configured for KeyName {name!r}", name_el)
        if not alg.verify_raw(key, method, sv, si_bytes):
            raise _Fail("signature-invalid", "SignatureValue does not verify with the SM2 key of "
                        f"{name!r} (SignedInfo or the value was changed)", sig.find(DS + "SignatureValue"))
        return key, None, name, [], "sm2-key"
    certs = _key_info_certs(sig)
    pinned = list(policy.certificates)
    if pinned:
        # certificates compare by their DER bytes: the same test as comparing SHA-256 fingerprints, without
        # hashing every certificate on every verification
        candidates = [c for c in pinned if not certs or c in certs]
        if not candidates:
            raise _Fail("untrusted-certificate", f"signer certificate {subject_of(certs[0])} is not one of the "
                        "partner's configured certificates", sig.find(DS + "KeyInfo"))
        for c in candidates:
            if alg.verify_raw(c.public_key(), method, sv, si_bytes):
                return c.public_key(), c, None, [x for x in certs if x != c], "pinned"
        raise _Fail("signature-invalid", "SignatureValue does not verify with the partner's certificate(s) "
                    "(SignedInfo or the value was changed)", sig.find(DS + "SignatureValue"))
    if not certs:
        raise _Fail("certificate-missing", "KeyInfo holds no X509Certificate and no certificate is configured",
                    sig.find(DS + "KeyInfo") if sig.find(DS + "KeyInfo") is not None else sig)
    # KeyInfo may list the chain in any order: the signer is the certificate whose key verifies the value
    for leaf in certs:
        if alg.verify_raw(leaf.public_key(), method, sv, si_bytes):
            return leaf.public_key(), leaf, None, [c for c in certs if c is not leaf], ""
    raise _Fail("signature-invalid", f"SignatureValue does not verify with the certificate of "
                f"{subject_of(certs[0])} (SignedInfo, the value or the certificate was changed)",
                sig.find(DS + "SignatureValue"))


def verify(data_or_tree, policy: VerifyPolicy) -> VerifyResult:
    """Verify the one enveloped/enveloping ds:Signature of a document. Never raises for bad input: the
    result says valid or names the failing rule (`code`), the reason and the element's path."""
    try:
        if isinstance(data_or_tree, (bytes, bytearray)):
            try:
                tree = parse(bytes(data_or_tree))
            except ParseError as e:
                raise _Fail(e.code, e.message) from None
        else:
            tree = _root_of(data_or_tree).getroottree()
        return VerifyResult(True, evidence=_verify_tree(tree, policy))
    except _Fail as f:
        return VerifyResult(False, f.code, f.reason, path=f.path)
    except SigningError as e:
        return VerifyResult(False, e.code, e.message, path=e.path)


def _verify_tree(tree: etree._ElementTree, policy: VerifyPolicy) -> SignatureEvidence:
    root = tree.getroot()
    sigs = list(root.iter(DS + "Signature"))
    if not sigs:
        raise _Fail("signature-missing", "the document holds no ds:Signature")
    if len(sigs) > 1:
        raise _Fail("signature-multiple", f"the document holds {len(sigs)} ds:Signature elements; exactly one is "
                    "accepted", sigs[1])
    sig = sigs[0]
    children = [c for c in sig if isinstance(c.tag, str)]
    names = [etree.QName(c).localname if c.tag.startswith(DS) else c.tag for c in children]
    if names[:2] != ["SignedInfo", "SignatureValue"] or any(n not in ("KeyInfo", "Object") for n in names[2:]):
        raise _Fail("signature-malformed", f"ds:Signature children {names}: expected SignedInfo, SignatureValue, "
                    "KeyInfo?, Object*", sig)
    si = children[0]
    c14n = _one(si, DS + "CanonicalizationMethod", "SignedInfo").get("Algorithm")
    method = _one(si, DS + "SignatureMethod", "SignedInfo").get("Algorithm")
    refs = si.findall(DS + "Reference")
    profiles = _policy_profiles(policy)
    has_props = any(r.get("Type") == XADES_SIGNED_PROPS_TYPE for r in refs)
    profile = next((p for p in profiles if method in p.signature_methods and c14n == p.c14n_method
                    and p.xades == has_props), None)
    if profile is None:
        raise _Fail("algorithm-not-allowed",
                    f"signature {alg.short(method or '?')} with {alg.short(c14n or '?')}"
                    f"{' and XAdES properties' if has_props else ''} matches none of the accepted profiles "
                    f"({', '.join(p.name for p in profiles)})", si)
    want = 2 if profile.xades else 1
    if len(refs) != want:
        raise _Fail("reference-count", f"profile {profile.name} expects exactly {want} Reference(s); SignedInfo "
                    f"has {len(refs)}", si)
    ids = id_index(root) if any((r.get("URI") or "").startswith("#") for r in refs) else {}
    ref_ev = []
    for ref in refs:
        target, computed, dm = resolve_reference(ref, sig, root, ids, {profile.c14n_method}, policy.refuse_comments)
        if dm != profile.digest_method:
            raise _Fail("algorithm-not-allowed", f"digest {alg.short(dm)} is not the profile's "
                        f"{alg.short(profile.digest_method)}", ref)
        dv_el = _one(ref, DS + "DigestValue", "Reference")
        if _b64decode(dv_el.text, "DigestValue", dv_el) != computed:
            raise _Fail("digest-mismatch", f"the content covered by Reference URI {ref.get('URI')!r} "
                        f"({readable_path(target)}) was changed after signing", target)
        ref_ev.append(ReferenceEvidence(ref.get("URI"), dm, dv_el.text.strip(), readable_path(target), target))
    sv_el = children[1]
    sv = _b64decode(sv_el.text, "SignatureValue", sv_el)
    si_bytes = alg.canonicalize(si, c14n)
    key, cert, key_name, intermediates, trusted_by = _choose_key(sig, si_bytes, method, sv, policy)
    chain = []
    if cert is not None:
        if policy.trust is not None:
            chain = [subject_of(c) for c in policy.trust.validate(cert, policy.now, intermediates)]
            trusted_by = trusted_by or "trust-store"
        elif trusted_by == "pinned":
            check_validity(cert, policy.now, "signer certificate")
        elif policy.require_trust:
            raise _Fail("no-trust-anchor", "no trust store and no partner certificate is configured: the signer "
                        f"{subject_of(cert)} cannot be trusted")
    signing_time = None
    if profile.xades:
        signing_time = _check_xades(sig, refs, ref_ev, cert, profile, policy.now)
    cover = _cover_element(policy, tree)
    doc_refs = [r for r in ref_ev if r.element is not None and r.element.tag != XADES + "SignedProperties"]
    if not any(r.element is cover for r in doc_refs):
        raise _Fail("not-covered", f"the signature covers {', '.join(r.path for r in doc_refs)}, not the required "
                    f"{readable_path(cover)}", cover)
    return SignatureEvidence(profile.name, method, c14n, hashlib.sha256(si_bytes).hexdigest(), ref_ev, cert,
                             key_name, cover, readable_path(cover), signing_time, chain, trusted_by)


def _check_xades(sig, refs, ref_ev, cert, profile, now: dt.datetime) -> str:
    sp_refs = [(r, e) for r, e in zip(refs, ref_ev) if r.get("Type") == XADES_SIGNED_PROPS_TYPE]
    if len(sp_refs) != 1:
        raise _Fail("xades-malformed", "exactly one Reference must carry the SignedProperties type", sig)
    sp = sp_refs[0][1].element
    qp = sp.getparent()
    if (sp.tag != XADES + "SignedProperties" or qp is None or qp.tag != XADES + "QualifyingProperties"
            or qp.getparent() is None or qp.getparent().getparent() is not sig):
        raise _Fail("xades-malformed", "the SignedProperties reference must point into this signature's "
                    "Object/QualifyingProperties", sp)
    if sig.get("Id") is None or qp.get("Target") != "#" + sig.get("Id"):
        raise _Fail("xades-malformed", "QualifyingProperties/@Target must name this ds:Signature", qp)
    st = sp.find(f"{XADES}SignedSignatureProperties/{XADES}SigningTime")
    if st is None or not (st.text or "").strip():
        raise _Fail("xades-malformed", "SigningTime is missing", sp)
    try:
        when = dt.datetime.fromisoformat(st.text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Fail("xades-malformed", f"SigningTime {st.text.strip()!r} is not an xsd:dateTime", st) from None
    when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    now = now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
    if when > now + dt.timedelta(seconds=XADES_MAX_SKEW):
        raise _Fail("xades-signing-time-future", f"SigningTime {st.text.strip()} lies after now "
                    f"({now:%Y-%m-%dT%H:%M:%SZ}) by more than {XADES_MAX_SKEW}s", st)
    cds = sp.findall(f"{XADES}SignedSignatureProperties/{XADES}SigningCertificateV2/{XADES}Cert/{XADES}CertDigest")
    if not cds or cert is None:
        raise _Fail("xades-malformed", "SigningCertificateV2/Cert/CertDigest is missing", sp)
    der = cert.public_bytes(serialization.Encoding.DER)
    for cd in cds:
        dm = cd.find(DS + "DigestMethod")
        dv = cd.find(DS + "DigestValue")
        uri = dm.get("Algorithm") if dm is not None else None
        if uri in alg.DIGESTS and dv is not None and _b64decode(dv.text, "CertDigest", dv) == alg.digest(uri, der):
            return st.text.strip()
    raise _Fail("xades-certificate-mismatch", f"SigningCertificateV2 does not name the signer certificate "
                f"{subject_of(cert)}", sp)
