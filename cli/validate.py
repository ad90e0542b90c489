"""`edihub validate FILE... [--format NAME] [--json]`: exit 0 all valid, 1 any invalid, 2 unreadable/usage."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("validate", help="validate documents against their XSD and business rules")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", help="message type to validate as (e.g. prc:DecMessage); detected when omitted")
    p.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    p.set_defaults(func=run)


def run(args) -> int:
    from translator.validate import default_validator
    try:
        validator = default_validator()
    except Exception as e:  # a broken schema or table is a set-up error, not a traceback
        print(f"edihub: cannot load formats: {e}", file=sys.stderr)
        return 2
    if args.format:
        try:
            validator.registry.get(args.format)
        except KeyError as e:
            print(f"edihub: {e.args[0]}", file=sys.stderr)
            return 2
    worst = 0
    for name in args.files:
        try:
            data = Path(name).read_bytes()
        except OSError as e:
            worst = 2
            if args.json:
                print(json.dumps({"file": name, "valid": False, "format": None, "message_type": None,
                                  "errors": [{"code": "file-unreadable", "severity": "error",
                                              "message": e.strerror or str(e), "path": "", "line": None}]},
                                 ensure_ascii=False))
            else:
                print(f"{name}: unreadable: {e.strerror or e}", file=sys.stderr)
            continue
        report, _ = validator.validate_bytes(data, args.format)
        if not report.valid:
            worst = max(worst, 1)
        if args.json:
            print(json.dumps({"file": name, **report.to_dict()}, ensure_ascii=False))
        else:
            _print_human(name, report)
    return worst


def _print_human(name: str, report) -> None:
    fmt = report.format or "unknown format"
    if report.valid:
        extra = f" ({len(report.warnings)} warning(s))" if report.warnings else ""
        print(f"{name}: valid {fmt}{extra}")
    else:
        print(f"{name}: INVALID {fmt}: {len(report.errors)} error(s)")
    for i in report.issues:
        where = f"{i.path}" + (f" (line {i.line})" if i.line else "")
        print(f"  {i.severity:<7} {i.code:<24} {where}\n          {i.message}")
