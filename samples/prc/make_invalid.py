"""Writes samples/prc/invalid/*.xml: each is a valid sample with ONE fault, named for the error code it must
produce (`<code>.xml` or `<code>__<variant>.xml`). Run: .venv/bin/python samples/prc/make_invalid.py

Keeping the faults here, as small edits of the valid samples, documents what each invalid sample breaks and
keeps the set in step when the valid samples change. tests/test_prc_format.py checks every file fails with
exactly its code.
"""
from __future__ import annotations

import copy
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent
OUT = HERE / "invalid"
D = "http://www.chinaport.gov.cn/dec"
N = {"d": D}


def q(name: str) -> str:
    return f"{{{D}}}{name}"


def head(root):
    return root.find("d:DecHead", N)


def set_head(root, name, value):
    el = head(root).find(f"d:{name}", N)
    if el is None:
        el = etree.SubElement(head(root), q(name))
    el.text = value
    return el


def drop(root, path):
    for el in root.xpath(path, namespaces=N):
        el.getparent().remove(el)


def item(root, n=1):
    return root.xpath(f"d:DecLists/d:DecList[{n}]", namespaces=N)[0]


def set_item(root, name, value, n=1):
    el = item(root, n).find(f"d:{name}", N)
    if el is None:
        el = etree.SubElement(item(root, n), q(name))
    el.text = value


def add_doc(root, code, number):
    docs = root.find("d:DecLicenseDocus", N)
    d = etree.SubElement(docs, q("LicenseDocu"))
    etree.SubElement(d, q("DocuCode")).text = code
    etree.SubElement(d, q("CertCode")).text = number


def set_charge(root, prefix, mark, rate, curr):
    for name, value in (("Mark", mark), ("Rate", rate), ("Curr", curr)):
        if value is None:
            drop(root, f"d:DecHead/d:{prefix}{name}")
        else:
            set_head(root, prefix + name, value)


def temporary(notes):
    def edit(r):
        set_head(r, "TradeMode", "2600")
        set_head(r, "NoteS", notes)
    return edit


IMP, EXP = "import_1_line.xml", "export_20_lines.xml"
RESP, RESULT = "import_response_failed.xml", "dec_result_declared.xml"

