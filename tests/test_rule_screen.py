"""Differential tests of the PRC rule screen (translator.rules._prcscreen, a C extension).

The screen walks the parsed tree and answers "clear" (no rule it covers can report anything, error or warning)
or "suspect" (run the Python rules). The Python rules stay the only source of the report, so the one thing that
must never happen is: the screen says clear while a covered Python rule would report something. These tests
compare the report of the accelerated validator with that of the plain one, on every PRC sample and on a few
thousand mutated declarations, and check that the clear path is really taken (valid samples are clear) and that
the invalid samples of the covered rules are not.

A mismatch is a screen bug: the assertion message gives the mutations, the document and both reports.
"""
from __future__ import annotations

import copy
import json
import os
import random
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import pytest
from lxml import etree

pytest.importorskip(
    "translator.rules._prcscreen",
    reason="the PRC rule screen (C extension translator/rules/_prcscreen.c) is not built on this machine; "
           "the Python rules alone are tested elsewhere")

from translator.parsing import parse  # noqa: E402
from translator.rules import RuleContext, rules_for  # noqa: E402
from translator.validate import Validator  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "prc"
ALL_SAMPLES = sorted(SAMPLES.rglob("*.xml"))
INVALID = sorted((SAMPLES / "invalid").glob("*.xml"))
DEC = "prc:DecMessage"
D = "http://www.chinaport.gov.cn/dec"
NS = "{" + D + "}"


# -- the two validators, made once (each compiles every schema) -------------------------------------------------
@pytest.fixture(scope="module")
def fast():
    return Validator()


@pytest.fixture(scope="module")
def slow():
    return Validator(accelerate=False)


@pytest.fixture(scope="module")
def screen(fast):
    assert DEC in fast.screens, "the extension is importable, so Validator() must carry a screen for prc:DecMessage"
    return fast.screens[DEC]


def covered_findings(validator, screen, root, type_id: str = DEC) -> dict[str, int]:
    """rule code -> number of findings, of the rules the screen covers, run directly in Python on `root` (a rule
    that raises counts as a finding: the validator reports it as rule-failed)."""
    mt = validator.registry.types[type_id]
    ctx = RuleContext(mt.namespaces, validator.codes, mt)
    out = {}
    for r in rules_for(type_id):
        if r.code not in screen.covers:
            continue
        try:
            n = sum(1 for _ in r.func(root, ctx) or ())
        except Exception:  # noqa: BLE001
            n = 1
        if n:
            out[r.code] = n
    return out


# -- 1. every sample: the same report with and without the screen -----------------------------------------------
@pytest.mark.parametrize("path", ALL_SAMPLES, ids=lambda p: str(p.relative_to(SAMPLES)))
def test_sample_reports_identical(fast, slow, path):
    data = path.read_bytes()
    with_screen, _ = fast.validate_bytes(data)
    without, _ = slow.validate_bytes(data)
    assert with_screen.to_dict() == without.to_dict()


def test_screen_covers_only_real_rules(screen):
    codes = {r.code for r in rules_for(DEC)}
    assert screen.covers, "a screen that covers no rule skips nothing"
    assert set(screen.covers) <= codes, f"covers names no rule of {DEC}: {sorted(set(screen.covers) - codes)}"


def test_no_screens_without_acceleration(slow):
    assert slow.screens == {}


# -- 2. the valid declarations take the fast path ---------------------------------------------------------------
VALID_DEC = [p for p in sorted(SAMPLES.glob("*.xml"))
             if etree.QName(etree.parse(str(p)).getroot()).localname == "DecMessage"]


def test_there_are_valid_declarations():
    assert len(VALID_DEC) >= 4


@pytest.mark.parametrize("path", VALID_DEC, ids=lambda p: p.name)
def test_valid_declaration_is_clear(fast, screen, path):
    tree = parse(path.read_bytes())
    assert fast.registry.types[DEC].schema.validate(tree.getroot())
    assert screen.clear(tree.getroot()) is True


# -- 3. the invalid samples of the covered rules are suspect ----------------------------------------------------
def test_invalid_samples_are_not_clear(fast):
    """Every invalid sample the screen is asked about (XSD valid, a screened message type) on which a covered
    rule reports something is screened not clear; the sample of each covered rule reaches the screen. One test
    over all samples, since most invalid samples fail in the XSD and the screen is never asked about them."""
    asked = 0
    for path in INVALID:
        root = parse(path.read_bytes()).getroot()
        mt = fast.registry.detect(root)
        screen = fast.screens.get(mt.id) if mt is not None else None
        if screen is None:
            continue
        named_code = path.stem.split("__")[0]
        xsd_valid = mt.schema.validate(root)
        found = covered_findings(fast, screen, root, mt.id) if xsd_valid else {}
        if named_code in screen.covers:
            # a covered rule's own sample must reach the screen: XSD valid, and the rule reports on it
            assert xsd_valid, f"{path.name} should fail only by its rule, not by the XSD"
            assert named_code in found, f"rule {named_code} reports nothing on its own sample {path.name}"
        if found:
            asked += 1
            assert screen.clear(root) is False, f"{path.name} screened clear, but covered rules report {found}"
    # one sample per covered rule at least (some rules have several)
    assert asked >= len(fast.screens[DEC].covers)


