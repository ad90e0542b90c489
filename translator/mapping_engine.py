"""The mapping engine: read a format into the canonical pivot, write a format from it, driven by a MappingTable.

Pure functions over lxml trees. Reading records where each canonical value came from (provenance) so the writer can
report filled / converted / defaulted / empty per target field and the translation can list dropped source fields.

Each table is compiled once into plans (translator/mapping_table.py loads it; `compile_table`, called when the
Translator loads, or first use compiles it): reading rows as a trie over the document's child tags with their
transforms bound, writing rows with their element paths numbered so a context's elements are found by one dict
look-up. Provenance is recorded as plain tuples, `(node, raw, row, value)` per canonical value in a `Provenance`
(one dict per container), and `(node, row, status, value, source, before)` per written field; the `Source` and
`Written` objects of the report are made from them only when a report asks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from lxml import etree

from . import canonical as cm
from .mapping_table import Condition, MappingTable, Row
from .mapping_transforms import Join, List, SkipValue, Transform, TransformError
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


class Provenance:
    """Where each canonical value came from, per container (the canonical document or one group item): canonical
    name -> (node, raw, row, value). Recording needs no key objects; `items()` gives ((id(container), name), source)
    in the order values were first recorded, as one flat dict would, and `get((id(container), name))` looks one up."""

    __slots__ = ("by", "log", "last")

    def __init__(self):
        self.by: dict = {}          # id(container) -> {name: source}
        self.log: list = []         # (a container's dict, its size) each time recording moves to another container
        self.last = None            # the dict of the context being read: recorded into directly, without a log

    def dict_of(self, container: dict) -> dict:
        d = self.by.get(id(container))
        if d is None:
            d = self.by[id(container)] = {}
        return d

    def enter(self, d: dict) -> None:
        """Reading moves to a context whose values go to `d` (the document, or a group item)."""
        if d is not self.last:
            self.log.append((d, len(d)))
            self.last = d

    def record(self, container: dict, name: str, source: tuple) -> None:
        d = self.dict_of(container)
        if d is self.last:
            d[name] = source
            return
        back = self.last                  # another container (a header field read from a group, a fan-out item)
        self.log.append((d, len(d)))
        d[name] = source
        if back is not None:
            self.log.append((back, len(back)))

    def get(self, key: tuple, default=None):
        d = self.by.get(key[0])
        return default if d is None else d.get(key[1], default)

    def items(self) -> list:
        owner = {id(d): cid for cid, d in self.by.items()}
        ends: list = []
        nxt: dict = {}
        for d, start in reversed(self.log):       # a stretch ends where its dict's next stretch starts
            ends.append(nxt.get(id(d), len(d)))
            nxt[id(d)] = start
        ends.reverse()
        names: dict = {}
        out: list = []
        for (d, start), end in zip(self.log, ends):
            if end > start:
                ns = names.get(id(d))
                if ns is None:
                    ns = names[id(d)] = list(d)
                cid = owner[id(d)]
                out += [((cid, n), d[n]) for n in ns[start:end]]
        return out


@dataclass
class ReadResult:
    doc: cm.Canonical
    prov: Provenance = field(default_factory=Provenance)
    _root: object = None
    _seen: object = None
    _unread: list | None = None
    skipped: list = field(default_factory=list)     # (row, element) not read because the target has no use for it
    #                                                 (elements without text too: the report leaves those out)

    @property
    def unread(self) -> list:
        """Source leaf elements with a value that no row reads (found on first use: only reports need it)."""
        if self._unread is None:
            seen = self._seen or set()
            self._unread = [el for el in self._root.iter(etree.Element) if el not in seen
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


def _identity(method, base) -> bool:
    """The transform's method is the base class's (value returned unchanged, nothing checked)."""
    return getattr(type(method.__self__), method.__name__) is getattr(base, method.__name__)


# where a read value goes, fixed per row and context when the table is compiled
_ITEM, _FAN, _DOC, _DOC_FIRST = 0, 1, 2, 3


class _ROp(NamedTuple):
    """One reading row, compiled for one context. `simple`: one canonical field, not const/join: the engine's fast
    path; other rows go through the general `apply`. Plans hold these as plain tuples (unpacked at tuple speed)."""
    row: Row
    attr: str | None       # final @attribute of the path
    conv: object           # bound to_canonical, None when it returns the value unchanged
    name: str              # canonical field
    mode: int              # _ITEM / _FAN / _DOC / _DOC_FIRST
    simple: bool


class _REntry(NamedTuple):
    """What to do with the first child element of one tag (one trie node). Plans hold these as plain tuples, and
    the common case, one unconditional row reading the element's text and nothing else, as (fast reader, _ROp):
    the reader (`_fast_reader`) stores a non-empty text into the context's own container; None when the row
    needs the general path."""
    now: tuple             # _ROp without condition, applied at once
    cond: tuple            # _ROp with a condition, applied after every unconditional row of the context
    skips: tuple           # rows the target has no use for: the element is only listed as dropped
    checks: tuple          # ids of required/default rows reading this element below the context's children
    #                        (so they are not re-run empty; for a child itself, its tag left unmet says so)
    sub: dict              # child tag -> _REntry
    seen: bool             # the element is read by some row (for the unread-elements report)
    text: bool             # some (not skipped) row reads the element's text


def _fast_reader(row: Row, name: str, conv):
    """A reader for one simple row, bound at compile time: converts a non-empty text (raising SkipValue or
    TransformError, the caller then takes the general path) and records it in the context's own container."""
    if conv is None:
        def fast(el, text: str, target: dict, pd: dict) -> None:
            target[name] = text
            pd[name] = (el, text, row, text)
    else:
        def fast(el, text: str, target: dict, pd: dict) -> None:
            value = conv(text)
            target[name] = value
            pd[name] = (el, text, row, value)
    return fast


