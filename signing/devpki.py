"""A development PKI for tests and demos (`edihub pki init DIR`), and certificate expiry reporting.

Layout written by init_dev_pki (see certs/README.md):
    trust/ca.pem  trust/ca.crl          the trust store folder (CA certificate + CRL revoking revoked.pem)
    ca/ca.key                           the CA's private key
    hub.key hub.pem hub.p12             the hub's RSA-2048 signing key (p12 password "edihub-dev")
    hub-ec.key hub-ec.pem               the hub's ECDSA P-256 key
    partner-a.key/.pem  partner-a-next.key/.pem   two valid certificates of one partner (rollover)
    partner-b.key/.pem
    expired.key/.pem                    expired yesterday
    revoked.key/.pem                    valid but listed in trust/ca.crl
    untrusted-ca.pem untrusted.key/.pem issued by a CA outside the trust store
    sm2.key sm2.pub                     SM2 key pair (hex) for the sm2-sm3 profile
Nothing here is for production.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from .evidence import subject_of
from .keys import Sm2PrivateKey, load_certificates

DEV_P12_PASSWORD = b"edihub-dev"


def _name(cn: str, org: str = "edihub development") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _rsa(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def make_certificate(subject: str, key, issuer_cert, issuer_key, not_before, not_after, *, ca=False,
                     org="edihub development") -> x509.Certificate:
    name = _name(subject, org)
    b = (x509.CertificateBuilder().subject_name(name)
         .issuer_name(issuer_cert.subject if issuer_cert is not None else name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                      encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    return b.sign(issuer_key if issuer_key is not None else key, hashes.SHA256())


def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _write_cert(path: Path, *certs) -> None:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))


def init_dev_pki(folder: str | Path, now: dt.datetime, days: int = 365) -> dict[str, Path]:
    """Write the development PKI into `folder` (created). Returns name -> path of what was written."""
    d = Path(folder)
    (d / "trust").mkdir(parents=True, exist_ok=True)
    (d / "ca").mkdir(exist_ok=True)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=days)
    out: dict[str, Path] = {}
    ca_key = _rsa()
    ca = make_certificate("edihub dev CA", ca_key, None, None, start, now + dt.timedelta(days=days * 5), ca=True)
    _write_key(d / "ca" / "ca.key", ca_key)
    _write_cert(d / "trust" / "ca.pem", ca)
    out["ca"] = d / "trust" / "ca.pem"

    def leaf(name, cn, key=None, nb=start, na=end, issuer=(ca, ca_key)):
        key = key or _rsa()
        cert = make_certificate(cn, key, issuer[0], issuer[1], nb, na)
        _write_key(d / f"{name}.key", key)
        _write_cert(d / f"{name}.pem", cert)
        out[name] = d / f"{name}.pem"
        return key, cert

    hub_key, hub = leaf("hub", "edihub hub")
    (d / "hub.p12").write_bytes(pkcs12.serialize_key_and_certificates(
        b"hub", hub_key, hub, [ca], serialization.BestAvailableEncryption(DEV_P12_PASSWORD)))
    (d / "hub.p12").chmod(0o600)
    leaf("hub-ec", "edihub hub (ECDSA P-256)", key=ec.generate_private_key(ec.SECP256R1()))
    leaf("partner-a", "partner A")
    leaf("partner-a-next", "partner A (rollover)")
    leaf("partner-b", "partner B")
    leaf("expired", "expired partner", nb=now - dt.timedelta(days=400), na=now - dt.timedelta(days=1))
    _, revoked = leaf("revoked", "revoked partner")
    other_key = _rsa()
    other = make_certificate("untrusted CA", other_key, None, None, start, end, ca=True, org="elsewhere")
    _write_cert(d / "untrusted-ca.pem", other)
    leaf("untrusted", "partner of an untrusted CA", issuer=(other, other_key))
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject).last_update(start)
           .next_update(now + dt.timedelta(days=30))
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(revoked.serial_number)
                                    .revocation_date(now - dt.timedelta(hours=1)).build())
           .sign(ca_key, hashes.SHA256()))
    (d / "trust" / "ca.crl").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    out["crl"] = d / "trust" / "ca.crl"
    sm2 = Sm2PrivateKey.generate()
    (d / "sm2.key").write_text(sm2.hex + "\n")
    (d / "sm2.key").chmod(0o600)
    (d / "sm2.pub").write_text(sm2.public.hex + "\n")
    out["sm2"] = d / "sm2.pub"
    return out


@dataclass
class CertificateExpiry:
    name: str
    subject: str
    not_after: dt.datetime
    days_left: int
    status: str          # ok | warning | expired | not-yet-valid

    def to_dict(self) -> dict:
        return {"name": self.name, "subject": self.subject, "not_after": self.not_after.isoformat(),
                "days_left": self.days_left, "status": self.status}


def expiry_of(named_certs, now: dt.datetime, warn_days: int = 30) -> list[CertificateExpiry]:
    """Days to expiry per configured certificate: [(name, certificate)] -> CertificateExpiry, soonest first."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    out = []
    for name, cert in named_certs:
        left = cert.not_valid_after_utc - now
        days = int(left.total_seconds() / 86400)  # truncated toward zero
        if left.total_seconds() < 0:
            status = "expired"
        elif now < cert.not_valid_before_utc:
            status = "not-yet-valid"
        elif days < warn_days:
            status = "warning"
        else:
            status = "ok"
        out.append(CertificateExpiry(name, subject_of(cert), cert.not_valid_after_utc, days, status))
    return sorted(out, key=lambda e: e.not_after)


def certificates_in(paths) -> list[tuple[str, x509.Certificate]]:
    """Certificates of files and folders (*.pem *.crt *.cer *.der, recursively) named by path."""
    found = []
    for p in map(Path, paths):
        files = sorted(x for x in p.rglob("*") if x.suffix.lower() in (".pem", ".crt", ".cer", ".der")) \
            if p.is_dir() else [p]
        for f in files:
            for i, c in enumerate(load_certificates(f)):
                found.append((f"{f}" + (f"[{i}]" if i else ""), c))
    return found
