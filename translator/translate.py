"""translate(tree, target) -> TranslationResult: any registered format to any other, through the canonical pivot.

    from translator.translate import translate, targets_for, TranslationError
    result = translate(tree, "vnaccs:IDA", now=datetime(2024, 3, 1, tzinfo=timezone.utc))
    result.documents   # [lxml tree], several for a fan-out (one SIVECA registration per container)
    result.report      # MappingReport: .to_dict() (JSON) / .to_text()

Reading uses the source type's mapping table, writing the target's (mappings/<family>/<Type>.csv, see
docs/mapping-tables.md); `canonical:Declaration` / `canonical:Response` are sources and targets too. Every output
is validated (XSD + business rules) before it is returned; an output that is not valid raises TranslationError
naming the mapping row and the source field responsible. Tables are loaded and checked once (`Translator`).
`python -m translator.translate --check` loads every table and prints the first error.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

from . import canonical as cm
from .codes import CodeTables, default_codes
from .mapping_engine import (CONVERTED, DEFAULTED, EMPTY, FILLED, EngineError, Provenance, Source, WriteResult,
                             compile_table, read, write)
from .mapping_table import MappingTable, compile_when, load_tables
from .registry import Registry, default_registry
from .validate import Validator, default_validator
from .xpath import local, readable_path


# canonical fields that describe the source declaration rather than carry its data: never reported as dropped
CONTEXT_FIELDS = {"DeclarationCountryCode"}


class TranslationError(Exception):
    """The document cannot be translated. `row` is the mapping row (`mappings/vnaccs/IDA.csv:23`), `field` the source
    field (readable path) or canonical field responsible, `code` a stable reason."""

    def __init__(self, message: str, row: str | None = None, field: str | None = None, code: str = "translate-failed",
                 issues: list | None = None):
        super().__init__(message)
        self.message, self.row, self.field, self.code = message, row, field, code
        self.issues = issues or []

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "row": self.row, "field": self.field,
                "issues": [i.to_dict() for i in self.issues]}

    def __str__(self) -> str:
        where = ", ".join(x for x in (f"row {self.row}" if self.row else "", f"field {self.field}" if self.field else "")
                          if x)
        return self.message + (f" ({where})" if where else "")


@dataclass
class MappingReport:
    source: str
    target: str
    documents: int = 1
    _parts: list = field(default_factory=list)       # (document number, WriteResult or one report entry)
    _fields: list | None = None
    _drop: list = field(default_factory=list)        # (kind, node_or_name, value, reason)
    _pending: list = field(default_factory=list)     # callables giving more entries, resolved on first use
    _dict: dict | None = None

    @property
    def fields(self) -> list:
        """(document number, entry) per written target field: engine Written objects, made on first use."""
        if self._fields is None:
            out: list = []
            for n, part in self._parts:
                if isinstance(part, WriteResult):
                    out.extend((n, w) for w in part.written)
                else:
                    out.append((n, part))
            self._fields = out
        return self._fields

    @property
    def dropped(self) -> list:
        """(kind, source element/Source/name, value, reason) per source field the target cannot hold."""
        if self._pending:
            first = [e for f in self._pending for e in f()]
            self._pending = []
            self._drop[:0] = first
        return self._drop

    def _entries(self) -> list:
        """(document, target node, row, status, value, canonical, target name when no node, source node, before)
        per written target field, straight from the engine's records (no report objects made)."""
        out = []
        for n, part in self._parts:
            if isinstance(part, WriteResult):
                out += [(n, node, row, status, value, row.cname, None, src[0] if src else None, before)
                        for node, row, status, value, src, before in part.entries]
            else:
                src = part.source
                out.append((n, part.node, part.row, part.status, part.value, part.canonical, part.target,
                            src.node if src is not None else None, part.before))
        return out

    def counts(self) -> dict:
        c = {FILLED: 0, CONVERTED: 0, DEFAULTED: 0, EMPTY: 0}
        for e in self._entries():
            c[e[3]] += 1
        return c

    def to_dict(self) -> dict:
        if self._dict is None:
            rp = _Paths()
            known = rp.paths            # element -> path, filled as paths are asked for
            fields = []
            c = {FILLED: 0, CONVERTED: 0, DEFAULTED: 0, EMPTY: 0}
            for doc_no, node, row, status, value, canonical, target, snode, before in self._entries():
                if node is not None:
                    path = known.get(node) or rp.of(node)
                else:
                    path = target or (row.path.text if row.path else "")
                e = {"document": doc_no, "target": path, "status": status, "value": value, "canonical": canonical,
                     "source": (known.get(snode) or rp.of(snode)) if snode is not None else None, "row": row.where}
                if status == CONVERTED:
                    e["from"] = before
                    e["to"] = value
                fields.append(e)
                c[status] += 1
            dropped = []
            for kind, what, value, reason in self.dropped:
                if isinstance(what, etree._Element):
                    src = known.get(what) or rp(what)
                elif isinstance(what, str):
                    src = what
                else:
                    src = known.get(what.node) or rp.of(what.node)
                dropped.append({"source": src, "value": value, "reason": reason, "kind": kind})
            self._dict = {"source": self.source, "target": self.target, "documents": self.documents,
                          "summary": {**c, "dropped": len(self.dropped)},
                          "fields": fields, "dropped": dropped}
        return self._dict

    def to_text(self) -> str:
        d = self.to_dict()
        s = d["summary"]
        lines = [f"{d['source']} -> {d['target']}: {d['documents']} document(s); {s['filled']} filled, "
                 f"{s['converted']} converted, {s['defaulted']} defaulted, {s['empty']} empty, "
                 f"{s['dropped']} source field(s) dropped"]
        for e in d["fields"]:
            if e["status"] == CONVERTED:
                detail = f"{e['from']!r} -> {e['to']!r}"
            elif e["status"] == EMPTY:
                detail = f"(no value for {e['canonical']})"
            else:
                detail = repr(e["value"])
            src = f" <- {e['source']}" if e["source"] else ""
            lines.append(f"  {e['status']:<9} {e['target']}  {detail}{src}  [{e['row']}]")
        for e in d["dropped"]:
            lines.append(f"  dropped   {e['source']}  {e['value']!r}: {e['reason']}")
        return "\n".join(lines)