@dataclass
class _ReadPlan:
    """Reading rows of one context (the root or a group element) arranged for a single pass over the document:
    a trie of child tags -> compiled rows reading that element, plus the rows the document cannot trigger
    (constants, predicates) and those that must run even when their element is absent (required, default)."""
    trie: dict
    always: list
    check: list            # (row, its tag when the row reads a child of the context, else None)


def _plan(rows: list[Row], skip, in_group: bool, fan) -> _ReadPlan:
    nodes: dict = {}       # path prefix (tuple of tags) -> the rows reading the element at that prefix
    always, check = [], []
    for r in rows:
        skipped = bool(skip) and bool(r.canonical) and r.canonical[0] in skip
        if r.path is None or any(st.attrs for st in r.path.steps) or not r.path.steps:
            if not skipped:          # a skipped row without an element of its own has nothing to list
                always.append(r)
            continue
        tags = tuple(st.tag for st in r.path.steps)
        for i in range(1, len(tags) + 1):
            nodes.setdefault(tags[:i], [])
        nodes[tags].append(r)
        if (r.required or r.default) and not skipped:
            check.append(r)

    def op(r: Row) -> _ROp:
        g = r.groups[0] if r.groups else None
        if g is not None and in_group and g != fan:
            mode = _ITEM
        elif g is not None and g == fan:
            mode = _FAN
        else:
            mode = _DOC_FIRST if in_group else _DOC
        t = r.transform
        simple = len(r.canonical) == 1 and not isinstance(t, Join) and t.name != "const"
        conv = None if _identity(t.to_canonical, Transform) else t.to_canonical
        return tuple(_ROp(r, r.path.attr, conv, r.canonical[0] if r.canonical else "", mode, simple))

    checked = {id(r) for r in check}

    def entry(prefix: tuple) -> tuple:
        rows_here = nodes[prefix]
        live = [r for r in rows_here if not (skip and r.canonical and r.canonical[0] in skip)]
        sub = {p[-1]: entry(p) for p in nodes if len(p) == len(prefix) + 1 and p[:-1] == prefix}
        if len(rows_here) == 1 and live and not live[0].when and live[0].path.attr is None and not sub \
                and (len(prefix) == 1 or id(live[0]) not in checked):
            o = op(live[0])
            _, _, conv, name, mode, simple = o
            own = mode == (_ITEM if in_group else _DOC)       # the context's own container
            return (_fast_reader(live[0], name, conv) if simple and own else None), o
        return tuple(_REntry(tuple(op(r) for r in live if not r.when), tuple(op(r) for r in live if r.when),
                             tuple(r for r in rows_here if r not in live),
                             tuple(id(r) for r in live if id(r) in checked) if len(prefix) > 1 else (),
                             sub, bool(rows_here), any(r.path.attr is None for r in live)))

    trie = {p[0]: entry(p) for p in nodes if len(p) == 1}
    return _ReadPlan(trie, always, [(r, r.path.steps[0].tag if len(r.path.steps) == 1 else None) for r in check])


