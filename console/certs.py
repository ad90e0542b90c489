"""Every certificate the hub is configured with, loaded once at start-up, and their days to expiry.

Sources: the signing sections' certificates (as loaded by the runtime), each partner's `certificates` files,
and the console's own `certificates` list (files or folders, e.g. the trust store). A file that cannot be read is
listed as a problem instead of stopping the hub.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass
class CertRow:
    name: str
    subject: str | None
    issuer: str | None
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    days_left: int | None
    status: str               # ok | warning | expired | not-yet-valid | unreadable
    fingerprint: str | None = None
    problem: str | None = None


def collect(runtime, extra_paths=()) -> tuple[list[tuple[str, object]], list[tuple[str, str]]]:
    """([(name, certificate)], [(name, problem)])."""
    from signing.devpki import certificates_in
    named, problems = [], []
    seen = set()

    def add(name, cert):
        key = (name, cert.fingerprint(_sha256()))
        if key not in seen:
            seen.add(key)
            named.append((name, cert))
    for sid, entry in sorted(getattr(runtime.pipeline, "signers", {}).items()):
        signer = entry[1] if isinstance(entry, tuple) else getattr(entry, "signer", entry)
        cert = getattr(signer, "certificate", None)
        if cert is not None:
            add(f"signing.{sid}", cert)
    cfg = runtime.cfg
    for pid, p in sorted(cfg.partners.items()):
        for path in p.certificates:
            try:
                for _, c in certificates_in([cfg.resolve(path)]):
                    add(f"partners.{pid}: {path}", c)
            except Exception as e:  # noqa: BLE001 - shown on the page
                problems.append((f"partners.{pid}: {path}", str(e) or type(e).__name__))
    for path in extra_paths:
        try:
            for name, c in certificates_in([cfg.resolve(path)]):
                add(f"console: {name}", c)
        except Exception as e:  # noqa: BLE001
            problems.append((f"console.certificates: {path}", str(e) or type(e).__name__))
    return named, problems


def _sha256():
    from cryptography.hazmat.primitives import hashes
    return hashes.SHA256()


def report(named, problems, now: dt.datetime, warn_days: int) -> list[CertRow]:
    from signing.devpki import expiry_of
    rows = []
    for e, (name, c) in zip(expiry_of(named, now, warn_days), _sorted(named)):
        rows.append(CertRow(e.name, e.subject, c.issuer.rfc4514_string(), c.not_valid_before_utc, e.not_after,
                            e.days_left, e.status, c.fingerprint(_sha256()).hex()))
    rows += [CertRow(n, None, None, None, None, None, "unreadable", problem=p) for n, p in problems]
    return rows


def _sorted(named):
    # expiry_of sorts soonest first (stable); mirror it to pair each row with its certificate
    return sorted(named, key=lambda x: x[1].not_valid_after_utc)