# name -> (base sample, what is wrong, edit)
CASES = {
    # ---- structure ------------------------------------------------------------------------------------------
    "prc-group-count": (IMP, "DecFreeTxt twice",
                        lambda r: r.find("d:DecFreeTxt", N).addnext(copy.deepcopy(r.find("d:DecFreeTxt", N)))),
    "prc-group-count__missing-head": (IMP, "no DecHead", lambda r: drop(r, "d:DecHead")),
    "prc-group-count__two-signatures": (IMP, "two enveloped ds:Signature elements", lambda r: [
        r.append(etree.Element("{http://www.w3.org/2000/09/xmldsig#}Signature")) for _ in range(2)]),
    # ---- declaration numbers --------------------------------------------------------------------------------
    "prc-pre-entry-id": (IMP, "PreEntryId has 17 characters", lambda r: set_head(r, "PreEntryId", "22482024100012345")),
    "prc-pre-entry-id__serial-letters": (IMP, "PreEntryId serial with letters",
                                         lambda r: set_head(r, "PreEntryId", "224820241000ABC456")),
    "prc-pre-entry-id__year": (IMP, "PreEntryId year 1924", lambda r: set_head(r, "PreEntryId", "224819241000123456")),
    "prc-entry-id": (IMP, "EntryId position 9 is 5", lambda r: set_head(r, "EntryId", "224820245000654321")),
    "prc-ie-flag-mismatch": (IMP, "import declaration whose PreEntryId says export (position 9 = 0)",
                             lambda r: set_head(r, "PreEntryId", "224820240000123456")),
    "prc-ie-flag-mismatch__export": (EXP, "export declaration whose PreEntryId says import (position 9 = 1)",
                                     lambda r: set_head(r, "PreEntryId", "224820241000456789")),
    "prc-number-customs-mismatch": (IMP, "lodged at 2201 but numbered by 2248",
                                    lambda r: set_head(r, "CustomMaster", "2201")),
    # ---- dates ----------------------------------------------------------------------------------------------
    "prc-date-invalid": (IMP, "IEDate 20240231", lambda r: set_head(r, "IEDate", "20240231")),
    "prc-date-invalid__iso-form": (IMP, "DDate 2024-10-32", lambda r: set_head(r, "DDate", "2024-10-32")),
    "prc-date-order": (EXP, "export date before the declaration date", lambda r: (
        set_head(r, "IEDate", "20241101"), set_head(r, "DDate", "20241105"), set_head(r, "EntryId", "224820240000765432"))),
    "prc-date-order__no-crossing": (IMP, "bonded-warehouse move (TrafMode 8) whose IEDate is not the acceptance date",
                                    lambda r: (set_head(r, "TrafMode", "8"), set_head(r, "TrafName", ""),
                                               set_head(r, "BillNo", ""), set_head(r, "TradeCountry", "CHN"))),
    # ---- weights, items, totals -----------------------------------------------------------------------------
    "prc-gross-lt-net": (IMP, "net weight 390 above gross weight 385", lambda r: set_head(r, "NetWt", "390")),
    "prc-weight-below-one": (IMP, "weights below 1 kg (item weight dropped)", lambda r: (
        set_head(r, "GrossWet", "0.8"), set_head(r, "NetWt", "0.5"),
        drop(r, "d:DecLists/d:DecList/d:SecondQty | d:DecLists/d:DecList/d:SecondUnit"))),
    "prc-items-net-gt-gross": (IMP, "the goods line weighs 400 kg, the declaration 385 kg gross",
                               lambda r: set_item(r, "SecondQty", "400")),
    "prc-items-net-gt-gross__export": (EXP, "line 20 pushes the goods lines' weight above the gross weight",
                                       lambda r: set_item(r, "SecondQty", "5000", 20)),
    "prc-gno-sequence": (IMP, "the only goods line is numbered 2", lambda r: (
        set_item(r, "GNo", "2"), drop(r, "d:DecContainers"))),
    "prc-gno-sequence__duplicate": (EXP, "goods lines 7 and 8 both numbered 7", lambda r: (
        set_item(r, "GNo", "7", 8), drop(r, "d:DecContainers"))),
    "prc-container-goods": (IMP, "container lists goods line 2, which does not exist",
                            lambda r: r.find("d:DecContainers/d:Container/d:GoodsNo", N).__setattr__("text", "1,2")),
    "prc-container-weight": (IMP, "container gross 2100 kg below its tare 2230 kg",
                             lambda r: r.find("d:DecContainers/d:Container/d:GoodsContaWt", N).__setattr__("text", "2100")),
    "prc-total-mismatch": (IMP, "total 39500.00 is not 9850 x 4", lambda r: set_item(r, "DeclTotal", "39500.00")),
    "prc-total-mismatch__export": (EXP, "line 6: total off by 1 USD", lambda r: set_item(r, "DeclTotal", "88501.00", 6)),
    "prc-quantity-unit": (IMP, "second legal quantity without its unit",
                          lambda r: drop(r, "d:DecLists/d:DecList/d:SecondUnit")),
    "prc-quantity-unit__zero": (IMP, "first legal quantity 0.000", lambda r: set_item(r, "FirstQty", "0.000")),
    # ---- charges --------------------------------------------------------------------------------------------
    "prc-charge-incomplete": (EXP, "total freight without its currency",
                              lambda r: set_charge(r, "Fee", "3", "1200", None)),
    "prc-charge-incomplete__rate-without-mark": (EXP, "insurance rate without its mark",
                                                 lambda r: set_charge(r, "Insur", None, "0.3", None)),
    # ---- transport and scenarios ----------------------------------------------------------------------------
    "prc-one-bill": (IMP, "two bills of lading", lambda r: set_head(r, "BillNo", "MEDUQ4123987,MEDUQ4123988")),
    "prc-one-bill__two-houses": (IMP, "two house bills", lambda r: set_head(r, "BillNo", "MEDUQ4123987*H001*H002")),
    "prc-transit-traf-name": (IMP, "transit name @ + 12 digits", lambda r: set_head(r, "TrafName", "@123456789012")),
    "prc-consolidated-bill": (IMP, "consolidated declaration (position 9 = I) with an ordinary B/L", lambda r: (
        set_head(r, "PreEntryId", "22482024I000123456"), set_head(r, "EntryId", "22482024I000654321"))),
    "prc-consolidated-bill__dates-reversed": (IMP, "consolidated declaration whose period ends before it starts",
                                              lambda r: (set_head(r, "PreEntryId", "22482024I000123456"),
                                                         set_head(r, "EntryId", ""),
                                                         set_head(r, "BillNo", "2024103120241001"))),
    "prc-no-crossing": (IMP, "bonded-warehouse move (TrafMode 8) with vessel, B/L and a foreign country",
                        lambda r: (set_head(r, "TrafMode", "8"), set_head(r, "DDate", "20241015"))),
    "prc-no-crossing__transaction-mode": (EXP, "logistics-centre move (W) on export with CIF", lambda r: (
        set_head(r, "TrafMode", "W"), set_head(r, "TrafName", ""), set_head(r, "BillNo", ""),
        set_head(r, "TradeCountry", "CHN"), set_head(r, "TransMode", "1"))),
    "prc-temporary-notes": (IMP, "temporary import (2600) without category and return date", temporary("")),
    "prc-temporary-notes__no-date": (IMP, "temporary import (2600) with the category only", temporary("暂进六")),
    "prc-temporary-return-date": (IMP, "return deadline 10 months after the import date",
                                  temporary("暂进六/20250815前复运出境")),
    "prc-temporary-return-date__not-a-date": (IMP, "return deadline 20250231", temporary("暂进六/20250231前复运出境")),
    # ---- notes, marks, parties ------------------------------------------------------------------------------
    "prc-hs-note-required": (IMP, "culture medium (HS 3821000000) without the required note",
                             lambda r: set_item(r, "CodeTS", "3821000000")),
    "prc-marks-missing": (IMP, "empty MarkNo", lambda r: set_head(r, "MarkNo", "")),
    "prc-party-code": (IMP, "domestic consignee without any code",
                       lambda r: drop(r, "d:DecHead/d:TradeCode | d:DecHead/d:TradeCoScc")),
    "prc-party-code__agent": (EXP, "declarant unit without any code",
                              lambda r: drop(r, "d:DecHead/d:AgentCode | d:DecHead/d:AgentCodeScc")),
    "prc-overseas-party": (IMP, "no overseas consignor on an import",
                           lambda r: drop(r, "d:DecHead/d:OverseasConsignorEname")),
    "prc-overseas-party__export": (EXP, "no overseas consignee on an export",
                                   lambda r: drop(r, "d:DecHead/d:OverseasConsigneeEname")),
    "prc-promise-items": (EXP, "valuation confirmations answered on an export",
                          lambda r: set_head(r, "PromiseItmes", "000")),
    "prc-promise-items__digit": (IMP, "confirmation digit 2", lambda r: set_head(r, "PromiseItmes", "012")),
    "prc-import-only-field": (EXP, "port of departure on an export", lambda r: set_head(r, "DespPortCode", "DEU000")),
    "prc-import-dest-code": (IMP, "import goods line without the administrative division DestCode",
                             lambda r: drop(r, "d:DecLists/d:DecList/d:DestCode")),
    "prc-processing-duty-mode": (IMP, "processing trade (0615) with 征免 6 保证金 instead of 3 全免",
                                 lambda r: (set_head(r, "TradeMode", "0615"), set_head(r, "CutMode", "503"),
                                            set_head(r, "ManualNo", "C22484500123"), set_item(r, "DutyMode", "6"))),
    "prc-origin-proof": (IMP, "origin proof under agreement 05 (not an agreement code)",
                         lambda r: add_doc(r, "Y", "<05>C2024IT0001234")),
    "prc-origin-proof__two-proofs": (IMP, "two origin proofs", lambda r: (
        add_doc(r, "Y", "<11>C2024SG0001"), add_doc(r, "Y", "<11>C2024SG0002"))),
    "prc-origin-proof__format": (IMP, "origin proof number without an agreement code",
                                 lambda r: add_doc(r, "Y", "C2024IT0001234")),
    # ---- code tables (code_fields and the country rule) ----------------------------------------------------
    "code-unknown__trade-mode": (IMP, "TradeMode 0111", lambda r: set_head(r, "TradeMode", "0111")),
    "code-unknown__cut-mode": (IMP, "CutMode 102", lambda r: set_head(r, "CutMode", "102")),
    "code-unknown__wrap-type": (IMP, "WrapType 05", lambda r: set_head(r, "WrapType", "05")),
    "code-unknown__fee-mark": (EXP, "FeeMark 4", lambda r: set_charge(r, "Fee", "4", "1200", "USD")),
    "code-unknown__insur-mark": (EXP, "InsurMark 2", lambda r: set_charge(r, "Insur", "2", "150", "USD")),
    "code-unknown__other-mark": (EXP, "OtherMark 2", lambda r: set_charge(r, "Other", "2", "80", "USD")),
    "code-unknown__fee-curr": (EXP, "FeeCurr ABC", lambda r: set_charge(r, "Fee", "3", "1200", "ABC")),
    "code-unknown__insur-curr": (EXP, "InsurCurr ABC", lambda r: set_charge(r, "Insur", "3", "150", "ABC")),
    "code-unknown__other-curr": (EXP, "OtherCurr ABC", lambda r: set_charge(r, "Other", "3", "80", "ABC")),
    "code-unknown__entry-type": (IMP, "EntryType X", lambda r: set_head(r, "EntryType", "X")),
    "code-unknown__decl-type": (IMP, "Type QQ", lambda r: set_head(r, "Type", "QQ")),
    "code-unknown__edi-id": (IMP, "EdiId 2", lambda r: set_head(r, "EdiId", "2")),
    "code-unknown__trade-curr": (IMP, "TradeCurr ABC", lambda r: set_item(r, "TradeCurr", "ABC")),
    "code-unknown__g-unit": (IMP, "GUnit 999", lambda r: set_item(r, "GUnit", "999")),
    "code-unknown__first-unit": (IMP, "FirstUnit 009", lambda r: set_item(r, "FirstUnit", "009")),
    "code-unknown__second-unit": (IMP, "SecondUnit 037", lambda r: set_item(r, "SecondUnit", "037")),
    "code-unknown__duty-mode": (IMP, "DutyMode 2", lambda r: set_item(r, "DutyMode", "2")),
    "code-unknown__pack-type": (IMP, "DecOtherPack/PackType 05", lambda r: r.append(etree.fromstring(
        f'<DecOtherPacks xmlns="{D}"><DecOtherPack><PackQty>4</PackQty><PackType>05</PackType></DecOtherPack>'
        f'</DecOtherPacks>'))),
    "code-unknown__container-md": (IMP, "ContainerMd 45",
                                   lambda r: r.find("d:DecContainers/d:Container/d:ContainerMd", N).__setattr__("text", "45")),
    "code-unknown__docu-code": (IMP, "LicenseDocu/DocuCode Z", lambda r: add_doc(r, "Z", "2024-001")),
    "code-unknown__edoc-code": (IMP, "EdocCode 00000009",
                                lambda r: r.find("d:EdocRealation/d:EdocCode", N).__setattr__("text", "00000009")),
    "code-unknown__oper-type": (IMP, "OperType Z", lambda r: r.find("d:DecSign/d:OperType", N).__setattr__("text", "Z")),
    "code-unknown__trade-country": (IMP, "TradeCountry XYZ", lambda r: set_head(r, "TradeCountry", "XYZ")),
    "code-unknown__trade-area": (IMP, "TradeAreaCode ITY", lambda r: set_head(r, "TradeAreaCode", "ITY")),
    "code-unknown__origin-country": (IMP, "OriginCountry ITY", lambda r: set_item(r, "OriginCountry", "ITY")),
    "code-unknown__destination-country": (EXP, "DestinationCountry CHA on line 11",
                                          lambda r: set_item(r, "DestinationCountry", "CHA", 11)),
    "code-unknown__channel": (RESULT, "CHANNEL Q", lambda r: r.find("CHANNEL").__setattr__("text", "Q")),
    # ---- XSD ------------------------------------------------------------------------------------------------
    "xsd-enumeration__ie-flag": (IMP, "IEFlag X", lambda r: set_head(r, "IEFlag", "X")),
    "xsd-enumeration__traf-mode": (IMP, "TrafMode A", lambda r: set_head(r, "TrafMode", "A")),
    "xsd-enumeration__trans-mode": (IMP, "TransMode 8", lambda r: set_head(r, "TransMode", "8")),
    "xsd-pattern__hs-code": (IMP, "9-digit CodeTS", lambda r: set_item(r, "CodeTS", "841981000")),
    "xsd-pattern__pack-no-zero": (IMP, "PackNo 0", lambda r: set_head(r, "PackNo", "0")),
    "xsd-structure__unknown-element": (IMP, "DecHead/Colour is not a DecHead element",
                                       lambda r: set_head(r, "Colour", "red")),
    "xsd-structure__repeated-element": (IMP, "GrossWet twice",
                                        lambda r: etree.SubElement(head(r), q("GrossWet")).__setattr__("text", "385")),
    "xsd-pattern__aeo-code": (IMP, "AEO code without its country prefix",
                              lambda r: set_head(r, "OverseasConsignorCode", "123456789012")),
    "xsd-length__entry-id": (IMP, "EntryId with 19 characters", lambda r: set_head(r, "EntryId", "2248202410006543210")),
    # ---- import response ------------------------------------------------------------------------------------
    "prc-response-error-message": (RESP, "failure without its error message",
                                   lambda r: r.find(f"{{{D}}}ErrorMessage").__setattr__("text", "")),
}


def render(name: str) -> bytes:
    """The bytes of invalid sample `name` (a key of CASES)."""
    base, what, edit = CASES[name]
    tree = etree.parse(str(HERE / base), etree.XMLParser(remove_comments=True))
    root = tree.getroot()
    edit(root)
    root.addprevious(etree.Comment(f" INVALID ({name.split('__')[0]}): {base} with {what}. "
                                   f"Written by samples/prc/make_invalid.py. "))
    data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    return data.replace(b"--><", b"-->\n<", 1) + b"\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.xml"):
        old.unlink()
    for name in CASES:
        (OUT / f"{name}.xml").write_bytes(render(name))
    print(f"wrote {len(CASES)} files to {OUT}")


if __name__ == "__main__":
    main()
