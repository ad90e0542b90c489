"""`edihub sign FILE --profile P --key K [--cert C] [-o OUT]` and `edihub verify FILE [--trust DIR] [--json]`.

Exit codes: 0 signed / signature valid, 1 signature invalid (or untrusted), 2 unreadable input or usage.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

DEFAULT_VERIFY_PROFILES = ("default", "xades-bes", "sm2-sm3")


def register(sub) -> None:
    p = sub.add_parser("sign", help="sign a document with a signing profile")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--profile", default="default", help="default | prc-eport | sm2-sm3 | xades-bes (signing/profiles.toml)")
    p.add_argument("--key", help="private key: PEM/DER, PKCS#12 (.p12/.pfx) or an SM2 hex key file")
    p.add_argument("--cert", help="certificate (PEM chain, leaf first) when the key file holds none")
    p.add_argument("--password-env", metavar="VAR", help="environment variable holding the key/PKCS#12 password")
    p.add_argument("--key-name", help="KeyName to write (sm2-sm3); default: the key file's name")
    p.add_argument("--signer-url", help="sign through a signing service instead of a local key")
    p.add_argument("--signer-key", default="default", help="key id at the signing service")
    p.add_argument("--signer-token-env", metavar="VAR", help="environment variable holding the service's token")
    p.add_argument("-o", "--output", help="write the signed document here (default: stdout)")
    p.set_defaults(func=run_sign)

    v = sub.add_parser("verify", help="verify the XML signature of a document or a WS-Security SOAP envelope")
    v.add_argument("file", metavar="FILE")
    v.add_argument("--trust", metavar="DIR", help="trust store folder (CA certificates, optional *.crl)")
    v.add_argument("--cert", action="append", default=[], help="accepted signer certificate (repeatable)")
    v.add_argument("--sm2-key", action="append", default=[], metavar="NAME=FILE",
                   help="SM2 public key (hex file) for KeyName NAME (repeatable)")
    v.add_argument("--profile", action="append", default=[],
                   help="accepted profile (repeatable; default: default, xades-bes, sm2-sm3; SHA-1 only with prc-eport)")
    v.add_argument("--cover", metavar="XPATH", help="element that must be covered (default: the document element)")
    v.add_argument("--ns", action="append", default=[], metavar="PREFIX=URI", help="namespace for --cover")
    v.add_argument("--now", help="check certificates/timestamps at this ISO time (default: the clock)")
    v.add_argument("--max-skew", type=int, default=300, help="WS-Security clock skew tolerance in seconds")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(func=run_verify)


def _err(msg: str) -> int:
    print(f"edihub: {msg}", file=sys.stderr)
    return 2


def _read(name: str):
    from translator.parsing import ParseError, parse
    try:
        return parse(Path(name).read_bytes()), None
    except OSError as e:
        return None, f"{name}: unreadable: {e.strerror or e}"
    except ParseError as e:
        return None, f"{name}: {e.code}: {e.message}"


def run_sign(args) -> int:
    from signing import LocalSigner, RemoteSigner, SigningError, load_profile, sign
    tree, problem = _read(args.file)
    if problem:
        return _err(problem)
    password = os.environ.get(args.password_env) if args.password_env else None
    try:
        profile = load_profile(args.profile)
        if args.signer_url:
            token = os.environ.get(args.signer_token_env) if args.signer_token_env else None
            signer = RemoteSigner(args.signer_url, args.signer_key, token=token)
        elif args.key:
            signer = LocalSigner.from_files(args.key, args.cert, password, key_name=args.key_name)
        else:
            return _err("sign needs --key (or --signer-url)")
        result = sign(tree, profile, signer, now=dt.datetime.now(dt.timezone.utc))
    except OSError as e:
        return _err(f"{e.filename}: {e.strerror}")
    except SigningError as e:
        return _err(f"{e.code}: {e.message}")
    if args.output:
        Path(args.output).write_bytes(result.data)
    else:
        sys.stdout.buffer.write(result.data)
    ev = result.evidence
    print(f"{args.file}: signed with {profile.name} ({ev.algorithm}) by {ev.signer_subject or ev.key_name}; "
          f"covers {ev.covered_path}", file=sys.stderr)
    return 0


def _now(text):
    if not text:
        return dt.datetime.now(dt.timezone.utc)
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def run_verify(args) -> int:
    from signing import SigningError, TrustStore, VerifyPolicy, load_certificates, verify
    from signing.keys import Sm2PublicKey
    from signing.wssec import SOAP11, SOAP12, verify_envelope
    tree, problem = _read(args.file)
    if problem:
        return _err(problem)
    try:
        now = _now(args.now)
        trust = TrustStore.from_dir(args.trust) if args.trust else None
        certs = [c for f in args.cert for c in load_certificates(f)]
        sm2 = {}
        for item in args.sm2_key:
            name, _, path = item.partition("=")
            sm2[name] = Sm2PublicKey.from_text(Path(path).read_text())
        namespaces = dict(x.split("=", 1) for x in args.ns)
    except ValueError as e:
        return _err(f"bad option: {e}")
    except OSError as e:
        return _err(f"{e.filename}: {e.strerror}")
    except SigningError as e:
        return _err(f"{e.code}: {e.message}")
    root = tree.getroot()
    if root.tag in (f"{{{SOAP11}}}Envelope", f"{{{SOAP12}}}Envelope"):
        if not certs and trust is None:
            return _err("a WS-Security envelope needs --trust or --cert")
        try:
            ev = verify_envelope(tree, certs, now, args.max_skew, trust=trust)
            out = {"valid": True, "code": "ok", "reason": "", "path": "", **ev.to_dict()}
        except SigningError as e:
            out = {"valid": False, "code": e.code, "reason": e.message, "path": e.path}
    else:
        policy = VerifyPolicy(now=now, profiles=tuple(args.profile) or DEFAULT_VERIFY_PROFILES, trust=trust,
                              certificates=tuple(certs), sm2_keys=sm2, cover=args.cover, namespaces=namespaces,
                              require_trust=False)
        try:
            out = verify(tree, policy).to_dict()
        except SigningError as e:  # an unknown profile name
            return _err(f"{e.code}: {e.message}")
        except Exception as e:  # an XPath error in --cover
            return _err(f"bad --cover: {e}")
    if args.json:
        print(json.dumps({"file": args.file, **out}, ensure_ascii=False))
    elif out["valid"]:
        trusted = {"trust-store": f"chains to {args.trust}", "pinned": "a configured certificate",
                   "sm2-key": "a configured SM2 key"}.get(out.get("trusted_by"), "NOT CHECKED (no --trust/--cert)")
        print(f"{args.file}: VALID signature ({out['algorithm']}, profile {out['profile']})")
        print(f"  signer:  {out.get('signer') or out.get('key_name')}")
        print(f"  covered: {out['covered']}  (references: {', '.join(repr(r['uri']) for r in out['references'])})")
        print(f"  trust:   {trusted}")
    else:
        where = f" at {out['path']}" if out.get("path") else ""
        print(f"{args.file}: INVALID signature: {out['code']}: {out['reason']}{where}")
    return 0 if out["valid"] else 1
