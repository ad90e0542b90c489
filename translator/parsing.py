"""The one hardened XML parser every part of edihub uses.

No DTD (internal or external) is accepted, no entity is expanded, nothing is fetched from the network, and
size and depth are bounded. Hostile input ends in a ParseError with a stable code, in bounded time and memory.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from lxml import etree

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
# libxml2 refuses documents deeper than 256 levels unless XML_PARSE_HUGE is set; we never set it.
HARD_MAX_DEPTH = 256


@dataclass(frozen=True, slots=True)
class ParseLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


DEFAULT_LIMITS = ParseLimits()


class ParseError(ValueError):
    """The input is not XML edihub will read. `code` is one of xml-too-large, xml-too-deep, xml-dtd-forbidden,
    xml-malformed, xml-empty."""

    def __init__(self, code: str, message: str, line: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line

    def to_issue(self):
        from .report import Issue
        return Issue(self.code, self.message, "", self.line)


_local = threading.local()

try:   # the depth check in C (translator/_depth.c); not built, or built for another lxml: the XPath below
    from ._depth import deeper_than as _deeper_than
except ImportError:
    _deeper_than = None


class _NothingResolver(etree.Resolver):
    """Answers every request for an external DTD or entity with nothing: libxml2 would otherwise read an
    external subset from a local file even with load_dtd=False. The DOCTYPE itself is refused after parsing."""

    def resolve(self, url, pubid, context):
        return self.resolve_string("", context)


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; one per thread, made once.
    p = getattr(_local, "parser", None)
    if p is None:
        p = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
            huge_tree=False, remove_blank_text=False, collect_ids=False,
        )
        p.resolvers.add(_NothingResolver())
        _local.parser = p
    return p


def _depth_probe(max_depth: int) -> etree.XPath:
    cache = getattr(_local, "depth", None)
    if cache is None:
        cache = _local.depth = {}
    x = cache.get(max_depth)
    if x is None:
        # true when an element exists at depth max_depth + 1
        x = cache[max_depth] = etree.XPath("boolean(/" + "/".join(["*"] * (max_depth + 1)) + ")")
    return x


def parse(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> etree._ElementTree:
    """Parse bytes into a tree, or raise ParseError. The caller keeps the tree and passes it along."""
    if isinstance(data, str):
        raise TypeError("parse() takes bytes; let the XML declaration or BOM state the encoding")
    if len(data) > limits.max_bytes:
        raise ParseError("xml-too-large", f"document is {len(data)} bytes; the limit is {limits.max_bytes}")
    if not data or data.isspace():     # not data.strip(): no copy of the whole document
        raise ParseError("xml-empty", "the document is empty")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as e:
        msg = str(e.msg if hasattr(e, "msg") and e.msg else e)
        code = "xml-too-deep" if "depth" in msg.lower() else "xml-malformed"
        if "entity" in msg.lower() and "not defined" not in msg.lower():
            code = "xml-dtd-forbidden"
        raise ParseError(code, f"not well-formed XML: {msg}", e.lineno) from None
    tree = root.getroottree()
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise ParseError("xml-dtd-forbidden", "a DOCTYPE / DTD is not allowed in messages", 1)
    if limits.max_depth < HARD_MAX_DEPTH and (
            _deeper_than(root, limits.max_depth) if _deeper_than is not None
            else _depth_probe(limits.max_depth)(tree)):
        raise ParseError("xml-too-deep", f"document nests deeper than {limits.max_depth} levels")
    return tree
