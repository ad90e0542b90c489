"""Code tables: the single source of truth for every coded value, kept as CSV under mappings/codes/.

Each CSV has a header; the first column is `code`, a `source` column cites where the values come from, other
columns (label, label_en, label_zh, ...) are free. The table's name is the file name without `.csv`.
ISO 3166 and ISO 4217 come from pycountry as virtual tables:
`iso3166_alpha2`, `iso3166_alpha3`, `iso3166_numeric`, `iso4217_alpha`, `iso4217_numeric`.
"""
from __future__ import annotations

import csv
import functools
from pathlib import Path

from . import paths


# The characters str.strip() removes that XML 1.0 text may hold (tests compare this with Python's own notion).
BLANKS = "\t\n\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_XSD_REGEX_META = frozenset("\\|.-^?*+{}()[]")


def code_list_pattern(codes) -> str:
    """An XSD pattern accepting exactly the values a code-field look-up accepts: blanks only, or one code of the
    table with blanks around it (the look-up strips the value and skips an empty one). Generated into the XSD
    by xsd/prc/build_xsd.py and recognised by the validator at start-up."""
    blank = f"[{BLANKS}]*"
    alternatives = "|".join("".join("\\" + c if c in _XSD_REGEX_META else c for c in code) for code in codes)
    return f"{blank}({alternatives})?{blank}"


class CodeTableError(RuntimeError):
    pass


class CodeTable(dict):
    """code -> row (a dict of the CSV's columns)."""

    def __init__(self, name: str, rows: dict[str, dict[str, str]], source: str = ""):
        super().__init__(rows)
        self.name = name
        self.source = source

    def label(self, code: str, column: str = "label") -> str | None:
        row = self.get(code)
        return row.get(column) if row else None


def load_csv(path: Path) -> CodeTable:
    rows: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or reader.fieldnames[0] != "code":
            raise CodeTableError(f"{path}: the first column must be 'code' (got {reader.fieldnames})")
        if "source" not in reader.fieldnames:
            raise CodeTableError(f"{path}: a 'source' column is required")
        for lineno, row in enumerate(reader, 2):
            code = (row.get("code") or "").strip()
            if not code:
                raise CodeTableError(f"{path}:{lineno}: empty code")
            if code in rows:
                raise CodeTableError(f"{path}:{lineno}: duplicate code {code!r}")
            rows[code] = {k: (v or "").strip() for k, v in row.items() if k is not None}
    return CodeTable(path.stem, rows)


def _iso_tables() -> dict[str, CodeTable]:
    import pycountry
    src = "ISO 3166-1 / ISO 4217 via pycountry"
    a2, a3, num, cur_a, cur_n = {}, {}, {}, {}, {}
    for c in pycountry.countries:
        row = {"code": "", "alpha_2": c.alpha_2, "alpha_3": c.alpha_3, "numeric": c.numeric, "label": c.name,
               "source": src}
        a2[c.alpha_2] = dict(row, code=c.alpha_2)
        a3[c.alpha_3] = dict(row, code=c.alpha_3)
        num[c.numeric] = dict(row, code=c.numeric)
    for c in pycountry.currencies:
        row = {"alpha": c.alpha_3, "numeric": c.numeric, "label": c.name, "source": src}
        cur_a[c.alpha_3] = dict(row, code=c.alpha_3)
        cur_n[c.numeric] = dict(row, code=c.numeric)
    return {
        "iso3166_alpha2": CodeTable("iso3166_alpha2", a2, src),
        "iso3166_alpha3": CodeTable("iso3166_alpha3", a3, src),
        "iso3166_numeric": CodeTable("iso3166_numeric", num, src),
        "iso4217_alpha": CodeTable("iso4217_alpha", cur_a, src),
        "iso4217_numeric": CodeTable("iso4217_numeric", cur_n, src),
    }


class CodeTables(dict):
    """All code tables by name, loaded once."""

    def __init__(self, codes_dir: Path | None = None):
        super().__init__()
        self.codes_dir = Path(codes_dir or paths.CODES_DIR)
        self.update(_iso_tables())
        for p in sorted(self.codes_dir.glob("*.csv")):
            if p.stem in self:
                raise CodeTableError(f"{p}: table name {p.stem!r} is taken")
            self[p.stem] = load_csv(p)

    def table(self, name: str) -> CodeTable:
        try:
            return self[name]
        except KeyError:
            raise CodeTableError(f"unknown code table {name!r}") from None


@functools.lru_cache(maxsize=1)
def default_codes() -> CodeTables:
    return CodeTables()
