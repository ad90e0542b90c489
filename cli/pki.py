"""`edihub pki init DIR` (development PKI) and `edihub pki status DIR_OR_FILE...` (days to expiry).

Exit codes: init 0 written, 2 folder not empty (without --force) or unwritable; status 0 all valid, 1 any
certificate expired or not yet valid, 2 unreadable.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("pki", help="development PKI and certificate expiry")
    s = p.add_subparsers(dest="pki_command", metavar="init|status")
    i = s.add_parser("init", help="write a development CA, hub/partner/expired/revoked/untrusted certificates, CRL, SM2 keys")
    i.add_argument("dir", metavar="DIR")
    i.add_argument("--days", type=int, default=365, help="validity of the leaf certificates")
    i.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    i.set_defaults(func=run_init)
    st = s.add_parser("status", help="days to expiry of certificates (files or folders)")
    st.add_argument("paths", nargs="+", metavar="DIR_OR_FILE")
    st.add_argument("--warn-days", type=int, default=30)
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=run_status)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def run_init(args) -> int:
    from signing.devpki import init_dev_pki
    d = Path(args.dir)
    if d.exists() and any(d.iterdir()) and not args.force:
        print(f"edihub: {d} is not empty (use --force to write into it)", file=sys.stderr)
        return 2
    try:
        written = init_dev_pki(d, dt.datetime.now(dt.timezone.utc), args.days)
    except OSError as e:
        print(f"edihub: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    print(f"development PKI written to {d} ({len(written)} items; trust store: {d / 'trust'}). Not for production.")
    return 0


def run_status(args) -> int:
    from signing import SigningError
    from signing.devpki import certificates_in, expiry_of
    try:
        certs = certificates_in(args.paths)
    except (OSError, SigningError) as e:
        print(f"edihub: {getattr(e, 'message', None) or e}", file=sys.stderr)
        return 2
    if not certs:
        print("edihub: no certificate found", file=sys.stderr)
        return 2
    report = expiry_of(certs, dt.datetime.now(dt.timezone.utc), args.warn_days)
    for e in report:
        if args.json:
            print(json.dumps(e.to_dict(), ensure_ascii=False))
        else:
            print(f"{e.status.upper():14} {e.days_left:6d} days  {e.not_after:%Y-%m-%d}  {e.name}  ({e.subject})")
    return 1 if any(e.status in ("expired", "not-yet-valid") for e in report) else 0
