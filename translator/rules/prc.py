"""Business rules of the PRC customs declaration (China e-Port DecMessage) and its import response.

Each rule cites the field of the filling rules (spec/prc.md, "field N") or the real-format notes
(spec/realformats.md) it comes from; where the sources only imply a rule, the docstring says so. Messages name
the field by its Chinese name, its element and its form field number, so a customs clerk can find it on the form.

Rules skip values the XSD already rejects (wrong pattern, missing element), so one mistake gives one error.
They read one shared View of the document (built once per validation, see `view`) instead of searching the
tree again and again; the one XPath used is compiled at import.

The conditions of these rules are also evaluated in C by the rule screen (`prc_screen` at the end,
translator/rules/_prcscreen.c), which lets the validator skip them on a declaration none of them can report on.
Changing what a covered rule accepts means changing the screen too (or taking the rule out of its COVERS);
tests/test_rule_screen.py compares the reports with and without the screen to catch a screen that is left behind.
"""
from __future__ import annotations

import calendar
import math
import re
from decimal import Decimal, InvalidOperation

from lxml import etree

from . import RULES, Finding, Screen, rule, screen

NS = "{http://www.chinaport.gov.cn/dec}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
DEC = "prc:DecMessage"

HEAD = NS + "DecHead"
LISTS = NS + "DecLists"
LIST = NS + "DecList"


def text(el) -> str:
    return (el.text or "").strip() if el is not None else ""


def child(el, tag: str):
    """el.find(tag) for a plain Clark tag: the first child so named, or None (C-level, half the cost of find)."""
    return next(el.iterchildren(tag), None)


# -- one pass over the document, shared by the rules of one validation --------------------------------------
# lxml's find() costs microseconds per call; thirty rules each looking up a dozen elements of twenty goods lines
# would cost more than the XSD validation. So the header's children and the goods lines' fields are collected
# once, in one C-level iteration each, and every rule reads from that view.
_ITEM_FIELDS = ("GNo", "CodeTS", "DeclPrice", "DeclTotal", "GQty", "GUnit", "FirstQty", "FirstUnit", "SecondQty",
                "SecondUnit", "ProdValidDt", "OriginCountry", "DestinationCountry")
_ITEM_TAGS = tuple(NS + n for n in _ITEM_FIELDS)


class View:
    """The parts of a DecMessage the rules read: `head` maps a DecHead child's Clark tag to the element;
    `items` holds one dict per DecList mapping the Clark tags of _ITEM_FIELDS to their text. The element of a
    goods-line field, needed only to report a finding, is looked up on demand (`item_el`)."""

    __slots__ = ("root", "head_el", "head", "items", "_texts")

    def __init__(self, root):
        self.root = root
        self.head_el = head = child(root, HEAD)
        # duplicates are an XSD error (xs:all); the last one wins here
        self.head = {child.tag: child for child in head} if head is not None else {}
        self._texts: dict[str, tuple] = {}
        items: list[dict] = []
        self.items = items
        lists = child(root, LISTS)
        if lists is not None:
            texts: dict = {}
            for el in lists.iter(LIST, *_ITEM_TAGS):     # one C-level walk, filtered by tag
                tag = el.tag
                if tag == LIST:
                    texts = {}
                    items.append(texts)
                else:
                    texts[tag] = el.text

    def get(self, name: str) -> tuple[object, str]:
        """(element or None, stripped text) of a DecHead child."""
        found = self._texts.get(name)
        if found is None:
            el = self.head.get(NS + name)
            found = self._texts[name] = (el, (el.text or "").strip() if el is not None else "")
        return found

    def item_el(self, n: int, tag: str):
        """The element `tag` (Clark) of goods line n (0-based), or the DecList itself when it has none."""
        item = self.root.find(LISTS).findall(LIST)[n]
        found = item.find(tag)
        return found if found is not None else item


def view(root, ctx) -> View:
    """The View of `root`, built once per validation and kept in the validation's own scratch (ctx.memo), so
    rules running for other documents in other threads never share or rebuild it."""
    v = ctx.memo.get("prc.view")
    if v is None or v.root is not root:
        v = ctx.memo["prc.view"] = View(root)
    return v


def item_text(item: dict, name: str) -> str:
    """Stripped text of a goods-line field from View.items."""
    return (item.get(NS + name) or "").strip()


def decimal(value: str) -> Decimal | None:
    if not value:
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def number(value: str) -> float | None:
    """A float for comparisons, or None when empty or not a number (the XSD reports those)."""
    if not value:
        return None
    try:
        f = float(value)
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def half_unit(value: str) -> float:
    """Half a unit in the last written decimal place: the rounding a figure as written may carry."""
    dot = value.find(".")
    return 0.5 * 10.0 ** -(len(value) - dot - 1 if dot >= 0 else 0)


def parse_date(value: str) -> tuple[int, int, int] | None:
    """YYYYMMDD or YYYY-MM-DD -> (y, m, d) when it is a real calendar date, else None."""
    v = value.replace("-", "") if len(value) == 10 and value[4] == "-" and value[7] == "-" else value
    if len(v) != 8 or not v.isdigit():
        return None
    y, m, d = int(v[:4]), int(v[4:6]), int(v[6:])
    if not (1 <= m <= 12) or not (1 <= d <= calendar.monthrange(y, m)[1]):
        return None
    return y, m, d


# --------------------------------------------------------------------------------------------------------------
# message structure
# --------------------------------------------------------------------------------------------------------------
_ONCE = {NS + n: n for n in ("DecHead", "DecLists")}
_AT_MOST_ONCE = {NS + n: f"{n} ({zh})" for n, zh in (
    ("DecContainers", "集装箱"), ("DecLicenseDocus", "随附单证"), ("DecRequestCerts", "申请单证"),
    ("DecOtherPacks", "其他包装"), ("DecCopLimits", "企业资质"), ("DecUsers", "使用人"), ("DecCopPromises", "企业承诺"),
    ("DecRoyaltyFee", "特许权使用费"), ("DecFreeTxt", "自由文本"), ("DecSign", "报关单签名"))}
