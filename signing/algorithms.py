"""Algorithm identifiers (XMLDSig URIs) and the primitive operations behind them: canonicalisation, digests,
signature creation/verification over key objects. SHA-1 is only usable where a profile or policy names it."""
from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from lxml import etree

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
DS = "{%s}" % DS_NS

# canonicalisation
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_10_COMMENTS = C14N_10 + "#WithComments"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS = EXC_C14N + "WithComments"
ENVELOPED = DS_NS + "enveloped-signature"

# (exclusive, with_comments)
C14N_MODES = {
    C14N_10: (False, False), C14N_10_COMMENTS: (False, True),
    EXC_C14N: (True, False), EXC_C14N_COMMENTS: (True, True),
}

# digests: uri -> (short name, function bytes -> bytes)
def _sm3(data: bytes) -> bytes:
    from gmssl import sm3
    return bytes.fromhex(sm3.sm3_hash(list(data)))


DIGESTS = {
    DS_NS + "sha1": ("sha1", lambda d: hashlib.sha1(d).digest()),
    "http://www.w3.org/2001/04/xmlenc#sha256": ("sha256", lambda d: hashlib.sha256(d).digest()),
    "http://www.w3.org/2001/04/xmldsig-more#sha384": ("sha384", lambda d: hashlib.sha384(d).digest()),
    "http://www.w3.org/2001/04/xmlenc#sha512": ("sha512", lambda d: hashlib.sha512(d).digest()),
    # SM3: no W3C URI exists; China e-Port tooling uses the xmldsig namespace (as for sm2-sm3). [P]
    DS_NS + "sm3": ("sm3", _sm3),
}
DIGEST_BY_NAME = {v[0]: k for k, v in DIGESTS.items()}

RSA_SHA1 = DS_NS + "rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SM2_SM3 = DS_NS + "sm2-sm3"

# signature method uri -> (short name, key kind, hash)
SIGNATURES = {
    RSA_SHA1: ("rsa-sha1", "rsa", hashes.SHA1),
    RSA_SHA256: ("rsa-sha256", "rsa", hashes.SHA256),
    RSA_SHA384: ("rsa-sha384", "rsa", hashes.SHA384),
    RSA_SHA512: ("rsa-sha512", "rsa", hashes.SHA512),
    ECDSA_SHA256: ("ecdsa-sha256", "ec", hashes.SHA256),
    SM2_SM3: ("sm2-sm3", "sm2", None),
}
SIGNATURE_BY_NAME = {v[0]: k for k, v in SIGNATURES.items()}
C14N_BY_NAME = {"c14n": C14N_10, "c14n-comments": C14N_10_COMMENTS, "exc-c14n": EXC_C14N,
                "exc-c14n-comments": EXC_C14N_COMMENTS}
SHA1_URIS = {RSA_SHA1, DS_NS + "sha1"}


def short(uri: str) -> str:
    for table in (DIGESTS, SIGNATURES):
        if uri in table:
            return table[uri][0]
    for k, v in C14N_BY_NAME.items():
        if v == uri:
            return k
    return uri


def canonicalize(node, c14n_uri: str, inclusive_prefixes: list[str] | None = None) -> bytes:
    """C14N of an element (with its in-scope namespaces) or of a whole document (_ElementTree)."""
    exclusive, comments = C14N_MODES[c14n_uri]
    if isinstance(node, etree._Element) and node.getparent() is not None:
        node = _detached_copy(node)
    return etree.tostring(node, method="c14n", exclusive=exclusive, with_comments=comments,
                          inclusive_ns_prefixes=(inclusive_prefixes or None) if exclusive else None)


def _detached_copy(el: etree._Element) -> etree._ElementTree:
    """The element as the root of its own document, with every namespace declaration in scope at it.

    lxml 6.1's C14N of a sub-element writes a spurious xmlns="" on grandchildren that use a default namespace
    declared on an ancestor (e.g. .NET-style <Signature xmlns="...xmldsig#">). lxml's serialisation of a
    sub-element is right (prefixes kept, inherited declarations written), so the subtree is serialised and
    read back with the hardened parser before canonicalisation. xml:lang/xml:space inherited from ancestors
    are not carried over (edihub never relies on them)."""
    from translator.parsing import parse
    return parse(etree.tostring(el, with_tail=False))


def digest(uri: str, data: bytes) -> bytes:
    return DIGESTS[uri][1](data)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key_kind(key) -> str:
    from .keys import Sm2PrivateKey, Sm2PublicKey
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ec"
    if isinstance(key, (Sm2PrivateKey, Sm2PublicKey)):
        return "sm2"
    return type(key).__name__


def sign_raw(private_key, method_uri: str, data: bytes) -> bytes:
    """SignatureValue bytes as XMLDSig wants them (ECDSA: r||s, not DER)."""
    _, kind, h = SIGNATURES[method_uri]
    if kind == "rsa":
        return private_key.sign(data, padding.PKCS1v15(), h())
    if kind == "ec":
        der = private_key.sign(data, ec.ECDSA(h()))
        r, s = decode_dss_signature(der)
        n = (private_key.curve.key_size + 7) // 8
        return r.to_bytes(n, "big") + s.to_bytes(n, "big")
    return private_key.sign_sm3(data)


def verify_raw(public_key, method_uri: str, signature: bytes, data: bytes) -> bool:
    _, kind, h = SIGNATURES[method_uri]
    if key_kind(public_key) != kind:
        return False
    try:
        if kind == "rsa":
            public_key.verify(signature, data, padding.PKCS1v15(), h())
        elif kind == "ec":
            n = (public_key.curve.key_size + 7) // 8
            if len(signature) != 2 * n:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:n], "big"), int.from_bytes(signature[n:], "big"))
            public_key.verify(der, data, ec.ECDSA(h()))
        else:
            return public_key.verify_sm3(signature, data)
    except InvalidSignature:
        return False
    return True


def signature_method_for(key, candidates: list[str]) -> str | None:
    """First of the profile's signature methods that fits the key type."""
    kind = key_kind(key)
    for uri in candidates:
        if SIGNATURES[uri][1] == kind:
            return uri
    return None
