"""Who is calling: bearer tokens (HTTP API, SOAP without WS-Security) and WS-Security signatures (SOAP).

Certificates and tokens are loaded once at start-up. A failure is an AuthError with a stable code; the caller
logs it in the refusal table and answers with a fault / 401 / 403. Nothing is accepted without a partner.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from .config import Config, Partner

WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


class AuthError(Exception):
    def __init__(self, code: str, message: str, partner: str | None = None):
        super().__init__(message)
        self.code, self.message, self.partner = code, message, partner


def _load_cert(path):
    from cryptography import x509
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


class Authenticator:
    def __init__(self, cfg: Config, *, verify_envelope=None, operator_token: str | None = None):
        self.cfg = cfg
        self.tokens = [(p.token.encode(), p) for p in cfg.partners.values() if p.token]
        self.operator_token = operator_token.encode() if operator_token else None
        self.certs: dict[str, list] = {}          # partner id -> certificate objects
        self.by_fingerprint: dict[str, Partner] = {}
        self.missing: list[str] = []
        for p in cfg.partners.values():
            for c in p.certificates:
                path = cfg.resolve(c)
                try:
                    cert = _load_cert(path)
                except (OSError, ValueError) as e:
                    self.missing.append(f"partners.{p.id}.certificates: {path}: {e}")
                    continue
                self.certs.setdefault(p.id, []).append(cert)
                from cryptography.hazmat.primitives import serialization
                der = cert.public_bytes(serialization.Encoding.DER)
                self.by_fingerprint[hashlib.sha256(der).hexdigest()] = p
        self.replay = None
        if verify_envelope is None:
            try:
                from signing.wssec import ReplayCache, verify_envelope
                self.replay = ReplayCache(ttl=2 * cfg.hub.clock_skew + 60)
            except ImportError:
                verify_envelope = None
        self.verify_envelope = verify_envelope

    # -- bearer tokens ---------------------------------------------------------------------------------------
    def by_token(self, header: str | None) -> Partner:
        token = _bearer(header)
        if token is None:
            raise AuthError("auth-missing", "no credentials: send 'Authorization: Bearer <token>' or a "
                                            "WS-Security signature")
        found = None
        t = token.encode()
        for known, p in self.tokens:         # compare with every token, constant time each
            if hmac.compare_digest(known, t):
                found = p
        if found is None:
            raise AuthError("auth-failed", "the bearer token is not valid")
        return found

    def is_operator(self, header: str | None) -> bool:
        token = _bearer(header)
        return bool(token and self.operator_token and hmac.compare_digest(self.operator_token, token.encode()))

    # -- WS-Security -----------------------------------------------------------------------------------------
    def by_wssec(self, envelope_root, security_el, now: float) -> tuple[Partner, object]:
        """The partner whose certificate signed the envelope; the signature must verify (signing.wssec)."""
        bst = security_el.find(f"{{{WSSE_NS}}}BinarySecurityToken")
        if bst is None or not (bst.text or "").strip():
            raise AuthError("wssec-no-token", "the wsse:Security header carries no BinarySecurityToken")
        try:
            der = base64.b64decode("".join(bst.text.split()), validate=True)
        except ValueError:
            raise AuthError("wssec-bad-token", "the BinarySecurityToken is not base64") from None
        partner = self.by_fingerprint.get(hashlib.sha256(der).hexdigest())
        if partner is None:
            raise AuthError("wssec-unknown-certificate", "the signing certificate belongs to no configured partner")
        if self.verify_envelope is None:
            raise AuthError("wssec-unavailable", "WS-Security verification is not installed (signing.wssec)",
                            partner.id)
        try:
            import datetime as dt
            kw = {"replay_cache": self.replay} if self.replay is not None else {}
            evidence = self.verify_envelope(envelope_root, self.certs.get(partner.id, []),
                                            dt.datetime.fromtimestamp(now, dt.timezone.utc),
                                            max_skew=int(self.cfg.hub.clock_skew), **kw)
        except Exception as e:  # noqa: BLE001 - any verification failure is a refusal with its reason
            raise AuthError("wssec-invalid", f"WS-Security signature rejected: {getattr(e, 'message', e)}",
                            partner.id) from None
        if evidence is None or getattr(evidence, "ok", True) is False or getattr(evidence, "valid", True) is False:
            reason = getattr(evidence, "reason", None) or getattr(evidence, "error", None) or "not valid"
            raise AuthError("wssec-invalid", f"WS-Security signature rejected: {reason}", partner.id)
        return partner, evidence


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