_AT_MOST_ONCE[DS + "Signature"] = "ds:Signature (数字签名)"


@rule(DEC, code="prc-group-count")
def group_count(root, ctx):
    """DecHead and DecLists exactly once; the other groups and an enveloped ds:Signature at most once. The XSD
    lets the groups come in any order (real producers differ, spec/realformats.md §1.2), so their counts are
    checked here."""
    seen = set()
    for child in root.iterchildren():
        tag = child.tag
        if tag in _ONCE or tag in _AT_MOST_ONCE:
            if tag in seen:
                break
            seen.add(tag)
    else:
        if HEAD in seen and LISTS in seen:
            return      # the usual case: each counted group once, DecHead and DecLists there
    counts: dict[str, list] = {}
    for child in root:
        tag = child.tag
        if tag in _ONCE or tag in _AT_MOST_ONCE:
            counts.setdefault(tag, []).append(child)
    for tag, name in _ONCE.items():
        found = counts.get(tag, [])
        if len(found) != 1:
            what = "表头 (declaration header)" if name == "DecHead" else "表体 (goods lines)"
            yield Finding(found[1] if found else root,
                          f"{name} {what} must appear exactly once in DecMessage; found {len(found)}")
    for tag, name in _AT_MOST_ONCE.items():
        found = counts.get(tag, [])
        if len(found) > 1:
            yield Finding(found[1], f"{name} may appear at most once in DecMessage; found {len(found)}")


# --------------------------------------------------------------------------------------------------------------
# declaration numbers (fields 1 and 2)
# --------------------------------------------------------------------------------------------------------------
def _number_problem(value: str) -> str | None:
    """What is wrong with an 18-character declaration number, or None. Layout (spec/prc.md fields 1, 2):
    positions 1-4 customs code, 5-8 calendar year, 9 import/export flag, 10-18 serial."""
    if len(value) != 18:
        return f"has {len(value)} characters; it must have 18"
    if not value[:4].isdigit():
        return f"positions 1-4 ({value[:4]}) must be the 4-digit customs code"
    year = value[4:8]
    if not year.isdigit() or not 1980 <= int(year) <= 2099:
        return f"positions 5-8 ({year}) must be the calendar year"
    if value[8] not in ("0", "1", "I", "E"):
        return (f"position 9 ({value[8]}) must be the import/export flag: 1 import, 0 export, "
                f"I / E for a consolidated declaration")
    if not value[9:].isdigit():
        return f"positions 10-18 ({value[9:]}) must be the 9-digit serial number"
    return None


def _number_rule(root, ctx, element: str, zh: str, field: int):
    el, value = view(root, ctx).get(element)
    if not value or len(value) > 18:   # empty: not assigned yet; longer: the XSD reports the length
        return
    problem = _number_problem(value)
    if problem:
        yield Finding(el, f"{zh} {element} (field {field}) {value!r} {problem}")


@rule(DEC, code="prc-pre-entry-id")
def pre_entry_id(root, ctx):
    """预录入编号 PreEntryId: 18 characters, customs code + year + I/E flag + 9-digit serial (spec/prc.md field 1).
    The serial being all digits is the spec's suggested pattern [INFERRED there]."""
    yield from _number_rule(root, ctx, "PreEntryId", "预录入编号", 1)


@rule(DEC, code="prc-entry-id")
def entry_id(root, ctx):
    """海关编号 EntryId: the same 18-character layout as the pre-entry number (spec/prc.md field 2)."""
    yield from _number_rule(root, ctx, "EntryId", "海关编号", 2)


_FLAG_DIRECTION = {"1": "I", "I": "I", "0": "E", "E": "E"}


@rule(DEC, code="prc-ie-flag-mismatch")
def number_ie_flag(root, ctx):
    """Position 9 of the pre-entry and customs numbers carries the import/export flag (spec/prc.md fields 1, 2:
    1 / I import, 0 / E export); it must agree with IEFlag. The export value 0 is external knowledge the spec
    marks for verification (§8.2); the I/E values of consolidated declarations are in the sources."""
    v = view(root, ctx)
    direction = v.get("IEFlag")[1]
    if direction not in ("I", "E"):
        return
    for element, zh, field in (("PreEntryId", "预录入编号", 1), ("EntryId", "海关编号", 2)):
        el, value = v.get(element)
        if len(value) == 18 and _number_problem(value) is None:
            said = _FLAG_DIRECTION.get(value[8])
            if said and said != direction:
                yield Finding(el, f"{zh} {element} (field {field}) {value} says "
                                  f"{'import' if said == 'I' else 'export'} at position 9 ({value[8]}), but "
                                  f"进出口标志 IEFlag is {direction} ({'import' if direction == 'I' else 'export'})")


@rule(DEC, code="prc-number-customs-mismatch")
def number_customs(root, ctx):
    """Positions 1-4 of the pre-entry and customs numbers are the code of the customs office accepting the
    declaration (spec/prc.md fields 1, 2), i.e. 申报地海关 CustomMaster."""
    v = view(root, ctx)
    master = v.get("CustomMaster")[1]
    if len(master) != 4:
        return
    for element, zh, field in (("PreEntryId", "预录入编号", 1), ("EntryId", "海关编号", 2)):
        el, value = v.get(element)
        if len(value) == 18 and _number_problem(value) is None and value[:4] != master:
            yield Finding(el, f"{zh} {element} (field {field}) {value} starts with customs code {value[:4]}, "
                              f"but the declaration is lodged at 申报地海关 CustomMaster {master}")