@dataclass
class TranslationResult:
    documents: list
    target: str
    report: MappingReport
    canonical: cm.Canonical | None = None


class Translator:
    """Holds the registry, code tables, validator and the loaded mapping tables; one per process."""

    def __init__(self, registry: Registry | None = None, codes: CodeTables | None = None,
                 validator: Validator | None = None, mappings_dir=None):
        self.registry = registry or default_registry()
        self.codes = codes or default_codes()
        self.validator = validator or (default_validator() if registry is None and codes is None
                                       else Validator(self.registry, self.codes))
        self.tables: dict[str, MappingTable] = load_tables(self.registry, self.codes, mappings_dir)
        for tid, table in self.tables.items():      # at start-up: no first message pays for it, and the plans are
            compile_table(table, [self._skippable(tid, t) for t in self.targets_for(tid)])   # start-up objects

    # -- discovery -------------------------------------------------------------------------------------------
    def _pivot_of(self, type_id: str) -> str | None:
        if type_id.startswith("canonical:"):
            return type_id.split(":", 1)[1]
        t = self.tables.get(type_id)
        return t.pivot if t else None

    def targets_for(self, source_id: str) -> list[str]:
        pivot = self._pivot_of(source_id)
        if pivot is None or (not source_id.startswith("canonical:") and not self.tables[source_id].readable):
            return []
        out = [tid for tid, t in self.tables.items() if t.pivot == pivot and t.writable and tid != source_id]
        if source_id != f"canonical:{pivot}":
            out.append(f"canonical:{pivot}")
        return sorted(out)

    def _skippable(self, source_id: str, target: str) -> frozenset:
        """National extensions of the source that the target table never writes (cached per pair)."""
        key = (source_id, target)
        cache = self.__dict__.setdefault("_skip_cache", {})
        if key in cache:
            return cache[key]
        out: frozenset = frozenset()
        src, dst = self.tables.get(source_id), self.tables.get(target)
        if src is not None and dst is not None and src.type.family != dst.type.family:
            written = {n for r in dst.rows for n in r.canonical if r.writes}
            written |= {c.field for t in (src, dst) for r in t.rows for c in _conds(r.when)}   # tested by conditions
            out = frozenset(n for r in src.rows for n in r.canonical
                            if cm.is_extension(n) and r.reads and n not in written)
        cache[key] = out
        return out

    def resolve_target(self, target: str, doc: cm.Canonical) -> str:
        if target in self.tables or target.startswith("canonical:"):
            return target
        if ":" in target:
            raise TranslationError(f"no mapping table for {target}; known: {', '.join(sorted(self.tables))}",
                                   code="target-unknown")
        if target == "canonical":
            return f"canonical:{doc.root}"
        cands = [t for tid, t in self.tables.items()
                 if t.type.family == target and t.writable and t.pivot == doc.root]
        if len(cands) > 1:
            cands = [t for t in cands if t.select and _select(t, doc)]
        if len(cands) != 1:
            names = ", ".join(sorted(t.id for t in cands)) or "none"
            raise TranslationError(f"cannot choose the {target} message type for this document (candidates: "
                                   f"{names}); name it, e.g. --to {target}:TYPE", code="target-ambiguous")
        return cands[0].id

    # -- the translation -------------------------------------------------------------------------------------
    def to_canonical(self, tree) -> tuple[str, cm.Canonical, dict, list]:
        """(source type, canonical document, provenance, source elements no row reads)."""
        source_id, doc, prov, unread, _ = self._read(tree)
        return source_id, doc, {k: Source(*v) for k, v in prov.items()}, unread()

    def _read(self, tree, skip=frozenset()) -> tuple[str, cm.Canonical, dict, list, list]:
        root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
        mt = self.registry.detect(root)
        if mt is None:
            raise TranslationError(f"unknown source format: root element {local(root.tag)!r}", code="format-unknown")
        if mt.family == "canonical":
            return mt.id, cm.from_xml(root), Provenance(), (lambda: []), []
        table = self.tables.get(mt.id)
        if table is None or not table.readable:
            raise TranslationError(f"no mapping table reads {mt.id} (mappings/{mt.family}/{mt.name}.csv)",
                                   code="source-unsupported")
        try:
            res = read(table, root, skip=skip)
        except EngineError as e:
            raise TranslationError(f"cannot read {mt.id}: {e.message}", e.row.where if e.row else None, e.field,
                                   code="source-value") from None
        return mt.id, res.doc, res.prov, (lambda: res.unread), res.skipped

    def translate(self, tree, target: str, *, now: datetime | None = None,
                  hints: dict | None = None) -> TranslationResult:
        """`hints`: canonical values the source cannot hold, supplied by the caller (route or partner configuration),
        e.g. {"Extension:prc/CustomMaster": "2248", "GoodsItem/Extension:prc/GoodsItem/DestCode": ...}. A hint never
        overrides a value the source gave; a `GoodsItem/...` (group) hint fills every item that lacks it."""
        now = now or datetime.now(timezone.utc)
        root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
        src_mt = self.registry.detect(root)
        skip = self._skippable(src_mt.id if src_mt else "", target)
        source_id, doc, prov, unread, skipped = self._read(tree, skip)   # unread: a callable (lazy)
        if hints:
            _apply_hints(doc, hints)
        target_id = self.resolve_target(target, doc)
        report = MappingReport(source_id, target_id)
        report._pending.append(lambda: [("unmapped", el, (el.text or "").strip(),
                                         f"no row of {source_id} reads this element") for el in unread()])
        report._pending.append(lambda: [("canonical", el, text, f"{target_id} has no field for {row.canonical[0]}")
                                        for row, el in skipped if (text := (el.text or "").strip())])
        if target_id.startswith("canonical:"):
            if target_id.split(":", 1)[1] != doc.root:
                raise TranslationError(f"{source_id} maps to canonical:{doc.root}, not {target_id}",
                                       code="target-unknown")
            out = cm.to_xml(doc)
            self._check(out, target_id, None)
            report.documents = 1
            for (_, name), src in prov.items():
                report._parts.append((1, _CanonicalEntry(name, Source(*src))))
            return TranslationResult([out], target_id, report, doc)
        table = self.tables[target_id]
        if table.pivot != doc.root:
            raise TranslationError(f"{source_id} maps to canonical:{doc.root} but {target_id} is written from "
                                   f"canonical:{table.pivot}", code="target-unknown")
        fan_items = [None]
        if table.fanout:
            fan_items = doc.get(table.fanout) or []
            if not fan_items:
                raise TranslationError(f"{target_id} is written once per {table.fanout} and the source has none",
                                       table.fanout_row.where, table.fanout, code="fanout-empty")
        documents, consumed = [], {}
        for n, item in enumerate(fan_items, 1):
            try:
                res = write(table, doc, prov, now, item)
            except EngineError as e:
                raise TranslationError(f"cannot write {target_id}: {e.message}", e.row.where if e.row else None,
                                       e.field, code="target-value") from None
            self._check(res.tree, target_id, res)
            documents.append(res.tree)
            for cid, names in res.consumed.items():
                consumed.setdefault(cid, set()).update(names)
            report._parts.append((n, res))
        report.documents = len(documents)
        self._dropped(doc, prov, consumed, report, target_id)
        return TranslationResult(documents, target_id, report, doc)

    def _dropped(self, doc, prov, consumed, report, target_id) -> None:
        # a source element read into several canonical fields (a code and its national extension) counts as
        # carried when any of them reached the target
        used_nodes = set()
        for cid, names in consumed.items():
            sources = prov.by.get(cid)
            if sources:
                for name in names:
                    src = sources.get(name)
                    if src is not None and src[0] is not None:
                        used_nodes.add(id(_node(src)))
        drop = report._drop

        def visit(container: dict):
            cid = id(container)
            used = consumed.get(cid, ())
            sources = prov.by.get(cid) or {}
            for name, value in [(n, v) for n, v in container.items() if v and (n not in used or type(v) is list)]:
                if type(value) is list:
                    for item in value:
                        visit(item)
                    continue
                if name in CONTEXT_FIELDS:
                    continue
                src = sources.get(name)
                if src is not None and src[0] is not None:
                    if id(_node(src)) in used_nodes:
                        continue
                    drop.append(("canonical", Source(*src), src[1], f"{target_id} has no field for {name}"))
                else:
                    drop.append(("canonical", name, src[1] if src else value, f"{target_id} has no field for {name}"))
        visit(doc)

    def _check(self, tree, target_id: str, res: WriteResult | None) -> None:
        rep = self.validator.validate(tree, target_id)
        if rep.valid:
            return
        first = rep.errors[0]
        row, fld = self._blame(first, res.written if res is not None else None)
        raise TranslationError(f"the {target_id} output is not valid: {first.code}: {first.message} at {first.path}",
                               row, fld, code="output-invalid", issues=rep.errors)

    @staticmethod
    def _blame(issue, written) -> tuple[str | None, str | None]:
        if not written:
            return None, None
        for w in written:
            node = w.node[0] if isinstance(w.node, tuple) else w.node
            if node is not None and readable_path(node) == issue.path:
                return w.row.where, (w.source.path if w.source else w.canonical)
        # a missing or unexpected element: blame the row that targets an element the message names, preferring
        # rows that found no value
        for w in sorted(written, key=lambda w: w.status != EMPTY):
            if w.row.path and w.row.path.steps:
                name = local(w.row.path.steps[-1].tag)
                if f"'{name}'" in issue.message or f" {name} " in issue.message or f"( {name}" in issue.message:
                    return w.row.where, (w.source.path if w.source else w.canonical)
        return None, None


