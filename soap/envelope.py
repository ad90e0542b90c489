"""SOAP 1.1 / 1.2 envelopes: reading a request (with the checks the specs require) and building answers and faults.

Version: from the Envelope namespace; the HTTP content type must agree (text/xml for 1.1, application/soap+xml
for 1.2). Faults follow SOAP 1.1 §4.4 (faultcode Client/Server/VersionMismatch/MustUnderstand, HTTP 500) and
SOAP 1.2 Part 1 §5.4 + Part 2 §7.5 (Code Sender/Receiver/VersionMismatch/MustUnderstand with an edihub Subcode;
HTTP 400 for Sender, 500 otherwise; NotUnderstood and Upgrade header blocks).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from translator.parsing import ParseError, ParseLimits, parse

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
HUB_NS = "urn:edihub:hub:1"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
CT = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
NS = {"1.1": SOAP11, "1.2": SOAP12}
# Header blocks edihub processes (mustUnderstand may be set on them)
UNDERSTOOD = {f"{{{WSSE_NS}}}Security"}
_NEXT = {"http://schemas.xmlsoap.org/soap/actor/next", "http://www.w3.org/2003/05/soap-envelope/role/next",
         "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver", ""}


@dataclass
class Fault(Exception):
    """kind: sender | receiver | version | must-understand. `code` is edihub's stable code (the Subcode in 1.2)."""
    kind: str
    code: str
    message: str
    issues: list = field(default_factory=list)      # dicts with code, severity, path, line, message
    not_understood: list = field(default_factory=list)   # QNames (Clark) of header blocks not understood
    extra: dict = field(default_factory=dict)       # e.g. {"MessageId": "..."} echoed in the detail

    def __str__(self):
        return f"{self.code}: {self.message}"


@dataclass
class Request:
    version: str
    envelope: etree._Element
    header: etree._Element | None
    body_child: etree._Element
    security: etree._Element | None


def version_from_content_type(ct: str | None) -> str | None:
    base = (ct or "").split(";", 1)[0].strip().lower()
    if base == "text/xml":
        return "1.1"
    if base == "application/soap+xml":
        return "1.2"
    return None


def read_request(data: bytes, content_type: str | None, limits: ParseLimits) -> Request:
    """Parse and check an envelope. Raises Fault (with the version to answer in, see fault_version)."""
    ct_version = version_from_content_type(content_type)
    try:
        tree = parse(data, limits)
    except ParseError as e:
        raise Fault("sender", e.code, e.message, [e.to_issue().to_dict()]) from None
    env = tree.getroot()
    ns, _, local = env.tag[1:].partition("}") if env.tag.startswith("{") else ("", "", env.tag)
    if local != "Envelope":
        raise Fault("sender", "soap-not-envelope", f"the document element is {local!r}, not a SOAP Envelope")
    if ns not in (SOAP11, SOAP12):
        raise Fault("version", "soap-version-mismatch",
                    f"the Envelope namespace {ns or '(none)'} is neither SOAP 1.1 ({SOAP11}) nor SOAP 1.2 ({SOAP12})")
    version = "1.1" if ns == SOAP11 else "1.2"
    if ct_version and ct_version != version:
        raise Fault("version", "soap-version-mismatch",
                    f"a SOAP {version} envelope was sent with the SOAP {ct_version} content type "
                    f"{content_type.split(';')[0]!r}; use {CT[version].split(';')[0]}")
    header = body = None
    for child in env:
        if not isinstance(child.tag, str):
            continue
        if child.tag == f"{{{ns}}}Header" and header is None and body is None:
            header = child
        elif child.tag == f"{{{ns}}}Body" and body is None:
            body = child
        else:
            raise Fault("sender", "soap-envelope-structure",
                        f"unexpected element {child.tag} in the Envelope (allowed: Header?, Body)")
    security = None
    if header is not None:
        not_understood = []
        for block in header:
            if not isinstance(block.tag, str):
                continue
            if block.tag in UNDERSTOOD:
                if block.tag == f"{{{WSSE_NS}}}Security":
                    security = block
                continue
            if _must_understand(block, ns) and _targets_us(block, ns):
                not_understood.append(block.tag)
        if not_understood:
            raise Fault("must-understand", "soap-must-understand",
                        "header block(s) marked mustUnderstand are not processed by edihub: "
                        + ", ".join(not_understood), not_understood=not_understood)
    if body is None:
        raise Fault("sender", "soap-no-body", "the Envelope has no Body")
    children = [c for c in body if isinstance(c.tag, str)]
    if not children:
        raise Fault("sender", "soap-empty-body", "the Body is empty: no operation requested")
    if len(children) > 1:
        raise Fault("sender", "soap-body-structure", "the Body must hold exactly one operation element")
    return Request(version, env, header, children[0], security)


def fault_version(data: bytes, content_type: str | None) -> str:
    """The version to answer a fault in when the request could not be read: the content type's, else 1.1."""
    return version_from_content_type(content_type) or "1.1"


def _must_understand(block, ns) -> bool:
    v = block.get(f"{{{ns}}}mustUnderstand")
    return v is not None and v.strip() in ("1", "true")