# --------------------------------------------------------------------------------------------------------------
# dates (fields 5, 6)
# --------------------------------------------------------------------------------------------------------------
_DATES = (("IEDate", "进出口日期", "field 5"), ("DDate", "申报日期", "field 6"), ("DespDate", "启运日期", ""),
          ("CmplDschrgDt", "卸毕日期", ""))


@rule(DEC, code="prc-date-invalid")
def dates_valid(root, ctx):
    """Dates are YYYYMMDD (spec/prc.md fields 5, 6) and must be real calendar dates (20240230 is not)."""
    v = view(root, ctx)
    for element, zh, field in _DATES:
        el, value = v.get(element)
        if value and len(value) in (8, 10) and parse_date(value) is None and _looks_like_date(value):
            yield Finding(el, f"{zh} {element}{f' ({field})' if field else ''} {value} is not a calendar date")
    tag = NS + "ProdValidDt"
    for n, item in enumerate(v.items):
        value = item.get(tag)
        if not value:
            continue
        value = value.strip()
        if value and parse_date(value) is None and _looks_like_date(value):
            yield Finding(v.item_el(n, NS + "ProdValidDt"), f"产品有效期 ProdValidDt {value} is not a calendar date")


def _looks_like_date(value: str) -> bool:
    """Passes the XSD's date pattern (so the pattern error is not reported twice)."""
    return (len(value) == 8 and value.isdigit()) or (
        len(value) == 10 and value[4] == value[7] == "-" and (value[:4] + value[5:7] + value[8:]).isdigit())


_NO_CROSSING = frozenset("0178HTWXYZ")   # spec/prc.md §4.1: regime changes without actual import/export


@rule(DEC, code="prc-date-order")
def date_order(root, ctx):
    """When both dates are present: on export, 进出口日期 (the date exit formalities were completed, field 5)
    cannot precede 申报日期 (the date customs accepted the declaration, field 6); without actual import/export
    (transport modes of spec/prc.md §4.1) field 5 is the acceptance date, so the two are equal. Imports are not
    checked: the sources allow declaring before arrival and state no order."""
    v = view(root, ctx)
    ie_el, ie_value = v.get("IEDate")
    d_el, d_value = v.get("DDate")
    ie, d = parse_date(ie_value), parse_date(d_value)
    if ie is None or d is None:
        return
    if v.get("TrafMode")[1] in _NO_CROSSING:
        if ie != d:
            yield Finding(ie_el, f"进出口日期 IEDate (field 5) {ie_value} must equal 申报日期 DDate (field 6) "
                                 f"{d_value}: without actual import/export it is the acceptance date")
    elif v.get("IEFlag")[1] == "E" and ie < d:
        yield Finding(ie_el, f"出口日期 IEDate (field 5) {ie_value} is before 申报日期 DDate (field 6) {d_value}: "
                             f"the export date is when exit formalities were completed, after the declaration")


@rule(DEC, code="prc-export-ie-date", severity="warning")
def export_ie_date(root, ctx):
    """On export, 进出口日期 is not filled when the declaration is submitted (spec/prc.md field 5, V06). A
    warning only: the same message also serves as the record once customs has filled the date; it is given only
    while the declaration has no customs number."""
    v = view(root, ctx)
    if v.get("IEFlag")[1] != "E":
        return
    el, value = v.get("IEDate")
    if value and not v.get("EntryId")[1]:
        yield Finding(el, f"出口日期 IEDate (field 5) {value} is filled, but on export it is not filled at "
                          f"submission; customs sets it when exit formalities are completed")


# --------------------------------------------------------------------------------------------------------------
# weights, packages, quantities, prices (fields 24-26, 33, 36-38)
# --------------------------------------------------------------------------------------------------------------
@rule(DEC, code="prc-gross-lt-net")
def gross_not_below_net(root, ctx):
    """毛重 (gross weight, field 25) includes the packaging, so it cannot be below 净重 (net weight, field 26)
    [INFERRED in spec/prc.md V36]."""
    v = view(root, ctx)
    g_el, g_value = v.get("GrossWet")
    n_el, n_value = v.get("NetWt")
    gross, net = decimal(g_value), decimal(n_value)
    if gross is not None and net is not None and gross < net:
        yield Finding(g_el, f"毛重 GrossWet (field 25) {g_value} kg is below 净重 NetWt (field 26) {n_value} kg")


@rule(DEC, code="prc-weight-below-one")
def weight_at_least_one(root, ctx):
    """Weights are in kg; a weight below 1 kg is declared as 1 (spec/prc.md fields 25, 26)."""
    v = view(root, ctx)
    for element, zh, field in (("GrossWet", "毛重", 25), ("NetWt", "净重", 26)):
        el, value = v.get(element)
        d = decimal(value)
        if d is not None and d < 1:
            yield Finding(el, f"{zh} {element} (field {field}) {value} kg is below 1 kg; declare 1 when the "
                              f"weight is under 1 kg")


_KG_FACTOR = {"035": 1.0, "036": 0.001, "070": 1000.0}
_WEIGHT_LINES = ((NS + "FirstQty", NS + "FirstUnit"), (NS + "SecondQty", NS + "SecondUnit"), (NS + "GQty", NS + "GUnit"))   # 千克, 克, 吨 (prc_unit)