# -- 4. mutations -----------------------------------------------------------------------------------------------
HEAD_FIELDS = (
    "PreEntryId EntryId IEFlag CustomMaster IEDate DDate DespDate CmplDschrgDt TrafMode TrafName BillNo GrossWet "
    "NetWt FeeMark FeeRate FeeCurr InsurMark InsurRate InsurCurr OtherMark OtherRate OtherCurr TradeCountry "
    "TradeAreaCode TransMode TradeMode NoteS MarkNo TradeName TradeCoScc TradeCodeScc TradeCode OwnerName "
    "OwnerCodeScc OwnerCode AgentName AgentCodeScc AgentCode OverseasConsignorEname OverseasConsignorCname "
    "OverseasConsigneeEname PromiseItmes DespPortCode").split()
ITEM_FIELDS = ("GNo CodeTS DeclPrice DeclTotal GQty GUnit FirstQty FirstUnit SecondQty SecondUnit ProdValidDt "
               "OriginCountry DestinationCountry DestCode DutyMode").split()
CONTAINER_FIELDS = ("GoodsNo", "GoodsContaWt", "ContainerWt")
LICENCE_FIELDS = ("DocuCode", "CertCode")

# blanks Python's str.strip() removes (ASCII and Unicode), and one it does not (zero-width space)
SPACES = (" ", "  ", "\t", "\n", "\r\n", "\u3000", "\u00a0", "\u2003", "\u202f", "\x85", "\u200b")
# other scripts' digits (str.isdigit() is true for all of them, int() fails on the superscript)
UNICODE_DIGITS = ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "๐๑๒๓๔๕๖๗๘๙", "⁰¹²³⁴⁵⁶⁷⁸⁹")
NUMBERS = ("", "0", "0.0", "00", "000.000", "0.000001", "1", "1.0", "01", "0.999", "0.5", "1.000001", "2", "10",
           "1e3", "1_000", "-1", "-0", "1.", ".5", "999999999999999", "999999999999999.999999", "NaN", "inf",
           "１", "٣")
DATES = ("", "20241015", "20241016", "20240229", "20230229", "20240230", "20241301", "20241000", "00000000",
         "2024-02-29", "2023-02-29", "2024-10-16", "2024-13-01", "2024/10/16", "2024-1016", "２０２４１０１５",
         "2024101", "202410150", "19991231", "21000101")
COUNTRIES = ("CHN", "ITA", "USA", "PRY", "HKG", "ZZZ", "ZAS", "TUB", "CAI", "XXX", "QQQ", "chn", "Chn", "CH", "CHNA",
             "", "ＣＨＮ")
CURRENCIES = ("", "USD", "CNY", "EUR", "XXX", "usd", "US")
TRAF_MODES = tuple("0123456789GHLTWXYZ") + ("h", "", "22")
TRADE_MODES = ("0110", "0214", "0615", "0715", "2600", "2700", "4561", "9610", "1234", "ABCD", "0110 ")
UNITS = ("035", "036", "070", "007", "011", "001", "999", "35", "")
HS = ("3821000000", "3002300000", "8419810000", "0000000000", "382100000", "38210000001")
DUTY_MODES = ("1", "3", "6", "7", "8", " 6", "7\u3000", "\u00a06", "2", "")
NOTES = ("", "暂进六/20250315前复运进境", "暂出九/20250115前复运出境", "暂进六/20250231前复运进境",
         "暂进六 / 2025 0315前复运进境", "暂\u3000进六/20250315前复运进境", "暂进/20250315前复运进境",
         "暂进六/20260315前复运进境", "暂进六/20241001前复运进境", "暂进六", "20250315前复运进境", "培养基",
         "化学试剂", "不含动物源性", "培 养 基", "培\u3000养基", "展览品", "N/M")
BILLS = ("", "MEDUQ4123987", "A,B", "A;B", "A B", "A\u3000B", "A、B", "A，B", "A*B", "A*B*C", "A_B", "A_B_C",
         "A*B_C", " A*B ", "2024010120240131", "2024013120240101", "2024023020240301", "202401012024013",
         "20240101-20240131")
TRAF_NAMES = ("", "MSC GULSUN", "@", "@1234567890123456", "@1234567890123", "@123", "@ ", "@12345678901234567",
              "@１２３４５６７８９０１２３", " @", "＠")
CERTS = ("", "<01>C123456", "(20)D5", "01C1", "XJE00000", "<02>XJE00000", "99C123", "<21>C1", "01X", "<01>",
         "  <03>C1 ", "<01>C1 2", "<01>C1\u3000", "（01）C1", "<０1>C1")
