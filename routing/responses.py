"""Parse and correlate what a national endpoint answers: pure functions over bytes (translator.parse) or trees.

    parse_response(body, family=None) -> EndpointOutcome     # unwraps SOAP 1.1/1.2 and the e-Port DXP envelope
    parse_document(root, family=None) -> EndpointOutcome
    correlates(outcome, message_id) -> bool

Per authority:
- VNACCS: the registration result — 12-digit declaration number (check digit verified, spec/vnaccs.md §4.1),
  channel 1/2/3 (green/yellow/red), status, errors (code + text).
- SIVECA/SOFIA: the CID notification / acknowledgement — one CID per container; the CID check response.
- PRC: DecImportResponse (ResponseCode "0" = taken, SeqNo assigned) and DEC_RESULT (ENTRY_ID customs number,
  CHANNEL status code), also inside a DxpMsg with Base64 Data.
- Iran: the order-registration result (file number / 8-digit order-registration number, status).

Element names are matched by local name so that a namespace change in a schema does not silently break
correlation; which elements are read is listed in docs/endpoints.md.
"""
from __future__ import annotations

import base64
import binascii
import copy
from dataclasses import dataclass, field
from typing import Callable

from lxml import etree

from translator.parsing import ParseError, parse

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
SOAP_NAMESPACES = (SOAP11_NS, SOAP12_NS)

FAMILIES = ("vnaccs", "siveca", "prc", "iran")