@rule(DEC, code="prc-items-net-gt-gross")
def items_weight_not_above_gross(root, ctx):
    """The goods lines' weights (their quantity in 千克/克/吨, field 36) are net weights of the goods; together
    they cannot exceed the declaration's 毛重 (gross weight, field 25). The spec only infers that they add up
    to about the net weight (V36/field 36 [INFERRED]); exceeding the gross weight is an error whatever the
    rounding."""
    v = view(root, ctx)
    gross = number(v.get("GrossWet")[1])
    if gross is None:
        return
    total = 0.0
    limit = gross * (1 + 1e-12)
    for n, item in enumerate(v.items):
        for qty_tag, unit_tag in _WEIGHT_LINES:
            unit = item.get(unit_tag)
            if not unit:
                continue
            factor = _KG_FACTOR.get(unit) or _KG_FACTOR.get(unit.strip())
            if factor is None:
                continue
            qty = number(item.get(qty_tag) or "")
            if qty is not None:
                total += qty * factor
                if total > limit:
                    yield Finding(v.item_el(n, qty_tag),
                                  f"the goods lines up to 项号 {item_text(item, 'GNo')} already weigh "
                                  f"{total:g} kg (数量及单位, field 36), more than 毛重 GrossWet "
                                  f"(field 25) {v.get('GrossWet')[1]} kg")
                    return
            break   # one weight per goods line


@rule(DEC, code="prc-gno-sequence")
def item_numbers(root, ctx):
    """项号 GNo (field 33, first line) numbers the goods lines 1, 2, 3 ... in order, each once
    (spec/prc.md V33 [INFERRED: consecutive]; realformats §1.4 "1..n")."""
    v = view(root, ctx)
    items = v.items
    gno = NS + "GNo"
    for expected, item in enumerate(items, 1):
        value = item.get(gno)
        if value == str(expected):
            continue    # the usual case
        value = (value or "").strip()
        if not value.isdigit():
            continue    # missing or not a number: the XSD reports it
        if int(value) != expected:
            yield Finding(v.item_el(expected - 1, NS + "GNo"), f"项号 GNo (field 33) of goods line {expected} is {value}; goods lines are "
                              f"numbered 1 to {len(items)} in order, each number once")
            return


_LINE_NUMBERS = [str(n) for n in range(1, 1000)]   # "1", "2", ...: goods line numbers as written (more: slow path)


@rule(DEC, code="prc-container-goods")
def container_goods(root, ctx):
    """集装箱 商品项号 Container/GoodsNo lists, comma-separated, the item numbers carried in the container
    (spec/prc.md field 32 rule 28); each must be an item of the declaration [INFERRED there, V70]."""
    v = view(root, ctx)
    containers = child(root, NS + "DecContainers")
    if containers is None:
        return
    gno = NS + "GNo"
    plain = numbers = None
    for el in containers.iter(NS + "GoodsNo"):
        value = text(el)
        if not value:
            continue
        if plain is None:
            # the item numbers written as their line's number (1, 2, ...): a part equal to one of them is good
            plain = {g for g, n in zip([item.get(gno) for item in v.items], _LINE_NUMBERS) if g == n}
        parts = value.split(",")
        if all(p in plain for p in parts):
            continue    # the usual case
        if numbers is None:
            numbers = {(item.get(gno) or "").strip() for item in v.items}
        parts = [p.strip() for p in parts]
        bad = [p for p in parts if not p.isdigit() or str(int(p)) not in numbers]
        if bad:
            yield Finding(el, f"集装箱商品项号 GoodsNo {value!r} names {', '.join(repr(b) for b in bad)}, which "
                              f"is not a 项号 of this declaration (comma-separated item numbers)")


@rule(DEC, code="prc-container-weight")
def container_weight(root, ctx):
    """箱货重量 GoodsContaWt is the container's own weight plus the goods (spec/prc.md field 32 rule 28), so it
    cannot be below 集装箱自重 ContainerWt."""
    containers = child(root, NS + "DecContainers")
    if containers is None:
        return
    for c in containers.iterchildren(NS + "Container"):
        total_el, tare_el = child(c, NS + "GoodsContaWt"), child(c, NS + "ContainerWt")
        total, tare = number(text(total_el)), number(text(tare_el))
        if total is not None and tare is not None and total < tare:
            yield Finding(total_el, f"箱货重量 GoodsContaWt {text(total_el)} kg of container "
                                    f"{text(c.find(NS + 'ContainerId'))} is below its 自重 ContainerWt "
                                    f"{text(tare_el)} kg; it is the tare plus the goods")


@rule(DEC, code="prc-total-mismatch")
def total_price(root, ctx):
    """总价 DeclTotal (field 38) equals 单价 DeclPrice (field 37) × 成交数量 GQty (field 36 line 3) up to the
    rounding of the figures as written (spec/prc.md V40 [INFERRED]): half a unit in the last decimal of the
    price, times the quantity, plus half a unit in the last decimal of the total."""
    v = view(root, ctx)
    p_tag, q_tag, t_tag = NS + "DeclPrice", NS + "GQty", NS + "DeclTotal"
    for n, item in enumerate(v.items):
        p_text, q_text, t_text = item.get(p_tag), item.get(q_tag), item.get(t_tag)
        try:
            price, qty, total = float(p_text), float(q_text), float(t_text)
        except (TypeError, ValueError):
            continue    # missing or not a number: the XSD reports it
        if abs(price * qty - total) <= 1e-9:
            continue    # within the smallest tolerance below: the usual line, no rounding to work out
        p_text, t_text = p_text.strip(), t_text.strip()
        tolerance = half_unit(p_text) * abs(qty) + half_unit(t_text)
        if abs(price * qty - total) > tolerance * (1 + 1e-9) + 1e-9:
            yield Finding(v.item_el(n, NS + "DeclTotal"),
                          f"总价 DeclTotal (field 38) {t_text} of 项号 {item_text(item, 'GNo')} is not 单价 "
                          f"{p_text} × 数量 {q_text.strip()} = {price * qty:.6g}")


