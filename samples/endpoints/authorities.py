"""What each simulated authority answers to a document: pure builders (request root + context -> answer root).

The answers follow the result schemas the format families define (xsd/vnaccs, xsd/siveca, xsd/prc, xsd/iran);
where a family has no result schema yet, the spec's response model is used (spec/vnaccs.md §9 response model,
spec/siveca_iran.md A.12, spec/realformats.md §1.7). Numbers are deterministic for a given sequence number so
tests can predict them.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree


class AnswerRefused(ValueError):
    """The request cannot be answered with a business document (the endpoint answers with a Client fault)."""


@dataclass
class AnswerContext:
    seq: int                         # per-authority sequence number, 1, 2, ...
    message_id: str
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    reject: bool = False             # answer with a business refusal
    options: dict = field(default_factory=dict)   # per-authority settings from the control API (e.g. channel)
    store: dict = field(default_factory=dict)     # per-authority memory across requests (e.g. CIDs issued)


def _local(el) -> str:
    return el.tag.rpartition("}")[2] if isinstance(el.tag, str) else ""


def _ns(el) -> str:
    return el.tag[1:].partition("}")[0] if isinstance(el.tag, str) and el.tag.startswith("{") else ""


def _find_text(root, *names) -> str | None:
    wanted = set(names)
    for d in root.iter():
        if isinstance(d.tag, str) and _local(d) in wanted and (d.text or "").strip():
            return d.text.strip()
    return None


def _sub(parent, tag, text=None, **attrib):
    el = etree.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        el.text = str(text)
    return el


def _iso(now: datetime) -> str:
    return now.replace(microsecond=0).isoformat()


# ---------------------------------------------------------------------------------------------- VNACCS
VNACCS_NS = "urn:edihub:vnaccs:1"


def vnaccs_number(type_code: str, sequence: int, branch: int = 0) -> str:
    """12-digit declaration number: type code (2) + sequence (8) + check digit (sequence mod 7) + branch (1)
    (spec/vnaccs.md §4.1). Uses translator.rules.vnaccs.make_declaration_number when the format defines it."""
    try:
        from translator.rules.vnaccs import make_declaration_number
    except Exception:  # noqa: BLE001
        make_declaration_number = None
    seq = sequence % 100_000_000
    if make_declaration_number is not None:
        return str(make_declaration_number(type_code, seq, branch))
    return f"{type_code}{seq:08d}{seq % 7}{branch}"


def _is_export(doc) -> bool:
    return _local(doc).upper() in ("EDA", "EDC", "EDB", "EDD", "EDE")


def answer_vnaccs(doc, ctx: AnswerContext):
    """The registration step (IDA -> IDC, EDA -> EDC, schema xsd/vnaccs/Result.xsd): VNACCS assigns the 12-digit
    number (document type 10 import / 30 export, the simulator's sequence, check digit, branch 0) and a channel;
    a refusal has no channel and a message instead."""
    ns = _ns(doc) or VNACCS_NS
    q = lambda n: f"{{{ns}}}{n}"  # noqa: E731
    export = _is_export(doc)
    root = etree.Element(q("EDC" if export else "IDC"), nsmap={None: ns})
    _sub(root, q("ICN"), vnaccs_number("30" if export else "10", ctx.seq))
    _sub(root, q("ICB"), _find_text(doc, "ICB") or ("B11" if export else "A11"))
    _sub(root, q("CH"), _find_text(doc, "CH") or "02CI")
    _sub(root, q("CHB"), _find_text(doc, "CHB") or "00")
    if export:
        party = _first(doc, "Exporter")
        _sub(root, q("EPC"), (_find_text(party, "EPC") if party is not None else None) or "0100000000")
    else:
        party = _first(doc, "Importer")
        _sub(root, q("IMC"), (_find_text(party, "IMC") if party is not None else None) or "0100000000")
    if ctx.reject:
        msgs = _sub(root, q("Messages"))
        m = _sub(msgs, q("Message"))
        _sub(m, q("Code"), "OE1001-00009")
        _sub(m, q("Text"), "Doanh nghiệp đã tồn tại bản khai đăng ký trên hệ thống")
        return root
    _sub(root, q("Channel"), str(ctx.options.get("channel", 1 + (ctx.seq - 1) % 3)))
    _sub(root, q("RegisteredAt"), _iso(ctx.now))
    return root


# ---------------------------------------------------------------------------------------------- SIVECA / SOFIA
SIVECA_NS = "urn:hub:py:siveca:1"
SOFIA_NS = "http://aduana.gov.py/webservices"


def _cid(seq: int, n: int, now: datetime) -> str:
    """CID-like token (the real format is not published): CID + year + registration sequence + container."""
    return f"CID{now.year % 100:02d}PY{seq:07d}{n:02d}"


def answer_sofia(doc, ctx: AnswerContext):
    """SIVECA/SOFIA. A SIVECA export registration gets a siveca:CidNotification issuing one CID per container; a
    CID notification (SIVECA -> SOFIA hand-off) is recorded and acknowledged CID by CID (the notification comes
    back with SOFIA's header); a consultarCid (the CID check at clearance) is answered from the CIDs issued so far."""
    name = _local(doc)
    if name == "consultarCid":
        return _sofia_check(doc, ctx)
    if name == "CidNotification":
        return _sofia_record(doc, ctx)
    return _sofia_issue(doc, ctx)


def _sofia_issue(doc, ctx: AnswerContext):
    ns = SIVECA_NS
    q = lambda n: f"{{{ns}}}{n}"  # noqa: E731
    containers = [d for d in doc.iter() if isinstance(d.tag, str) and _local(d) == "Container"]
    numbers = []
    for c in containers:
        no = _find_text(c, "ContainerNo")
        if no and no not in [n for n, _ in numbers]:
            numbers.append((no, c))
    if not numbers:
        raise AnswerRefused("the registration names no container (SIVECA issues one CID per container)")
    root = etree.Element(q("CidNotification"), nsmap={"siv": ns}, schemaVersion="1.0")
    h = _sub(root, q("Header"))
    _sub(h, q("MessageId"), f"SOFIA-{ctx.seq:08d}")
    _sub(h, q("MessageType"), "SIVECA_CID_NOTIFICATION")
    _sub(h, q("Sender"), "SIVECA")
    _sub(h, q("Receiver"), "PY_DNA_SOFIA")
    _sub(h, q("CreatedAt"), _iso(ctx.now))
    corr = _find_text(doc, "MessageId")
    if corr:
        _sub(h, q("CorrelationId"), corr[:64])
    reg_ref = f"SIV-{ctx.now.year}-{ctx.seq:07d}"
    _sub(root, q("RegistrationRef"), reg_ref)
    exp_ref = _first(doc, "ExportDocumentRef")
    if exp_ref is not None:
        root.append(_copy_into(exp_ref, ns))
    ids = {}
    for role, party in (("ExporterId", "Exporter"), ("ImporterId", "Importer")):
        p = _first(doc, party)
        ident = _first(p, "Identifier") if p is not None else None
        el = _sub(root, q(role), (ident.text or "").strip() if ident is not None else "UNKNOWN",
                  scheme=ident.get("scheme", "OTHER") if ident is not None else "OTHER")
        ids[role] = el.text
    country = _find_text(doc, "CountryOfExport") or "CN"
    _sub(root, q("CountryOfExport"), country)
    tdoc = _first(doc, "TransportDocumentNo")
    if tdoc is not None:
        root.append(_copy_into(tdoc, ns))
    issued = ctx.store.setdefault("cids", {})
    for i, (no, c) in enumerate(numbers, 1):
        cid = _cid(ctx.seq, i, ctx.now)
        status = "CANCELLED" if ctx.reject else "ISSUED"
        cc = _sub(root, q("ContainerCid"), seq=i)
        _sub(cc, q("ContainerNo"), no)
        _sub(cc, q("Cid"), cid)
        _sub(cc, q("IssuedAt"), _iso(ctx.now))
        _sub(cc, q("Status"), status)
        hs = [t for t in _all_texts(c, "HsCode")]
        if hs:
            attrs = {"hsCodes": " ".join(dict.fromkeys(hs))}
            pk, gw = _find_text(c, "PackageCount"), _find_text(c, "GrossWeightKg")
            if pk and pk.isdigit() and int(pk) > 0:
                attrs["packages"] = pk
            if gw:
                attrs["grossWeightKg"] = gw
            _sub(cc, q("GoodsSummary"), **attrs)
        issued[no] = {"cid": cid, "contenedor": no, "estado": status, "fechaEmision": _iso(ctx.now),
                      "registroSiveca": reg_ref, "idExportador": ids["ExporterId"],
                      "rucImportador": ids["ImporterId"], "paisExportacion": country}
    return root


def _sofia_record(doc, ctx: AnswerContext):
    """SOFIA records each CID of the notification and acknowledges them all: the answer is the notification
    itself with a new header (MessageId, CreatedAt, CorrelationId = the received MessageId) — spec A.12: the
    notification "also serves as the acknowledgement back to the exporter". Refusing: every CID CANCELLED."""
    issued = ctx.store.setdefault("cids", {})
    ack = copy.deepcopy(doc)
    ns = _ns(ack) or SIVECA_NS
    received_id = _find_text(doc, "MessageId")
    found = 0
    for cc in (d for d in ack.iter() if isinstance(d.tag, str) and _local(d) == "ContainerCid"):
        no, cid = _find_text(cc, "ContainerNo"), _find_text(cc, "Cid")
        if not (no and cid):
            continue
        status = cc.find(f"{{{ns}}}Status")
        if ctx.reject and status is not None:
            status.text = "CANCELLED"
        issued[no] = {"cid": cid, "contenedor": no, "estado": (status.text if status is not None else "ISSUED"),
                      "fechaEmision": _find_text(cc, "IssuedAt") or _iso(ctx.now),
                      "registroSiveca": _find_text(doc, "RegistrationRef") or f"SIV-{ctx.seq}",
                      "idExportador": _find_text(doc, "ExporterId") or "UNKNOWN",
                      "rucImportador": _find_text(doc, "ImporterId") or "",
                      "paisExportacion": _find_text(doc, "CountryOfExport") or "CN"}
        found += 1
    if not found:
        raise AnswerRefused("the CID notification carries no ContainerCid with a container number and a CID")
    header = ack.find(f"{{{ns}}}Header")
    if header is not None:
        for name, value in (("MessageId", f"SOFIA-ACK-{ctx.seq:08d}"), ("CreatedAt", _iso(ctx.now))):
            el = header.find(f"{{{ns}}}{name}")
            if el is not None:
                el.text = value
        corr = header.find(f"{{{ns}}}CorrelationId")
        if corr is None and received_id:
            corr = etree.SubElement(header, f"{{{ns}}}CorrelationId")
        if corr is not None and received_id:
            corr.text = received_id[:64]
    for sig in [e for e in ack if isinstance(e.tag, str) and e.tag.endswith("}Signature")]:
        ack.remove(sig)          # the sender's signature does not cover SOFIA's answer
    return ack


def _sofia_check(doc, ctx: AnswerContext):
    issued = ctx.store.setdefault("cids", {})
    container, cid, ruc = (_find_text(doc, "contenedor"), _find_text(doc, "cid"), _find_text(doc, "rucImportador"))
    rec = issued.get(container) if container else next((r for r in issued.values() if r["cid"] == cid), None)
    if rec is not None and (ruc and rec["rucImportador"] and ruc != rec["rucImportador"] or
                            cid and rec["cid"] != cid):
        rec = None
    if rec is None or ctx.reject:
        what = f"el contenedor {container}" if container else f"el CID {cid}"
        return _check_response(None, ctx, "N", ("CID-404", f"No existe CID de SIVECA para {what} y el RUC {ruc}; "
                                                "sin CID el contenedor no puede ser despachado."))
    return _check_response(rec, ctx, "S")


def _check_response(rec, ctx: AnswerContext, found: str, error: tuple[str, str] | None = None):
    ns = SOFIA_NS
    q = lambda n: f"{{{ns}}}{n}"  # noqa: E731
    root = etree.Element(q("consultarCidResponse"), nsmap={"ws": ns})
    ret = _sub(root, q("return"))
    _sub(ret, q("encontrado"), found)
    if found == "S" and rec is not None:
        data = _sub(ret, q("cidDatos"))
        for k in ("cid", "contenedor", "estado", "fechaEmision", "registroSiveca", "idExportador", "rucImportador",
                  "paisExportacion"):
            _sub(data, q(k), rec[k])
    else:
        code, text = error or ("CID-REJ", "CID rechazado por SOFIA (simulado)")
        errs = _sub(ret, q("errores"))
        r = _sub(errs, q("retorno"))
        _sub(r, q("codigoRetorno"), code)
        _sub(r, q("mensajeRetorno"), text)
        _sub(r, q("tipoRetorno"), "E")
    _sub(ret, q("fecha"), _iso(ctx.now))
    return root


def _all_texts(root, name):
    return [(d.text or "").strip() for d in root.iter() if isinstance(d.tag, str) and _local(d) == name
            and (d.text or "").strip()]


def _token35(s: str) -> str:
    s = re.sub(r"\s+", "-", s.strip())
    return s[:35] or "unknown"


def _first(root, name):
    for d in root.iter():
        if isinstance(d.tag, str) and _local(d) == name and d is not root:
            return d
    return None


def _copy_into(el, ns):
    """Copy a simple element (text + attributes) into namespace ns."""
    new = etree.Element(f"{{{ns}}}{_local(el)}", dict(el.attrib))
    new.text = el.text
    for c in el:
        if isinstance(c.tag, str):
            new.append(_copy_into(c, ns))
    return new


# ---------------------------------------------------------------------------------------------- PRC
PRC_NS = "http://www.chinaport.gov.cn/dec"
PRC_REJECT_CHANNEL = "E"      # 海关退单/不受理
PRC_ACCEPT_CHANNEL = "L"      # 海关已接收


def prc_customs_number(office: str, year: int, import_: bool, serial: int) -> str:
    """18-character customs number: office (4) + year (4) + '1' import / '0' export + 9-digit serial
    (spec/prc.md fields 1-2)."""
    office = (office or "0000")[:4].rjust(4, "0")
    return f"{office}{year:04d}{'1' if import_ else '0'}{serial % 1_000_000_000:09d}"


def answer_prc(doc, ctx: AnswerContext):
    """DEC_RESULT (no namespace; default) with CUS_CIQ_NO (the 18-character unified number), ENTRY_ID (customs
    number) and CHANNEL (L 海关已接收; E 退单 when refusing). With the control option prc_answer =
    "DecImportResponse" the first, communication-level receipt is answered instead (ResponseCode 0 + SeqNo, or
    ResponseCode 1 + ErrorMessage when refusing), in namespace http://www.chinaport.gov.cn/dec."""
    ie = (_find_text(doc, "IEFlag", "IEflag") or "I").upper()
    office = _find_text(doc, "CustomMaster", "IEPort", "DeclPort") or ""
    office = office[:4] if re.fullmatch(r"[0-9]{4}", office[:4]) else "0000"
    seq_no = _find_text(doc, "SeqNo", "PreEntryId")
    year = ctx.now.year
    if not seq_no or not re.fullmatch(r"[0-9A-Z]{18}", seq_no):
        seq_no = prc_customs_number(office, year, ie == "I", 100_000_000 + ctx.seq)
    if ctx.options.get("prc_answer") == "DecImportResponse":
        ns = PRC_NS
        q = lambda n: f"{{{ns}}}{n}"  # noqa: E731
        root = etree.Element(q("DecImportResponse"), nsmap={None: ns})
        _sub(root, q("ResponseCode"), "1" if ctx.reject else "0")
        if ctx.reject:
            _sub(root, q("ErrorMessage"), "报关单数据校验不通过（模拟）")
        client_seq = _find_text(doc, "ClientSeqNo")
        if client_seq:
            _sub(root, q("ClientSeqNo"), client_seq[:64])
        if not ctx.reject:
            _sub(root, q("SeqNo"), seq_no)
        return root
    root = etree.Element("DEC_RESULT")
    _sub(root, "CUS_CIQ_NO", seq_no)
    entry = "" if ctx.reject else prc_customs_number(office, year, ie == "I", ctx.seq)
    _sub(root, "ENTRY_ID", entry)
    _sub(root, "NOTICE_DATE", ctx.now.strftime("%Y-%m-%dT%H:%M:%S"))
    _sub(root, "CHANNEL", ctx.options.get("prc_channel", PRC_REJECT_CHANNEL if ctx.reject else PRC_ACCEPT_CHANNEL))
    _sub(root, "NOTE", "海关退单" if ctx.reject else "海关已接收")
    _sub(root, "CUSTOM_MASTER", office)
    _sub(root, "D_DATE", ctx.now.strftime("%Y-%m-%d"))
    return root


# ---------------------------------------------------------------------------------------------- Iran
IRAN_NS = "urn:hub:ir:cts:order-registration:1"


def answer_iran(doc, ctx: AnswerContext):
    """Comprehensive Trade System: a foreign-trade file gets a FileStatusNotification (xsd/iran) with its file
    number and, by default, status REGISTERED with the eight-digit order-registration number. The real system
    passes through rules inquiry, permits and fee payment first (spec/siveca_iran.md B.5); the control option
    `iran_status` makes the simulator stop at another status (e.g. NEW: a file number, no order number yet).
    A refusal is PERMIT_REJECTED with an ERROR message."""
    ns = IRAN_NS
    q = lambda n: f"{{{ns}}}{n}"  # noqa: E731
    root = etree.Element(q("FileStatusNotification"), nsmap={"ord": ns}, schemaVersion="1.0")
    h = _sub(root, q("Header"))
    _sub(h, q("MessageId"), f"CTS-{ctx.now.year}-{ctx.seq:08d}")
    _sub(h, q("MessageType"), "IR_FILE_STATUS_NOTIFICATION")
    process = _find_text(doc, "Process")
    if process in ("OPENING", "AMENDMENT", "EXTENSION", "AMENDMENT_AND_EXTENSION"):
        _sub(h, q("Process"), process)
    _sub(h, q("CreatedAt"), _iso(ctx.now))
    corr = _find_text(doc, "MessageId")
    if corr:
        _sub(h, q("CorrelationId"), corr[:64])
    _sub(root, q("FileNumber"), _find_text(doc, "FileNumber") or f"{ctx.now.year % 100:02d}{ctx.seq:08d}")
    pi = _find_text(doc, "ProformaInvoiceNumber")
    if pi:
        _sub(root, q("ProformaInvoiceNumber"), pi[:35])
    status = "PERMIT_REJECTED" if ctx.reject else ctx.options.get("iran_status", "REGISTERED")
    _sub(root, q("Status"), status)
    _sub(root, q("StatusTime"), _iso(ctx.now))
    if status == "REGISTERED":
        _sub(root, q("OrderRegistrationNumber"), f"{(10_000_000 + ctx.seq) % 100_000_000:08d}")
    if ctx.reject:
        msgs = _sub(root, q("Messages"))
        _sub(msgs, q("Message"), "درخواست مجوز توسط سازمان مجوزدهنده رد شد (permit request rejected by a licensing "
                                 "organisation; simulated)", severity="ERROR", code="PERMIT-REJECTED")
    return root


ANSWERS = {"vnaccs": answer_vnaccs, "sofia": answer_sofia, "prc": answer_prc, "iran": answer_iran}
TITLES = {
    "vnaccs": "Viet Nam VNACCS (simulated)",
    "sofia": "Paraguay SIVECA/SOFIA (simulated)",
    "prc": "PRC single window / China e-Port (simulated)",
    "iran": "Iran comprehensive trade system (simulated)",
}