class ResponseError(ValueError):
    """The answer cannot be read as an authority's response. `code`: response-not-xml, response-unknown,
    response-fault, response-incomplete."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class EndpointOutcome:
    family: str
    accepted: bool
    reference: str | None = None
    references: tuple[str, ...] = ()
    channel: str | None = None
    status: str | None = None
    correlation_id: str | None = None
    messages: tuple[tuple[str, str], ...] = ()
    kind: str = ""                                    # root local name of the answer, e.g. "DEC_RESULT"
    document_root: etree._Element | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        return {
            "family": self.family, "kind": self.kind, "accepted": self.accepted, "reference": self.reference,
            "references": list(self.references), "channel": self.channel, "status": self.status,
            "correlation_id": self.correlation_id,
            "messages": [{"code": c, "text": t} for c, t in self.messages],
        }


# ---------------------------------------------------------------------------------------------- helpers
def _local(el) -> str:
    tag = el.tag if isinstance(el, etree._Element) else el
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _ns(el) -> str:
    tag = el.tag
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _children(el, name: str) -> list[etree._Element]:
    return [c for c in el if _local(c) == name]


def _first(el, *names: str) -> etree._Element | None:
    """First descendant (document order) whose local name is one of names."""
    wanted = set(names)
    for d in el.iter():
        if d is not el and _local(d) in wanted:
            return d
    return None


def _text(el, *names: str) -> str | None:
    found = _first(el, *names)
    if found is None:
        return None
    t = (found.text or "").strip()
    return t or None


def _all_text(el, *names: str) -> list[str]:
    wanted = set(names)
    out = []
    for d in el.iter():
        if d is not el and _local(d) in wanted:
            t = (d.text or "").strip()
            if t:
                out.append(t)
    return out


def _messages(el, names=("Error", "Notice", "Message", "Warning", "Mensaje", "retorno", "Note")) -> list[tuple[str, str]]:
    out = []
    wanted = set(names)
    for d in el.iter():
        if d is el or _local(d) not in wanted:
            continue
        code = d.get("code") or d.get("type") or _text(d, "Code", "codigoRetorno", "ErrorCode") or d.get("severity") or \
            (f"item {_text(d, 'Item')}" if _text(d, "Item") else _local(d))
        text = (d.text or "").strip() or _text(d, "Text", "Description", "mensajeRetorno", "Message") or ""
        out.append((code, text))
    return out


# ---------------------------------------------------------------------------------------------- envelopes
def soap_body_child(root: etree._Element) -> etree._Element:
    """The document inside a SOAP envelope (first element child of Body); raises ResponseError for a Fault."""
    body = None
    for c in root:
        if _local(c) == "Body" and _ns(c) == _ns(root):
            body = c
            break
    if body is None:
        raise ResponseError("response-incomplete", "SOAP envelope without a Body")
    kids = [c for c in body if isinstance(c.tag, str)]
    if not kids:
        raise ResponseError("response-incomplete", "SOAP Body is empty")
    if _local(kids[0]) == "Fault" and _ns(kids[0]) in SOAP_NAMESPACES:
        code, reason = fault_info(kids[0])
        raise ResponseError("response-fault", f"SOAP fault {code}: {reason}")
    return kids[0]


def fault_info(fault: etree._Element) -> tuple[str, str]:
    """(code local name, reason text) of a SOAP 1.1 or 1.2 Fault element."""
    if _ns(fault) == SOAP12_NS:
        value = fault.find(f"{{{SOAP12_NS}}}Code/{{{SOAP12_NS}}}Value")
        code = (value.text or "").strip() if value is not None else ""
        reason = fault.find(f"{{{SOAP12_NS}}}Reason/{{{SOAP12_NS}}}Text")
        text = (reason.text or "").strip() if reason is not None else ""
    else:
        fc = fault.find("faultcode")
        code = (fc.text or "").strip() if fc is not None else ""
        fs = fault.find("faultstring")
        text = (fs.text or "").strip() if fs is not None else ""
    return code.rpartition(":")[2] or "Server", text


def find_fault(root: etree._Element) -> tuple[str, str] | None:
    """(code, reason) when root is a SOAP envelope carrying a Fault, else None."""
    if _local(root) != "Envelope" or _ns(root) not in SOAP_NAMESPACES:
        return None
    for body in root:
        if _local(body) == "Body":
            for c in body:
                if _local(c) == "Fault" and _ns(c) in SOAP_NAMESPACES:
                    return fault_info(c)
    return None


def _open_dxp(root: etree._Element) -> etree._Element:
    data = _first(root, "Data")
    if data is None or not (data.text or "").strip():
        raise ResponseError("response-incomplete", "DxpMsg without Data")
    try:
        raw = base64.b64decode("".join((data.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise ResponseError("response-incomplete", "DxpMsg/Data is not Base64") from None
    try:
        return parse(raw).getroot()
    except ParseError as e:
        raise ResponseError("response-not-xml", f"DxpMsg/Data does not hold XML: {e.message}") from None


def unwrap(root: etree._Element) -> etree._Element:
    """Strip a SOAP envelope and/or a DXP transport envelope; return the business document."""
    if _local(root) == "Envelope" and _ns(root) in SOAP_NAMESPACES:
        # a standalone copy: the answer's own tree (validation, receipts, translation back see just the document)
        root = copy.deepcopy(soap_body_child(root))
    if _local(root) == "DxpMsg":
        root = _open_dxp(root)
    return root


# ---------------------------------------------------------------------------------------------- VNACCS
def vnaccs_check_digit(first10: str) -> int:
    """Check digit of a VNACCS declaration number: the 8-digit sequence (positions 3-10) modulo 7
    (spec/vnaccs.md §4.1, "MOD(12345678, 7) = 2")."""
    try:
        from translator.rules.vnaccs import declaration_check_digit  # the format engineer's function, if present
    except Exception:  # noqa: BLE001 - absent or broken module: use the documented rule
        declaration_check_digit = None
    if declaration_check_digit is not None:
        try:
            return int(declaration_check_digit(first10))
        except Exception:  # noqa: BLE001
            pass
    return int(first10[2:10]) % 7


def vnaccs_number_ok(number: str) -> bool:
    if len(number) != 12 or not number.isdigit():
        return False
    return vnaccs_check_digit(number[:10]) == int(number[10])


_VNACCS_REJECT = {"REJECTED", "CANCELLED", "ERROR", "REFUSED"}


def _parse_vnaccs(root: etree._Element) -> EndpointOutcome:
    """IDC/EDC registration result (xsd/vnaccs/Result.xsd): registered when it carries a Channel; a refusal
    carries Messages instead. The spec's VnaccsResponse model (DeclarationNumber, Status, Errors) is read too."""
    number = _text(root, "ICN", "DeclarationNumber", "DeclarationNo")
    channel = _text(root, "Channel", "ChannelCode")
    status = _text(root, "Status", "ResultCode")
    msgs = _messages(root)
    if _local(root) in ("IDC", "EDC") or status is None:
        accepted = channel is not None and number is not None
        status = status or ("REGISTERED" if accepted else "REJECTED")
    else:
        accepted = status.upper() not in _VNACCS_REJECT and not _messages(root, ("Error",)) and number is not None
    if number is not None and not vnaccs_number_ok(number):
        msgs.append(("response-bad-reference",
                     f"declaration number {number!r} is not 12 digits with a valid check digit (position 11)"))
        accepted = False
    if channel is not None and channel not in ("1", "2", "3"):
        msgs.append(("response-bad-channel", f"channel {channel!r} is not 1 (green), 2 (yellow) or 3 (red)"))
        accepted = False
    return EndpointOutcome(
        "vnaccs", accepted, number, (number,) if number else (), channel, status,
        _text(root, "CorrelationId", "RefMessageId"), tuple(msgs), _local(root), root)