_NONZERO = frozenset("123456789")
_QUANTITIES = ((NS + "GQty", "GQty", "成交数量"), (NS + "FirstQty", "FirstQty", "第一法定数量"),
               (NS + "SecondQty", "SecondQty", "第二法定数量"))


@rule(DEC, code="prc-quantity-unit")
def quantities_and_units(root, ctx):
    """数量及单位 (field 36): each line is a quantity with its unit; the second legal quantity and unit are both
    given or both left blank (spec/prc.md field 36, V37), and quantities are above zero."""
    v = view(root, ctx)
    second_qty, second_unit = NS + "SecondQty", NS + "SecondUnit"
    for n, item in enumerate(v.items):
        sq, su = item.get(second_qty), item.get(second_unit)
        sq, su = (sq.strip() if sq else ""), (su.strip() if su else "")
        if bool(sq) != bool(su):
            missing = "SecondUnit" if sq else "SecondQty"
            yield Finding(v.item_el(n, second_qty if sq else second_unit),
                          f"第二法定数量 of 项号 {item_text(item, 'GNo')} (field 36 line 2): SecondQty and SecondUnit "
                          f"go together; {missing} is missing")
        for tag, name, zh in _QUANTITIES:
            qty = item.get(tag)
            # zero written any way that passes the XSD's number pattern: 0, 00, 0.0, 0.000 (a figure starting
            # with a digit 1-9 is not zero, the usual case)
            if qty and qty[0] not in _NONZERO and not qty.strip().strip("0").strip(".").strip("0") and qty.strip():
                yield Finding(v.item_el(n, tag), f"{zh} {name} of 项号 {item_text(item, 'GNo')} (field 36) is "
                                                  f"0; quantities are above zero")


# --------------------------------------------------------------------------------------------------------------
# charges (fields 28-30)
# --------------------------------------------------------------------------------------------------------------
_CHARGES = (("Fee", "运费", 28), ("Insur", "保费", 29), ("Other", "杂费", 30))


@rule(DEC, code="prc-charge-incomplete")
def charges_complete(root, ctx):
    """运费 / 保费 / 杂费 (fields 28-30) are a mark, an amount or rate, and a currency: a mark needs its amount
    and the reverse, and an amount (mark 2 per unit or 3 total) needs its currency (a rate, mark 1, does not)
    [spec/prc.md V45, INFERRED there]."""
    v = view(root, ctx)
    for prefix, zh, field in _CHARGES:
        m_el, mark = v.get(prefix + "Mark")
        r_el, rate = v.get(prefix + "Rate")
        c_el, curr = v.get(prefix + "Curr")
        if mark and not rate:
            yield Finding(m_el, f"{zh} (field {field}): {prefix}Mark is {mark} but {prefix}Rate (the amount or "
                                f"rate) is empty")
        elif rate and not mark:
            yield Finding(r_el, f"{zh} (field {field}): {prefix}Rate {rate} is given without {prefix}Mark "
                                f"(1 rate, 2 per unit, 3 total)")
        elif mark in ("2", "3") and rate and not curr:
            yield Finding(m_el, f"{zh} (field {field}): mark {mark} is an amount, so {prefix}Curr (币制) is "
                                f"required")


# --------------------------------------------------------------------------------------------------------------
# transport (fields 9-11), scenario "no actual import/export" (spec/prc.md §4.1)
# --------------------------------------------------------------------------------------------------------------
_BILL_SEPARATORS = re.compile(r"[,;，；、\s]")


@rule(DEC, code="prc-one-bill")
def one_bill(root, ctx):
    """提运单号 BillNo (field 11): one B/L or waybill per declaration; goods on several B/Ls are declared
    separately. A master and a house number are joined by * (sea) or _ (air), once."""
    v = view(root, ctx)
    el, value = v.get("BillNo")
    if not value:
        return
    if _BILL_SEPARATORS.search(value) or value.count("*") > 1 or value.count("_") > 1 or (
            "*" in value and "_" in value):
        yield Finding(el, f"提运单号 BillNo (field 11) {value!r} holds more than one bill of lading; declare one "
                          f"B/L (master*house or master_house) per declaration")


_TRANSIT_NAME = re.compile(r"@([0-9]{16}|[0-9]{13})?")


@rule(DEC, code="prc-transit-traf-name")
def transit_traf_name(root, ctx):
    """运输工具名称 TrafName (field 10) of a customs-transit declaration starts with @: then it is @ alone,
    @ + the 16-digit transit declaration pre-entry number, or @ + the 13-digit manifest number
    (spec/prc.md field 10, V47)."""
    v = view(root, ctx)
    el, value = v.get("TrafName")
    if value.startswith("@") and not _TRANSIT_NAME.fullmatch(value):
        yield Finding(el, f"运输工具名称 TrafName (field 10) {value!r}: a transit name is @ alone, @ + the 16-digit "
                          f"transit pre-entry number or @ + the 13-digit manifest number")


@rule(DEC, code="prc-consolidated-bill")
def consolidated_bill(root, ctx):
    """A consolidated declaration (集中申报: I or E at position 9 of the pre-entry / customs number) gives in
    提运单号 BillNo (field 11) the start and end dates of the goods' import/export, YYYYMMDDYYYYMMDD
    (spec/prc.md field 11, §4.3; the 16-character form of the Catalan source), the start not after the end
    [INFERRED there, V08]."""
    v = view(root, ctx)
    flags = {v.get(n)[1][8:9] for n in ("PreEntryId", "EntryId")}
    if not flags & {"I", "E"}:
        return
    el, value = v.get("BillNo")
    if not value:
        return
    start, end = parse_date(value[:8]), parse_date(value[8:])
    if len(value) != 16 or start is None or end is None:
        yield Finding(el, f"提运单号 BillNo (field 11) {value!r}: a consolidated declaration gives the start and "
                          f"end dates of the goods' import/export as YYYYMMDDYYYYMMDD")
    elif start > end:
        yield Finding(el, f"提运单号 BillNo (field 11) {value}: the start date {value[:8]} is after the end date "
                          f"{value[8:]}")


