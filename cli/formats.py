"""`edihub formats`: the families and message types edihub knows."""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("formats", help="list format families and message types")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    from translator.registry import default_registry
    reg = default_registry()
    if args.json:
        print(json.dumps([{"family": f.name, "title": f.title,
                           "types": [{"name": t.name, "id": t.id, "root": t.root, "title": t.title, "kind": t.kind}
                                     for t in f.types]} for f in reg.families.values()], ensure_ascii=False, indent=2))
        return 0
    for fam in reg.families.values():
        print(f"{fam.name}  {fam.title}")
        for t in fam.types:
            print(f"  {t.id:<28} {t.title}")
    return 0