# ---------------------------------------------------------------------------------------------- SIVECA / SOFIA
_CID_OK = {"ISSUED", "ACKNOWLEDGED", "ACCEPTED", "USED_IN_CLEARANCE", "OK", "RECEIVED"}


def _parse_siveca(root: etree._Element) -> EndpointOutcome:
    name = _local(root)
    msgs = _messages(root)
    corr = _text(root, "CorrelationId", "RefMessageId", "MessageIdRef")
    if name.startswith("consultarCid") or "Check" in name or "Verification" in name:   # CID check answer
        found_text = (_text(root, "encontrado", "Found", "found") or "").strip().lower()
        found = found_text in ("s", "si", "sí", "true", "1", "yes")
        cid = _text(root, "cid", "Cid", "CID")
        estado = _text(root, "estado", "Status")
        accepted = found and cid is not None and (estado or "ISSUED").upper() in _CID_OK
        return EndpointOutcome("siveca", accepted, cid, (cid,) if cid else (), None,
                               estado or ("FOUND" if found else "NOT_FOUND"), corr, tuple(msgs), name, root)
    entries = [d for d in root.iter() if d is not root and _local(d) in ("ContainerCid", "ContainerCID", "CidAck", "Contenedor")]
    cids, statuses = [], []
    for e in entries:
        cid = _text(e, "Cid", "CID", "cid")
        if cid:
            cids.append(cid)
        statuses.append((_text(e, "Status", "Estado") or "ISSUED").upper())
    if not entries:
        cids = _all_text(root, "Cid", "CID", "cid")
        statuses = [(_text(root, "Status", "Estado") or "ISSUED").upper()] if cids else []
    top_status = _text(root, "AckStatus", "Result")
    accepted = bool(cids) and all(s in _CID_OK for s in statuses) and (top_status or "OK").upper() in _CID_OK
    status = top_status or (statuses[0] if len(set(statuses)) == 1 and statuses else ",".join(statuses) or None)
    return EndpointOutcome("siveca", accepted, cids[0] if cids else None, tuple(cids), None, status,
                           corr, tuple(msgs), name, root)


# ---------------------------------------------------------------------------------------------- PRC
# DEC_RESULT CHANNEL codes that mean the declaration was refused or failed (spec/realformats.md §1.7).
PRC_REFUSED_CHANNELS = frozenset({"A", "D", "E", "Y", "Z", "f0", "F1", "N", "H"})


def _parse_prc(root: etree._Element) -> EndpointOutcome:
    name = _local(root)
    if name == "DecImportResponse":
        code = _text(root, "ResponseCode")
        err = _text(root, "ErrorMessage")
        seq = _text(root, "SeqNo")
        accepted = code == "0" and seq is not None
        msgs = [("ResponseCode " + (code or "?"), err)] if err else []
        return EndpointOutcome("prc", accepted, seq, (seq,) if seq else (), None,
                               f"ResponseCode {code}" if code is not None else None,
                               _text(root, "ClientSeqNo"), tuple(msgs), name, root)
    if name == "DEC_RESULT":
        entry = _text(root, "ENTRY_ID")
        seq = _text(root, "CUS_CIQ_NO")
        channel = _text(root, "CHANNEL")
        note = _text(root, "NOTE")
        accepted = channel is not None and channel not in PRC_REFUSED_CHANNELS and (entry or seq) is not None
        refs = tuple(r for r in (entry, seq) if r)
        return EndpointOutcome("prc", accepted, entry or seq, refs, channel, channel, None,
                               (("NOTE", note),) if note else (), name, root)
    raise ResponseError("response-unknown", f"PRC answer {name!r} is neither DecImportResponse nor DEC_RESULT")


