"""WS-Security (OASIS WSS 1.1 X.509 token profile) for SOAP 1.1 and 1.2 envelopes.

Outbound: a wsse:Security header with a BinarySecurityToken (the signer's X.509 certificate), a wsu:Timestamp
(exactly one Created, one Expires) and a ds:Signature over the Body and the Timestamp (RSA-SHA256 or
ECDSA-SHA256, SHA-256 digests, exclusive C14N), KeyInfo as a SecurityTokenReference to the token.

Inbound: the Signature must cover the Envelope's own Body and the Security header's own Timestamp (identity, not
name: a Body moved elsewhere is refused), the signer certificate must be one of the partner's (two during a
rollover) and/or chain to the trust store, Created may not lie in the future beyond `max_skew`, Expires may not be
passed beyond `max_skew`, and a ReplayCache refuses a signature value seen before within its TTL.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
import uuid
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from translator.xpath import readable_path

from . import algorithms as alg
from .algorithms import DS, DS_NS
from .dsig import _b64decode, _Fail, _one, id_index, resolve_reference
from .errors import SigningError
from .evidence import ReferenceEvidence, SignatureEvidence, subject_of
from .trust import check_validity

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSSE, WSU = "{%s}" % WSSE_NS, "{%s}" % WSU_NS
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
B64_ENC = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
METHODS = (alg.RSA_SHA256, alg.ECDSA_SHA256)
DIGEST = "http://www.w3.org/2001/04/xmlenc#sha256"


def _utc(t: dt.datetime) -> dt.datetime:
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def _fmt(t: dt.datetime) -> str:
    return _utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str | None, el) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Fail("timestamp-malformed", f"{etree.QName(el).localname} {text!r} is not an xsd:dateTime", el) from None
    return _utc(t)


def _soap_ns(envelope: etree._Element) -> str:
    ns = etree.QName(envelope).namespace
    if etree.QName(envelope).localname != "Envelope" or ns not in (SOAP11, SOAP12):
        raise _Fail("soap-malformed", "the document element is not a SOAP 1.1 or 1.2 Envelope", envelope)
    return ns


class ReplayCache:
    """Signature values seen, each kept for `ttl` seconds after it was first seen. Thread-safe, in memory
    (one process); `now` is passed in."""

    def __init__(self, ttl: float = 600.0, max_entries: int = 100_000):
        self.ttl, self.max_entries = ttl, max_entries
        self._seen: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def check_and_add(self, key: str, now: dt.datetime) -> bool:
        """True when new (and now recorded); False when it was seen within the TTL."""
        now = _utc(now)
        with self._lock:
            if len(self._seen) >= self.max_entries:
                for k in [k for k, until in self._seen.items() if until <= now]:
                    del self._seen[k]
            until = self._seen.get(key)
            if until is not None and until > now:
                return False
            self._seen[key] = now + dt.timedelta(seconds=self.ttl)
            return True


@dataclass
class WsSecEvidence:
    signature: SignatureEvidence
    created: dt.datetime
    expires: dt.datetime
    body: etree._Element                       # the Body the signature covers: continue with this one
    timestamp: etree._Element
    other_references: list[str] = field(default_factory=list)

    @property
    def signer_certificate(self):
        return self.signature.signer_certificate

    def to_dict(self) -> dict:
        return {**self.signature.to_dict(), "created": self.created.isoformat(), "expires": self.expires.isoformat()}


def _ensure_id(el: etree._Element, prefix: str) -> str:
    v = el.get(WSU + "Id")
    if v is None:
        v = f"{prefix}-{uuid.uuid4().hex[:16]}"
        el.set(WSU + "Id", v)
    return v


def sign_envelope(envelope_root, signer, now: dt.datetime, ttl: int = 300) -> bytes:
    """Add a wsse:Security header (token, Timestamp, Signature) to the envelope in place; return its bytes."""
    env = envelope_root.getroot() if isinstance(envelope_root, etree._ElementTree) else envelope_root
    try:
        soap = _soap_ns(env)
    except _Fail as f:
        raise SigningError(f.code, f.reason, f.path) from None
    body = env.find(f"{{{soap}}}Body")
    if body is None:
        raise SigningError("soap-malformed", "the envelope has no Body")
    if signer.certificate is None:
        raise SigningError("certificate-missing", "WS-Security needs the signer's X.509 certificate")
    method = alg.signature_method_for(signer.public_key(), list(METHODS))
    if method is None:
        raise SigningError("key-profile-mismatch", "WS-Security signs with RSA-SHA256 or ECDSA-SHA256")
    header = env.find(f"{{{soap}}}Header")
    if header is None:
        header = etree.Element(f"{{{soap}}}Header")
        env.insert(list(env).index(body), header)
    if header.find(WSSE + "Security") is not None:
        raise SigningError("already-signed", "the envelope already has a wsse:Security header")
    sec = etree.SubElement(header, WSSE + "Security", {f"{{{soap}}}mustUnderstand": "1" if soap == SOAP11 else "true"},
                           nsmap={"wsse": WSSE_NS, "wsu": WSU_NS})
    sec.tail = None
    ts = etree.SubElement(sec, WSU + "Timestamp")
    etree.SubElement(ts, WSU + "Created").text = _fmt(now)
    etree.SubElement(ts, WSU + "Expires").text = _fmt(_utc(now) + dt.timedelta(seconds=ttl))
    ts_id = _ensure_id(ts, "TS")
    bst = etree.SubElement(sec, WSSE + "BinarySecurityToken", {"EncodingType": B64_ENC, "ValueType": X509V3})
    bst.text = base64.b64encode(signer.certificate.public_bytes(serialization.Encoding.DER)).decode()
    bst_id = _ensure_id(bst, "X509")
    body_id = _ensure_id(body, "Body")
    sig = etree.SubElement(sec, DS + "Signature", nsmap={"ds": DS_NS})
    si = etree.SubElement(sig, DS + "SignedInfo")
    etree.SubElement(si, DS + "CanonicalizationMethod", Algorithm=alg.EXC_C14N)
    etree.SubElement(si, DS + "SignatureMethod", Algorithm=method)
    refs = []
    for target, tid in ((body, body_id), (ts, ts_id)):
        value = alg.b64(alg.digest(DIGEST, alg.canonicalize(target, alg.EXC_C14N)))
        ref = etree.SubElement(si, DS + "Reference", URI="#" + tid)
        etree.SubElement(etree.SubElement(ref, DS + "Transforms"), DS + "Transform", Algorithm=alg.EXC_C14N)
        etree.SubElement(ref, DS + "DigestMethod", Algorithm=DIGEST)
        etree.SubElement(ref, DS + "DigestValue").text = value
        refs.append(ReferenceEvidence("#" + tid, DIGEST, value, readable_path(target), target))
    sv = etree.SubElement(sig, DS + "SignatureValue")
    str_ = etree.SubElement(etree.SubElement(sig, DS + "KeyInfo"), WSSE + "SecurityTokenReference")
    etree.SubElement(str_, WSSE + "Reference", URI="#" + bst_id, ValueType=X509V3)
    signed_info = alg.canonicalize(si, alg.EXC_C14N)
    sv.text = alg.b64(signer.sign(signed_info, method))
    return etree.tostring(env.getroottree(), xml_declaration=True, encoding="UTF-8")


def verify_envelope(envelope_root, certificates=(), now: dt.datetime | None = None, max_skew: int = 300, *,
                    trust=None, replay_cache: ReplayCache | None = None, actor_check: bool = True) -> WsSecEvidence:
    """Verify an inbound envelope's WS-Security signature; raise SigningError (code, message, path) otherwise.
    `certificates`: the partner's accepted certificates (pinned); `trust`: a TrustStore. At least one is needed."""
    if now is None:
        raise SigningError("now-missing", "verify_envelope needs `now`")
    if not certificates and trust is None:
        raise SigningError("no-trust-anchor", "pass the partner's certificates or a trust store")
    env = envelope_root.getroot() if isinstance(envelope_root, etree._ElementTree) else envelope_root
    try:
        return _verify(env, list(certificates), _utc(now), max_skew, trust, replay_cache)
    except _Fail as f:
        raise SigningError(f.code, f.reason, f.path) from None


