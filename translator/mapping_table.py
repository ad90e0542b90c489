"""Mapping tables: loading and checking `mappings/<family>/<Type>.csv` once, at start-up.

A table maps one registered message type to and from the canonical pivot (translator/canonical.py). The format
is documented in docs/mapping-tables.md. Anything wrong in a table (unknown column, transform, code table,
canonical field, group, bad path or condition, duplicate key) raises MappingTableError naming the file and row,
so a broken table stops start-up instead of failing one message later.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import canonical as cm
from . import paths
from .codes import CodeTables
from .mapping_transforms import Join, List, TableDefinitionError, Transform, build, parse_args
from .registry import MessageType, Registry

COLUMNS = ("kind", "group", "canonical", "path", "direction", "transform", "args", "table", "required", "default",
           "when", "notes")
REQUIRED_COLUMNS = ("canonical", "path")
KINDS = ("field", "group", "fanout", "pivot")
DIRECTIONS = ("both", "in", "out")


class MappingTableError(RuntimeError):
    def __init__(self, file: Path | str, row: int | None, message: str):
        self.file, self.row, self.message = str(file), row, message
        super().__init__(f"{file}" + (f" row {row}" if row else "") + f": {message}")


# -- paths in the format document -------------------------------------------------------------------------

_STEP = re.compile(r"^(?:(?P<prefix>[A-Za-z_][\w.-]*):)?(?P<name>[A-Za-z_][\w.-]*)"
                   r"(?:\[@(?P<pa>[\w:.-]+)='(?P<pv>[^']*)'\])?$")


@dataclass(frozen=True)
class Step:
    tag: str                       # Clark name
    attrs: tuple = ()              # ((name, value),) predicate / attributes to set when creating

    @property
    def find_expr(self) -> str:
        return self.tag + "".join(f"[@{a}='{v}']" for a, v in self.attrs)


@dataclass(frozen=True)
class FormatPath:
    text: str                      # as written in the table
    steps: tuple[Step, ...]        # elements from the context element down
    attr: str | None               # final @attribute, if any
    find: str                      # ElementPath expression for the element ("" = the context element itself)


def compile_path(text: str, default_ns: str | None, namespaces: dict[str, str]) -> FormatPath:
    text = text.strip()
    if not text:
        raise TableDefinitionError("empty path")
    parts = text.split("/")
    attr = None
    if parts[-1].startswith("@"):
        attr = parts.pop()[1:]
        if ":" in attr:
            prefix, local = attr.split(":", 1)
            if prefix not in namespaces:
                raise TableDefinitionError(f"unknown namespace prefix {prefix!r} in {text!r}")
            attr = f"{{{namespaces[prefix]}}}{local}"
    steps = []
    for p in parts:
        if p == ".":
            continue
        m = _STEP.match(p)
        if not m:
            raise TableDefinitionError(f"bad path step {p!r} in {text!r} (use Name, p:Name, Name[@a='v'], @attr)")
        prefix = m.group("prefix")
        if prefix:
            if prefix not in namespaces:
                raise TableDefinitionError(f"unknown namespace prefix {prefix!r} in {text!r}")
            ns = namespaces[prefix]
        else:
            ns = default_ns
        tag = f"{{{ns}}}{m.group('name')}" if ns else m.group("name")
        attrs = ((m.group("pa"), m.group("pv")),) if m.group("pa") else ()
        steps.append(Step(tag, attrs))
    return FormatPath(text, tuple(steps), attr, "/".join(s.find_expr for s in steps))


# -- conditions ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Condition:
    field: str
    values: frozenset[str]
    negate: bool

    def holds(self, value: str) -> bool:
        return (value in self.values) != self.negate


class AnyOf(tuple):
    """Alternatives (`a=1 & b=2 || c=3`): holds when one conjunction holds. `field`-less, evaluated by the engine."""


def _fields(conds) -> list[str]:
    out = []
    for c in conds:
        if isinstance(c, AnyOf):
            for alt in c:
                out += _fields(alt)
        else:
            out.append(c.field)
    return out


def compile_when(conds: tuple):
    """The conditions as one function (item, doc, extra) -> bool: a field is looked up in the group item, then in
    `extra` (a fan-out item), then in the document; alternatives (AnyOf) hold when one of them does."""
    tests = []
    for c in conds:
        if isinstance(c, AnyOf):
            def test(item, doc, extra, alts=tuple(compile_when(alt) for alt in c)) -> bool:
                for alt in alts:
                    if alt(item, doc, extra):
                        return True
                return False
        else:
            def test(item, doc, extra, f=c.field, values=c.values, negate=c.negate) -> bool:
                v = item.get(f) if item is not None else None
                if v is None:
                    if extra is not None:
                        v = extra.get(f)
                    if v is None:
                        v = doc.get(f)
                return ((v or "") in values) != negate
        tests.append(test)
    if len(tests) == 1:
        return tests[0]

    def all_of(item, doc, extra, tests=tuple(tests)) -> bool:
        for t in tests:
            if not t(item, doc, extra):
                return False
        return True
    return all_of


def parse_when(text: str, check_field):
    if "||" in text:
        return (AnyOf(parse_when(alt, check_field) for alt in text.split("||")),)
    conds = []
    for part in [p.strip() for p in text.split("&") if p.strip()]:
        m = re.match(r"^([^!=]+?)\s*(!=|=)\s*(.*)$", part)
        if not m:
            raise TableDefinitionError(f"condition {part!r} is not Field=value, Field!=value or Field=a|b")
        name = m.group(1).strip()
        check_field(name)
        conds.append(Condition(name, frozenset(v.strip() for v in m.group(3).split("|")), m.group(2) == "!="))
    return tuple(conds)


# -- rows and tables ----------------------------------------------------------------------------------------

@dataclass
class Row:
    where: str                     # "mappings/prc/DecMessage.csv:12"
    line: int
    kind: str
    group: str                     # group alias ("" for header rows)
    canonical: tuple[str, ...]
    path: FormatPath | None
    direction: str
    transform: Transform
    required: bool
    default: str
    when: tuple[Condition, ...]
    notes: str
    args: dict = field(default_factory=dict)   # group/fanout rows: their own arguments (link=yes)
    has_fallback: bool = False     # a later writing row targets the same path: `required` is checked there
    groups: tuple = ()             # canonical group of each canonical field (None = header), precomputed
    all_ext: bool = False          # every canonical field is an extension
    when_header: bool = False      # `when` tests header fields only: evaluated once per document
    is_fallback: bool = False      # an earlier writing row targets the same path
    cname: str = ""                # "+".join(canonical), for reports
    when_fn: object = None         # `when` compiled (compile_when): (item, doc, extra) -> bool

    @property
    def reads(self) -> bool:       # format -> canonical
        return self.direction in ("both", "in")

    @property
    def writes(self) -> bool:      # canonical -> format
        return self.direction in ("both", "out")


@dataclass
class Group:
    alias: str
    canonical: str                 # canonical group name ("GoodsItem")
    row: Row
    rows: list[Row] = field(default_factory=list)


@dataclass
class MappingTable:
    type: MessageType
    file: Path
    pivot: str = "Declaration"
    select: tuple[Condition, ...] = ()
    fanout: str | None = None      # canonical group: one output document per element
    fanout_row: Row | None = None
    groups: dict[str, Group] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)            # field and group rows in file order

    @property
    def id(self) -> str:
        return self.type.id

    @property
    def readable(self) -> bool:
        return any(r.reads for r in self.rows if r.kind == "field")

    @property
    def writable(self) -> bool:
        return any(r.writes for r in self.rows if r.kind == "field")


def load_table(file: Path, mt: MessageType, codes: CodeTables, root_dir: Path | None = None) -> MappingTable:
    rel = _rel(file, root_dir)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MappingTableError(rel, None, f"cannot read: {e}") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise MappingTableError(rel, 1, f"unknown column(s) {unknown}; allowed: {', '.join(COLUMNS)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise MappingTableError(rel, 1, f"missing column(s) {missing}")
    raw_rows = []
    for line, rec in enumerate(reader, 2):
        if None in rec:
            raise MappingTableError(rel, line, "more cells than columns (quote cells that contain commas)")
        rec = {k: (v or "").strip() for k, v in rec.items()}
        if not any(rec.values()) or rec.get("kind", "").startswith("#"):
            continue
        raw_rows.append((line, rec))

    table = MappingTable(mt, file)
    for line, rec in raw_rows:
        if rec.get("kind") == "pivot":
            if rec["canonical"] not in cm.MODEL.roots:
                raise MappingTableError(rel, line, f"unknown pivot {rec['canonical']!r}; known: {list(cm.MODEL.roots)}")
            table.pivot = rec["canonical"]
    model = cm.MODEL.root(table.pivot)
    root_ns = mt.root[1:].split("}", 1)[0] if mt.root.startswith("{") else None

    def check_field(name: str) -> None:
        if cm.is_extension(name):
            scheme, _, rest = name[len(cm.EXT_PREFIX):].partition("/")
            if not scheme or not rest:
                raise TableDefinitionError(f"extension field {name!r} must be Extension:<scheme>/<Name>")
            return
        if name not in model.fields:
            raise TableDefinitionError(f"unknown canonical field {name!r} (pivot {table.pivot}; "
                                       f"see translator/canonical.py)")

    seen_keys: dict[tuple, int] = {}
    filled_by: dict[tuple, int] = {}
    for line, rec in raw_rows:
        try:
            kind = rec.get("kind") or "field"
            if kind not in KINDS:
                raise TableDefinitionError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
            if kind == "pivot":
                table.select = parse_when(rec.get("when", ""), check_field)
                continue
            direction = rec.get("direction") or "both"
            if direction not in DIRECTIONS:
                raise TableDefinitionError(f"unknown direction {direction!r}; known: {', '.join(DIRECTIONS)}")
            required = (rec.get("required") or "no").lower()
            if required not in ("yes", "no"):
                raise TableDefinitionError(f"required must be yes or no, got {required!r}")
            if kind in ("group", "fanout"):
                gargs = parse_args(rec.get("args", ""))
                bad = set(gargs) - {"link"}
                if bad or (kind == "group" and gargs):
                    raise TableDefinitionError(f"{kind} rows take no argument(s) {sorted(bad or gargs)}"
                                               + (" (fanout takes link=yes)" if kind == "fanout" else ""))
                transform = build("", "", "", codes)
            else:
                transform = build(rec.get("transform", ""), rec.get("args", ""), rec.get("table", ""), codes)
            names = tuple(n.strip() for n in rec["canonical"].split("+") if n.strip())
            alias = rec.get("group", "")
            when = parse_when(rec.get("when", ""), check_field)
            if kind in ("group", "fanout"):
                gname = rec["canonical"]
                if gname not in model.groups:
                    raise TableDefinitionError(f"unknown canonical group {gname!r}; known: {model.groups}")
                row = Row(f"{rel}:{line}", line, kind, alias, (gname,),
                          compile_path(rec["path"], root_ns, mt.namespaces) if rec["path"] else None,
                          direction, transform, required == "yes", "", when, rec.get("notes", ""), gargs)
                if kind == "fanout":
                    if table.fanout:
                        raise TableDefinitionError("only one fanout row per table")
                    table.fanout, table.fanout_row = gname, row
                    continue
                if not alias:
                    raise TableDefinitionError("a group row needs an alias in the 'group' column")
                if alias in table.groups:
                    raise TableDefinitionError(f"group alias {alias!r} declared twice")
                if row.path is None:
                    raise TableDefinitionError("a group row needs the path of the repeated element")
                table.groups[alias] = Group(alias, gname, row)
                table.rows.append(row)
                continue
            # field row
            group = None
            if alias:
                group = table.groups.get(alias)
                if group is None:
                    raise TableDefinitionError(f"group {alias!r} is not declared above this row")
            if isinstance(transform, List):
                gs = {cm.group_of(n, model) for n in names}
                if direction != "out" or alias or len(gs) != 1 or None in gs:
                    raise TableDefinitionError("list is a header row, direction out, over fields of one group")
            for n in names:
                check_field(n)
                g = cm.group_of(n, model)
                if g and (group is None or g != group.canonical) and g != table.fanout \
                        and not isinstance(transform, List):
                    raise TableDefinitionError(
                        f"canonical field {n!r} belongs to group {g}; put the row in a group of {g} "
                        f"(group column) or declare {g} as the fanout")
            if isinstance(transform, Join):
                if len(names) < 2:
                    raise TableDefinitionError("join needs two or more canonical fields joined by '+'")
            elif len(names) > 1 and not isinstance(transform, List):
                raise TableDefinitionError(f"several canonical fields need transform join (got {transform.name!r})")
            if transform.name == "position" and (direction != "out" or not alias):
                raise TableDefinitionError("position is a group row, direction out")
            elif not names and transform.name not in ("const", "now"):
                raise TableDefinitionError("the canonical column is empty")
            if not names and direction != "out":
                raise TableDefinitionError(f"a {transform.name} row without canonical field must be direction out")
            if not rec["path"]:
                if direction != "in" or transform.name != "const":
                    raise TableDefinitionError("the path column is empty (only an 'in' const row may omit it)")
                fpath = None
            else:
                fpath = compile_path(rec["path"], root_ns, mt.namespaces)
            row = Row(f"{rel}:{line}", line, kind, alias, names, fpath, direction, transform,
                      required == "yes", rec.get("default", ""), when, rec.get("notes", ""))
            key = (alias, names, rec["path"], direction, rec.get("when", ""))
            if key in seen_keys:
                raise TableDefinitionError(f"duplicate key: same group, canonical field, path, direction and "
                                           f"condition as row {seen_keys[key]}")
            seen_keys[key] = line
            if row.reads and transform.name != "const":
                for n in names:
                    k = (alias, n, rec.get("when", ""))
                    if k in filled_by:
                        raise TableDefinitionError(f"duplicate key: canonical field {n!r} is already read by row "
                                                   f"{filled_by[k]} under the same condition")
                    filled_by[k] = line
            table.rows.append(row)
            if group is not None:
                group.rows.append(row)
        except TableDefinitionError as e:
            raise MappingTableError(rel, line, str(e)) from None
    last: dict[tuple, Row] = {}
    for r in table.rows:
        r.groups = tuple(cm.group_of(n, model) for n in r.canonical)
        r.cname = "+".join(r.canonical)
        r.all_ext = bool(r.canonical) and all(cm.is_extension(n) for n in r.canonical)
        r.when_header = bool(r.when) and all(cm.group_of(f, model) is None for f in _fields(r.when))
        r.when_fn = compile_when(r.when) if r.when else None
        if r.kind == "field" and r.writes and r.path is not None:
            key = (r.group, r.path.text)
            if key in last:
                last[key].has_fallback = True
                r.is_fallback = True
            last[key] = r
    return table


def load_tables(registry: Registry, codes: CodeTables, mappings_dir: Path | None = None) -> dict[str, MappingTable]:
    """Every `mappings/<family>/<Type>.csv` whose family and type are registered. A CSV naming an unknown type is
    an error (a typo would otherwise silently disable a translation)."""
    mdir = Path(mappings_dir or paths.MAPPINGS_DIR)
    tables: dict[str, MappingTable] = {}
    for file in sorted(mdir.glob("*/*.csv")):
        family = file.parent.name
        if family == "codes":
            continue
        type_id = f"{family}:{file.stem}"
        mt = registry.types.get(type_id)
        if mt is None:
            raise MappingTableError(_rel(file, mdir.parent), None,
                                    f"no registered message type {type_id} (known: {', '.join(sorted(registry.types))})")
        tables[type_id] = load_table(file, mt, codes, mdir.parent)
    return tables


def _rel(file: Path, root: Path | None) -> str:
    try:
        return str(file.resolve().relative_to((root or paths.ROOT).resolve()))
    except ValueError:
        return str(file)
