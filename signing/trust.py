"""Trust store: a folder of CA certificates (*.pem, *.crt, *.cer, *.der) and optional CRLs (*.crl), loaded once.

validate(cert, now, intermediates) builds the chain to an anchor and checks signatures, validity periods at
`now`, CA basic constraints, key usage (leaf: digitalSignature or nonRepudiation; CAs: keyCertSign) and the
CRL of each issuer when the folder holds one (a CRL past its nextUpdate fails closed). Pure: no clock, no network.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import SigningError
from .evidence import subject_of
from .keys import load_certificates

MAX_CHAIN = 6


def _fp(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def check_validity(cert: x509.Certificate, now: dt.datetime, what: str = "certificate") -> None:
    now = _aware(now)
    if now < cert.not_valid_before_utc:
        raise SigningError("certificate-not-yet-valid",
                           f"{what} {subject_of(cert)} is valid only from {cert.not_valid_before_utc:%Y-%m-%d %H:%M}Z")
    if now > cert.not_valid_after_utc:
        raise SigningError("certificate-expired",
                           f"{what} {subject_of(cert)} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M}Z")


def _ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate, allow_sha1: bool = False) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (TypeError, InvalidSignature):
        return False
    except ValueError:
        pass
    # cryptography refuses SHA-1 certificate signatures; accepted only when the store says allow_sha1
    h = cert.signature_hash_algorithm
    if not (allow_sha1 and isinstance(h, hashes.SHA1) and isinstance(issuer.public_key(), rsa.RSAPublicKey)):
        return False
    try:
        issuer.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), h)
        return True
    except InvalidSignature:
        return False


@dataclass
class TrustStore:
    anchors: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    source: str = ""
    allow_sha1: bool = False          # accept SHA-1-signed certificates (old partner CAs): explicit only
    _checked: dict = field(default_factory=dict, repr=False)   # (cert fp, issuer fp) -> signature verified

    @classmethod
    def from_dir(cls, folder: str | Path, allow_sha1: bool = False) -> "TrustStore":
        folder = Path(folder)
        if not folder.is_dir():
            raise SigningError("trust-store-unreadable", f"{folder}: not a folder")
        store = cls(source=str(folder), allow_sha1=allow_sha1)
        for p in sorted(folder.iterdir()):
            suffix = p.suffix.lower()
            if suffix in (".pem", ".crt", ".cer", ".der"):
                store.anchors.extend(load_certificates(p))
            elif suffix == ".crl":
                data = p.read_bytes()
                try:
                    crl = (x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data))
                except ValueError as e:
                    raise SigningError("crl-unreadable", f"{p}: {e}") from None
                store.crls.append(crl)
        if not store.anchors:
            raise SigningError("trust-store-empty", f"{folder}: holds no CA certificate (*.pem, *.crt, *.cer, *.der)")
        return store

    @classmethod
    def from_certificates(cls, anchors, crls=(), allow_sha1: bool = False) -> "TrustStore":
        return cls(list(anchors), list(crls), "memory", allow_sha1)

    def _issued(self, cert: x509.Certificate, issuer: x509.Certificate) -> bool:
        """_issued_by with a memo: signatures over certificates and CRLs are checked once per store."""
        if cert.issuer != issuer.subject:
            return False
        key = (_fp(cert), _fp(issuer))
        ok = self._checked.get(key)
        if ok is None:
            ok = self._checked[key] = _issued_by(cert, issuer, self.allow_sha1)
        return ok

    def _crl_signed_by(self, crl, issuer) -> bool:
        key = (crl.fingerprint(hashes.SHA256()), _fp(issuer))
        ok = self._checked.get(key)
        if ok is None:
            ok = self._checked[key] = crl.is_signature_valid(issuer.public_key())
        return ok

    def _check_crl(self, cert: x509.Certificate, issuer: x509.Certificate, now: dt.datetime) -> None:
        for crl in self.crls:
            if crl.issuer != issuer.subject:
                continue
            if not self._crl_signed_by(crl, issuer):
                raise SigningError("crl-invalid", f"the CRL of {subject_of(issuer)} is not signed by it")
            nxt = crl.next_update_utc
            if nxt is not None and _aware(now) > nxt:
                raise SigningError("crl-stale", f"the CRL of {subject_of(issuer)} expired on {nxt:%Y-%m-%d}")
            revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if revoked is not None:
                raise SigningError("certificate-revoked",
                                   f"certificate {subject_of(cert)} (serial {cert.serial_number:x}) was revoked on "
                                   f"{revoked.revocation_date_utc:%Y-%m-%d}")

    def validate(self, cert: x509.Certificate, now: dt.datetime, intermediates=()) -> list[x509.Certificate]:
        """Return the chain [leaf, ..., anchor] or raise SigningError naming the failing certificate and rule."""
        check_validity(cert, now, "signer certificate")
        ku = _ext(cert, x509.KeyUsage)
        if ku is not None and not (ku.digital_signature or ku.content_commitment):
            raise SigningError("certificate-key-usage",
                               f"signer certificate {subject_of(cert)} is not for digital signatures (key usage)")
        chain = [cert]
        current = cert
        pool = list(intermediates)
        for _ in range(MAX_CHAIN):
            anchor = next((a for a in self.anchors if self._issued(current, a)), None)
            if anchor is not None:
                self._check_issuer(anchor, now)
                self._check_crl(current, anchor, now)
                if _fp(anchor) != _fp(current):
                    chain.append(anchor)
                return chain
            if any(a == current for a in self.anchors):   # a self-signed anchor used directly
                return chain
            inter = next((c for c in pool if c != current and self._issued(current, c)), None)
            if inter is None:
                break
            self._check_issuer(inter, now)
            self._check_crl(current, inter, now)
            chain.append(inter)
            current = inter
        raise SigningError("untrusted-certificate",
                           f"certificate {subject_of(cert)} (issuer {cert.issuer.rfc4514_string()}) does not chain "
                           f"to a CA of the trust store {self.source}")

    def _check_issuer(self, ca: x509.Certificate, now: dt.datetime) -> None:
        check_validity(ca, now, "CA certificate")
        bc = _ext(ca, x509.BasicConstraints)
        if bc is None or not bc.ca:
            raise SigningError("issuer-not-ca", f"issuer {subject_of(ca)} is not a CA (basic constraints)")
        ku = _ext(ca, x509.KeyUsage)
        if ku is not None and not ku.key_cert_sign:
            raise SigningError("issuer-not-ca", f"issuer {subject_of(ca)} may not sign certificates (key usage)")