def _plans(table: MappingTable, skip) -> dict:
    """The compiled reading plans of a table for one set of skipped fields (built once per target)."""
    cache = table.__dict__.setdefault("_read_plans", {})
    skip = skip if isinstance(skip, frozenset) else frozenset(skip)
    plans = cache.get(skip)
    if plans is None:
        header = [r for r in table.rows if r.kind == "field" and not r.group and r.reads]
        plans = {None: _plan(header, skip, False, table.fanout)}
        for alias, g in table.groups.items():
            plans[alias] = _plan([x for x in g.rows if x.reads], skip, True, table.fanout)
        cache[skip] = plans
    return plans


def compile_table(table: MappingTable, skips=()) -> None:
    """Compile a table's plans now rather than on first use: writing, and reading for no skipped fields and for each
    set in `skips` (what each target leaves out)."""
    if table.readable:
        _plans(table, frozenset())
        for skip in skips:
            _plans(table, skip)
    if table.writable:
        _write_plan(table)


def _collect(ctx, trie: dict, item, later: list, hit: set, targets: tuple, take, seen, skipped: list) -> dict:
    """One pass over a reading context's children (first element of each tag): unconditional rows applied at once
    (`take`), conditional ones kept in `later`; returns the tags not met. (A module function: a recursive closure
    inside read() would keep the whole read state in a reference cycle until the garbage collector ran.)"""
    todo = trie.copy()       # tags not met yet: only the first element of a tag is read
    own, own_pd = targets[3]
    for child in ctx:
        e = todo.pop(child.tag, None)
        if e is None:
            continue
        if len(e) == 2:          # (fast reader, _ROp): the element's one row, unconditional, reading its text
            if seen is not None:
                seen.add(child)
            text = child.text
            text = text.strip() if text else ""
            fast, op = e
            if fast is not None and text:
                try:
                    fast(child, text, own, own_pd)
                except (SkipValue, TransformError):
                    take(op, child, text, ctx, item, targets)     # the general path skips or raises
            else:
                take(op, child, text, ctx, item, targets)
            if not todo:
                break
            continue
        now, cond, skips, checks, sub, is_read, wants_text = e
        if is_read and seen is not None:
            seen.add(child)
        text = ""
        if wants_text:
            text = child.text
            text = text.strip() if text else ""
        for op in now:
            take(op, child, text, ctx, item, targets)
        for op in cond:
            later.append((op, child, text))
        for r in skips:
            skipped.append((r, child))
        if checks:
            hit.update(checks)
        if sub:
            _collect(child, sub, item, later, hit, targets, take, seen, skipped)
        if not todo:
            break
    return todo