def _conds(when) -> list:
    out = []
    for c in when or ():
        if isinstance(c, tuple):
            for alt in c:
                out += _conds(alt)
        else:
            out.append(c)
    return out


class _Paths:
    """readable_path with memory: the same paths as translator.xpath.readable_path, found for all children of a
    parent at once (a report names hundreds of elements of the same few parents)."""

    def __init__(self):
        self.paths: dict = {}
        self.names: dict = {}      # Clark tag -> local name

    def __call__(self, el) -> str:
        p = self.paths.get(el)
        if p is None:
            parent = el.getparent()
            if parent is None:
                p = self.paths[el] = "/" + local(el.tag)
            else:
                self._children(parent)
                p = self.paths[el]
        return p

    def of(self, node) -> str:
        """Path of an element or of an (element, attribute) pair."""
        if isinstance(node, tuple):
            return self(node[0]) + f"/@{node[1]}"
        return self(node)

    def _children(self, parent) -> None:
        base = self(parent) + "/"
        kids = list(parent)
        tags = [c.tag for c in kids]
        distinct = set(tags)
        names, paths = self.names, self.paths
        for t in distinct:
            if t not in names:
                names[t] = local(t)
        if len(distinct) == len(tags):           # no two siblings share a name: no index
            paths.update(zip(kids, [base + names[t] for t in tags]))
            return
        counts: dict = {}
        for t in tags:
            counts[t] = counts.get(t, 0) + 1
        nth: dict = {}
        for c, t in zip(kids, tags):
            name = names[t]
            if counts[t] > 1:
                i = nth[t] = nth.get(t, 0) + 1
                name = f"{name}[{i}]"
            paths[c] = base + name