@rule(DEC, code="prc-no-crossing")
def no_actual_crossing(root, ctx):
    """Transport modes 0 1 7 8 H T W X Y Z move goods between regimes inside the PRC (spec/prc.md field 9,
    §4.1): then 运输工具名称 (10) and 提运单号 (11) are not filled, 运抵国/启运国 (20) is 中国 (CHN), and
    成交方式 (27) is CIF (1) on import and FOB (3) on export (codes per prc_transaction_mode). Mode 9 is also
    used for real crossings, so it is not checked."""
    v = view(root, ctx)
    mode_el, mode = v.get("TrafMode")
    if mode not in _NO_CROSSING or len(mode) != 1:
        return
    why = f"运输方式 TrafMode {mode} means no actual import/export"
    for element, zh, field in (("TrafName", "运输工具名称", 10), ("BillNo", "提运单号", 11)):
        el, value = v.get(element)
        if value:
            yield Finding(el, f"{zh} {element} (field {field}) must be empty: {why}")
    el, value = v.get("TradeCountry")
    if value and value != "CHN":
        yield Finding(el, f"启运国/运抵国 TradeCountry (field 20) must be CHN (中国), not {value}: {why}")
    direction = v.get("IEFlag")[1]
    el, value = v.get("TransMode")
    want = {"I": "1", "E": "3"}.get(direction)
    if want and value and value != want:
        yield Finding(el, f"成交方式 TransMode (field 27) must be {want} ({'CIF' if want == '1' else 'FOB'}) on "
                          f"{'import' if direction == 'I' else 'export'}, not {value}: {why}")


# --------------------------------------------------------------------------------------------------------------
# notes (field 32): temporary import/export, culture media, marks
# --------------------------------------------------------------------------------------------------------------
_TEMP_CATEGORY = re.compile(r"暂[进出][一二三四五六七八九十]+")
_RETURN_DATE = re.compile(r"([0-9]{8})前复运[进出]境")


@rule(DEC, code="prc-temporary-notes")
def temporary_notes(root, ctx):
    """Supervision modes 2600 (暂时进出货物) and 2700 (展览品): 备注 NoteS gives the temporary category (暂进六,
    暂出九, ...) and the return deadline (YYYYMMDD前复运进境 / 前复运出境), '/'-separated
    (spec/prc.md field 32 rule 10, §4.8)."""
    v = view(root, ctx)
    mode = v.get("TradeMode")[1]
    if mode not in ("2600", "2700"):
        return
    el, notes = v.get("NoteS")
    compact = notes.replace(" ", "")
    missing = []
    if not _TEMP_CATEGORY.search(compact):
        missing.append("the temporary category (e.g. 暂进六 / 暂出九)")
    if not _RETURN_DATE.search(compact):
        missing.append("the return deadline (e.g. 20250815前复运出境)")
    if missing:
        yield Finding(el if el is not None else v.head_el,
                      f"备注 NoteS (field 32) must give {' and '.join(missing)} for 监管方式 TradeMode {mode}")


def _add_months(ymd: tuple[int, int, int], months: int) -> tuple[int, int, int]:
    y, m, d = ymd
    m += months
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return y, m, min(d, calendar.monthrange(y, m)[1])


@rule(DEC, code="prc-temporary-return-date")
def temporary_return_date(root, ctx):
    """The return deadline of temporary import/export (2600/2700) must be a real date within 6 months of the
    import/export date (spec/prc.md field 32 rule 10.2, V09). Without 进出口日期 only the date itself is checked."""
    v = view(root, ctx)
    if v.get("TradeMode")[1] not in ("2600", "2700"):
        return
    el, notes = v.get("NoteS")
    m = _RETURN_DATE.search(notes.replace(" ", ""))
    if not m:
        return   # prc-temporary-notes reports it
    deadline = parse_date(m.group(1))
    if deadline is None:
        yield Finding(el, f"备注 NoteS (field 32): the return deadline {m.group(1)} is not a calendar date")
        return
    ie = parse_date(v.get("IEDate")[1])
    if ie is None:
        return
    limit = _add_months(ie, 6)
    if deadline < ie or deadline > limit:
        yield Finding(el, f"备注 NoteS (field 32): the return deadline {m.group(1)} must lie within 6 months "
                          f"after 进出口日期 IEDate {v.get('IEDate')[1]} (at the latest "
                          f"{limit[0]:04d}{limit[1]:02d}{limit[2]:02d})")


_CULTURE_HS = frozenset({"3821000000", "3002300000"})
_CULTURE_NOTES = ("培养基", "化学试剂", "不含动物源性")


@rule(DEC, code="prc-hs-note-required")
def culture_medium_note(root, ctx):
    """Goods of HS 3821000000 or 3002300000: 备注 states 培养基 (culture medium), 化学试剂 (chemical reagent)
    or 不含动物源性 (no animal-origin components) (spec/prc.md field 32 rule 24, V67)."""
    v = view(root, ctx)
    tag = NS + "CodeTS"
    codes = [v.item_el(n, tag) for n, item in enumerate(v.items)
             if (item.get(tag) or "").strip() in _CULTURE_HS]
    if not codes:
        return
    notes = v.get("NoteS")[1].replace(" ", "")
    if not any(n in notes for n in _CULTURE_NOTES):
        yield Finding(codes[0], f"商品编号 CodeTS {text(codes[0])} needs 备注 NoteS (field 32) to state 培养基, "
                                f"化学试剂 or 不含动物源性")


