"""Policy and evidence objects of the signing stage (see docs/signing.md)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree

from . import algorithms as alg


_FACTS: dict = {}


def certificate_facts(cert: x509.Certificate) -> dict[str, str]:
    """Subject, issuer (RFC 4514), SHA-256 fingerprint (hex) and DER in base64 of a certificate, worked out once
    per certificate: the same signer certificate goes into every signature and its evidence."""
    f = _FACTS.get(cert)
    if f is None:
        import base64

        from cryptography.hazmat.primitives import serialization
        f = {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
             "sha256": cert.fingerprint(hashes.SHA256()).hex(),
             "der_b64": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()}
        if len(_FACTS) > 256:
            _FACTS.clear()
        _FACTS[cert] = f
    return f


def subject_of(cert: x509.Certificate | None) -> str | None:
    return certificate_facts(cert)["subject"] if cert is not None else None


def fingerprint(cert: x509.Certificate | None) -> str | None:
    return certificate_facts(cert)["sha256"] if cert is not None else None


@dataclass
class ReferenceEvidence:
    uri: str
    digest_method: str
    digest_value: str           # base64, as in the document
    path: str                   # readable path of the element the reference resolves to
    element: etree._Element | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "digest_method": alg.short(self.digest_method), "digest": self.digest_value,
                "covers": self.path}


@dataclass
class SignatureEvidence:
    profile: str | None
    signature_method: str
    c14n_method: str
    signed_info_sha256: str                      # hex SHA-256 of the canonical SignedInfo: what was signed
    references: list[ReferenceEvidence] = field(default_factory=list)
    signer_certificate: x509.Certificate | None = None
    key_name: str | None = None
    covered: etree._Element | None = None        # the element the signature covers (the one to continue with)
    covered_path: str = ""
    signing_time: str | None = None              # XAdES SigningTime / WS-Security Created
    chain: list[str] = field(default_factory=list)
    trusted_by: str = ""                         # "trust-store", "pinned", "sm2-key" or "" (not checked)

    @property
    def signer_subject(self) -> str | None:
        return subject_of(self.signer_certificate)

    @property
    def algorithm(self) -> str:
        return alg.short(self.signature_method)

    def to_dict(self) -> dict[str, Any]:
        c = self.signer_certificate
        return {
            "profile": self.profile, "algorithm": self.algorithm, "c14n": alg.short(self.c14n_method),
            "signer": self.signer_subject, "issuer": certificate_facts(c)["issuer"] if c is not None else None,
            "certificate_sha256": fingerprint(c), "key_name": self.key_name,
            "signed_info_sha256": self.signed_info_sha256, "covered": self.covered_path,
            "references": [r.to_dict() for r in self.references], "signing_time": self.signing_time,
            "chain": self.chain, "trusted_by": self.trusted_by,
        }


@dataclass
class SignResult:
    data: bytes
    evidence: SignatureEvidence
    tree: etree._ElementTree


@dataclass
class VerifyPolicy:
    """What the caller accepts. `now` is required (certificate validity). `cover` selects the element that must
    be covered: None = the document element; an XPath (with `namespaces`) or a callable(tree) -> element."""
    now: dt.datetime
    profiles: tuple = ("default",)              # names or SigningProfile objects; SHA-1 only via such a profile
    trust: Any = None                           # signing.trust.TrustStore
    certificates: tuple = ()                    # pinned signer certificates (a partner's, two during rollover)
    sm2_keys: dict = field(default_factory=dict)   # KeyName -> Sm2PublicKey
    cover: str | Callable | None = None
    namespaces: dict = field(default_factory=dict)
    require_trust: bool = True                  # False only for "integrity only" checks (CLI without --trust)
    refuse_comments: bool = True                # comments/PIs inside signed content are refused


@dataclass
class VerifyResult:
    valid: bool
    code: str = "ok"
    reason: str = ""
    evidence: SignatureEvidence | None = None
    path: str = ""

    @property
    def covered(self) -> etree._Element | None:
        return self.evidence.covered if (self.valid and self.evidence) else None

    def to_dict(self) -> dict[str, Any]:
        d = {"valid": self.valid, "code": self.code, "reason": self.reason, "path": self.path}
        if self.evidence is not None:
            d.update(self.evidence.to_dict())
        return d