def _targets_us(block, ns) -> bool:
    attr = "actor" if ns == SOAP11 else "role"
    return (block.get(f"{{{ns}}}{attr}") or "") in _NEXT


# -- building answers ----------------------------------------------------------------------------------------
def envelope(version: str, body_child: etree._Element | None = None, headers=()) -> etree._Element:
    ns = NS[version]
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"soap": ns, "hub": HUB_NS})
    if headers:
        h = etree.SubElement(env, f"{{{ns}}}Header")
        for x in headers:
            h.append(x)
    body = etree.SubElement(env, f"{{{ns}}}Body")
    if body_child is not None:
        body.append(body_child)
    return env


def serialize(env: etree._Element) -> bytes:
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def fault_envelope(version: str, f: Fault) -> tuple[int, bytes]:
    """(HTTP status, envelope bytes) for a fault."""
    ns = NS[version]
    detail = _detail(f)
    headers = []
    if f.kind == "must-understand" and version == "1.2":
        for qn in f.not_understood:
            uri, _, local = qn[1:].partition("}")
            nu = etree.Element(f"{{{SOAP12}}}NotUnderstood", nsmap={"nu": uri} if uri else None)
            nu.set(_QTMP, qn)
            headers.append(nu)
    if f.kind == "version":
        up = etree.Element(f"{{{SOAP12}}}Upgrade", nsmap={"env12": SOAP12})
        for i, uri in enumerate((SOAP12, SOAP11)):
            sv = etree.SubElement(up, f"{{{SOAP12}}}SupportedEnvVersion", nsmap={f"v{i}": uri})
            sv.set(_QTMP, f"{{{uri}}}Envelope")
        headers.append(up)
    if version == "1.1":
        code = {"sender": "Client", "receiver": "Server", "version": "VersionMismatch",
                "must-understand": "MustUnderstand"}[f.kind]
        fault = etree.Element(f"{{{ns}}}Fault")
        etree.SubElement(fault, "faultcode").text = f"soap:{code}"
        etree.SubElement(fault, "faultstring").text = f.message
        d = etree.SubElement(fault, "detail")
        d.append(detail)
        status = 500
    else:
        code = {"sender": "Sender", "receiver": "Receiver", "version": "VersionMismatch",
                "must-understand": "MustUnderstand"}[f.kind]
        fault = etree.Element(f"{{{ns}}}Fault")
        c = etree.SubElement(fault, f"{{{ns}}}Code")
        etree.SubElement(c, f"{{{ns}}}Value").text = f"soap:{code}"
        sub = etree.SubElement(c, f"{{{ns}}}Subcode")
        etree.SubElement(sub, f"{{{ns}}}Value").text = f"hub:{f.code}"
        r = etree.SubElement(fault, f"{{{ns}}}Reason")
        t = etree.SubElement(r, f"{{{ns}}}Text")
        t.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        t.text = f.message
        d = etree.SubElement(fault, f"{{{ns}}}Detail")
        d.append(detail)
        status = 400 if f.kind == "sender" else 500
    env = envelope(version, fault, headers)
    _resolve_qnames(env)
    return status, serialize(env)


_QTMP = "{urn:edihub:tmp}qname"


def _resolve_qnames(env) -> None:
    """qname attributes need a prefix in scope where they end up; lxml reuses declarations already in scope, so
    the prefix is looked up after the envelope is assembled."""
    for el in env.iter():
        q = el.attrib.pop(_QTMP, None) if isinstance(el.tag, str) else None
        if q is None:
            continue
        uri, _, local = q[1:].partition("}") if q.startswith("{") else ("", "", q)
        prefix = next((p for p, u in el.nsmap.items() if u == uri and p), None)
        if uri and prefix is None:
            prefix = "q"
            while prefix in el.nsmap:
                prefix += "q"
            # declare it on a fresh copy of the element
            new = etree.Element(el.tag, nsmap={prefix: uri})
            el.addprevious(new)
            el.getparent().remove(el)
            el = new
        el.set("qname", f"{prefix}:{local}" if uri else local)
    etree.cleanup_namespaces(env, keep_ns_prefixes=[p for p in ("soap", "hub") if p in env.nsmap])


def _detail(f: Fault) -> etree._Element:
    H = lambda t: f"{{{HUB_NS}}}{t}"  # noqa: E731
    el = etree.Element(H("HubFault"), nsmap={"hub": HUB_NS})
    etree.SubElement(el, H("Code")).text = f.code
    etree.SubElement(el, H("Message")).text = f.message
    for k, v in f.extra.items():
        if v is not None:
            etree.SubElement(el, H(k)).text = str(v)
    for i in f.issues:
        it = etree.SubElement(el, H("Issue"))
        etree.SubElement(it, H("Code")).text = i.get("code") or ""
        etree.SubElement(it, H("Severity")).text = i.get("severity") or "error"
        etree.SubElement(it, H("Path")).text = i.get("path") or ""
        if i.get("line") is not None:
            etree.SubElement(it, H("Line")).text = str(i["line"])
        etree.SubElement(it, H("Message")).text = i.get("message") or ""
    return el
