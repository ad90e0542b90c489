"""Signer plug-ins. A signer holds (or reaches) one private key and answers sign(data, method) with the raw
SignatureValue; the XML work stays in edihub. Keys are loaded once, when the signer is made.

- LocalSigner: key object in memory (from PEM, DER, PKCS#12 or an SM2 hex key file).
- RemoteSigner: the canonical SignedInfo is posted to a signing service (signing/service.py, or an HSM
  front-end speaking the same JSON) and the SignatureValue comes back; the private key never enters the hub.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from . import algorithms as alg
from .errors import SigningError
from .keys import load_certificates, load_pkcs12, load_private_key


@dataclass
class LocalSigner:
    key: object                                    # RSA / EC private key (cryptography) or Sm2PrivateKey
    certificate: x509.Certificate | None = None
    chain: list[x509.Certificate] = field(default_factory=list)   # intermediates to put in KeyInfo
    key_name: str | None = None

    def __post_init__(self):
        if self.certificate is not None and alg.key_kind(self.key) != "sm2":
            from .keys import same_public_key
            if not same_public_key(self.certificate.public_key(), self.key.public_key()):
                raise SigningError("key-certificate-mismatch", "the certificate does not belong to the private key")

    @property
    def key_kind(self) -> str:
        return alg.key_kind(self.key)

    def public_key(self):
        return self.key.public_key()

    def sign(self, data: bytes, method_uri: str) -> bytes:
        return alg.sign_raw(self.key, method_uri, data)

    @classmethod
    def from_files(cls, key_path, cert_path=None, password: str | bytes | None = None,
                   key_name: str | None = None) -> "LocalSigner":
        if isinstance(password, str):
            password = password.encode()
        if str(key_path).lower().endswith((".p12", ".pfx")):
            key, cert, extra = load_pkcs12(key_path, password)
            return cls(key, cert, extra, key_name or Path(key_path).stem)
        key = load_private_key(key_path, password)
        certs = load_certificates(cert_path) if cert_path else []
        return cls(key, certs[0] if certs else None, certs[1:], key_name or Path(key_path).stem)


class RemoteSigner:
    """Client of a signing service (JSON over HTTP). Fetches the service's certificate once at construction.

    POST {url}/sign  {"key": id, "method": uri, "signed_info": base64 canonical SignedInfo}
         -> {"signature_value": base64}
    GET  {url}/certificate?key=id -> PEM chain (leaf first)
    """

    def __init__(self, url: str, key_id: str = "default", token: str | None = None, timeout: float = 5.0,
                 client=None):
        import httpx
        self.url = url.rstrip("/")
        self.key_id = key_id
        self.key_name = key_id
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=timeout, headers=headers, trust_env=False)
        try:
            r = self._client.get(f"{self.url}/certificate", params={"key": key_id})
        except httpx.HTTPError as e:
            raise SigningError("signer-unreachable", f"signing service {self.url}: {e}") from None
        if r.status_code != 200:
            raise SigningError("signer-refused", f"signing service {self.url}: HTTP {r.status_code} {r.text[:200]}")
        certs = x509.load_pem_x509_certificates(r.content)
        self.certificate = certs[0]
        self.chain = certs[1:]

    @property
    def key_kind(self) -> str:
        return alg.key_kind(self.certificate.public_key())

    def public_key(self):
        return self.certificate.public_key()

    def sign(self, data: bytes, method_uri: str) -> bytes:
        import httpx
        body = {"key": self.key_id, "method": method_uri, "signed_info": base64.b64encode(data).decode()}
        try:
            r = self._client.post(f"{self.url}/sign", json=body)
        except httpx.HTTPError as e:
            raise SigningError("signer-unreachable", f"signing service {self.url}: {e}") from None
        if r.status_code != 200:
            raise SigningError("signer-refused", f"signing service {self.url}: HTTP {r.status_code} {r.text[:200]}")
        try:
            return base64.b64decode(r.json()["signature_value"], validate=True)
        except (ValueError, KeyError) as e:
            raise SigningError("signer-refused", f"signing service {self.url}: bad answer ({e})") from None

    def close(self) -> None:
        self._client.close()