def _verify(env, certificates, now, max_skew, trust, replay_cache) -> WsSecEvidence:
    soap = _soap_ns(env)
    headers = env.findall(f"{{{soap}}}Header")
    bodies = env.findall(f"{{{soap}}}Body")
    if not headers and len(bodies) == 1:
        raise _Fail("wssec-missing", "the envelope has no Header, so no wsse:Security", env)
    if len(headers) != 1 or len(bodies) != 1:
        raise _Fail("soap-malformed", f"the Envelope must have one Header and one Body (has {len(headers)} and "
                    f"{len(bodies)})", env)
    body = bodies[0]
    secs = headers[0].findall(WSSE + "Security")
    if len(secs) != 1:
        raise _Fail("wssec-missing" if not secs else "wssec-malformed",
                    f"expected one wsse:Security header, found {len(secs)}", headers[0])
    sec = secs[0]
    all_sigs = list(env.iter(DS + "Signature"))
    sigs = sec.findall(DS + "Signature")
    if len(sigs) != 1 or len(all_sigs) != 1:
        raise _Fail("signature-multiple" if len(all_sigs) > 1 else "signature-missing",
                    f"expected exactly one ds:Signature, in wsse:Security (found {len(all_sigs)} in the envelope)", sec)
    sig = sigs[0]
    tss = sec.findall(WSU + "Timestamp")
    if len(tss) != 1:
        raise _Fail("timestamp-missing" if not tss else "timestamp-malformed",
                    f"expected one wsu:Timestamp in wsse:Security, found {len(tss)}", sec)
    ts = tss[0]
    created_els, expires_els = ts.findall(WSU + "Created"), ts.findall(WSU + "Expires")
    if len(created_els) != 1 or len(expires_els) != 1:
        raise _Fail("timestamp-malformed", f"the Timestamp needs exactly one Created and one Expires (has "
                    f"{len(created_els)} and {len(expires_els)})", ts)
    created, expires = _parse_time(created_els[0].text, created_els[0]), _parse_time(expires_els[0].text, expires_els[0])
    skew = dt.timedelta(seconds=max_skew)
    if created > now + skew:
        raise _Fail("timestamp-future", f"Created {created:%Y-%m-%dT%H:%M:%SZ} is ahead of now by more than "
                    f"{max_skew}s", created_els[0])
    if expires < now - skew:
        raise _Fail("timestamp-expired", f"the Timestamp expired at {expires:%Y-%m-%dT%H:%M:%SZ} (now "
                    f"{now:%Y-%m-%dT%H:%M:%SZ}, tolerance {max_skew}s)", expires_els[0])
    if expires <= created:
        raise _Fail("timestamp-malformed", "Expires is not after Created", ts)

    si = _one(sig, DS + "SignedInfo", "ds:Signature")
    c14n = _one(si, DS + "CanonicalizationMethod", "SignedInfo").get("Algorithm")
    method = _one(si, DS + "SignatureMethod", "SignedInfo").get("Algorithm")
    if c14n != alg.EXC_C14N or method not in METHODS:
        raise _Fail("algorithm-not-allowed", f"WS-Security accepts exclusive C14N with RSA-SHA256/ECDSA-SHA256, not "
                    f"{alg.short(c14n or '?')} with {alg.short(method or '?')}", si)
    ids = id_index(env)
    covered, ref_ev, others = set(), [], []
    for ref in si.findall(DS + "Reference"):
        target, computed, dm = resolve_reference(ref, sig, env, ids, {alg.EXC_C14N})
        if dm != DIGEST:
            raise _Fail("algorithm-not-allowed", f"digest {alg.short(dm)} is not SHA-256", ref)
        dv = _one(ref, DS + "DigestValue", "Reference")
        if _b64decode(dv.text, "DigestValue", dv) != computed:
            raise _Fail("digest-mismatch", f"{readable_path(target)} was changed after signing", target)
        if target is body:
            covered.add("body")
        elif target is ts:
            covered.add("timestamp")
        elif target.getparent() is headers[0] or target.getparent() is sec:
            others.append(readable_path(target))
        else:
            raise _Fail("not-covered", f"a Reference points at {readable_path(target)}, which is neither the "
                        "Envelope's Body nor a header", target)
        ref_ev.append(ReferenceEvidence(ref.get("URI"), dm, dv.text.strip(), readable_path(target), target))
    for need, el in (("body", body), ("timestamp", ts)):
        if need not in covered:
            raise _Fail("not-covered", f"the signature does not cover the Envelope's {need} {readable_path(el)}", el)

    # key: SecurityTokenReference -> BinarySecurityToken in this Security header
    refs = sig.findall(f"{DS}KeyInfo/{WSSE}SecurityTokenReference/{WSSE}Reference")
    if len(refs) != 1 or not (refs[0].get("URI") or "").startswith("#"):
        raise _Fail("keyinfo-unsupported", "KeyInfo must be one SecurityTokenReference/Reference to a "
                    "BinarySecurityToken", sig)
    tokens = [t for t in sec.findall(WSSE + "BinarySecurityToken") if t.get(WSU + "Id") == refs[0].get("URI")[1:]]
    if len(tokens) != 1 or len(ids.get(refs[0].get("URI")[1:], [])) != 1:
        raise _Fail("keyinfo-unsupported", f"token {refs[0].get('URI')} is not exactly one BinarySecurityToken of "
                    "this Security header", refs[0])
    try:
        cert = x509.load_der_x509_certificate(_b64decode(tokens[0].text, "BinarySecurityToken", tokens[0]))
    except ValueError:
        raise _Fail("certificate-unreadable", "the BinarySecurityToken is not an X.509 certificate", tokens[0]) from None
    sv_el = _one(sig, DS + "SignatureValue", "ds:Signature")
    sv = _b64decode(sv_el.text, "SignatureValue", sv_el)
    si_bytes = alg.canonicalize(si, c14n)
    if not alg.verify_raw(cert.public_key(), method, sv, si_bytes):
        raise _Fail("signature-invalid", f"SignatureValue does not verify with the token of {subject_of(cert)}", sv_el)
    chain, trusted_by = [], ""
    if certificates:
        if not any(cert == c for c in certificates):
            raise _Fail("untrusted-certificate", f"signer {subject_of(cert)} is not one of the partner's "
                        "certificates", tokens[0])
        check_validity(cert, now, "signer certificate")
        trusted_by = "pinned"
    if trust is not None:
        chain = [subject_of(c) for c in trust.validate(cert, now)]
        trusted_by = trusted_by or "trust-store"
    if replay_cache is not None and not replay_cache.check_and_add(hashlib.sha256(sv).hexdigest(), now):
        raise _Fail("replay", "this signature was already received (replayed message)", sv_el)
    ev = SignatureEvidence("ws-security", method, c14n, hashlib.sha256(si_bytes).hexdigest(), ref_ev, cert, None,
                           body, readable_path(body), _fmt(created), chain, trusted_by)
    return WsSecEvidence(ev, created, expires, body, ts, others)