def read(table: MappingTable, root: etree._Element, track_unread: bool = True,
         skip: frozenset | set = frozenset()) -> ReadResult:
    """`skip`: canonical fields (national extensions) the caller's target never writes: their elements are not
    converted, only listed in `skipped` so the report still names them as dropped."""
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
    plans = _plans(table, skip)
    skipped = res.skipped
    hcache: dict = {}      # header-only conditions within groups: valid until a header field changes

    def put(name: str, value: str, item: dict | None, node, raw: str, row: Row, g) -> None:
        if g is not None and item is not None and g != fan:
            target = item
        elif g is not None and g == fan:
            target = fan_item
        else:
            target = doc
            if item is not None:
                if doc.get(name):
                    return          # header field read from a group: first item wins
                hcache.clear()
        target[name] = value
        prov.record(target, name, (node, raw, row, value))

    def apply(row: Row, el, ctx, item: dict | None) -> None:
        """Any row (the general path): constants, joins, predicates, absent required or defaulted values."""
        if row.when and not holds(row, item):
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

    def holds(row: Row, item: dict | None) -> bool:
        if item is None or not row.when_header:
            return row.when_fn(item, doc, None)
        ok = hcache.get(id(row))
        if ok is None:
            ok = hcache[id(row)] = row.when_fn(item, doc, None)
        return ok

    def take(op: tuple, el, text: str, ctx, item: dict | None, targets: tuple) -> None:
        """One compiled row on the element it reads (the fast path of `apply`). targets: (container, its provenance
        dict) by mode."""
        row, attr, conv, name, mode, simple = op
        if not simple:
            apply(row, el, ctx, item)
            return
        if attr is None:
            node, raw = el, text
        else:
            node, raw = (el, attr), (el.get(attr) or "").strip()
        if not raw:
            apply(row, el, ctx, item)
            return
        if conv is None:
            value = raw
        else:
            try:
                value = conv(raw)
            except SkipValue:
                return
            except TransformError as e:
                raise EngineError(str(e), row, node) from None
        if mode == _DOC_FIRST:
            if doc.get(name):
                return              # header field read from a group: first item wins
            hcache.clear()
            mode = _DOC
        target, pd = targets[mode]
        target[name] = value
        if pd is prov.last:
            pd[name] = (node, raw, row, value)
        else:
            prov.record(target, name, (node, raw, row, value))

    def run(plan: _ReadPlan, ctx, item):
        later: list = []
        hit: set = set()
        item_target = (item, prov.dict_of(item)) if item is not None else (None, None)
        own = item_target if item is not None else doc_target
        prov.enter(own[1])
        targets = (item_target, fan_target, doc_target, own)    # by mode (_ITEM, _FAN, _DOC), and the context's own
        unmet = _collect(ctx, plan.trie, item, later, hit, targets, take, seen, skipped)
        tail = plan.always + [r for r, tag in plan.check if (tag in unmet if tag is not None else id(r) not in hit)] \
            if plan.check else plan.always
        for r in tail:            # rows without a condition first: conditions may test what they read
            if not r.when:
                apply(r, None, ctx, item)
        for op, el, text in later:
            row, _, _, _, _, simple = op
            if not simple:
                apply(row, el, ctx, item)
            elif holds(row, item):
                take(op, el, text, ctx, item, targets)
        for r in tail:
            if r.when:
                apply(r, None, ctx, item)

    doc_target = (doc, prov.dict_of(doc))
    fan_target = (fan_item, prov.dict_of(fan_item) if fan_item is not None else None)
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
    entries: list           # (node, row, status, value, source tuple or None, before): Written, built on demand
    consumed: dict          # id(container) -> canonical names whose value reached the output
    _written: list | None = None

    @property
    def written(self) -> list[Written]:
        if self._written is None:
            self._written = [Written(node, row, status, value, row.cname, Source(*src) if src else None, before)
                             for node, row, status, value, src, before in self.entries]
        return self._written


# where a written value comes from
_FROM_DOC, _FROM_FAN, _FROM_ITEM = 0, 1, 2


