"""Loading keys and certificates once (PEM, DER, PKCS#12), and the SM2 key objects built on gmssl.

gmssl is pure Python; an SM2 key is a hex string there. Sm2PrivateKey / Sm2PublicKey wrap it so the rest of
edihub handles SM2 like the cryptography key objects. SM2 signatures use SM3 with the default user id
"1234567812345678" (GB/T 32918 / GM/T 0009) and are written as r||s (64 bytes), like ECDSA in XMLDSig.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from .errors import SigningError

_SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)


def _crypt(private_hex: str = "", public_hex: str = ""):
    from gmssl import sm2
    return sm2.CryptSM2(private_key=private_hex, public_key=public_hex)


@dataclass(frozen=True)
class Sm2PublicKey:
    hex: str            # uncompressed point without the 04 prefix: 128 hex digits (x||y)

    def verify_sm3(self, signature: bytes, data: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            return bool(_crypt(public_hex=self.hex).verify_with_sm3(signature.hex(), data))
        except Exception:  # gmssl raises on malformed points
            return False

    @classmethod
    def from_text(cls, text: str) -> "Sm2PublicKey":
        h = text.strip().lower()
        if h.startswith("04") and len(h) == 130:
            h = h[2:]
        if len(h) != 128 or any(c not in "0123456789abcdef" for c in h):
            raise SigningError("sm2-key-unreadable", "an SM2 public key is 128 hex digits (x||y), optionally 04-prefixed")
        return cls(h)


@dataclass(frozen=True)
class Sm2PrivateKey:
    hex: str
    public: Sm2PublicKey

    @classmethod
    def generate(cls) -> "Sm2PrivateKey":
        d = secrets.randbelow(_SM2_N - 2) + 1
        return cls.from_hex(f"{d:064x}")

    @classmethod
    def from_hex(cls, h: str) -> "Sm2PrivateKey":
        h = h.strip().lower()
        if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
            raise SigningError("sm2-key-unreadable", "an SM2 private key is 64 hex digits")
        c = _crypt(private_hex=h)
        pub = c._kg(int(h, 16), c.ecc_table["g"])
        return cls(h, Sm2PublicKey(pub))

    def public_key(self) -> Sm2PublicKey:
        return self.public

    def sign_sm3(self, data: bytes) -> bytes:
        c = _crypt(self.hex, self.public.hex)
        k = f"{secrets.randbelow(_SM2_N - 2) + 1:064x}"
        return bytes.fromhex(c.sign_with_sm3(data, k))


def load_certificates(path: str | Path) -> list[x509.Certificate]:
    data = Path(path).read_bytes()
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as e:
        raise SigningError("certificate-unreadable", f"{path}: not a PEM/DER certificate ({e})") from None


def load_private_key(path: str | Path, password: bytes | None = None):
    """PEM/DER private key (RSA, EC) or a file holding an SM2 private key as 64 hex digits."""
    data = Path(path).read_bytes()
    text = data.strip()
    if len(text) == 64 and all(c in b"0123456789abcdefABCDEF" for c in text):
        return Sm2PrivateKey.from_hex(text.decode())
    try:
        if b"-----BEGIN" in data:
            return serialization.load_pem_private_key(data, password)
        return serialization.load_der_private_key(data, password)
    except (ValueError, TypeError) as e:
        raise SigningError("key-unreadable", f"{path}: cannot read the private key ({e})") from None


def load_pkcs12(path: str | Path, password: bytes | None = None):
    """-> (key, certificate, extra certificates)"""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(Path(path).read_bytes(), password)
    except ValueError as e:
        raise SigningError("key-unreadable", f"{path}: cannot read the PKCS#12 file ({e})") from None
    if key is None:
        raise SigningError("key-unreadable", f"{path}: the PKCS#12 file holds no private key")
    return key, cert, list(extra or [])


def certificate_der_b64(cert: x509.Certificate) -> str:
    import base64
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def same_public_key(a, b) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        return a.public_bytes(*fmt) == b.public_bytes(*fmt)
    except AttributeError:
        return a == b