@rule(DEC, code="prc-marks-missing")
def marks_present(root, ctx):
    """标记唛码 MarkNo (field 32): the marks, or N/M when the goods carry none (spec/prc.md field 32 rule 1)."""
    v = view(root, ctx)
    el, value = v.get("MarkNo")
    head = v.head_el
    if head is not None and not value:
        yield Finding(el if el is not None else head,
                      "标记唛码 MarkNo (field 32) is empty; write N/M when the goods carry no marks")


# --------------------------------------------------------------------------------------------------------------
# parties (fields 3, 8, 13, 48)
# --------------------------------------------------------------------------------------------------------------
_PARTIES = (("TradeName", ("TradeCoScc", "TradeCodeScc", "TradeCode"), "境内收发货人", 3),
            ("OwnerName", ("OwnerCodeScc", "OwnerCode"), "消费使用单位/生产销售单位", 13),
            ("AgentName", ("AgentCodeScc", "AgentCode"), "申报单位", 48))


@rule(DEC, code="prc-party-code")
def party_codes(root, ctx):
    """境内收发货人 (3), 消费使用/生产销售单位 (13) and 申报单位 (48) carry a code with their name: the 18-character
    USCC, or the customs code when there is none (13 may be NO) (spec/prc.md fields 3, 13, 48)."""
    v = view(root, ctx)
    head = v.head_el
    if head is None:
        return
    for name_el, code_els, zh, field in _PARTIES:
        name = v.get(name_el)[1]
        if name and not any(v.get(c)[1] for c in code_els):
            yield Finding(v.head.get(NS + name_el), f"{zh} (field {field}) {name!r} has no code: give "
                                                   f"{code_els[0]} (统一社会信用代码) or {code_els[-1]}")


@rule(DEC, code="prc-overseas-party")
def overseas_party(root, ctx):
    """境外收发货人 (field 8): the overseas consignor on import (OverseasConsignor*), the overseas consignee on
    export (OverseasConsignee*), named in English (or in Chinese), or NO when there is none."""
    v = view(root, ctx)
    direction = v.get("IEFlag")[1]
    head = v.head_el
    if head is None or direction not in ("I", "E"):
        return
    if direction == "I":
        names, zh = ("OverseasConsignorEname", "OverseasConsignorCname"), "境外发货人"
    else:
        names, zh = ("OverseasConsigneeEname",), "境外收货人"
    if not any(v.get(n)[1] for n in names):
        yield Finding(head, f"{zh} {names[0]} (field 8) is missing: give the {'consignor' if direction == 'I' else 'consignee'}'s "
                            f"English name, or NO when there is none")


# --------------------------------------------------------------------------------------------------------------
# valuation confirmations (fields 44-46) and import-only fields
# --------------------------------------------------------------------------------------------------------------
@rule(DEC, code="prc-promise-items")
def promise_items(root, ctx):
    """承诺事项 PromiseItmes: one digit each for 特殊关系确认 (44), 价格影响确认 (45), 支付特许权使用费确认 (46):
    1 是, 0 否, 9 not filled (prc_promise_flag, realformats §1.3). On export the three are not filled, so the
    value is 999 (spec/prc.md fields 44-46)."""
    v = view(root, ctx)
    el, value = v.get("PromiseItmes")
    if len(value) != 3:
        return
    table = ctx.codes["prc_promise_flag"]
    bad = [c for c in value if c not in table]
    if bad:
        yield Finding(el, f"承诺事项 PromiseItmes (fields 44-46) {value}: each digit is 1 (是), 0 (否) or 9 (not "
                          f"filled); {bad[0]} is not")
    elif v.get("IEFlag")[1] == "E" and value != "999":
        yield Finding(el, f"承诺事项 PromiseItmes (fields 44-46) {value}: on export 特殊关系确认, 价格影响确认 and "
                          f"支付特许权使用费确认 are not filled; write 999")


@rule(DEC, code="prc-import-only-field")
def import_only_fields(root, ctx):
    """启运港 DespPortCode (field 17) is filled only on import (spec/prc.md field 17, §4.5)."""
    v = view(root, ctx)
    if v.get("IEFlag")[1] != "E":
        return
    el, value = v.get("DespPortCode")
    if value:
        yield Finding(el, f"启运港 DespPortCode (field 17) {value} is filled on an export declaration; it is "
                          f"an import-only field")


_NO_DEST_CODE = etree.XPath("d:DecLists/d:DecList[not(normalize-space(d:DestCode))]",
                            namespaces={"d": NS[1:-1]})


@rule(DEC, code="prc-import-dest-code")
def import_dest_code(root, ctx):
    """On import, 境内目的地 (field 42) gives besides the domestic region the county-level administrative
    division, DestCode (spec/prc.md field 42, V26)."""
    v = view(root, ctx)
    if v.get("IEFlag")[1] != "I":
        return
    for item in _NO_DEST_CODE(root):
        yield Finding(item, f"境内目的地 of 项号 {text(item.find(NS + 'GNo'))} (field 42): on import the "
                            f"administrative division DestCode (目的地代码, county level) is required")


@rule(DEC, code="prc-processing-duty-mode")
def processing_duty_mode(root, ctx):
    """Processing trade (supervision modes marked processing_trade in prc_supervision_mode): where the manual
    says deposit (保金/保证金) or letter of guarantee (保函), 征免 is written as 全免 (spec/prc.md field 43, V80);
    the levy methods concerned and the code written instead are the processing_trade_as column of
    prc_levy_method."""
    v = view(root, ctx)
    mode = ctx.codes["prc_supervision_mode"].get(v.get("TradeMode")[1])
    if not mode or mode.get("processing_trade") != "yes":
        return
    methods = ctx.codes["prc_levy_method"]
    for el in root.iterfind(f"{LISTS}/{LIST}/{NS}DutyMode"):
        instead = (methods.get(text(el)) or {}).get("processing_trade_as")
        if instead:
            yield Finding(el, f"征免 DutyMode (field 43) {text(el)} ({methods[text(el)]['label']}) on a processing-"
                              f"trade declaration: write {instead} ({methods[instead]['label']}) instead")


