"""validate(document) -> ValidationReport: XSD (lxml, fast path) then the format's business rules.

Every error is reported, not just the first, each with a stable code, a message, a readable path and the line.
When the XSD fails, lxml's positional paths are resolved against the tree and renamed into readable ones.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .codes import CodeTables, default_codes
from .parsing import DEFAULT_LIMITS, ParseError, ParseLimits, parse
from .registry import MessageType, Registry, default_registry
from .report import ERROR, Issue, ValidationReport
from .rules import RuleContext, load_rule_module, rules_for
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


@dataclass(frozen=True)
class ValidationPolicy:
    """What to check. `rules=False` gives XSD-only validation (used for an official XSD dropped in)."""

    rules: bool = True
    limits: ParseLimits = DEFAULT_LIMITS


DEFAULT_POLICY = ValidationPolicy()


class Validator:
    """Holds the compiled registry and code tables; one per process, made at start-up."""

    def __init__(self, registry: Registry | None = None, codes: CodeTables | None = None):
        self.registry = registry or default_registry()
        self.codes = codes or default_codes()
        for fam in self.registry.families.values():
            load_rule_module(fam.rules_module)
        for mt in self.registry.types.values():
            for cf in mt.code_fields:
                self.codes.table(cf.table)   # unknown table: fail at start-up, not per message

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
            report.issues.extend(self._xsd_issues(mt.schema, root))
        if policy.rules:
            report.issues.extend(self._rule_issues(mt, root, xsd_valid))
        return report

    # -- internals -----------------------------------------------------------------------------------------
    def _xsd_issues(self, schema: etree.XMLSchema, root: etree._Element) -> list[Issue]:
        issues = []
        tree = root.getroottree()
        for e in schema.error_log:
            path = ""
            if e.path:
                try:
                    hit = tree.xpath(e.path)
                    path = readable_path(hit[0]) if hit else e.path
                except etree.XPathError:
                    path = e.path
            code = _XSD_CODES.get(e.type_name, "xsd-invalid")
            issues.append(Issue(code, _clean(e.message), path, e.line or None, ERROR))
        return issues

    def _rule_issues(self, mt: MessageType, root: etree._Element, xsd_valid: bool = True) -> list[Issue]:
        ctx = RuleContext(mt.namespaces, self.codes, mt)
        issues = []
        for cf in mt.code_fields:
            table = self.codes[cf.table]
            for el in cf.xpath(root):
                value = el.strip() if isinstance(el, str) else (el.text or "").strip()
                if not value or value in table:
                    continue     # the common case: nothing else to compute
                if isinstance(el, str):      # an attribute or text value: report it on its element
                    node = getattr(el, "getparent", lambda: None)()
                    name = f"{local(node.tag)}/@{el.attrname}" if getattr(el, "is_attribute", False) else cf.path
                else:
                    node, name = el, local(el.tag)
                issues.append(Issue("code-unknown", f"{name}: {value!r} is not in code table {cf.table}",
                                    readable_path(node), node.sourceline if node is not None else None))
        for r in rules_for(mt.id):
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