class _CanonicalEntry:
    """A report entry for a canonical target: the canonical field, filled or converted from its source."""

    def __init__(self, name, src):
        self.node, self.row, self.canonical, self.source = None, src.row, name, src
        self.target = name
        self.value = src.value
        converted = bool(src.raw) and src.raw != src.value
        self.status = CONVERTED if converted else (DEFAULTED if not src.raw else FILLED)
        self.before = src.raw if converted else ""


def _node(src):
    """The source element of a provenance tuple (node, raw, row, value)."""
    return src[0][0] if isinstance(src[0], tuple) else src[0]


def _select(table: MappingTable, doc: cm.Canonical) -> bool:
    return compile_when(table.select)(None, doc, None)


_default: Translator | None = None


def default_translator() -> Translator:
    """The process-wide translator, loaded once. (Processes that keep it for their lifetime call gc.freeze() after
    start-up: see routing.serve.freeze_startup_objects.)"""
    global _default
    if _default is None:
        _default = Translator()
    return _default


def translate(tree, target: str, *, now: datetime | None = None, hints: dict | None = None) -> TranslationResult:
    return default_translator().translate(tree, target, now=now, hints=hints)


def _apply_hints(doc: cm.Canonical, hints: dict) -> None:
    model = cm.MODEL.root(doc.root)
    for name, value in hints.items():
        group = cm.group_of(name, model)
        if group is None:
            if not doc.get(name):
                doc[name] = str(value)
            continue
        for item in doc.get(group) or ():
            if not item.get(name):
                item[name] = str(value)


def targets_for(source_id: str) -> list[str]:
    return default_translator().targets_for(source_id)


if __name__ == "__main__":
    if "--check" in sys.argv:
        try:
            t = default_translator()
        except Exception as e:  # noqa: BLE001 - report, do not trace
            print(f"error: {e}", file=sys.stderr)
            sys.exit(1)
        for tid, tab in sorted(t.tables.items()):
            print(f"{tid}: {len(tab.rows)} rows, pivot {tab.pivot}, targets {', '.join(t.targets_for(tid)) or '-'}")
        sys.exit(0)
    print(__doc__)