class _WOp(NamedTuple):
    """One writing row, compiled once per table. `simple`: one canonical field, a value transform (not const, now,
    position, join, list): the fast path; other rows and empty values go through the general `resolve`. Plans hold
    these as plain tuples (unpacked at tuple speed)."""
    row: Row
    simple: bool
    name: str              # first canonical field
    src: int               # _FROM_DOC / _FROM_FAN / _FROM_ITEM
    when: object           # the row's compiled condition (Row.when_fn), None without one
    when_header: bool
    fmt: object            # bound to_format, None when it returns the value unchanged
    lim: object            # bound limit, None when the row has no maxlen/match
    chain: tuple           # ((key, tag, attrs or None), ...) the path's elements; key = the path prefix's number
    leaf: int              # key of the path's last element
    attr: str | None
    is_fallback: bool
    quiet: bool            # an empty value writes nothing and reports nothing (a fallback follows, or extensions)


_NOTHING: dict = {}        # the container of a group field outside its group (never written to)


@dataclass
class _WritePlan:
    top: list              # ("group", row, group, [_WOp]) or ("fields", [_WOp]) in file order
    gkeys: dict            # id(group row) -> (chain of the group element's parents, key of the group element)


def _write_plan(table: MappingTable) -> _WritePlan:
    plan = table.__dict__.get("_write_plan")
    if plan is not None:
        return plan
    keys: dict = {}

    def chain(path) -> tuple:
        out = []
        for i, st in enumerate(path.steps):
            k = keys.setdefault(path.steps[:i + 1], len(keys))
            out.append((k, st.tag, dict(st.attrs) if st.attrs else None))
        return tuple(out)

    def op(r: Row) -> _WOp:
        t = r.transform
        g = r.groups[0] if r.groups else None
        src = _FROM_DOC if g is None else (_FROM_FAN if g == table.fanout else _FROM_ITEM)
        simple = (len(r.canonical) == 1 and not isinstance(t, (Join, List))
                  and t.name not in ("const", "now", "position"))
        fmt = None if _identity(t.to_format, Transform) else t.to_format
        lim = t.limit if (t.match is not None or t.maxlen is not None) else None
        ch = chain(r.path) if r.path is not None else ()
        quiet = not r.default and not r.required and (r.has_fallback or r.all_ext)
        return tuple(_WOp(r, simple, r.canonical[0] if r.canonical else "", src, r.when_fn, r.when_header, fmt, lim,
                          ch, ch[-1][0] if ch else -1, r.path.attr if r.path is not None else None, r.is_fallback,
                          quiet))

    top: list = []
    gkeys: dict = {}
    for row in table.rows:
        if row.kind == "group":
            if row.writes:
                grp = table.groups[row.group]
                ch = chain(row.path)
                gkeys[id(row)] = (ch[:-1], ch[-1])
                top.append(("group", row, grp, [op(x) for x in grp.rows if x.writes]))
        elif not row.group and row.writes:
            if top and top[-1][0] == "fields":
                top[-1][1].append(op(row))
            else:
                top.append(("fields", [op(row)]))
    plan = table._write_plan = _WritePlan(top, gkeys)
    return plan


