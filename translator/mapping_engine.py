"""The mapping engine: read a format into the canonical pivot, write a format from it, driven by a MappingTable.

Pure functions over lxml trees. Reading records where each canonical value came from (provenance) so the writer can
report filled / converted / defaulted / empty per target field and the translation can list dropped source fields.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from . import canonical as cm
from .mapping_table import AnyOf, Condition, MappingTable, Row
from .mapping_transforms import Join, List, SkipValue, TransformError
from .xpath import readable_path


class EngineError(Exception):
    """A value could not be mapped; translate() turns it into TranslationError."""

    def __init__(self, message: str, row: Row | None, element=None, canonical: str = ""):
        super().__init__(message)
        self.message, self.row, self.element, self.canonical = message, row, element, canonical

    @property
    def field(self) -> str:
        el = self.element
        if el is None:
            return self.canonical
        if isinstance(el, tuple):
            return readable_path(el[0]) + f"/@{el[1]}"
        return readable_path(el)


@dataclass(slots=True)
class Source:
    """Provenance of one canonical value: the source element (or (element, attr)), its raw text and the row."""
    node: object
    raw: str
    row: Row
    value: str = ""

    @property
    def path(self) -> str:
        if isinstance(self.node, tuple):
            return readable_path(self.node[0]) + f"/@{self.node[1]}"
        return readable_path(self.node) if self.node is not None else ""


@dataclass
class ReadResult:
    doc: cm.Canonical
    prov: dict = field(default_factory=dict)        # (id(container dict), canonical name) -> Source
    _root: object = None
    _seen: object = None
    _unread: list | None = None
    skipped: list = field(default_factory=list)     # (element, row) not read because the target has no use for it

    @property
    def unread(self) -> list:
        """Source leaf elements with a value that no row reads (found on first use: only reports need it)."""
        if self._unread is None:
            seen = self._seen or set()
            self._unread = [el for el in self._root.iter() if isinstance(el.tag, str) and el not in seen
                            and len(el) == 0 and (el.text or "").strip()] if self._root is not None else []
        return self._unread


# -- reading -----------------------------------------------------------------------------------------------

def _kids(el, cache: dict) -> dict:
    """tag -> first child element, built once per element (dict look-ups instead of find())."""
    d = cache.get(el)
    if d is None:
        d = {}
        for c in el:
            d.setdefault(c.tag, c)
        cache[el] = d
    return d


def _value_at(ctx, row: Row, cache: dict):
    p = row.path
    el = ctx
    for step in p.steps:
        el = el.find(step.find_expr) if step.attrs else _kids(el, cache).get(step.tag)
        if el is None:
            return None, ""
    if p.attr:
        return (el, p.attr), (el.get(p.attr) or "").strip()
    return el, (el.text or "").strip()


def _holds(conds: tuple[Condition, ...], item: dict | None, doc: dict, extra: dict | None = None) -> bool:
    for c in conds:
        if isinstance(c, AnyOf):
            if not any(_holds(alt, item, doc, extra) for alt in c):
                return False
            continue
        v = None
        if item is not None:
            v = item.get(c.field)
        if v is None and extra is not None:
            v = extra.get(c.field)
        if v is None:
            v = doc.get(c.field)
        if not c.holds(v or ""):
            return False
    return True


@dataclass
class _ReadPlan:
    """Reading rows of one context (the root or a group element) arranged for a single pass over the document:
    a trie of child tags -> rows reading that element, plus the rows the document cannot trigger (constants,
    predicates) and those that must run even when their element is absent (required, default)."""
    trie: dict
    always: list
    check: list
    order: dict            # row -> position in the table, to keep unconditional-then-conditional file order


def _plan(rows: list[Row]) -> _ReadPlan:
    trie: dict = {}
    always, check = [], []
    for r in rows:
        if r.path is None or any(st.attrs for st in r.path.steps) or not r.path.steps:
            always.append(r)
            continue
        node = trie
        for i, st in enumerate(r.path.steps):
            entry = node.setdefault(st.tag, ([], {}))
            if i == len(r.path.steps) - 1:
                entry[0].append(r)
            node = entry[1]
        if r.required or r.default:
            check.append(r)
    return _ReadPlan(trie, always, check, {id(r): i for i, r in enumerate(rows)})


def _plans(table: MappingTable) -> dict:
    plans = getattr(table, "_read_plans", None)
    if plans is None:
        header = [r for r in table.rows if r.kind == "field" and not r.group and r.reads]
        plans = {None: _plan(header)}
        for alias, g in table.groups.items():
            plans[alias] = _plan([x for x in g.rows if x.reads])
        table._read_plans = plans
    return plans


def _collect(ctx, trie: dict, out: list, seen) -> None:
    done = set()
    for child in ctx:
        tag = child.tag
        entry = trie.get(tag)
        if entry is None or tag in done:
            continue
        done.add(tag)
        rows, sub = entry
        if rows:
            if seen is not None:
                seen.add(child)
            for r in rows:
                out.append((r, child))
        if sub:
            _collect(child, sub, out, seen)


def read(table: MappingTable, root: etree._Element, track_unread: bool = True,
         skip: frozenset | set = frozenset()) -> ReadResult:
    """`skip`: canonical fields (national extensions) the caller's target never writes: their elements are not
    converted, only listed in `skipped` so the report still names them as dropped."""
    model = cm.MODEL.root(table.pivot)
    doc = cm.Canonical(table.pivot)
    res = ReadResult(doc)
    prov = res.prov
    seen: set | None = set() if track_unread else None
    kids: dict = {}
    fan = table.fanout
    fan_item: dict | None = None
    if fan:
        fan_item = {}
        doc[fan] = [fan_item]
    plans = _plans(table)
    skipped = res.skipped

    def put(name: str, value: str, item: dict | None, node, raw: str, row: Row, g) -> None:
        if g is not None and item is not None and g != fan:
            target = item
        elif g is not None and g == fan:
            target = fan_item
        else:
            target = doc
            if item is not None and doc.get(name):
                return          # header field read from a group: first item wins
        target[name] = value
        prov[(id(target), name)] = Source(node, raw, row, value)

    def apply(row: Row, el, ctx, item: dict | None) -> None:
        if row.when and not _holds(row.when, item, doc):
            return
        if row.path is None:
            node, raw = None, ""
        elif el is not None:
            p = row.path
            if p.attr:
                node, raw = (el, p.attr), (el.get(p.attr) or "").strip()
            else:
                node, raw = el, (el.text or "").strip()
        else:
            node, raw = _value_at(ctx, row, kids)
            if node is not None and seen is not None:
                seen.add(node[0] if isinstance(node, tuple) else node)
        t = row.transform
        if not raw and t.name != "const":
            if row.default:
                for n, g in zip(row.canonical, row.groups):
                    put(n, row.default, item, node, raw, row, g)
                return
            if row.required:
                raise EngineError(f"required value is missing ({row.path.text if row.path else ''})", row,
                                  node if node is not None else ctx)
            return
        try:
            if isinstance(t, Join):
                for n, g, part in zip(row.canonical, row.groups, t.split(raw, len(row.canonical))):
                    if part:
                        put(n, part, item, node, raw, row, g)
                return
            value = t.to_canonical(raw)
        except SkipValue:
            return
        except TransformError as e:
            raise EngineError(str(e), row, node) from None
        put(row.canonical[0], value, item, node, raw, row, row.groups[0])

    def run(plan: _ReadPlan, ctx, item):
        pairs: list = []
        _collect(ctx, plan.trie, pairs, seen)
        for r in plan.always:
            pairs.append((r, None))
        if plan.check:
            hit = {id(r) for r, _ in pairs}
            for r in plan.check:
                if id(r) not in hit:
                    pairs.append((r, None))
        later = []
        for pair in pairs:            # rows without a condition first: conditions may test what they read
            if skip and pair[0].canonical and pair[0].canonical[0] in skip:
                if pair[1] is not None and (pair[1].text or "").strip():
                    skipped.append(pair)
                continue
            if pair[0].when:
                later.append(pair)
            else:
                apply(pair[0], pair[1], ctx, item)
        for r, el in later:
            apply(r, el, ctx, item)

    run(plans[None], root, None)
    for r in table.rows:
        if r.kind != "group" or not r.reads:
            continue
        grp = table.groups[r.group]
        plan = plans[r.group]
        lst = doc.setdefault(grp.canonical, [])
        for el in root.iterfind(r.path.find):
            item: dict = {}
            if seen is not None:
                seen.add(el)
            run(plan, el, item)
            lst.append(item)
        if not lst:
            del doc[grp.canonical]
    if fan and not fan_item:
        del doc[fan]
    if seen is not None:
        res._root, res._seen = root, seen
    return res


# -- writing -----------------------------------------------------------------------------------------------

FILLED, CONVERTED, DEFAULTED, EMPTY = "filled", "converted", "defaulted", "empty"


@dataclass(slots=True)
class Written:
    node: object            # element or (element, attr)
    row: Row
    status: str
    value: str
    canonical: str
    source: Source | None
    before: str = ""        # source value when converted


@dataclass
class WriteResult:
    tree: etree._ElementTree
    written: list[Written]
    consumed: set            # (id(container), canonical name)


def _occupied(ctx, path, out: dict) -> bool:
    el = ctx
    for step in path.steps:
        el = _child(el, step, False, out)
        if el is None:
            return False
    if path.attr:
        return bool(el.get(path.attr))
    return bool(el.text) or len(el) > 0


def _child(parent, step, create: bool, out: dict):
    """First child matching the step, from the writer's own index of the elements it created."""
    d = out.get(parent)
    key = (step.tag, step.attrs)
    el = d.get(key) if d is not None else None
    if el is None and create:
        el = etree.SubElement(parent, step.tag, dict(step.attrs) if step.attrs else None)
        if d is None:
            d = out[parent] = {}
        d[key] = el
    return el