# ---------------------------------------------------------------------------------------------- Iran
_IRAN_REJECT = {"REJECTED", "CANCELLED", "PERMIT_REJECTED", "PI_REJECTED", "ERROR", "REFUSED"}


def _parse_iran(root: etree._Element) -> EndpointOutcome:
    """FileStatusNotification (xsd/iran): FileNumber, Status, the 8-digit OrderRegistrationNumber once REGISTERED,
    Messages (severity, code). Accepted unless the status is a rejection or cancellation."""
    number = _text(root, "OrderRegistrationNumber", "RegistrationNumber", "OrderRegNo")
    file_no = _text(root, "FileNumber", "FileNo", "CaseNumber")
    status = _text(root, "Status", "FileStatus", "Result")
    msgs = _messages(root)
    ref = number or file_no
    accepted = ref is not None and (status or "").upper() not in _IRAN_REJECT
    refs = tuple(r for r in (number, file_no) if r)
    return EndpointOutcome("iran", accepted, ref, refs, None, status,
                           _text(root, "CorrelationId", "RefMessageId", "MessageIdRef"), tuple(msgs), _local(root), root)


PARSERS: dict[str, Callable[[etree._Element], EndpointOutcome]] = {
    "vnaccs": _parse_vnaccs, "siveca": _parse_siveca, "prc": _parse_prc, "iran": _parse_iran,
}

# answer roots known without the registry (local name -> family)
_ROOTS = {
    "VnaccsResponse": "vnaccs", "IDC": "vnaccs", "EDC": "vnaccs",
    "CidNotification": "siveca", "CIDNotification": "siveca", "CidAcknowledgement": "siveca",
    "CIDCheckResponse": "siveca", "CidVerificationResponse": "siveca", "consultarCidResponse": "siveca",
    "DecImportResponse": "prc", "DEC_RESULT": "prc",
    "OrderRegistrationResult": "iran", "FileStatusNotification": "iran",
}
_NS_HINTS = (("vnaccs", "vnaccs"), ("siveca", "siveca"), ("sofia", "siveca"), ("aduana.gov.py", "siveca"),
             ("chinaport", "prc"), ("iran", "iran"), ("ntsw", "iran"))


def detect_family(root: etree._Element) -> str | None:
    name = _local(root)
    if name in _ROOTS:
        return _ROOTS[name]
    try:
        from translator.registry import default_registry
        mt = default_registry().detect(root)
        if mt is not None and mt.family in PARSERS:
            return mt.family
    except Exception:  # noqa: BLE001 - a broken registry must not hide the answer
        pass
    ns = _ns(root).lower()
    for hint, fam in _NS_HINTS:
        if hint in ns:
            return fam
    return None


def parse_document(root: etree._Element, family: str | None = None) -> EndpointOutcome:
    if isinstance(root, etree._ElementTree):
        root = root.getroot()
    root = unwrap(root)
    fam = family or detect_family(root)
    if fam is None:
        raise ResponseError("response-unknown", f"answer root {_local(root)!r} (namespace {_ns(root) or 'none'!r}) "
                                                "is not a known authority response")
    if fam not in PARSERS:
        raise ResponseError("response-unknown", f"no response parser for family {fam!r}")
    return PARSERS[fam](root)


def parse_response(body: bytes, family: str | None = None) -> EndpointOutcome:
    try:
        tree = parse(body)
    except ParseError as e:
        raise ResponseError("response-not-xml", f"the endpoint's answer is not XML edihub reads: {e.message}") from None
    return parse_document(tree.getroot(), family)


_REQUEST_ID_NAMES = ("MessageId", "CopMsgId", "ClientSeqNo", "SeqNo", "MessageID")


def request_ids(root: etree._Element) -> tuple[str, ...]:
    """The identifiers a sent document carries that an answer may quote back (its MessageId, CopMsgId,
    ClientSeqNo, SeqNo), for correlates(outcome, message_id, *request_ids(sent_root))."""
    if isinstance(root, etree._ElementTree):
        root = root.getroot()
    return tuple(dict.fromkeys(_all_text(root, *_REQUEST_ID_NAMES)))


def correlates(outcome: EndpointOutcome, message_id: str, *other_ids: str) -> bool:
    """True when the answer names no correlation id, or names this message (or one of other_ids, e.g. the
    sent document's own ids from request_ids())."""
    if not outcome.correlation_id:
        return True
    return outcome.correlation_id in (message_id, *other_ids)