def write(table: MappingTable, doc: cm.Canonical, prov: Provenance, now: datetime,
          fan_item: dict | None = None) -> WriteResult:
    mt = table.type
    plan = _write_plan(table)
    root_ns = mt.root[1:].split("}", 1)[0] if mt.root.startswith("{") else None
    nsmap = {p: u for p, u in mt.namespaces.items() if u != root_ns} if root_ns else {}
    if root_ns:
        nsmap[None] = root_ns
    root = etree.Element(mt.root, nsmap=nsmap)
    entries: list = []
    consumed: dict = {}

    def consumes(c: dict) -> set:
        s = consumed.get(id(c))
        if s is None:
            s = consumed[id(c)] = set()
        return s

    pos = [0]
    fan = table.fanout
    hcache: dict = {}
    SubElement = etree.SubElement

    def header_ok(row: Row) -> bool:
        ok = hcache.get(id(row))
        if ok is None:
            ok = hcache[id(row)] = row.when_fn(None, doc, fan_item)
        return ok

    def make(ctx, made: dict, chain: tuple):
        """The path's element under ctx: existing elements reused (made: prefix key -> element), missing created."""
        el = ctx
        for key, tag, attrs in chain:
            e = made.get(key)
            if e is None:
                e = made[key] = SubElement(el, tag, attrs)
            el = e
        return el

    def occupied(made: dict, leaf: int, attr: str | None) -> bool:
        el = made.get(leaf)
        if el is None:
            return False
        if attr:
            return bool(el.get(attr))
        return bool(el.text) or len(el) > 0

    def container(src: int, item: dict | None) -> dict:
        if src == _FROM_DOC:
            return doc
        if src == _FROM_FAN and fan_item is not None:
            return fan_item
        return item or {}

    def resolve(op: tuple, ctx, made: dict, item: dict | None):
        """Any row (the general path; its condition already holds): None when nothing is to be written, else
        (value to write, status, containers, source, first canonical value)."""
        op = _WOp._make(op)
        row = op.row
        t = row.transform
        if isinstance(t, List):
            items = doc.get(row.groups[0]) or ()
            parts = [t.inner.join(v for v in (it.get(n) or "" for n in row.canonical) if v) for it in items]
            joined = t.sep.join(p for p in parts if p)
            if joined and not occupied(made, op.leaf, op.attr):
                for it in items:
                    consumes(it).update(row.canonical)
                el = make(ctx, made, op.chain)
                if op.attr:
                    el.set(op.attr, joined)
                else:
                    el.text = joined
                entries.append((None, row, CONVERTED, joined, None, ""))
            return None
        conts = []
        values = []
        for n, g in zip(row.canonical, row.groups):
            c = container(_FROM_DOC if g is None else (_FROM_FAN if g == fan else _FROM_ITEM), item)
            conts.append(c)
            values.append(c.get(n) or "")
        if t.name == "position" and not any(values):
            values = [str(pos[0])]
        if t.name not in ("now", "const") and not any(values):
            occ = row.is_fallback and occupied(made, op.leaf, op.attr)
            if row.default and not occ:
                pass                                      # written below as defaulted
            elif occ or row.has_fallback:
                return None
            elif row.required:
                raise EngineError(f"no value for required target field {row.path.text} "
                                  f"(canonical {'+'.join(row.canonical)} is empty)", row, None,
                                  row.cname)
            else:
                if not row.all_ext:
                    entries.append((None, row, EMPTY, "", None, ""))
                return None
        elif row.is_fallback and occupied(made, op.leaf, op.attr):
            # a fallback row: an earlier row already wrote this target; its value stands for these fields too
            for c, n in zip(conts, row.canonical):
                consumes(c).add(n)
            return None
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
            skipped_value(row, src, e)
            return None
        except TransformError as e:
            raise EngineError(str(e), row, src[0] if src else None, row.cname) from None
        return out, status, conts, src, values[0] if values else None

    def skipped_value(row: Row, src, e: SkipValue) -> None:
        if row.required and not row.has_fallback:
            raise EngineError(f"required target field {row.path.text}: {e}", row, src[0] if src else None,
                              row.cname) from None
        entries.append((None, row, EMPTY, "", src, ""))

    def fill(ops: list, ctx, made: dict, item: dict | None) -> None:
        """Apply compiled rows in one context (the root, or one group element for one item)."""
        # by source kind (_FROM_DOC, _FROM_FAN, _FROM_ITEM): the container, its provenance, its consumed names
        own = item or _NOTHING
        own_p = prov.by.get(id(own)) or _NOTHING
        own_c = consumes(own) if item is not None else set()
        if fan_item is None:
            by_src, prov_of, cons = (doc, own, own), (doc_p, own_p, own_p), (doc_c, own_c, own_c)
        else:
            by_src, prov_of, cons = (doc, fan_item, own), (doc_p, fan_p, own_p), (doc_c, fan_c, own_c)
        for op in ops:
            row, simple, name, src_kind, when, when_header, fmt, lim, chain, leaf, attr, is_fallback, quiet = op
            if when:
                if when_header:
                    if not header_ok(row):
                        continue
                elif not when(item, doc, fan_item):
                    continue
            c = by_src[src_kind]
            value = c.get(name) if simple else None
            if value:
                if is_fallback and occupied(made, leaf, attr):
                    cons[src_kind].add(name)   # an earlier row wrote this target; its value stands for this one
                    continue
                src = prov_of[src_kind].get(name)
                try:
                    out = value if fmt is None else fmt(value)
                    if lim is not None:
                        out = lim(out)
                except SkipValue as e:
                    skipped_value(row, src, e)
                    continue
                except TransformError as e:
                    raise EngineError(str(e), row, src[0] if src else None, row.cname) from None
                status, conts = FILLED, None
            else:
                if simple and quiet:
                    continue
                got = resolve(op, ctx, made, item)
                if got is None:
                    continue
                out, status, conts, src, value = got
            el = ctx                                # make(ctx, made, chain), inlined: it runs for every value
            for key, tag, attrs in chain:
                e = made.get(key)
                el = e if e is not None else made.setdefault(key, SubElement(el, tag, attrs))
            if attr:
                el.set(attr, out)
                node = (el, attr)
            else:
                el.text = out
                node = el
            if conts is None:
                cons[src_kind].add(name)
            else:
                for cc, n in zip(conts, row.canonical):
                    consumes(cc).add(n)
            before = ""
            if status is FILLED:
                if src is not None:
                    if src[1] != out:
                        status, before = CONVERTED, src[1]
                elif value is not None and value != out:
                    status, before = CONVERTED, value
            entries.append((node, row, status, out, src, before))

    doc_p, doc_c = prov.by.get(id(doc)) or _NOTHING, consumes(doc)
    if fan_item is not None:
        fan_p, fan_c = prov.by.get(id(fan_item)) or _NOTHING, consumes(fan_item)
    hmade: dict = {}            # the root's elements by path prefix
    for entry in plan.top:
        if entry[0] == "fields":
            fill(entry[1], root, hmade, None)
            continue
        _, row, grp, gops = entry
        items = doc.get(grp.canonical) or ()
        present = set().union(*items)   # a quiet row of a field no item has would only be looked at and passed
        ops = [x for x in gops if (not x[5] or header_ok(x[0]))          # x: a _WOp as a tuple
               and not (x[12] and x[1] and x[3] == _FROM_ITEM and x[2] not in present)]   # quiet, simple, item
        if grp.canonical == "GoodsItem" and fan_item is not None and table.fanout_row is not None \
                and table.fanout_row.args.get("link") == "yes":
            items = _linked(items, fan_item)
        parents, (gkey, gtag, gattrs) = plan.gkeys[id(row)]
        for pos[0], item in enumerate(items, 1):
            if row.when:
                if not row.when_fn(item, doc, None):
                    continue
                for c in row.when:            # the item's category is expressed by where it is written
                    if isinstance(c, Condition) and c.field in item:
                        consumes(item).add(c.field)
            el = SubElement(make(root, hmade, parents), gtag, gattrs)
            hmade.setdefault(gkey, el)
            fill(ops, el, {}, item)
            if not len(el) and not el.text and not el.attrib:
                if hmade.get(gkey) is el:
                    del hmade[gkey]
                el.getparent().remove(el)
    return WriteResult(root.getroottree(), entries, consumed)


def _linked(items, container: dict):
    wanted = {s.strip() for s in (container.get("Container/GoodsItemSequences") or "").replace(" ", ",").split(",")
              if s.strip()}
    if not wanted:
        return items
    return [i for i in items if (i.get("GoodsItem/SequenceNumeric") or "") in wanted]
