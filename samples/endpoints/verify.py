"""Signature check of the simulated endpoints: the hub's certificate(s) are pinned; signing does the work.

make_verifier(paths) loads the certificates once and returns verifier(document bytes or tree) -> (ok, signer or
reason) (the document's enveloped XML signature, signing.verify); verifier.envelope(envelope root) -> (ok, signer or
reason) checks a WS-Security signed envelope instead (signing.wssec.verify_envelope), used when the request
carries a wsse:Security header.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

ACCEPTED_PROFILES = ("default", "prc-eport", "sm2-sm3", "xades-bes")


def make_verifier(hub_cert, profiles=ACCEPTED_PROFILES, clock=None):
    """hub_cert: a PEM path or a list of them (two during a rollover)."""
    import signing
    from signing.evidence import VerifyPolicy
    from signing.keys import load_certificates

    paths = [hub_cert] if isinstance(hub_cert, (str, Path)) else list(hub_cert)
    certs = tuple(c for p in paths for c in load_certificates(p))
    if not certs:
        raise ValueError(f"no certificate in {', '.join(map(str, paths))}")
    clock = clock or (lambda: datetime.now(timezone.utc))
    usable = []
    for name in profiles:        # only the profiles this installation knows
        try:
            signing.load_profile(name)
            usable.append(name)
        except Exception:  # noqa: BLE001
            pass

    def verifier(data):
        """data: the document's bytes, or its lxml element / tree (checked as it is, not re-parsed)."""
        try:
            policy = VerifyPolicy(now=clock(), profiles=tuple(usable), certificates=certs, require_trust=False)
            result = signing.verify(data, policy)
        except Exception as e:  # noqa: BLE001 - a verifier error is a refusal, never a crash of the endpoint
            return False, f"{getattr(e, 'code', type(e).__name__)}: {getattr(e, 'message', e)}"
        if not result.valid:
            return False, f"{result.code}: {result.reason}"
        ev = result.evidence
        return True, (ev.signer_subject if ev is not None else "") or "verified"

    def envelope(root):
        try:
            from signing import wssec
            ev = wssec.verify_envelope(root, certificates=certs, now=clock())
        except Exception as e:  # noqa: BLE001 - refusal, never a crash
            return False, f"{getattr(e, 'code', type(e).__name__)}: {getattr(e, 'message', e)}"
        cert = ev.signer_certificate
        return True, (cert.subject.rfc4514_string() if cert is not None else "verified (WS-Security)")

    verifier.envelope = envelope
    return verifier
