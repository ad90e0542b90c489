"""validate(document) -> ValidationReport: XSD (lxml, fast path) then the format's business rules.

Every error is reported, not just the first, each with a stable code, a message, a readable path and the line.
When the XSD fails, lxml's positional paths are resolved against the tree and renamed into readable ones.

Code fields (`code_fields` of formats.toml) are looked up in their code table in Python, except where the
format's XSD itself restricts the field to exactly that table (edihub's generated PRC schema does, see
xsd/prc/build_xsd.py): an enumeration of the table's codes on a type that forbids blanks, or the pattern
translator.codes.code_list_pattern(table) that accepts exactly what the look-up accepts. That is found out at
start-up by reading the schema, and on a document the XSD accepted such a look-up cannot fail, so it is skipped.
An official XSD dropped in without the code lists gets the Python look-ups again. When the XSD fails, every
field is looked up in Python as before, and the schema's own enumeration / pattern error for a code the table
lacks gives way to the clearer `code-unknown` issue naming the field and the table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .codes import CodeTables, code_list_pattern, default_codes
from .parsing import DEFAULT_LIMITS, ParseError, ParseLimits, parse
from .registry import MessageType, Registry, default_registry
from .report import ERROR, Issue, ValidationReport
from .rules import RuleContext, Screen, load_rule_module, rules_for, screen_for
from .xpath import local, readable_path

# libxml2 schema error types -> stable edihub codes
_XSD_CODES = {
    "SCHEMAV_CVC_PATTERN_VALID": "xsd-pattern",
    "SCHEMAV_CVC_ENUMERATION_VALID": "xsd-enumeration",
    "SCHEMAV_CVC_LENGTH_VALID": "xsd-length",
    "SCHEMAV_CVC_MINLENGTH_VALID": "xsd-length",
    "SCHEMAV_CVC_MAXLENGTH_VALID": "xsd-length",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": "xsd-range",
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": "xsd-range",
    "SCHEMAV_CVC_MINEXCLUSIVE_VALID": "xsd-range",
    "SCHEMAV_CVC_MAXEXCLUSIVE_VALID": "xsd-range",
    "SCHEMAV_CVC_TOTALDIGITS_VALID": "xsd-digits",
    "SCHEMAV_CVC_FRACTIONDIGITS_VALID": "xsd-digits",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": "xsd-datatype",
    "SCHEMAV_ELEMENT_CONTENT": "xsd-structure",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_4": "xsd-structure",
    "SCHEMAV_CVC_ELT_1": "xsd-root",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": "xsd-attribute",
    "SCHEMAV_CVC_COMPLEX_TYPE_4": "xsd-attribute",
    "SCHEMAV_CVC_IDC": "xsd-unique",
    "SCHEMAV_CVC_ELT_4_3": "xsd-type",
}

# only namespace URIs in braces, not pattern quantifiers such as {3} or {1,2}
_CLARK = re.compile(r"\{[^{}\s]*[:/][^{}\s]*\}")
_XS = "{http://www.w3.org/2001/XMLSchema}"
_STEP = re.compile(r"(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)")


@dataclass(frozen=True)
class ValidationPolicy:
    """What to check. `rules=False` gives XSD-only validation (used for an official XSD dropped in)."""

    rules: bool = True
    limits: ParseLimits = DEFAULT_LIMITS


DEFAULT_POLICY = ValidationPolicy()


class Validator:
    """Holds the compiled registry and code tables; one per process, made at start-up."""

    def __init__(self, registry: Registry | None = None, codes: CodeTables | None = None,
                 accelerate: bool = True):
        self.registry = registry or default_registry()
        self.codes = codes or default_codes()
        for fam in self.registry.families.values():
            load_rule_module(fam.rules_module)
        # message type id -> {code field whose table the XSD enforces: the libxml2 error type that enforces it}
        self.schema_checked: dict[str, dict[CodeField, str]] = {}
        for mt in self.registry.types.values():
            for cf in mt.code_fields:
                self.codes.table(cf.table)   # unknown table: fail at start-up, not per message
            self.schema_checked[mt.id] = schema_checked_code_fields(mt, self.codes)
        # what is still looked up once the XSD has passed (the XSD restricts the others to exactly their table)
        self._lookups_after_xsd = {mt.id: [cf for cf in mt.code_fields if cf not in self.schema_checked[mt.id]]
                                   for mt in self.registry.types.values()}
        # message type id -> its rule screen (translator.rules.screen), where one is available and wanted
        self.screens: dict[str, Screen] = {}
        if accelerate:
            for mt in self.registry.types.values():
                s = screen_for(mt.id, self.codes)
                if s is not None:
                    self.screens[mt.id] = s

    # -- entry points --------------------------------------------------------------------------------------
    def validate_bytes(self, data: bytes, format: str | None = None,
                       policy: ValidationPolicy = DEFAULT_POLICY) -> tuple[ValidationReport, etree._ElementTree | None]:
        try:
            tree = parse(data, policy.limits)
        except ParseError as e:
            return ValidationReport(format, [e.to_issue()]), None
        return self.validate(tree, format, policy), tree

    def validate(self, tree, format: str | None = None, policy: ValidationPolicy = DEFAULT_POLICY) -> ValidationReport:
        root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
        detected = self.registry.detect(root)
        if format:
            try:
                mt = self.registry.get(format)
            except KeyError as e:
                return ValidationReport(None, [Issue("format-unknown", str(e.args[0]), "", None)])
            if detected is not mt:
                return ValidationReport(mt.id, [Issue(
                    "format-mismatch",
                    f"expected a {mt.id} document (root {_pretty(mt.root)}), got root {_pretty(root.tag)}",
                    readable_path(root), root.sourceline)])
        else:
            mt = detected
            if mt is None:
                return ValidationReport(None, [Issue(
                    "format-unknown",
                    f"no known message type has the root element {_pretty(root.tag)} "
                    f"(wrong namespace or unsupported format)", readable_path(root), root.sourceline)])
        report = ValidationReport(mt.id)
        xsd_valid = mt.schema.validate(root)
        if not xsd_valid:
            report.issues.extend(self._xsd_issues(mt.schema, root, mt, lookups=policy.rules))
        if policy.rules:
            report.issues.extend(self._rule_issues(mt, root, xsd_valid))
        return report

    # -- internals -----------------------------------------------------------------------------------------
    def _xsd_issues(self, schema: etree.XMLSchema, root: etree._Element,
                    mt: MessageType | None = None, lookups: bool = True) -> list[Issue]:
        """The schema's errors as issues. A code list's own error (enumeration / pattern of a code field the XSD
        checks, see schema_checked_code_fields) on a code missing from its table is reported as code-unknown
        with field and table, like the look-up does: by the look-up itself when `lookups` (it runs on this
        invalid document), else from here. Such an error on a value that has another schema error already is
        left out."""
        issues = []
        tree = root.getroottree()
        log = schema.error_log
        checked = self._checked_elements(mt, root) if mt is not None else {}
        for e in log:
            path = ""
            hit = None
            if e.path:
                try:
                    hit = tree.xpath(e.path)
                    path = readable_path(hit[0]) if hit else e.path
                except etree.XPathError:
                    path = e.path
            if checked and hit and hit[0] in checked and e.type_name == checked[hit[0]][1]:
                table, value = checked[hit[0]][0], leaf_value(hit[0]).strip()
                if value and value not in table:
                    if not lookups:
                        issues.append(_code_unknown(local(hit[0].tag), value, table.name, hit[0]))
                    continue
                if any(o.path == e.path and o.type_name != e.type_name for o in log):
                    continue
            code = _XSD_CODES.get(e.type_name, "xsd-invalid")
            issues.append(Issue(code, _clean(e.message), path, e.line or None, ERROR))
        return issues

    def _checked_elements(self, mt: MessageType, root: etree._Element) -> dict:
        """element -> (its code table, the schema error type enforcing it), for the code fields the XSD enforces."""
        out = {}
        for cf, error_type in self.schema_checked.get(mt.id, {}).items():
            table = self.codes[cf.table]
            for el in cf.xpath(root):
                if isinstance(el, etree._Element):
                    out[el] = (table, error_type)
        return out

    def _rule_issues(self, mt: MessageType, root: etree._Element, xsd_valid: bool = True) -> list[Issue]:
        ctx = RuleContext(mt.namespaces, self.codes, mt)
        issues = []
        fields = self._lookups_after_xsd.get(mt.id, mt.code_fields) if xsd_valid else mt.code_fields
        for cf in fields:
            table = self.codes[cf.table]
            for el in cf.xpath(root):
                value = el.strip() if isinstance(el, str) else leaf_value(el).strip()
                if not value or value in table:
                    continue     # the common case: nothing else to compute
                if isinstance(el, str):      # an attribute or text value: report it on its element
                    node = getattr(el, "getparent", lambda: None)()
                    name = f"{local(node.tag)}/@{el.attrname}" if getattr(el, "is_attribute", False) else cf.path
                else:
                    node, name = el, local(el.tag)
                issues.append(_code_unknown(name, value, cf.table, node))
        skip = ()
        if xsd_valid:
            s = self.screens.get(mt.id)
            if s is not None and s.clear(root):
                skip = s.covers     # none of these rules can report anything on this document
        for r in rules_for(mt.id):
            if r.code in skip:
                continue
            found = []
            try:
                for f in r.func(root, ctx) or ():
                    el = f.element
                    found.append(Issue(f.code or r.code, f.message, readable_path(el),
                                       el.sourceline if el is not None else None, f.severity or r.severity))
            except Exception as e:  # noqa: BLE001 - bad input must end in issues, never a traceback
                if not xsd_valid:
                    # a rule reads typed values; the XSD issues already say which value is not of its type
                    continue
                issues.append(Issue("rule-failed", f"rule {r.code} could not be evaluated on this document "
                                    f"({type(e).__name__}); please report it", readable_path(root),
                                    root.sourceline, ERROR))
                continue
            issues.extend(found)
        return issues


def _code_unknown(name: str, value: str, table: str, node) -> Issue:
    return Issue("code-unknown", f"{name}: {value!r} is not in code table {table}", readable_path(node),
                 node.sourceline if node is not None else None)


def leaf_value(el: etree._Element) -> str:
    """The value of a simple element as the XSD reads it: its text, joined across comments or processing
    instructions inside it (<GUnit>0<!-- -->35</GUnit> is 035). With element content (which the XSD reports)
    the text before the first child."""
    if len(el) == 0:
        return el.text or ""
    if any(isinstance(c.tag, str) for c in el):
        return el.text or ""
    return (el.text or "") + "".join(c.tail or "" for c in el)


def schema_checked_code_fields(mt: MessageType, codes: CodeTables) -> dict[CodeField, str]:
    """The code fields of `mt` whose values the XSD restricts to exactly what their look-up accepts, each with
    the libxml2 error type of that restriction: the element the field's path names (a plain child path) has a
    type whose enumeration is the table's codes plus the empty value at most (which the look-up skips too), or
    whose one pattern is code_list_pattern(table). Anything the reading does not recognise counts as not
    enforced, so the Python look-up stays."""
    try:
        xsd = etree.parse(str(mt.xsd_path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (OSError, etree.XMLSyntaxError):
        return {}
    tns = xsd.get("targetNamespace") or ""
    local_ns = tns if xsd.get("elementFormDefault") == "qualified" else ""
    types = {st.get("name"): st for st in xsd.iterchildren(_XS + "simpleType")}
    root_ns, _, root_name = mt.root[1:].rpartition("}") if mt.root.startswith("{") else ("", "", mt.root)
    tops = [e for e in xsd.iterchildren(_XS + "element") if e.get("name") == root_name]
    if root_ns != tns or len(tops) != 1:
        return {}
    out = {}
    for cf in mt.code_fields:
        decl = tops[0]
        for step in cf.path.split("/"):
            m = _STEP.fullmatch(step.strip())
            ns = (mt.namespaces.get(m.group(1)) if m.group(1) else "") if m else None
            found = _child_decls(decl, m.group(2)) if m and ns == local_ns else []
            decl = found[0] if len(found) == 1 else None
            if decl is None:
                break
        facets = _facets(decl, types) if decl is not None else None
        if not facets:
            continue
        table = codes.table(cf.table)
        values, patterns = facets.get("enumeration"), facets.get("pattern", [])
        if values and set(values) - {""} == set(table):
            out[cf] = "SCHEMAV_CVC_ENUMERATION_VALID"
        elif not values and patterns == [code_list_pattern(table)]:
            out[cf] = "SCHEMAV_CVC_PATTERN_VALID"
    return out


def _child_decls(decl: etree._Element, name: str) -> list[etree._Element]:
    """The local element declarations named `name` in the content of element declaration `decl`."""
    found = []
    for el in decl.iterdescendants(_XS + "element"):
        if el.get("name") == name and next(el.iterancestors(_XS + "element")) is decl:
            found.append(el)
    return found


def _facets(decl: etree._Element, types: dict) -> dict[str, list[str]] | None:
    """facet name -> values, of the restriction defining the element's simple type (named in this schema or
    inline), or None."""
    type_name = decl.get("type")
    if type_name is not None:
        st = types.get(type_name) if ":" not in type_name else None
    else:
        st = decl.find(_XS + "simpleType")
    restriction = st.find(_XS + "restriction") if st is not None else None
    if restriction is None or restriction.get("base") is None:
        return None
    out: dict[str, list[str]] = {}
    for facet in restriction.iterchildren(_XS + "*"):
        out.setdefault(etree.QName(facet).localname, []).append(facet.get("value"))
    return out


def _pretty(tag: str) -> str:
    return local(tag) + (f" in namespace {tag[1:].split('}')[0]}" if tag.startswith("{") else " (no namespace)")


def _clean(msg: str) -> str:
    return _CLARK.sub("", msg)


_default: Validator | None = None


def default_validator() -> Validator:
    global _default
    if _default is None:
        _default = Validator()
    return _default


def validate(document, format: str | None = None, policy: ValidationPolicy = DEFAULT_POLICY) -> ValidationReport:
    """Validate bytes or a parsed tree/element; the format is detected from the root element unless given."""
    v = default_validator()
    if isinstance(document, (bytes, bytearray)):
        return v.validate_bytes(bytes(document), format, policy)[0]
    return v.validate(document, format, policy)
