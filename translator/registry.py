"""The format registry: which message types edihub knows, read from data.

Each family has a folder xsd/<family>/ with a `formats.toml` describing its message types:

    family = "prc"
    title = "PRC customs declaration (China e-Port)"
    rules = "translator.rules.prc"          # optional: module with the family's business rules
    [namespaces]                             # prefixes usable in the XPaths below
    d = "http://www.chinaport.gov.cn/dec"

    [[types]]
    name = "DecMessage"                      # stable name: "prc:DecMessage" in CLI, API and config
    root = "{http://www.chinaport.gov.cn/dec}DecMessage"
    xsd = "DecMessage.xsd"
    title = "Customs declaration (报关单)"
    kind = "declaration"                     # declaration | response | registration | notification | ...
    business_key = "d:DecHead/d:SeqNo"       # optional XPath from the root: the declaration number
    code_fields = [ { path = "d:DecHead/d:TrafMode", table = "prc_transport_mode" } ]

Adding a family is adding such a folder (and optionally a rules module): no engine change.
Schemas are compiled once, when the registry is loaded.
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from . import paths


class RegistryError(RuntimeError):
    """A formats.toml or XSD is broken; raised at start-up, naming the file."""


@dataclass(frozen=True)
class CodeField:
    path: str
    table: str
    xpath: etree.XPath


@dataclass
class MessageType:
    family: str
    name: str
    root: str                      # Clark notation QName of the document element
    xsd_path: Path
    title: str = ""
    kind: str = ""
    namespaces: dict[str, str] = field(default_factory=dict)
    business_key: etree.XPath | None = None
    code_fields: list[CodeField] = field(default_factory=list)
    extra: dict = field(default_factory=dict)   # any further keys of the [[types]] entry
    schema: etree.XMLSchema | None = None

    @property
    def id(self) -> str:
        return f"{self.family}:{self.name}"

    def key_of(self, root: etree._Element) -> str | None:
        if self.business_key is None:
            return None
        found = self.business_key(root)
        if isinstance(found, list):
            found = found[0] if found else None
        if found is None:
            return None
        text = found if isinstance(found, str) else (found.text or "")
        return text.strip() or None


@dataclass
class Family:
    name: str
    title: str
    folder: Path
    namespaces: dict[str, str]
    rules_module: str | None
    types: list[MessageType]


class Registry:
    def __init__(self, xsd_dir: Path | None = None, compile_schemas: bool = True):
        self.xsd_dir = Path(xsd_dir or paths.XSD_DIR)
        self.families: dict[str, Family] = {}
        self.types: dict[str, MessageType] = {}
        self.by_root: dict[str, MessageType] = {}
        for toml_path in sorted(self.xsd_dir.glob("*/formats.toml")):
            self._load_family(toml_path, compile_schemas)

    def _load_family(self, toml_path: Path, compile_schemas: bool) -> None:
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise RegistryError(f"{toml_path}: {e}") from None
        fam_name = data.get("family") or toml_path.parent.name
        ns = dict(data.get("namespaces", {}))
        fam = Family(fam_name, data.get("title", fam_name), toml_path.parent, ns, data.get("rules"), [])
        for i, t in enumerate(data.get("types", []), 1):
            where = f"{toml_path} [[types]] #{i}"
            try:
                name, root, xsd = t["name"], t["root"], t["xsd"]
            except KeyError as e:
                raise RegistryError(f"{where}: missing key {e}") from None
            known = {"name", "root", "xsd", "title", "kind", "business_key", "code_fields"}
            mt = MessageType(fam_name, name, root, toml_path.parent / xsd, t.get("title", ""), t.get("kind", ""),
                             ns, extra={k: v for k, v in t.items() if k not in known})
            try:
                if t.get("business_key"):
                    mt.business_key = etree.XPath(t["business_key"], namespaces=ns)
                for cf in t.get("code_fields", []):
                    mt.code_fields.append(CodeField(cf["path"], cf["table"],
                                                    etree.XPath(cf["path"], namespaces=ns)))
            except (etree.XPathSyntaxError, KeyError) as e:
                raise RegistryError(f"{where}: bad XPath or code field: {e}") from None
            if compile_schemas:
                mt.schema = compile_schema(mt.xsd_path)
            if mt.id in self.types:
                raise RegistryError(f"{where}: message type {mt.id} defined twice")
            if root in self.by_root:
                raise RegistryError(f"{where}: root element {root} already belongs to {self.by_root[root].id}")
            self.types[mt.id] = mt
            self.by_root[root] = mt
            fam.types.append(mt)
        self.families[fam_name] = fam

    def get(self, name: str) -> MessageType:
        """Look up "family:Type" (or a bare type name when unambiguous)."""
        if name in self.types:
            return self.types[name]
        matches = [t for t in self.types.values() if t.name == name or t.family == name]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(sorted(self.types))
        raise KeyError(f"unknown format {name!r}; known: {known}")

    def detect(self, root: etree._Element) -> MessageType | None:
        return self.by_root.get(root.tag)


def compile_schema(xsd_path: Path) -> etree.XMLSchema:
    """Compile an XSD with a parser that reads local files only (xs:include/xs:import of neighbours)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        doc = etree.parse(str(xsd_path), parser)
        return etree.XMLSchema(doc)
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as e:
        raise RegistryError(f"{xsd_path}: {e}") from None


@functools.lru_cache(maxsize=1)
def default_registry() -> Registry:
    return Registry()