# --------------------------------------------------------------------------------------------------------------
# codes that need two tables (country) and the origin proof (field 31)
# --------------------------------------------------------------------------------------------------------------
_HEAD_COUNTRIES = (("TradeCountry", "启运国/运抵国", 20), ("TradeAreaCode", "贸易国", 19))
_ITEM_COUNTRIES = ((NS + "OriginCountry", "原产国", 40), (NS + "DestinationCountry", "最终目的国", 41))


@rule(DEC, code="prc-country-code")
def country_codes(root, ctx):
    """Country (region) codes (fields 19, 20, 40, 41) are ISO 3166-1 alpha-3 or one of the customs-specific
    codes seen in real code tables (prc_country_extra; spec/realformats.md §1.9). Reported as code-unknown,
    like the code_fields of formats.toml."""
    v = view(root, ctx)
    iso, extra = ctx.codes["iso3166_alpha3"], ctx.codes["prc_country_extra"]
    for name, zh, field in _HEAD_COUNTRIES:
        value = v.get(name)[1]
        if value not in iso and _unknown_country(value, extra):
            yield _country_finding(v.head.get(NS + name), value, zh, field)
    for n, item in enumerate(v.items):
        for tag, zh, field in _ITEM_COUNTRIES:
            value = item.get(tag)
            if value is None or value in iso:    # the usual case: a listed code, written without blanks
                continue
            value = value.strip()
            if value not in iso and _unknown_country(value, extra):
                yield _country_finding(v.item_el(n, tag), value, zh, field)


def _unknown_country(value: str, extra) -> bool:
    """Not in prc_country_extra either, and three capital letters (anything else is the XSD's to report)."""
    return value not in extra and len(value) == 3 and value.isalpha() and value.isupper()


def _country_finding(el, value: str, zh: str, field: int) -> Finding:
    return Finding(el, f"{el.tag[len(NS):]}: {value!r} is not in code table iso3166_alpha3 or "
                       f"prc_country_extra ({zh}, field {field})", code="code-unknown")


_ORIGIN_PROOF = re.compile(r"[<(]?([0-9]{2})[>)]?([CD])?([0-9A-Za-z\-/]+)")


@rule(DEC, code="prc-origin-proof")
def origin_proof(root, ctx):
    """随附单证 code Y (field 31, preferential origin): the number is the trade-agreement code (01-20 of
    prc_trade_agreement, in the sources' brackets or none) followed by C or D and the certificate / declaration
    number, the number alone, or XJE00000 for low-value goods; one origin proof per declaration
    (spec/prc.md field 31 rules 2-6, V59)."""
    proofs = [d for docus in root.iterchildren(NS + "DecLicenseDocus")
              for d in docus.iterchildren(NS + "LicenseDocu") if text(child(d, NS + "DocuCode")) == "Y"]
    agreements = ctx.codes["prc_trade_agreement"]
    for n, doc in enumerate(proofs):
        el = doc.find(NS + "CertCode")
        value = text(el)
        if n == 1:
            yield Finding(doc, "随附单证 (field 31): only one origin proof (code Y) per declaration")
        m = _ORIGIN_PROOF.fullmatch(value)
        if not m:
            yield Finding(el if el is not None else doc,
                          f"随附单证编号 CertCode {value!r} for code Y must be the trade-agreement code followed by "
                          f"C/D and the origin-proof number, or by XJE00000")
        elif m.group(1) not in agreements:
            yield Finding(el, f"随附单证编号 CertCode {value!r}: {m.group(1)} is not a trade-agreement code "
                              f"(prc_trade_agreement)")


# --------------------------------------------------------------------------------------------------------------
# the screen: the conditions of the rules above, in C
# --------------------------------------------------------------------------------------------------------------
@screen(DEC)
def prc_screen(codes) -> Screen | None:
    """The C screen (translator/rules/_prcscreen.c) of the DecMessage rules it lists in its COVERS, made with
    this validator's code tables; None when the extension is not built or was built for another lxml (it reads
    lxml's element structs), in which case every rule runs in Python."""
    try:
        from . import _prcscreen     # ImportError too when built for another lxml
    except ImportError:
        return None
    covers = frozenset(_prcscreen.COVERS)
    unknown = covers - {r.code for r in RULES[DEC]}
    if unknown:
        raise RuntimeError(f"the PRC screen covers rules that do not exist: {sorted(unknown)}")
    clear = _prcscreen.Screen(
        countries=[*codes["iso3166_alpha3"], *codes["prc_country_extra"]],
        promise=list(codes["prc_promise_flag"]),
        agreements=list(codes["prc_trade_agreement"]),
        processing_modes=[c for c, row in codes["prc_supervision_mode"].items() if row.get("processing_trade") == "yes"],
        levy_as=[c for c, row in codes["prc_levy_method"].items() if row.get("processing_trade_as")])
    return Screen(clear, covers)


# --------------------------------------------------------------------------------------------------------------
# the e-Port's import response
# --------------------------------------------------------------------------------------------------------------
@rule("prc:DecImportResponse", code="prc-response-error-message")
def response_error_message(root, ctx):
    """A failed import (ResponseCode other than 0) carries its reason in ErrorMessage (realformats §1.7)."""
    code_el = root.find(NS + "ResponseCode")
    code = text(code_el)
    if code and code != "0" and not text(root.find(NS + "ErrorMessage")):
        yield Finding(code_el, f"回执代码 ResponseCode {code} reports a failure but ErrorMessage (错误信息) is empty")