GOODS_NOS = ("", "1", "01", "1,2", "1, 2", "2,1", "99", "0", "1,,2", "1,", ",1", " 1", "1 ", "1\u3000", "１",
             "1,2,3,4,5", "+1", "-1", "1.0")
PROMISES = ("", "000", "999", "012", "190", "909", "99", "9999", "555", "100")
NUMBER18_FLAGS = ("0", "1", "I", "E", "X", "i")


def pad(rnd: random.Random, value: str) -> str:
    where = rnd.randrange(3)
    space = rnd.choice(SPACES)
    return (space if where != 1 else "") + value + (space if where != 0 else "")


def decimal_or_none(value: str | None):
    try:
        d = Decimal((value or "").strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def fmt(d: Decimal) -> str:
    s = format(d, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


class Mutator:
    """Random edits of one parsed declaration. `raw` maps placeholder strings (put into text) to markup that
    replaces them after serialisation: comments, processing instructions, CDATA inside a leaf."""

    def __init__(self, rnd: random.Random, root: etree._Element):
        self.rnd = rnd
        self.root = root
        self.raw: dict[str, str] = {}
        self.log: list[str] = []

    # -- finding things -----------------------------------------------------------------------------------------
    def head(self):
        return self.root.find(NS + "DecHead")

    def items(self):
        return self.root.findall(f"{NS}DecLists/{NS}DecList")

    def leaves(self):
        return [el for el in self.root.iter() if isinstance(el.tag, str) and len(el) == 0 and el is not self.root]

    def head_text(self, name: str) -> str:
        head = self.head()
        return (head.findtext(NS + name) or "") if head is not None else ""

    def ensure(self, parent, name: str):
        el = parent.find(NS + name)
        if el is None:
            el = etree.SubElement(parent, NS + name)
        return el

    def placeholder(self, markup: str) -> str:
        key = f"\ue000{len(self.raw)}\ue001"
        self.raw[key] = markup
        return key

    # -- values ---------------------------------------------------------------------------------------------------
    def other_values(self, name: str) -> list[str]:
        return [el.text or "" for el in self.root.iter(NS + name)]

    def value_for(self, name: str, el) -> str:
        rnd, old = self.rnd, (el.text or "") if el is not None else ""
        if rnd.random() < 0.15:
            return rnd.choice(["", pad(rnd, old), old.lower(), old[:-1], old + old[-1:], rnd.choice(SPACES),
                               rnd.choice(self.other_values(name) or [""]), self.foreign_digits(old)])
        if name in ("PreEntryId", "EntryId"):
            return self.number18(name, old)
        if name in ("IEDate", "DDate", "DespDate", "CmplDschrgDt", "ProdValidDt"):
            others = [self.head_text(n) for n in ("IEDate", "DDate")]
            return rnd.choice(DATES + tuple(others) + tuple(self.shift_date(o) for o in others))
        if name in ("GrossWet", "NetWt"):
            return self.weight(name)
        if name in ("DeclTotal", "DeclPrice", "GQty"):
            return self.price_line(name, el)
        if name in ("FeeRate", "InsurRate", "OtherRate", "FirstQty", "SecondQty", "GoodsContaWt", "ContainerWt"):
            pool = NUMBERS + tuple(self.other_values("ContainerWt") + self.other_values("GoodsContaWt"))
            return rnd.choice(pool)
        if name in ("FeeMark", "InsurMark", "OtherMark"):
            return rnd.choice(("", "1", "2", "3", "4", " 1"))
        if name.endswith("Curr"):
            return rnd.choice(CURRENCIES)
        if name in ("TradeCountry", "TradeAreaCode", "OriginCountry", "DestinationCountry"):
            return rnd.choice(COUNTRIES)
        if name == "IEFlag":
            return rnd.choice(("I", "E", "i", "", "X"))
        if name == "CustomMaster":
            return rnd.choice((self.head_text("PreEntryId")[:4], self.head_text("EntryId")[:4], "2248", "5141",
                               "0000", "224", "22480", "２２４８"))
        if name == "TrafMode":
            return rnd.choice(TRAF_MODES)
        if name == "TransMode":
            return rnd.choice(("1", "2", "3", "4", "7", "8", "", "01"))
        if name == "TradeMode":
            return rnd.choice(TRADE_MODES)
        if name == "NoteS":
            return rnd.choice(NOTES)
        if name == "MarkNo":
            return rnd.choice(("", "N/M", "NM", "\u3000", " ", "\u200b", "唛头 A1"))
        if name == "BillNo":
            return rnd.choice(BILLS)
        if name == "TrafName":
            return rnd.choice(TRAF_NAMES)
        if name.endswith("Name") or name.endswith("name"):
            return rnd.choice(("", "NO", "上海沪咖餐饮管理有限公司", "\u3000", "LA MARZOCCO S.R.L."))
        if name in ("TradeCoScc", "TradeCodeScc", "OwnerCodeScc", "AgentCodeScc", "TradeCode", "OwnerCode",
                    "AgentCode"):
            return rnd.choice(("", "NO", "91310104MA1G8KQ27P", "3122961234", " ", "\u3000"))
        if name == "PromiseItmes":
            return rnd.choice(PROMISES)
        if name == "DespPortCode":
            return rnd.choice(("", "ITA000", "\u3000", "PRY000"))
        if name == "GNo":
            n = len(self.items())
            return rnd.choice(("1", "2", "01", "001", str(n), str(n + 1), "0", "10", old))
        if name == "CodeTS":
            return rnd.choice(HS)
        if name in ("GUnit", "FirstUnit", "SecondUnit"):
            return rnd.choice(UNITS)
        if name == "DestCode":
            return rnd.choice(("", "310115", "440300", "31011", "\u3000"))
        if name == "DutyMode":
            return rnd.choice(DUTY_MODES)
        if name == "GoodsNo":
            return rnd.choice(GOODS_NOS + (str(len(self.items())), str(len(self.items()) + 1)))
        if name == "DocuCode":
            return rnd.choice(("Y", "c", "a", " Y", "Y\u3000", "y", ""))
        if name == "CertCode":
            return rnd.choice(CERTS)
        return rnd.choice(("", "0", "X"))

    def foreign_digits(self, value: str) -> str:
        """`value` with one or all of its ASCII digits written in another script."""
        digits = self.rnd.choice(UNICODE_DIGITS)
        if self.rnd.random() < 0.5:
            return value.translate(str.maketrans("0123456789", digits))
        at = [i for i, c in enumerate(value) if c in "0123456789"]
        if not at:
            return value
        i = self.rnd.choice(at)
        return value[:i] + digits[int(value[i])] + value[i + 1:]

    def number18(self, name: str, old: str) -> str:
        rnd = self.rnd
        base = old if len(old) == 18 else (self.head_text("PreEntryId") or "224820241000123456")
        if len(base) != 18:
            base = "224820241000123456"
        customs, year, flag, serial = base[:4], base[4:8], base[8], base[9:]
        choice = rnd.randrange(9)
        if choice == 0:
            flag = rnd.choice(NUMBER18_FLAGS)
        elif choice == 1:
            customs = rnd.choice((self.head_text("CustomMaster") or customs, "5141", "0000", "２２４８"))
        elif choice == 2:
            year = rnd.choice(("1979", "1980", "2099", "2100", "２０２４", "²024", "20X4"))
        elif choice == 3:
            serial = rnd.choice(("00012345X", "000123456", "٣٣٣٣٣٣٣٣٣", "ABCDEFGHI"))
        elif choice == 4:
            return rnd.choice(("", base[:17], base + "0", base[:-1] + " ", " " + base[1:]))
        elif choice == 5:
            return self.head_text("PreEntryId" if name == "EntryId" else "EntryId")
        elif choice == 6:
            flag = {"I": "1", "E": "0"}.get(self.head_text("IEFlag"), flag)
        return customs + year + flag + serial

    def shift_date(self, value: str) -> str:
        if len(value) != 8 or not value.isascii() or not value.isdigit():
            return value
        return value[:6] + f"{(int(value[6:]) % 28) + self.rnd.choice((-1, 1)):02d}"

    def weight(self, name: str) -> str:
        rnd = self.rnd
        other = self.head_text("NetWt" if name == "GrossWet" else "GrossWet")
        d = decimal_or_none(other)
        pool = list(NUMBERS)
        if d is not None:
            pool += [other, fmt(d + Decimal("0.001")), fmt(d - Decimal("0.001")) if d >= 1 else "0.999",
                     fmt(d) + ".0", fmt(d + 1), fmt(max(d - 1, Decimal(0)))]
        if name == "GrossWet":
            total = self.line_weight()
            if total is not None:
                pool += [fmt(total), fmt(total - Decimal("0.001")) if total >= 1 else "0",
                         fmt(total + Decimal("0.001")), fmt(total.quantize(Decimal(1), ROUND_HALF_UP))]
        return rnd.choice(pool)

    def line_weight(self):
        """The goods lines' weight in kg as rule prc-items-net-gt-gross adds it up (first weight unit per line)."""
        factor = {"035": Decimal(1), "036": Decimal("0.001"), "070": Decimal(1000)}
        total = Decimal(0)
        for item in self.items():
            for q, u in (("FirstQty", "FirstUnit"), ("SecondQty", "SecondUnit"), ("GQty", "GUnit")):
                unit = (item.findtext(NS + u) or "").strip()
                if unit in factor:
                    qty = decimal_or_none(item.findtext(NS + q))
                    if qty is None:
                        return None
                    total += qty * factor[unit]
                    break
        return total

    def price_line(self, name: str, el) -> str:
        """Price, quantity or total near the product of the other two, off by rounding units."""
        rnd = self.rnd
        item = el.getparent() if el is not None else None
        if item is None or item.tag != NS + "DecList":
            return rnd.choice(NUMBERS)
        price = decimal_or_none(item.findtext(NS + "DeclPrice"))
        qty = decimal_or_none(item.findtext(NS + "GQty"))
        if price is None or qty is None or rnd.random() < 0.15:
            return rnd.choice(NUMBERS)
        if name == "DeclPrice":
            places = rnd.choice((0, 1, 2, 3, 4))
            return fmt(price.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)) + rnd.choice(("", "", "0"))
        if name == "GQty":
            return rnd.choice(("0", "0.0", "1", fmt(qty * 10), fmt(qty + 1), fmt(qty) + ".000"))
        exact = price * qty
        places = rnd.choice((0, 1, 2, 3, 4, 5))
        unit = Decimal(1).scaleb(-places)
        off = Decimal(rnd.choice(("0", "0", "0.5", "-0.5", "1", "-1", "0.4", "-0.4", "0.6", "2")))
        total = exact.quantize(unit, ROUND_HALF_UP) + unit * off
        return format(max(total, Decimal(0)).quantize(unit * Decimal("0.1")), "f")

    # -- mutations ------------------------------------------------------------------------------------------------
    def set_field(self):
        rnd = self.rnd
        kind = rnd.choices(("head", "item", "container", "licence"), weights=(50, 30, 12, 8))[0]
        if kind == "head":
            name, parent = rnd.choice(HEAD_FIELDS), self.head()
        elif kind == "item":
            name, parent = rnd.choice(ITEM_FIELDS), rnd.choice(self.items() or [None])
        elif kind == "container":
            name = rnd.choice(CONTAINER_FIELDS)
            parent = rnd.choice(self.root.findall(f"{NS}DecContainers/{NS}Container") or [None])
            if parent is None:
                parent = self.add_container()
        else:
            name = rnd.choice(LICENCE_FIELDS)
            parent = rnd.choice(self.root.findall(f"{NS}DecLicenseDocus/{NS}LicenseDocu") or [None])
            if parent is None:
                parent = self.add_licence()
        if parent is None:
            return
        el = parent.find(NS + name)
        value = self.value_for(name, el)
        if el is None:
            el = self.ensure(parent, name)
        el.text = value
        self.log.append(f"{etree.QName(parent).localname}/{name} = {value!r}")

    def add_container(self):
        group = self.root.find(NS + "DecContainers")
        if group is None:
            group = etree.SubElement(self.root, NS + "DecContainers")
        c = etree.SubElement(group, NS + "Container")
        for name, value in (("ContainerId", "MSCU1234567"), ("ContainerMd", "22"), ("GoodsNo", "1"),
                            ("LclFlag", "0"), ("GoodsContaWt", "2500"), ("ContainerWt", "2200")):
            etree.SubElement(c, NS + name).text = value
        self.log.append("added a Container")
        return c

    def add_licence(self):
        group = self.root.find(NS + "DecLicenseDocus")
        if group is None:
            group = etree.SubElement(self.root, NS + "DecLicenseDocus")
        d = etree.SubElement(group, NS + "LicenseDocu")
        etree.SubElement(d, NS + "DocuCode").text = "Y"
        etree.SubElement(d, NS + "CertCode").text = self.rnd.choice(CERTS)
        self.log.append(f"added LicenseDocu Y {d[1].text!r}")
        return d

    def duplicate(self):
        rnd = self.rnd
        pool = [el for el in self.root.iter() if isinstance(el.tag, str) and el is not self.root]
        weights = [8 if el.tag in (NS + "DecList", NS + "Container", NS + "LicenseDocu") or el.getparent() is
                   self.root else 1 for el in pool]
        el = rnd.choices(pool, weights=weights)[0]
        el.addnext(copy.deepcopy(el))
        self.log.append(f"duplicated {self.where(el)}")

    def delete(self):
        rnd = self.rnd
        pool = [el for el in self.root.iter() if isinstance(el.tag, str) and el is not self.root]
        el = rnd.choice(pool)
        el.getparent().remove(el)
        self.log.append(f"deleted {self.where(el)}")

    def reorder(self):
        rnd = self.rnd
        parent = rnd.choice([self.root, self.root.find(NS + "DecLists"), self.head(),
                             rnd.choice(self.items() or [None])])
        if parent is None or len(parent) < 2:
            return
        children = list(parent)
        rnd.shuffle(children)
        parent[:] = children
        self.log.append(f"shuffled the children of {etree.QName(parent).localname}")

    def second_group(self):
        rnd = self.rnd
        name = rnd.choice(("DecHead", "DecContainers", "DecLists", "DecLicenseDocus", "DecSign"))
        el = self.root.find(NS + name)
        new = copy.deepcopy(el) if el is not None else etree.Element(NS + name)
        self.root.insert(rnd.randrange(len(self.root) + 1), new)
        self.log.append(f"added a second {name}")

    def markup_in_leaf(self):
        rnd = self.rnd
        named = [el for el in self.leaves() if etree.QName(el).localname in
                 set(HEAD_FIELDS) | set(ITEM_FIELDS) | set(CONTAINER_FIELDS) | set(LICENCE_FIELDS)]
        el = rnd.choice(named or self.leaves())
        text = el.text or ""
        cut = rnd.randrange(len(text) + 1)
        markup = rnd.choice(("<!--x-->", "<!---->", "<?pi x?>", "<![CDATA[]]>", "<![CDATA[0]]>", "<![CDATA[ ]]>",
                             "<![CDATA[" + text[cut:] + "]]>", "&#x3000;", "&#32;", "&#49;"))
        if markup.startswith("<![CDATA[") and markup.endswith("]]>") and text[cut:] and text[cut:] in markup:
            el.text = text[:cut] + self.placeholder(markup)
        else:
            el.text = text[:cut] + self.placeholder(markup) + text[cut:]
        self.log.append(f"{self.where(el)}: {markup!r} at {cut} of {text!r}")

    def nest_in_leaf(self):
        el = self.rnd.choice(self.leaves())
        sub = etree.SubElement(el, NS + self.rnd.choice(("GNo", "X", etree.QName(el).localname)))
        sub.text = "1"
        self.log.append(f"nested an element in {self.where(el)}")

    def swap_values(self):
        """Give one goods line's field the value of another line's (or the header's) field."""
        rnd = self.rnd
        items = self.items()
        if len(items) < 2:
            return self.set_field()
        a, b = rnd.sample(items, 2)
        name = rnd.choice(ITEM_FIELDS)
        ea, eb = a.find(NS + name), b.find(NS + name)
        if ea is None or eb is None:
            return
        ea.text, eb.text = eb.text, ea.text
        self.log.append(f"swapped {name} of two goods lines")

    def scenario(self):
        """Several related fields at once, so that rules needing a combination (processing trade, temporary
        import, consolidated or no-crossing declarations, ...) report, or just do not."""
        rnd, head = self.rnd, self.head()
        if head is None:
            return self.set_field()

        def put(name, value, parent=head):
            self.ensure(parent, name).text = value
            self.log.append(f"{etree.QName(parent).localname}/{name} = {value!r}")

        kind = rnd.randrange(16)
        if kind == 0:       # processing trade and the levy method of a goods line
            put("TradeMode", rnd.choice(("0214", "0615", "0715", "0110")))
            for item in rnd.sample(self.items(), min(len(self.items()), rnd.randint(1, 2))):
                put("DutyMode", rnd.choice(DUTY_MODES), item)
        elif kind == 1:     # temporary import / export: notes and return deadline around IEDate
            put("TradeMode", rnd.choice(("2600", "2700", "2700", "0110")))
            ie = self.head_text("IEDate") or "20241020"
            if rnd.random() < 0.3:
                put("IEDate", rnd.choice(("", "20240831", "20240229", ie)))
                ie = self.head_text("IEDate") or ie
            deadline = rnd.choice((self.months_later(ie, 6), self.months_later(ie, 6, +1), self.months_later(ie, 3),
                                   self.months_later(ie, 0, -1), ie, "20250230", "20250431", "2025031"))
            notes = rnd.choice(("暂进六/{d}前复运进境", "暂出九/{d}前复运出境", "暂进十二/{d}前复运进境",
                                "暂 进 六 / {d}前复运进境", "暂\u3000进六/{d}前复运进境", "{d}前复运进境",
                                "暂进六/{d}复运进境", "暂进六/ {d}前复运进境 ", "暂进六/{d}前复运进境/展览品"))
            put("NoteS", notes.format(d=deadline))
        elif kind == 2:     # consolidated declaration: I / E at position 9, BillNo as two dates
            for name in rnd.sample(("PreEntryId", "EntryId"), rnd.randint(1, 2)):
                old = self.head_text(name) or self.head_text("PreEntryId")
                if len(old) == 18:
                    put(name, old[:8] + rnd.choice(("I", "E", "1", "0")) + old[9:])
            put("BillNo", rnd.choice(BILLS[14:] + ("20240101", "2024010120240101", "20240101 20240131",
                                                     "2024-01-012024-01-31", "")))
        elif kind == 3:     # no actual crossing
            put("TrafMode", rnd.choice("0178HTWXYZ9"))
            for name, values in (("TrafName", ("", "", " ", "\u3000", "MSC GULSUN")),
                                 ("BillNo", ("", "", "\u3000", "A1")),
                                 ("TradeCountry", ("CHN", "CHN", "ITA")),
                                 ("TransMode", ("1", "3", "1", "3", "2", "")),
                                 ("IEDate", (self.head_text("DDate"), self.head_text("IEDate"), ""))):
                if rnd.random() < 0.8:
                    put(name, rnd.choice(values))
        elif kind == 4:     # export dates: IEDate before / equal to / after DDate, EntryId there or not
            put("IEFlag", rnd.choice(("E", "E", "I")))
            d = self.head_text("DDate") or "20241105"
            put("DDate", d)
            put("IEDate", rnd.choice((d, self.shift_date(d), "", "2024-11-04", d[:4] + "-" + d[4:6] + "-" + d[6:])))
            put("EntryId", rnd.choice(("", "", self.head_text("PreEntryId"), "\u3000")))
        elif kind == 5:     # a party without code
            name, codes = rnd.choice((("TradeName", ("TradeCoScc", "TradeCodeScc", "TradeCode")),
                                      ("OwnerName", ("OwnerCodeScc", "OwnerCode")),
                                      ("AgentName", ("AgentCodeScc", "AgentCode"))))
            for code in codes:
                if rnd.random() < 0.8:
                    put(code, rnd.choice(("", "", " ", "\u3000", "\u200b", "NO")))
        elif kind == 6:     # import / export switch with what depends on it
            flag = rnd.choice(("I", "E"))
            put("IEFlag", flag)
            for name, values in (("PromiseItmes", ("999", "000", "", "909", "990")),
                                 ("DespPortCode", ("", "ITA000", " ")),
                                 ("OverseasConsignorEname", ("", "NO", " ", "LA MARZOCCO S.R.L.")),
                                 ("OverseasConsigneeEname", ("", "NO", "\u3000", "ACME LTD"))):
                if rnd.random() < 0.5:
                    put(name, rnd.choice(values))
            for item in self.items():
                if rnd.random() < 0.3:
                    put("DestCode", rnd.choice(("", "310115", " ")), item)
        elif kind == 7:     # declaration numbers against IEFlag and CustomMaster
            name = rnd.choice(("PreEntryId", "EntryId"))
            put(name, self.number18(name, self.head_text(name)))
            if rnd.random() < 0.5:
                put("CustomMaster", rnd.choice(("2248", "5141", self.head_text(name)[:4] or "2248")))
        elif kind == 8 and self.items():     # total weight of the goods lines against GrossWet
            item = rnd.choice(self.items())
            unit = rnd.choice(("035", "036", "070"))
            line = rnd.choice((("FirstQty", "FirstUnit"), ("GQty", "GUnit"), ("SecondQty", "SecondUnit")))
            put(line[1], unit, item)
            if line[0] == "SecondQty" and not (item.findtext(NS + "SecondQty") or "").strip():
                put("SecondQty", rnd.choice(("1", "0.5", "1000")), item)
            total = self.line_weight()
            if total is not None:
                put("GrossWet", rnd.choice((fmt(total), fmt(total + Decimal("0.001")),
                                            fmt(total - Decimal("0.001")) if total >= 1 else "1",
                                            fmt(total.quantize(Decimal(1))))))
        elif kind == 9:     # weights around 1 kg, the goods lines counted in other units
            net = rnd.choice(("0.999", "0.5", "1", "1.0", "0", "0.0001", "2"))
            put("NetWt", net)
            put("GrossWet", rnd.choice((net, "1", "0.999", "1.001", "00.9990")))
            for item in self.items():
                for unit in ("FirstUnit", "SecondUnit", "GUnit"):
                    if (item.findtext(NS + unit) or "").strip() in ("035", "036", "070"):
                        put(unit, "007", item)
        elif kind == 10:    # origin proofs
            for _ in range(rnd.randint(1, 2)):
                self.add_licence()
        else:               # one field a single rule reads, with the values around that rule's condition
            name, values = rnd.choice((
                ("TrafName", TRAF_NAMES), ("DespPortCode", ("ITA000", " ", "\u3000", "0", "")),
                ("MarkNo", ("", " ", "\u3000", "\u200b", "N/M")), ("BillNo", BILLS[:14]),
                ("CodeTS", HS), ("DestCode", ("", " ", "310115")), ("ProdValidDt", DATES),
                ("DespDate", DATES), ("CmplDschrgDt", DATES)))
            parent = rnd.choice(self.items() or [None]) if name in ITEM_FIELDS else head
            if parent is not None:
                put(name, rnd.choice(values), parent)

    def months_later(self, ymd: str, months: int, days: int = 0) -> str:
        import calendar
        import datetime as dt
        try:
            y, m, d = int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8])
            m += months
            y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
            day = dt.date(y, m, min(d, calendar.monthrange(y, m)[1])) + dt.timedelta(days=days)
        except ValueError:
            return ymd
        return day.strftime("%Y%m%d")

    def where(self, el) -> str:
        return "/".join(etree.QName(a).localname for a in reversed(list(el.iterancestors()))) + "/" + \
            etree.QName(el).localname

    MUTATIONS = ((set_field, 50), (scenario, 25), (markup_in_leaf, 8), (duplicate, 4), (delete, 5), (reorder, 3),
                 (second_group, 2), (nest_in_leaf, 1), (swap_values, 4))

    def mutate(self, n: int) -> None:
        funcs, weights = zip(*self.MUTATIONS)
        for func in self.rnd.choices(funcs, weights=weights, k=n):
            func(self)

    def serialise(self) -> bytes:
        data = etree.tostring(self.root, xml_declaration=True, encoding="UTF-8")
        if self.rnd.random() < 0.05 and b":" not in data.split(b"?>", 1)[1].replace(b"://", b""):
            # the same document with the namespace on a prefix instead of the default namespace
            data = re.sub(rb"<(/?)(?=[A-Za-z])", rb"<\1d:", data).replace(b"xmlns=", b"xmlns:d=", 1)
            self.log.append("namespace on prefix d:")
        for key, markup in self.raw.items():
            data = data.replace(key.encode(), markup.encode())
        return data


