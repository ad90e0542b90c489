"""`edihub translate FILE... --to FAMILY[:TYPE] [-o OUT] [--report REPORT.json] [--explain] [--hint FIELD=VALUE]`

One file: the translation goes to OUT (or stdout); a fan-out (one SIVECA registration per container) writes
OUT-1.xml, OUT-2.xml, ... Several files, a directory or a glob: OUT is a directory (default: next to each input),
each result is named <input stem>.<family>-<Type>[.<n>].xml; a progress line goes to stderr, then a summary.
The input is validated first. Exit 0 all translated, 1 a document could not be translated (or was invalid),
2 usage or unreadable input.
"""
from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

from lxml import etree


def register(sub) -> None:
    p = sub.add_parser("translate", help="translate documents to another format through the canonical pivot")
    p.add_argument("files", nargs="+", metavar="FILE", help="files, directories (their *.xml) or glob patterns")
    p.add_argument("--to", required=True, metavar="FAMILY[:TYPE]",
                   help="target, e.g. vnaccs:IDA, vnaccs (type chosen by direction), canonical")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (one input) or directory (several)")
    p.add_argument("--report", metavar="REPORT.json", help="write the mapping report(s) as JSON")
    p.add_argument("--explain", action="store_true", help="print the readable mapping report to stderr")
    p.add_argument("--hint", action="append", default=[], metavar="FIELD=VALUE",
                   help="a canonical value the source cannot hold, e.g. Extension:prc/CustomMaster=2248 (repeatable)")
    p.set_defaults(func=run)


def _expand(specs: list[str]) -> tuple[list[Path], list[str]]:
    files, missing = [], []
    for s in specs:
        p = Path(s)
        if p.is_dir():
            files.extend(sorted(x for x in p.glob("*.xml") if x.is_file()))
        elif p.is_file():
            files.append(p)
        elif any(ch in s for ch in "*?["):
            hits = sorted(Path(x) for x in glob.glob(s, recursive=True) if Path(x).is_file())
            if hits:
                files.extend(hits)
            else:
                missing.append(s)
        else:
            missing.append(s)
    return files, missing


def run(args) -> int:
    from translator.translate import TranslationError, default_translator
    try:
        tr = default_translator()
    except Exception as e:  # a broken table or schema is a set-up error: say which, no traceback
        print(f"edihub: cannot load mapping tables: {e}", file=sys.stderr)
        return 2
    target = args.to
    fam = target.split(":", 1)[0]
    if fam != "canonical" and fam not in {t.type.family for t in tr.tables.values()}:
        print(f"edihub: no mapping tables for {target!r}; known: "
              f"{', '.join(sorted(tr.tables))}, canonical", file=sys.stderr)
        return 2
    if ":" in target and fam != "canonical" and target not in tr.tables:
        print(f"edihub: no mapping table for {target}; known: {', '.join(sorted(tr.tables))}", file=sys.stderr)
        return 2
    hints = {}
    for h in args.hint:
        key, sep, value = h.partition("=")
        if not sep or not key.strip():
            print(f"edihub: --hint {h!r} is not FIELD=VALUE", file=sys.stderr)
            return 2
        hints[key.strip()] = value
    files, missing = _expand(args.files)
    for m in missing:
        print(f"edihub: {m}: no such file", file=sys.stderr)
    if missing:
        return 2
    if not files:
        print("edihub: no input files", file=sys.stderr)
        return 2
    batch = len(files) > 1 or any(Path(s).is_dir() or any(c in s for c in "*?[") for s in args.files)
    out_dir = Path(args.output) if (batch and args.output) else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    reports, worst, ok, failed = [], 0, 0, 0
    for n, f in enumerate(files, 1):
        if batch:
            print(f"\r[{n}/{len(files)}] {_bar(n, len(files))} {f.name[:40]:<40}", end="", file=sys.stderr,
                  flush=True)
        try:
            data = f.read_bytes()
        except OSError as e:
            _fail(batch, f"{f}: unreadable: {e.strerror or e}")
            reports.append({"file": str(f), "ok": False, "error": {"code": "file-unreadable",
                                                                    "message": e.strerror or str(e)}})
            worst, failed = 2, failed + 1
            continue
        vrep, tree = tr.validator.validate_bytes(data)
        if not vrep.valid:
            first = vrep.errors[0]
            _fail(batch, f"{f}: input is not valid {vrep.format or ''}: {first.code} {first.path}: {first.message}")
            reports.append({"file": str(f), "ok": False,
                            "error": {"code": "input-invalid", "message": first.message, "issues":
                                      [i.to_dict() for i in vrep.errors]}})
            worst, failed = max(worst, 1), failed + 1
            continue
        try:
            res = tr.translate(tree, target, hints=hints or None)
        except TranslationError as e:
            _fail(batch, f"{f}: cannot translate to {target}: {e}")
            reports.append({"file": str(f), "ok": False, "error": e.to_dict()})
            worst, failed = max(worst, 1), failed + 1
            continue
        try:
            outs = _write(res, f, args.output, out_dir, batch)
        except OSError as e:
            _fail(batch, f"{f}: cannot write the output: {e.strerror or e} ({e.filename or args.output})")
            reports.append({"file": str(f), "ok": False, "error": {"code": "output-unwritable",
                                                                    "message": e.strerror or str(e)}})
            worst, failed = 2, failed + 1
            continue
        ok += 1
        rep = res.report.to_dict()
        reports.append({"file": str(f), "ok": True, "outputs": outs, "report": rep})
        if args.explain:
            print(("\n" if batch else "") + res.report.to_text(), file=sys.stderr)
    if batch:
        print(f"\rtranslated {ok} of {len(files)} document(s) to {target}; {failed} failed" + " " * 30,
              file=sys.stderr)
    if args.report:
        payload = reports if batch else reports[0]
        try:
            Path(args.report).write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        except OSError as e:
            print(f"edihub: cannot write the report {args.report}: {e.strerror or e}", file=sys.stderr)
            return 2
    return worst


def _bar(n: int, total: int, width: int = 20) -> str:
    done = int(width * n / total)
    return "[" + "#" * done + "." * (width - done) + "]"


def _fail(batch: bool, msg: str) -> None:
    print(("\n" if batch else "") + msg, file=sys.stderr)


def _write(res, src: Path, output: str | None, out_dir: Path | None, batch: bool) -> list[str]:
    datas = [etree.tostring(d, xml_declaration=True, encoding="UTF-8", pretty_print=True) for d in res.documents]
    tag = res.target.replace(":", "-")
    many = len(datas) > 1
    if not batch and output is None:
        for d in datas:
            sys.stdout.buffer.write(d)
        sys.stdout.flush()
        return ["-"]
    paths = []
    for i, d in enumerate(datas, 1):
        if batch:
            base = (out_dir or src.parent) / f"{src.stem}.{tag}"
            p = Path(f"{base}.{i}.xml") if many else Path(f"{base}.xml")
        else:
            o = Path(output)
            p = o.with_name(f"{o.stem}-{i}{o.suffix or '.xml'}") if many else o
        p.write_bytes(d)
        paths.append(str(p))
    return paths
