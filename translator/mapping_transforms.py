"""Value transforms of the mapping tables, each usable in both directions.

A transform is built once at load time from a table row (`transform`, `args`, `table` columns) and then called per
value: `to_canonical(value)` when reading a format, `to_format(value)` when writing one. A value that cannot be
converted raises TransformError; the engine turns it into a TranslationError naming the row and the field.
See docs/mapping-tables.md for the catalogue.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

from .codes import CodeTables


class TransformError(ValueError):
    pass


class SkipValue(Exception):
    """A code with no counterpart under `missing=skip`: the row leaves its target empty (a later fallback row or an
    extension carries the value)."""


class TableDefinitionError(ValueError):
    """Raised at load time for a bad transform/args/table; the loader adds file and row."""


# unit conversion: factor to the base unit of each dimension
_UNITS = {
    "kg": ("mass", Decimal(1)), "g": ("mass", Decimal("0.001")), "t": ("mass", Decimal(1000)),
    "lb": ("mass", Decimal("0.45359237")),
    "m3": ("volume", Decimal(1)), "l": ("volume", Decimal("0.001")),
    "m": ("length", Decimal(1)), "cm": ("length", Decimal("0.01")),
}


def parse_args(text: str) -> dict[str, str]:
    """`key=value;key=value` (a literal `;` inside a value is written `\\;`, a space `\\s`: cells are trimmed)."""
    out: dict[str, str] = {}
    if not text.strip():
        return out
    for part in text.replace("\\;", "\x00").split(";"):
        part = part.replace("\x00", ";")
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise TableDefinitionError(f"argument {part!r} is not key=value")
        out[key.strip()] = value.replace("\\s", " ")
    return out


class Transform:
    name = "copy"
    allowed_args: set[str] = set()
    needs_table = False
    fields = 1                     # number of canonical fields it reads/writes

    def __init__(self, args: dict[str, str], table: str, codes: CodeTables):
        unknown = set(args) - self.allowed_args - {"maxlen", "overflow", "match"}
        if unknown:
            raise TableDefinitionError(f"transform {self.name!r} takes no argument(s) {sorted(unknown)}; "
                                       f"allowed: {sorted(self.allowed_args | {'maxlen', 'overflow', 'match'})}")
        if table and not self.needs_table:
            raise TableDefinitionError(f"transform {self.name!r} does not use a code table (got {table!r})")
        if self.needs_table and not table:
            raise TableDefinitionError(f"transform {self.name!r} needs a code table in the 'table' column")
        self.args = args
        self.maxlen = int(args["maxlen"]) if args.get("maxlen") else None
        self.overflow = args.get("overflow", "error")
        try:
            self.match = re.compile(args["match"]) if args.get("match") else None
        except re.error as e:
            raise TableDefinitionError(f"match is not a regular expression: {e}") from None
        if self.overflow not in ("error", "truncate"):
            raise TableDefinitionError("overflow must be error or truncate")

    def to_canonical(self, value: str) -> str:
        return value

    def to_format(self, value: str) -> str:
        return value

    def limit(self, value: str) -> str:
        if self.match is not None and not self.match.fullmatch(value):
            raise SkipValue(f"{value!r} does not match {self.match.pattern}")
        if self.maxlen is not None and len(value) > self.maxlen:
            if self.overflow == "truncate":
                return value[: self.maxlen]
            raise TransformError(f"value is {len(value)} characters; the target holds at most {self.maxlen}")
        return value


class Copy(Transform):
    name = "copy"


class Upper(Transform):
    name = "upper"

    def to_format(self, value):
        return value.upper()


class Const(Transform):
    """Writes `value` (and, reading, puts `value` into the canonical field, ignoring the format)."""
    name = "const"
    allowed_args = {"value"}

    def __init__(self, args, table, codes):
        super().__init__(args, table, codes)
        if "value" not in args:
            raise TableDefinitionError("const needs value=...")
        self.value = args["value"]

    def to_canonical(self, value):
        return self.value

    def to_format(self, value):
        return self.value


class Map(Transform):
    """Inline value map: args are `formatvalue=canonicalvalue` pairs."""
    name = "map"

    def __init__(self, args, table, codes):
        pairs = {k: v for k, v in args.items() if k not in ("maxlen", "overflow", "match")}
        super().__init__({k: v for k, v in args.items() if k in ("maxlen", "overflow", "match")}, table, codes)
        if not pairs:
            raise TableDefinitionError("map needs at least one formatvalue=canonicalvalue pair")
        self.fwd = pairs
        self.back: dict[str, str] = {}
        for k, v in pairs.items():
            self.back.setdefault(v, k)

    def to_canonical(self, value):
        try:
            return self.fwd[value]
        except KeyError:
            raise TransformError(f"{value!r} is not one of {sorted(self.fwd)}") from None

    def to_format(self, value):
        try:
            return self.back[value]
        except KeyError:
            raise TransformError(f"{value!r} has no counterpart (known: {sorted(self.back)})") from None


class Code(Transform):
    """Code look-up. `table` is `crosswalk:column` (canonical value = the crosswalk's `code` column, format value =
    `column`; several format codes in one cell are separated by `|`, the first is written; `-` means no
    correspondence) or a plain code table name (value checked for membership, kept as is)."""
    name = "code"
    needs_table = True
    allowed_args = {"missing"}

    def __init__(self, args, table, codes):
        super().__init__(args, table, codes)
        self.skip = args.get("missing", "error") == "skip"
        if args.get("missing", "error") not in ("error", "skip"):
            raise TableDefinitionError("missing must be error or skip")
        name, _, column = table.partition(":")
        if name not in codes:
            raise TableDefinitionError(f"unknown code table {name!r}")
        self.table_name, self.column = name, column
        tab = codes[name]
        self.fwd: dict[str, str] = {}     # format -> canonical
        self.back: dict[str, str] = {}    # canonical -> format
        self.none: set[str] = set()       # canonical codes with an explicit "no correspondence"
        if not column:
            self.members = set(tab)
            return
        self.members = None
        sample = next(iter(tab.values()), None)
        if sample is not None and column not in sample:
            raise TableDefinitionError(f"code table {name!r} has no column {column!r}")
        for code, row in tab.items():
            cell = (row.get(column) or "").strip()
            if cell == "-":
                self.none.add(code)
                continue
            if not cell:
                continue
            alts = [a.strip() for a in cell.split("|") if a.strip()]
            self.back[code] = alts[0]
            for a in alts:
                self.fwd.setdefault(a, code)

    def to_canonical(self, value):
        if self.members is not None:
            if value not in self.members:
                raise TransformError(f"{value!r} is not in code table {self.table_name}")
            return value
        try:
            return self.fwd[value]
        except KeyError:
            msg = f"{value!r} has no row in {self.table_name} column {self.column}"
            if self.skip:
                raise SkipValue(msg) from None
            raise TransformError(msg) from None

    def to_format(self, value):
        if self.members is not None:
            if value not in self.members:
                raise TransformError(f"{value!r} is not in code table {self.table_name}")
            return value
        try:
            return self.back[value]
        except KeyError:
            if value in self.none:
                msg = f"{value!r} has no {self.column} counterpart ({self.table_name} says none)"
            else:
                msg = f"{value!r} has no {self.column} value in {self.table_name}"
            if self.skip:
                raise SkipValue(msg) from None
            raise TransformError(msg) from None


class Date(Transform):
    """Format side `format=` (strftime, default %Y%m%d; `a|b` accepts several when reading, writes the first); canonical side ISO 8601 date or, with
    `canonical=datetime`, date-time."""
    name = "date"
    allowed_args = {"format", "canonical"}

    def __init__(self, args, table, codes):
        super().__init__(args, table, codes)
        self.fmts = args.get("format", "%Y%m%d").split("|")
        self.fmt = self.fmts[0]
        self.dt = args.get("canonical", "date") == "datetime"
        if args.get("canonical", "date") not in ("date", "datetime"):
            raise TableDefinitionError("date canonical= must be date or datetime")

    def to_canonical(self, value):
        for fmt in self.fmts:
            try:
                d = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        else:
            raise TransformError(f"{value!r} is not a date in the form {' or '.join(self.fmts)}") from None
        return d.isoformat(timespec="seconds") if self.dt else d.date().isoformat()

    def to_format(self, value):
        try:
            d = datetime.fromisoformat(value) if self.dt or "T" in value else datetime.combine(
                date.fromisoformat(value), datetime.min.time())
        except ValueError:
            raise TransformError(f"{value!r} is not an ISO 8601 date") from None
        return d.strftime(self.fmt)


_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?").fullmatch


def _decimal(value: str) -> Decimal:
    try:
        d = Decimal(value.replace(",", "")) if value.count(",") and "." in value else Decimal(value)
    except InvalidOperation:
        raise TransformError(f"{value!r} is not a number") from None
    if not d.is_finite():
        raise TransformError(f"{value!r} is not a finite number")
    return d


_QUANTA = {n: Decimal(1).scaleb(-n) for n in range(10)}     # decimals -> the quantum to round to


def _fmt(d: Decimal, decimals: int | None) -> str:
    if decimals is not None:
        q = _QUANTA.get(decimals)
        return str(d.quantize(q if q is not None else Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))
    s = format(d.normalize(), "f")
    return s


class Number(Transform):
    """Checks a number; writing, `decimals=N` fixes the decimal places (half-up)."""
    name = "number"
    allowed_args = {"decimals"}

    def __init__(self, args, table, codes):
        super().__init__(args, table, codes)
        self.decimals = int(args["decimals"]) if args.get("decimals") else None

    def to_canonical(self, value):
        if _PLAIN_NUMBER(value) is None:     # a plain decimal is always a number; anything else is checked in full
            _decimal(value)
        return value

    def to_format(self, value):
        if self.decimals is None and _PLAIN_NUMBER(value) is not None:
            return value
        d = _decimal(value)
        return value if self.decimals is None else _fmt(d, self.decimals)


class Unit(Transform):
    """Unit conversion: `canonical=kg;format=t` (same dimension); `decimals=N` when writing."""
    name = "unit"
    allowed_args = {"canonical", "format", "decimals"}

    def __init__(self, args, table, codes):
        super().__init__(args, table, codes)
        try:
            cu, fu = _UNITS[args["canonical"]], _UNITS[args["format"]]
        except KeyError as e:
            raise TableDefinitionError(f"unit needs canonical= and format= among {sorted(_UNITS)} ({e})") from None
        if cu[0] != fu[0]:
            raise TableDefinitionError(f"cannot convert {args['canonical']} to {args['format']}")
        self.f2c = fu[1] / cu[1]
        self.decimals = int(args["decimals"]) if args.get("decimals") else None

    def to_canonical(self, value):
        return _fmt(_decimal(value) * self.f2c, None)

    def to_format(self, value):
        return _fmt(_decimal(value) / self.f2c, self.decimals)


class Join(Transform):
    """Several canonical fields (`A+B` in the canonical column) in one format field, joined by `sep=`
    (default `/`). Reading splits at the first (n-1) separators."""
    name = "join"
    allowed_args = {"sep"}
    fields = 0   # any number >= 2

    def __init__(self, args, table, codes):
        super().__init__(args, table, codes)
        self.sep = args.get("sep", "/")
        if not self.sep:
            raise TableDefinitionError("join needs a non-empty sep")

    def split(self, value: str, n: int) -> list[str]:
        parts = value.split(self.sep, n - 1)
        return parts + [""] * (n - len(parts))

    def join(self, values: list[str]) -> str:
        while values and not values[-1]:
            values = values[:-1]
        return self.sep.join(values)


class List(Transform):
    """Writing only: the values of fields of a repeating group (`Container/ID+Container/ReferenceID`) from every
    item, fields joined by `inner=` (default space), items by `sep=` (default `; `), into one header field."""
    name = "list"
    allowed_args = {"sep", "inner"}
    fields = 0

    def __init__(self, args, table, codes):
        super().__init__(args, table, codes)
        self.sep = args.get("sep", "; ")
        self.inner = args.get("inner", " ")


class Pad(Transform):
    """Writing: keep the first `keep=` characters (all by default) and fill to `width=` with `fill=` (default 0)
    on the right; reading: as is. E.g. a foreign tariff code to HS6 + zeros for a national code the target
    declarant must complete."""
    name = "pad"
    allowed_args = {"keep", "width", "fill"}

    def __init__(self, args, table, codes):
        super().__init__(args, table, codes)
        try:
            self.keep = int(args["keep"]) if args.get("keep") else None
            self.width = int(args["width"])
        except (KeyError, ValueError):
            raise TableDefinitionError("pad needs width=N (and optionally keep=N, fill=c)") from None
        self.fill = args.get("fill", "0") or "0"

    def to_format(self, value):
        v = value[: self.keep] if self.keep is not None else value
        return v.ljust(self.width, self.fill[0])


class Position(Transform):
    """Writing only, in a group: the item's 1-based position (a fallback for line numbers a source leaves
    implicit)."""
    name = "position"


class Now(Transform):
    """Writes the translation time (`now`, passed in) as `format=` (default ISO 8601); nothing is read."""
    name = "now"
    allowed_args = {"format"}

    def __init__(self, args, table, codes):
        super().__init__(args, table, codes)
        self.fmt = args.get("format")


class Uuid(Transform):
    """Writes a UUID derived from the canonical value (uuid5), so the same input gives the same identifier."""
    name = "uuid"

    def to_format(self, value):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "edihub:" + value))


TRANSFORMS: dict[str, type[Transform]] = {t.name: t for t in
                                          (Copy, Upper, Const, Map, Code, Date, Number, Unit, Join, List, Pad, Position, Now, Uuid)}


def build(name: str, args_text: str, table: str, codes: CodeTables) -> Transform:
    cls = TRANSFORMS.get(name or "copy")
    if cls is None:
        raise TableDefinitionError(f"unknown transform {name!r}; known: {', '.join(sorted(TRANSFORMS))}")
    return cls(parse_args(args_text), table, codes)