# fixed, so a failure repeats; another seed or more documents for a longer hunt:
# EDIHUB_SCREEN_SEED=7 EDIHUB_SCREEN_DOCS=30000 .venv/bin/pytest tests/test_rule_screen.py -k mutated -s
SEED = int(os.environ.get("EDIHUB_SCREEN_SEED", "20261123"))
DOCUMENTS = int(os.environ.get("EDIHUB_SCREEN_DOCS", "3000"))


def test_mutated_declarations_report_identically(fast, slow, screen):
    bases = [etree.parse(str(p)).getroot() for p in VALID_DEC]
    rnd = random.Random(SEED)
    schema = fast.registry.types[DEC].schema
    counts = {"documents": 0, "refused by the parser": 0, "XSD-invalid": 0, "XSD-valid": 0,
              "XSD-valid, clear": 0, "XSD-valid, suspect": 0, "suspect, a covered rule reports": 0}
    fires: dict[str, int] = {}     # covered rule -> XSD-valid mutants it reports on
    alone: dict[str, int] = {}     # ... as the only covered rule reporting
    mismatches, wrong_clear = [], []
    for _ in range(DOCUMENTS):
        m = Mutator(rnd, copy.deepcopy(rnd.choice(bases)))
        m.mutate(rnd.randint(1, 3))
        data = m.serialise()
        counts["documents"] += 1
        with_screen, tree = fast.validate_bytes(data)
        without, _ = slow.validate_bytes(data)
        a, b = with_screen.to_dict(), without.to_dict()
        if a != b:
            mismatches.append((m.log, data, a, b))
        if tree is None:
            counts["refused by the parser"] += 1
            continue
        root = tree.getroot()
        if not schema.validate(root):
            counts["XSD-invalid"] += 1
            continue
        counts["XSD-valid"] += 1
        found = covered_findings(fast, screen, root)
        for code in found:
            fires[code] = fires.get(code, 0) + 1
            if len(found) == 1:
                alone[code] = alone.get(code, 0) + 1
        if screen.clear(root):
            counts["XSD-valid, clear"] += 1
            if found:
                wrong_clear.append((m.log, data, found))
        else:
            counts["XSD-valid, suspect"] += 1
            counts["suspect, a covered rule reports"] += bool(found)
    print("\nrule screen, mutated declarations:", json.dumps(counts))
    print("covered rules reporting on XSD-valid mutants (all / alone):",
          json.dumps({c: (fires.get(c, 0), alone.get(c, 0)) for c in sorted(screen.covers)}))
    assert not mismatches, describe(mismatches)
    assert not wrong_clear, describe_clear(wrong_clear)
    # the test must exercise the fast path, not only the fallback, and the fallback too
    assert counts["XSD-valid, clear"] >= DOCUMENTS // 10, counts
    assert counts["suspect, a covered rule reports"] >= DOCUMENTS // 10, counts
    # and it must have the power to catch a screen that misses any one rule: each covered rule is, on some
    # mutant, the only one reporting (else extend the mutations for it)
    weak = sorted(code for code in screen.covers if not alone.get(code))
    assert not weak, f"no XSD-valid mutant on which only these covered rules report: {weak}"


def describe(mismatches) -> str:
    out = [f"{len(mismatches)} mutated documents are reported differently with the screen (a screen bug):"]
    for log, data, a, b in mismatches[:3]:
        out += ["mutations: " + "; ".join(log),
                "with screen:    " + json.dumps(a, ensure_ascii=False),
                "without screen: " + json.dumps(b, ensure_ascii=False)]
    out += ["first document:", mismatches[0][1].decode("utf-8", "replace")]
    return "\n".join(out)


def describe_clear(wrong) -> str:
    out = [f"{len(wrong)} XSD-valid mutated documents are screened clear, but covered rules report on them:"]
    for log, data, found in wrong[:5]:
        out.append(f"mutations: {'; '.join(log)} -> {found}")
    out += ["first document:", wrong[0][1].decode("utf-8", "replace")]
    return "\n".join(out)
