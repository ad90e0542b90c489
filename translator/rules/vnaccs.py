"""Business rules of the VNACCS family (vnaccs:IDA, vnaccs:EDA and the results vnaccs:IDC, vnaccs:EDC).

Sources: spec/vnaccs.md (GDVC training chapter: §4.1 number format, §3 flow rules, §10 rule list) and
spec/realformats.md §2.1 (VNACCS client help table: item codes and their checks). Messages name the item code and
its Vietnamese label, as a VNACCS clerk knows them. Rules a single document cannot decide (7-day validity of the
advance declaration, amendment count and locked fields, channel never lowered, registration blocks, signatures) are
listed in docs/formats/vnaccs.md and left to the hub, which has the history.

Also the public helpers for 12-digit VNACCS system numbers, used by the simulated VNACCS endpoint:
`declaration_check_digit`, `make_declaration_number`, `split_declaration_number`.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from lxml import etree

from . import Finding, rule

NS = "urn:edihub:vnaccs:1"
_N = {"v": NS}
DECLARATIONS = ("vnaccs:IDA", "vnaccs:EDA")
RESULTS = ("vnaccs:IDC", "vnaccs:EDC")
ALL = DECLARATIONS + RESULTS

MAX_LINES = 50                      # "Tờ khai có tối đa 50 dòng hàng" (spec/vnaccs.md §3.5)
MAX_SPLIT = 16                      # 800 lines per invoice / 50 lines per declaration (spec/vnaccs.md §3.5)
IMPORT_DEADLINE_DAYS = 30           # declare within 30 days of arrival (spec/vnaccs.md §3.3)
AWB_MAX = 20                        # air waybill at most 20 characters (spec/realformats.md §2.1, BL1)
KG_PER = {"KGM": Decimal(1), "TNE": Decimal(1000), "LBR": Decimal("0.45359237"), "GRM": Decimal("0.001")}
INSURANCE_REQUIRED = {"CIF", "CIP", "C&I"}   # plus every D-term (spec/realformats.md §2.1, IN1)

# Vietnamese labels of the item codes used in messages.
LABEL = {
    "ICN": "Số tờ khai", "IV2": "Số tiếp nhận hóa đơn điện tử", "TXN": "Số danh mục miễn thuế",
    "CH": "Cơ quan Hải quan", "ICD": "Ngày khai báo dự kiến", "ARR": "Ngày hàng đến", "IVD": "Ngày phát hành hóa đơn",
    "GW": "Tổng trọng lượng hàng", "QN2": "Số lượng 2", "IV1": "Phân loại hình thức hóa đơn", "IV3": "Số hóa đơn",
    "RE": "Mã miễn / giảm / không chịu thuế", "REG": "Số tiền thuế được giảm", "CMN": "Mô tả hàng hóa",
    "UPR": "Đơn giá hóa đơn", "BPR": "Trị giá hóa đơn", "QN1": "Số lượng 1", "IN1": "Mã loại phí bảo hiểm",
    "IP2": "Điều kiện giá hóa đơn", "BL": "Số vận đơn", "DNO": "Tổng số tờ khai chia nhỏ", "BNO": "Số nhánh",
    "Lines": "Danh sách dòng hàng", "Channel": "Luồng", "IP4": "Tổng trị giá hóa đơn", "CHB": "Mã bộ phận xử lý tờ khai",
    "IMC": "Mã người nhập khẩu", "IMA": "Địa chỉ người nhập khẩu", "EPC": "Mã người xuất khẩu",
    "EPA": "Địa chỉ người xuất khẩu", "IMO": "Mã nước người nhập khẩu", "BL1": "Số vận đơn",
    "ST": "Mã địa điểm lưu kho hàng chờ thông quan dự kiến", "DST": "Mã địa điểm dỡ hàng", "PSC": "Mã địa điểm xếp hàng",
    "IP1": "Mã phân loại giá hóa đơn", "IP3": "Mã đồng tiền của hóa đơn", "IVP": "Phương thức thanh toán",
    "CMD": "Mã số hàng hóa",
    "FR3": "Phí vận chuyển", "IN3": "Phí bảo hiểm",
}


class _QNames(dict):
    def __missing__(self, name: str) -> str:
        self[name] = clark = f"{{{NS}}}{name}"
        return clark


_q = _QNames().__getitem__          # "ICN" -> "{urn:edihub:vnaccs:1}ICN", memoised (rules run per message)


def item(code: str) -> str:
    """`ICN (Số tờ khai)`: the item code with its Vietnamese label."""
    return f"{code} ({LABEL[code]})" if code in LABEL else code


# -- 12-digit system numbers (spec/vnaccs.md §4.1) -------------------------------------------------------------
_NUMBER = re.compile(r"^(\d{2})(\d{8})(\d)(\d)$")


def declaration_check_digit(first: str) -> str:
    """The 11th character of a VNACCS number: the 8-digit sequence (positions 3-10) modulo 7.

    `first` is the number's beginning: at least its first 10 digits (document type + sequence); longer input
    (the first 11, or all 12 characters) is accepted and only positions 3-10 are used. Source: "số dư của phép chia
    số hình thành bởi các chữ số từ 3-10 cho 7", example MOD(12345678, 7) = 2 (spec/vnaccs.md §4.1).
    """
    if len(first) < 10 or not first[:10].isdigit() or not first.isascii():
        raise ValueError(f"need at least the first 10 digits of a VNACCS number, got {first!r}")
    return str(int(first[2:10]) % 7)


def make_declaration_number(document_type: str | int, sequence: int, branch: int = 0) -> str:
    """Build a 12-digit number: document type (2 digits, e.g. 10 import, 30 export), 8-digit sequence, check digit,
    branch (0 for the original, 1-9 for amendments). `make_declaration_number(10, 12345678)` -> '101234567820'."""
    dt = f"{int(document_type):02d}" if isinstance(document_type, int) else document_type
    if not (len(dt) == 2 and dt.isdigit()):
        raise ValueError(f"document type must be 2 digits, got {document_type!r}")
    if not 0 <= sequence <= 99_999_999:
        raise ValueError(f"sequence must have at most 8 digits, got {sequence}")
    if not 0 <= branch <= 9:
        raise ValueError(f"branch must be 0-9, got {branch}")
    head = f"{dt}{sequence:08d}"
    return f"{head}{declaration_check_digit(head)}{branch}"


def split_declaration_number(number: str) -> tuple[str, str, str, str]:
    """(document type, sequence, check digit, branch) of a 12-digit number; ValueError if it is not 12 digits."""
    m = _NUMBER.match(number or "")
    if not m:
        raise ValueError(f"a VNACCS number has 12 digits, got {number!r}")
    return m.group(1), m.group(2), m.group(3), m.group(4)


def is_valid_declaration_number(number: str) -> bool:
    try:
        _, _, check, _ = split_declaration_number(number)
    except ValueError:
        return False
    return check == declaration_check_digit(number)


# -- precompiled selections --------------------------------------------------------------------------------------
_numbers = etree.XPath("v:ICN | v:Invoice/v:IV2 | v:Lines/v:Line/v:TXN", namespaces=_N)
_lines = etree.XPath("v:Lines/v:Line", namespaces=_N)
_bls = etree.XPath("v:Transport/v:*[starts-with(local-name(), 'BL')]", namespaces=_N)
_exempt_lines = etree.XPath("v:Lines/v:Line[v:TXN or v:RE or v:REG]", namespaces=_N)
_currencies = etree.XPath("v:Lines/v:Line/v:UPC/text() | v:Valuation/v:FR2/text() | v:Valuation/v:IN2/text()",
                          namespaces=_N)
_amounts = etree.XPath(
    "v:Invoice/v:IP4 | v:Lines/v:Line/v:BPR | v:Lines/v:Line/v:UPR | v:Lines/v:Line/v:REG"
    " | v:Valuation/v:FR3 | v:Valuation/v:IN3", namespaces=_N)


def _text(el) -> str:
    return (el.text or "").strip() if el is not None else ""


def _child(parent, *names):
    el = parent
    for n in names:
        if el is None:
            return None
        el = el.find(_q(n))
    return el


def _dec(el) -> Decimal | None:
    try:
        return Decimal(_text(el)) if el is not None else None
    except InvalidOperation:
        return None          # the XSD reports it


def _texts(el) -> dict[str, str]:
    """Child Clark tag -> stripped text, in one pass (cheaper than one lookup per item on a goods line)."""
    return {c.tag: (c.text or "").strip() for c in el}


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None          # the XSD reports it


def _date(el) -> date | None:
    try:
        return date.fromisoformat(_text(el)[:10]) if el is not None else None
    except ValueError:
        return None          # the XSD reports it


def _local(el) -> str:
    return etree.QName(el).localname


# -- identifiers -------------------------------------------------------------------------------------------------
def _expected_doc_types(el, ctx) -> tuple[str, ...]:
    name = _local(el)
    if name == "ICN":
        return (ctx.mtype.extra.get("document_type", ""),)
    if name == "IV2":
        return ("70",) if ctx.mtype.extra.get("direction") == "import" else ("71",)
    return ("75",)          # TXN: exemption list registered through TEB


@rule(*ALL, code="vnaccs-check-digit", doc="the 11th digit of a VNACCS number is positions 3-10 mod 7")
def check_digit(root, ctx):
    for el in _numbers(root):
        value = _text(el)
        if not _NUMBER.match(value):
            continue          # XSD pattern
        want = declaration_check_digit(value)
        if value[10] != want:
            yield Finding(el, f"{item(_local(el))} {value}: check digit (11th digit) is {value[10]}, expected {want} "
                              f"= {int(value[2:10])} mod 7")


@rule(*ALL, code="vnaccs-doc-type", doc="the first two digits of a VNACCS number give its document type")
def doc_type(root, ctx):
    for el in _numbers(root):
        value = _text(el)
        if not _NUMBER.match(value):
            continue
        allowed = _expected_doc_types(el, ctx)
        if value[:2] not in allowed:
            label = ctx.codes["vnaccs_document_type"].label(value[:2]) or "unknown document type"
            want = " or ".join(allowed)
            yield Finding(el, f"{item(_local(el))} {value}: starts with document type {value[:2]} ({label}), "
                              f"the {ctx.mtype.name} needs {want}")


@rule(*ALL, code="vnaccs-office-code", doc="CH is a sub-department (Chi cục) code: 2 digits + 2 characters, not ZZ")
def office_code(root, ctx):
    el = root.find(_q("CH"))
    value = _text(el)
    if el is None or not re.fullmatch(r"[0-9A-Z]{4}", value):
        return                # XSD
    if not value[:2].isdigit():
        yield Finding(el, f"{item('CH')} {value}: must start with the 2-digit department code (e.g. 03CC, 02CI)")
    elif value[2:] == "ZZ":
        yield Finding(el, f"{item('CH')} {value}: {value[:2]}ZZ is a department (Cục) code; a declaration is lodged "
                          f"at a sub-department (Chi cục), e.g. {value[:2]}CC")


# -- structure and cardinality ---------------------------------------------------------------------------------
@rule(*DECLARATIONS, code="vnaccs-max-lines", doc="at most 50 goods lines per declaration")
def max_lines(root, ctx):
    lines = _lines(root)
    if len(lines) > MAX_LINES:
        yield Finding(lines[MAX_LINES], f"{item('Lines')}: {len(lines)} goods lines; a declaration has at most "
                                        f"{MAX_LINES}: split the invoice over several declarations (Split/BNO, DNO)")


@rule(*DECLARATIONS, code="vnaccs-split-count", doc="an invoice is split over 2-16 declarations, BNO <= DNO")
def split_count(root, ctx):
    split = root.find(_q("Split"))
    if split is None:
        return
    bno, dno = _dec(split.find(_q("BNO"))), _dec(split.find(_q("DNO")))
    if dno is None or bno is None:
        return
    if dno < 2 or dno > MAX_SPLIT:
        yield Finding(split.find(_q("DNO")), f"{item('DNO')} {dno}: an invoice (at most 800 lines) is split over "
                                             f"2 to {MAX_SPLIT} declarations of at most {MAX_LINES} lines")
    elif bno > dno:
        yield Finding(split.find(_q("BNO")), f"{item('BNO')} {bno} is greater than {item('DNO')} {dno}")


@rule(*DECLARATIONS, code="vnaccs-invoice-reference",
      doc="IV1=A needs the invoice number IV3; IV1=D needs the e-invoice receipt number IV2; IV2 only with D")
def invoice_reference(root, ctx):
    inv = root.find(_q("Invoice"))
    if inv is None:
        return
    iv1 = inv.find(_q("IV1"))
    kind = _text(iv1)
    if kind == "A" and inv.find(_q("IV3")) is None:
        yield Finding(iv1, f"{item('IV1')} A (commercial invoice) needs {item('IV3')}")
    if kind == "D" and inv.find(_q("IV2")) is None:
        yield Finding(iv1, f"{item('IV1')} D (e-invoice) needs {item('IV2')}, the number IVA returned")
    if kind and kind != "D" and inv.find(_q("IV2")) is not None:
        yield Finding(inv.find(_q("IV2")), f"{item('IV2')} is given but {item('IV1')} is {kind}, not D (e-invoice)")


# -- dates ---------------------------------------------------------------------------------------------------------
@rule("vnaccs:IDA", code="vnaccs-import-deadline",
      doc="an import is declared before arrival or within 30 days of the arrival date")
def import_deadline(root, ctx):
    icd_el = root.find(_q("ICD"))
    arr_el = _child(root, "Transport", "ARR")
    icd, arr = _date(icd_el), _date(arr_el)
    if icd and arr and icd > arr + timedelta(days=IMPORT_DEADLINE_DAYS):
        yield Finding(icd_el, f"{item('ICD')} {icd}: more than {IMPORT_DEADLINE_DAYS} days after {item('ARR')} {arr}; "
                              f"an import is declared at the latest {arr + timedelta(days=IMPORT_DEADLINE_DAYS)}")


@rule(*DECLARATIONS, code="vnaccs-invoice-date", doc="the invoice date is not after the planned declaration date")
def invoice_date(root, ctx):
    icd = _date(root.find(_q("ICD")))
    ivd_el = _child(root, "Invoice", "IVD")
    ivd = _date(ivd_el)
    if icd and ivd and ivd > icd:
        yield Finding(ivd_el, f"{item('IVD')} {ivd} is after {item('ICD')} {icd}")


# -- quantities, weights and values ----------------------------------------------------------------------------
@rule(*DECLARATIONS, code="vnaccs-gross-lt-net", doc="gross weight GW is not below the sum of the lines' net weights")
def gross_not_below_net(root, ctx):
    gw_el = _child(root, "Transport", "GW")
    gw, unit = _dec(gw_el), _text(_child(root, "Transport", "GWT"))
    if gw is None or unit not in KG_PER:
        return
    net = Decimal(0)
    for line in _lines(root):
        f = _texts(line)
        qn2, qt2 = _decimal(f.get(_q("QN2"))), f.get(_q("QT2"), "")
        if qn2 is not None and qt2 in KG_PER:
            net += qn2 * KG_PER[qt2]
    gross = gw * KG_PER[unit]
    if net > gross:
        yield Finding(gw_el, f"{item('GW')} {gw} {unit} ({gross.normalize():f} kg) is below the total net weight of "
                             f"the lines, {net.normalize():f} kg (sum of {item('QN2')})")


@rule(*DECLARATIONS, code="vnaccs-line-value", doc="unit price x quantity = line invoice value, within 1")
def line_value(root, ctx):
    inv_cur = _text(_child(root, "Invoice", "IP3"))
    for line in _lines(root):
        f = _texts(line)
        upr, qn1, bpr = _decimal(f.get(_q("UPR"))), _decimal(f.get(_q("QN1"))), _decimal(f.get(_q("BPR")))
        if upr is None or qn1 is None or bpr is None:
            continue
        upc, tsc = f.get(_q("UPC"), ""), f.get(_q("TSC"), "")
        if (upc and upc != inv_cur) or (tsc and tsc != f.get(_q("QT1"), "")):
            continue          # price in another currency or per another unit: not comparable here
        if abs(upr * qn1 - bpr) > 1:
            yield Finding(line.find(_q("BPR")), f"{item('BPR')} {bpr} differs from {item('UPR')} {upr} × "
                                                f"{item('QN1')} {qn1} = {(upr * qn1).normalize():f} by more than 1")


@rule(*DECLARATIONS, code="vnaccs-vnd-decimals", doc="amounts in VND have no decimals")
def vnd_decimals(root, ctx):
    inv_cur = _text(_child(root, "Invoice", "IP3"))
    if inv_cur != "VND" and "VND" not in _currencies(root):
        return
    for el in _amounts(root):
        name = _local(el)
        if name in ("IP4", "BPR", "REG"):
            cur = inv_cur
        elif name == "UPR":
            cur = _text(el.getparent().find(_q("UPC"))) or inv_cur
        else:                 # FR3 / IN3: currency in FR2 / IN2
            cur = _text(el.getparent().find(_q(name[:2] + "2")))
        amount = _dec(el)
        if cur == "VND" and amount is not None and amount != amount.to_integral_value():
            yield Finding(el, f"{item(name)} {amount}: amounts in VND have no decimals")


# -- transport, valuation, exemption, description ----------------------------------------------------------------
@rule(*DECLARATIONS, code="vnaccs-awb-length", doc="an air waybill number has at most 20 characters")
def awb_length(root, ctx):
    if _text(root.find(_q("MTC"))) != "1":
        return
    for el in _bls(root):
        if len(_text(el)) > AWB_MAX:
            yield Finding(el, f"{_local(el)} ({LABEL['BL']}) {_text(el)!r}: an air waybill (MTC 1, air) has at most "
                              f"{AWB_MAX} characters, this one has {len(_text(el))}")


@rule("vnaccs:IDA", code="vnaccs-insurance-incoterm", doc="IN1 D (no insurance) is not allowed with CIF/CIP/C&I/D-terms")
def insurance_incoterm(root, ctx):
    in1 = _child(root, "Valuation", "IN1")
    term = _text(_child(root, "Invoice", "IP2"))
    if _text(in1) == "D" and (term in INSURANCE_REQUIRED or term.startswith("D")):
        yield Finding(in1, f"{item('IN1')} D (no insurance) is not allowed with {item('IP2')} {term}: "
                           f"the price includes insurance")


@rule(*DECLARATIONS, code="vnaccs-exemption-incomplete",
      doc="a line claiming exemption gives the exemption list number TXN, the code RE and the reduced amount REG")
def exemption_complete(root, ctx):
    parts = ("TXN", "RE", "REG")
    for line in _exempt_lines(root):
        present = [p for p in parts if line.find(_q(p)) is not None]
        if present and len(present) < len(parts):
            missing = ", ".join(item(p) for p in parts if p not in present)
            yield Finding(line.find(_q(present[0])), f"exemption claimed ({', '.join(present)}) but {missing} missing: "
                                                     f"an exempt line needs the list number, the code and the amount")


# ASCII, Latin-1 and Latin Extended-A/B, combining diacritics, Latin Extended Additional (Vietnamese letters),
# general punctuation and currency signs
_NOT_LATIN = re.compile("[^\x00-\x7f\u00a0-\u024f\u0300-\u036f\u1e00-\u1eff\u2000-\u20cf]")


def _foreign_script(text: str) -> str | None:
    """The first character that is neither Latin (with Vietnamese diacritics) nor common punctuation/symbols."""
    for m in _NOT_LATIN.finditer(text):
        ch = m.group()
        if unicodedata.category(ch)[0] in "PSZ" and ord(ch) < 0x3000:
            continue
        return ch
    return None


@rule(*DECLARATIONS, code="vnaccs-description-language", severity="warning",
      doc="goods descriptions are in Vietnamese or English (warning: a translated declaration may carry the source "
          "language until the Vietnamese declarant translates it)")
def description_language(root, ctx):
    for line in _lines(root):
        el = line.find(_q("CMN"))
        bad = _foreign_script(_text(el))
        if bad is not None:
            name = unicodedata.name(bad, f"U+{ord(bad):04X}")
            yield Finding(el, f"{item('CMN')} contains {bad!r} ({name}): descriptions are written in Vietnamese or "
                              f"English (Latin script); translate it")


# -- completeness (warnings) ---------------------------------------------------------------------------------------
# Items a declaration needs before VNACCS registers it [I]: the public sources list the items but not which are
# mandatory. They are optional in the XSD so that a declaration translated from another country (a PRC export
# becoming a Vietnamese import) validates as a draft; these warnings name what the Vietnamese declarant must add.
NEEDED = {
    "vnaccs:IDA": ("CH", "CHB", "ICD", "Importer/IMC", "Importer/IMA", "Exporter/EPA", "Transport/BL1", "Transport/ST",
                   "Transport/ARR", "Transport/DST", "Transport/PSC", "Invoice/IV1", "Invoice/IP1", "Invoice/IP3",
                   "Invoice/IP4", "IVP"),
    "vnaccs:EDA": ("CH", "CHB", "ICD", "Exporter/EPC", "Exporter/EPA", "Importer/IMA", "Importer/IMO", "Transport/ST",
                   "Transport/DST", "Transport/PSC", "Invoice/IV1", "Invoice/IP1", "Invoice/IP3", "Invoice/IP4", "IVP"),
}


@rule(*DECLARATIONS, code="vnaccs-missing-item", severity="warning",
      doc="an item VNACCS needs to register the declaration is missing (a draft, e.g. translated from abroad)")
def missing_item(root, ctx):
    for path in NEEDED[ctx.mtype.id]:
        *parents, name = path.split("/")
        parent = _child(root, *parents) if parents else root
        if parent is not None and parent.find(_q(name)) is None:
            yield Finding(parent, f"{item(name)} is missing: VNACCS needs it to register the declaration; "
                                  f"the Vietnamese declarant must add it")


@rule(*DECLARATIONS, code="vnaccs-hs-national-digits", severity="warning",
      doc="a 6-digit HS code lacks the Vietnamese national digits 7-8")
def hs_national_digits(root, ctx):
    for line in _lines(root):
        el = line.find(_q("CMD"))
        if el is not None and len(_text(el)) == 6:
            yield Finding(el, f"{item('CMD')} {_text(el)} has the 6 international HS digits only: VNACCS needs the "
                              f"8-digit code of the Vietnamese tariff")


# -- results -----------------------------------------------------------------------------------------------------
@rule(*RESULTS, code="vnaccs-result-outcome", doc="a result either registers (Channel) or rejects with a message")
def result_outcome(root, ctx):
    if root.find(_q("Channel")) is None and root.find(_q("Messages")) is None:
        yield Finding(root, f"{ctx.mtype.name} result has neither a {item('Channel')} (registered) nor Messages "
                            f"(rejected): say why the declaration was not registered")