def write(table: MappingTable, doc: cm.Canonical, prov: dict, now: datetime,
          fan_item: dict | None = None) -> WriteResult:
    mt = table.type
    root_ns = mt.root[1:].split("}", 1)[0] if mt.root.startswith("{") else None
    nsmap = {p: u for p, u in mt.namespaces.items() if u != root_ns} if root_ns else {}
    if root_ns:
        nsmap[None] = root_ns
    root = etree.Element(mt.root, nsmap=nsmap)
    written: list[Written] = []
    consumed: set = set()
    out_kids: dict = {}
    pos = [0]
    fan = table.fanout
    model = cm.MODEL.root(table.pivot)

    hcache: dict = {}

    def _header_ok(row: Row) -> bool:
        ok = hcache.get(id(row))
        if ok is None:
            ok = hcache[id(row)] = _holds(row.when, None, doc, fan_item)
        return ok

    def put(row: Row, ctx, item: dict | None) -> None:
        if row.when:
            if row.when_header:
                ok = hcache.get(id(row))
                if ok is None:
                    ok = hcache[id(row)] = _holds(row.when, None, doc, fan_item)
            else:
                ok = _holds(row.when, item, doc, fan_item)
            if not ok:
                return
        t = row.transform
        conts = []
        values = []
        if isinstance(t, List):
            items = doc.get(row.groups[0]) or ()
            parts = [t.inner.join(v for v in (it.get(n) or "" for n in row.canonical) if v) for it in items]
            joined = t.sep.join(p for p in parts if p)
            if joined and not _occupied(ctx, row.path, out_kids):
                for it in items:
                    for n in row.canonical:
                        consumed.add((id(it), n))
                _set(ctx, row, joined)
                written.append(Written(None, row, CONVERTED, joined, row.cname, None, ""))
            return
        if len(row.canonical) == 1:
            g = row.groups[0]
            c = doc if g is None else (fan_item if (g == fan and fan_item is not None) else (item or {}))
            conts = [c]
            values = [c.get(row.canonical[0]) or ""]
        else:
            for n, g in zip(row.canonical, row.groups):
                c = doc if g is None else (fan_item if (g == fan and fan_item is not None) else (item or {}))
                conts.append(c)
                values.append(c.get(n) or "")
        if t.name == "position" and not any(values):
            values = [str(pos[0])]
        if t.name not in ("now", "const") and not any(values):
            occupied = row.is_fallback and _occupied(ctx, row.path, out_kids)
            if row.default and not occupied:
                pass                                      # written below as defaulted
            elif occupied or row.has_fallback:
                return
            elif row.required:
                raise EngineError(f"no value for required target field {row.path.text} "
                                  f"(canonical {'+'.join(row.canonical)} is empty)", row, None,
                                  row.cname)
            else:
                if not row.all_ext:
                    written.append(Written(None, row, EMPTY, "", row.cname, None))
                return
        elif row.is_fallback and _occupied(ctx, row.path, out_kids):
            # a fallback row: an earlier row already wrote this target; its value stands for these fields too
            for c, n in zip(conts, row.canonical):
                consumed.add((id(c), n))
            return
        src = prov.get((id(conts[0]), row.canonical[0])) if row.canonical else None
        status = FILLED
        try:
            if t.name == "now":
                out = now.strftime(t.fmt) if t.fmt else now.isoformat(timespec="seconds")
                status = DEFAULTED
            elif t.name == "const":
                out = t.value
                status = DEFAULTED
            elif not any(values):
                out, status = row.default, DEFAULTED
            elif isinstance(t, Join):
                out = t.join(values)
            else:
                out = t.to_format(values[0])
            out = t.limit(out)
        except SkipValue as e:
            if row.required and not row.has_fallback:
                raise EngineError(f"required target field {row.path.text}: {e}", row,
                                  src.node if src else None, row.cname) from None
            written.append(Written(None, row, EMPTY, "", row.cname, src))
            return
        except TransformError as e:
            raise EngineError(str(e), row, src.node if src else None, row.cname) from None
        p = row.path
        el = ctx
        for step in p.steps:
            el = _child(el, step, True, out_kids)
        if p.attr:
            el.set(p.attr, out)
            node = (el, p.attr)
        else:
            el.text = out
            node = el
        for c, n in zip(conts, row.canonical):
            consumed.add((id(c), n))
        before = ""
        if status == FILLED and src is not None and src.raw != out:
            status, before = CONVERTED, src.raw
        elif status == FILLED and src is None and values and values[0] != out:
            status, before = CONVERTED, values[0]
        written.append(Written(node, row, status, out, row.cname, src, before))

    def _set(ctx, row, value):
        el = ctx
        for step in row.path.steps:
            el = _child(el, step, True, out_kids)
        if row.path.attr:
            el.set(row.path.attr, value)
        else:
            el.text = value

    def make(parent, path):
        el = parent
        for i, step in enumerate(path.steps):
            if i == len(path.steps) - 1:
                new = etree.SubElement(el, step.tag, dict(step.attrs) if step.attrs else None)
                out_kids.setdefault(el, {}).setdefault((step.tag, step.attrs), new)
                return new
            el = _child(el, step, True, out_kids)
        return el

    for row in table.rows:
        if row.kind == "group":
            if not row.writes:
                continue
            grp = table.groups[row.group]
            rows = [x for x in grp.rows if x.writes and (not x.when_header or _header_ok(x))]
            items = doc.get(grp.canonical) or ()
            if grp.canonical == "GoodsItem" and fan_item is not None and table.fanout_row is not None \
                    and table.fanout_row.args.get("link") == "yes":
                items = _linked(items, fan_item)
            for pos[0], item in enumerate(items, 1):
                if row.when:
                    if not _holds(row.when, item, doc):
                        continue
                    for c in row.when:            # the item's category is expressed by where it is written
                        if isinstance(c, Condition) and c.field in item:
                            consumed.add((id(item), c.field))
                el = make(root, row.path)
                for x in rows:
                    put(x, el, item)
                if not len(el) and not el.text and not el.attrib:
                    parent = el.getparent()
                    d = out_kids.get(parent, {})
                    key = (el.tag, row.path.steps[-1].attrs)
                    if d.get(key) is el:
                        del d[key]
                    parent.remove(el)
        elif not row.group and row.writes:
            put(row, root, None)
    return WriteResult(root.getroottree(), written, consumed)


def _linked(items, container: dict):
    wanted = {s.strip() for s in (container.get("Container/GoodsItemSequences") or "").replace(" ", ",").split(",")
              if s.strip()}
    if not wanted:
        return items
    return [i for i in items if (i.get("GoodsItem/SequenceNumeric") or "") in wanted]
