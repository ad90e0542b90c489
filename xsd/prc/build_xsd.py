"""Writes DecMessage.xsd from the element tables below (run: .venv/bin/python xsd/prc/build_xsd.py).

The XSD is the artefact the validator compiles; this script only keeps its ~200 element declarations
consistent: every element gets xs:documentation (form field number, Chinese name, English meaning) and an
xs:appinfo <field>N</field> per form field of spec/prc.md (1..49) it carries. Edit the tables here, re-run,
commit both. Element names are those of real China e-Port producers (spec/realformats.md §1), misspellings
included (GrossWet, DistinatePort, PromiseItmes, EdocRealation, EdocFomatType, TaxAaminMark, ...).
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from translator.codes import code_list_pattern, default_codes  # noqa: E402  (what the validator also reads)

CODES = HERE.parent.parent / "mappings" / "codes"
NS = "http://www.chinaport.gov.cn/dec"
DS = "http://www.w3.org/2000/09/xmldsig#"

# -- simple types: name -> (xsd restriction body, documentation) ------------------------------------------
NUM = r"[0-9]{1,15}(\.[0-9]{1,6})?"
TYPES = {
    "Date": ('<xs:pattern value="([0-9]{8}|[0-9]{4}-[0-9]{2}-[0-9]{2})?"/>',
             "A date, YYYYMMDD as the filling rules state (spec/prc.md fields 5, 6); YYYY-MM-DD is also accepted "
             "because a real producer sends it (spec/realformats.md §1.3, S-ODOO). Empty allowed; calendar "
             "validity is checked by rule prc-date-invalid."),
    "Decimal": (f'<xs:pattern value="({NUM})?"/>',
                "A non-negative decimal number (up to 15 integer and 6 fraction digits) or empty. The sources "
                "do not state a precision (spec/prc.md §5 point 6)."),
    "SignedDecimal": (f'<xs:pattern value="(-?{NUM})?"/>',
                      "A decimal that may be negative (other charges: a deduction is negative, spec/prc.md "
                      "field 30) or empty."),
    "RequiredDecimal": (f'<xs:pattern value="{NUM}"/>', "A non-negative decimal number, required."),
    "Count": ('<xs:pattern value="0*[1-9][0-9]{0,8}"/>',
              "A whole number of at least 1 (件数: zero is not allowed, unpacked goods count as 1; 项号 1..n)."),
    "Integer": ('<xs:pattern value="([0-9]{1,9})?"/>', "A whole number or empty."),
    "CustomsCode": ('<xs:pattern value="[0-9]{4}"/>',
                    "A 4-digit customs-zone code (关区代码, spec/prc.md §8.1; the sources list no values)."),
    "CustomsCodeOpt": ('<xs:pattern value="([0-9]{4})?"/>', "A 4-digit customs-zone code (关区代码) or empty."),
    "Uscc": ('<xs:pattern value="([0-9A-Z]{18})?"/>',
             "An 18-character Unified Social Credit Code (统一社会信用代码, USCC) or empty. The check character "
             "(GB 32100) is not verified: the sources do not state it."),
    "OwnerUscc": ('<xs:pattern value="([0-9A-Z]{18}|NO)?"/><xs:maxLength value="32"/>',
                  "USCC of the consuming/producing unit, or NO when it has none (spec/prc.md field 13 rule 5). "
                  "An individual's ID number is also 18 characters."),
    "UnifiedNo": ('<xs:pattern value="([0-9A-Z]{18})?"/>',
                  "An 18-character number assigned by the e-Port (统一编号) or empty on first submission."),
    "Number18": ('<xs:maxLength value="18"/>',
                 "An 18-character declaration number: positions 1-4 customs code, 5-8 year, 9 import/export "
                 "flag, 10-18 serial (spec/prc.md fields 1, 2). Empty until assigned. The structure is checked "
                 "by rules prc-pre-entry-id / prc-entry-id so the message names the position that is wrong."),
    "HsCode": ('<xs:pattern value="[0-9]{10}"/>',
               "A 10-digit commodity code: digits 1-8 tariff / statistics code, 9-10 supervision supplement "
               "(spec/prc.md field 34)."),
    "UnitCode": ('<xs:pattern value="[0-9]{3}"/>', "A 3-digit customs unit-of-measure code (prc_unit)."),
    "UnitCodeOpt": ('<xs:pattern value="([0-9]{3})?"/>', "A 3-digit customs unit code or empty."),
    "Currency": ('<xs:pattern value="[A-Z]{3}"/>', "An ISO 4217 alphabetic currency code (USD, CNY, ...)."),
    "CurrencyOpt": ('<xs:pattern value="([A-Z]{3})?"/>', "An ISO 4217 alphabetic currency code or empty."),
    "Country": ('<xs:pattern value="[A-Z]{3}"/>',
                "A 3-letter country (region) code: ISO 3166-1 alpha-3 or one of the customs-specific codes "
                "of prc_country_extra (checked by rule prc-country-code, error code code-unknown)."),
    "CountryOpt": ('<xs:pattern value="([A-Z]{3})?"/>', "A 3-letter country (region) code or empty."),
    "TradeMode": ('<xs:pattern value="[0-9A-Z]{4}"/>',
                  "A 4-character supervision-mode code: 2 characters customs classification + 2 characters "
                  "trade form (spec/prc.md field 14; prc_supervision_mode)."),
    "CutMode": ('<xs:pattern value="([0-9]{3})?"/>',
                "A 3-digit levy-nature code (prc_levy_nature) or empty (processing-trade carry-over)."),
    "WrapType": ('<xs:pattern value="[0-9]{2}"/>', "A 2-digit package-type code (prc_package_type)."),
    "Mark": ('<xs:pattern value="[0-9]?"/>',
             "A charge mark: 1 rate, 2 per unit, 3 total (checked against its table by code_fields) or empty."),
    "Promise": ('<xs:pattern value="([0-9]{3})?"/>',
                "Three digits for fields 44, 45, 46 in that order: 1 是 (yes), 0 否 (no), 9 not filled "
                "(prc_promise_flag; checked by rule prc-promise-items)."),
    "District": ('<xs:pattern value="([0-9]{5})?"/>', "A 5-digit domestic region code (国内地区代码) or empty."),
    "AdminDivision": ('<xs:pattern value="([0-9]{6})?"/>',
                      "A 6-digit administrative-division code (行政区划代码) or empty."),
    "AeoCode": ('<xs:pattern value="([A-Z]{2}[0-9A-Z]{1,28}|NO)?"/>',
                "An AEO code of the overseas party: its country (region) code + its enterprise code, e.g. "
                "SG123456789012 (spec/prc.md field 8), NO when there is no overseas party, or empty when the "
                "party is not a mutually recognised AEO."),
    "HsOrEmpty": ('<xs:pattern value="([0-9]{10})?"/>', "A 10-digit commodity code or empty."),
}
# libxml2 checks an enumeration value by value in document order (~35 ns per value compared): the currencies
# declarations mostly carry come first (USD by far; every sample is USD, EUR or AUD), the rest sorted
FREQUENT_FIRST = {"iso4217_alpha": ("USD", "CNY", "EUR", "HKD", "JPY")}


def table_codes(table: str) -> list[str]:
    """The codes of a table: a CSV's in file order; a virtual ISO table (from pycountry, read through
    translator.codes as the validator reads it) with its FREQUENT_FIRST codes first and the others sorted, so the
    generated file does not depend on pycountry's iteration order."""
    path = CODES / f"{table}.csv"
    if not path.exists():
        codes = default_codes()[table]
        first = [c for c in FREQUENT_FIRST.get(table, ()) if c in codes]
        return first + sorted(set(codes) - set(first))
    with path.open(encoding="utf-8", newline="") as f:
        return [row["code"] for row in csv.DictReader(f)]


# enumerations kept equal to a code table (tests/test_samples.py checks the equality); the two closed lists of
# the filling rules are read from their CSV, so the values are kept in one place
ENUMS = {
    "TrafMode": ("prc_transport_mode", table_codes("prc_transport_mode"),
                 "Mode of transport 运输方式: the closed list of spec/prc.md field 9 / §8.3 plus the actual modes "
                 "2-6 (spec/realformats.md §1.9)."),
    "TransMode": ("prc_transaction_mode", table_codes("prc_transaction_mode"),
                  "Transaction mode 成交方式: 1 CIF, 2 C&F, 3 FOB, 4 C&I, 5 market price, 6 mark-up, 7 EXW "
                  "(spec/realformats.md §1.9)."),
    "IEFlag": ("prc_ie_flag", ["I", "E"], "Import/export flag 进出口标志: I 进口 import, E 出口 export."),
    "EdocFormat": ("prc_edoc_format", ["S", "US"],
                   "Format of an attached electronic document: S 结构化 structured, US 非结构化 unstructured (PDF)."),
}


# the currency fields (FeeCurr, InsurCurr, OtherCurr, TradeCurr) are checked against ISO 4217 from pycountry
# (virtual table iso4217_alpha); pyproject.toml pins pycountry so that the list below stays what the validator
# reads (tests/test_prc_format.py checks the generated file against this script)
CURRENCY_LIST = ("An ISO 4217 alphabetic currency code (USD, CNY, ...). The enumeration is the current ISO 4217 "
                 "list as pycountry gives it (table iso4217_alpha; pycountry's version is pinned in pyproject.toml "
                 "and the list regenerated by xsd/prc/build_xsd.py); a code outside it is reported as code-unknown "
                 "naming the field and the table.")

# code fields whose XSD type forbids blanks (a pattern): the type also lists the table's codes as an enumeration,
# so the schema engine checks the code list (the validator finds this at start-up and then skips its own look-up
# of the field on documents the XSD accepted; a code missing from the list is still reported as code-unknown
# with the field and the table). name -> (TYPES key the pattern comes from, table, may be empty, documentation)
CODE_TYPES = {
    "TradeModeCode": ("TradeMode", "prc_supervision_mode", False, "Supervision mode 监管方式 (prc_supervision_mode)."),
    "CutModeCode": ("CutMode", "prc_levy_nature", True, "Levy nature 征免性质 (prc_levy_nature) or empty."),
    "WrapTypeCode": ("WrapType", "prc_package_type", False, "Package type 包装种类 (prc_package_type)."),
    "FeeMarkCode": ("Mark", "prc_freight_mark", True, "Freight mark 运费标记 (prc_freight_mark) or empty."),
    "InsurMarkCode": ("Mark", "prc_insurance_mark", True, "Insurance mark 保险费标记 (prc_insurance_mark) or empty."),
    "OtherMarkCode": ("Mark", "prc_other_mark", True, "Other charges mark 杂费标记 (prc_other_mark) or empty."),
    "UnitCodeListed": ("UnitCode", "prc_unit", False, "Customs unit of measure (prc_unit)."),
    "UnitCodeListedOpt": ("UnitCodeOpt", "prc_unit", True, "Customs unit of measure (prc_unit) or empty."),
    "CurrencyCode": ("Currency", "iso4217_alpha", False, CURRENCY_LIST),
    "CurrencyCodeOpt": ("CurrencyOpt", "iso4217_alpha", True, "Empty, or " + CURRENCY_LIST[0].lower()
                        + CURRENCY_LIST[1:]),
}


def t(n: int, required: bool = False, table: str | None = None) -> str:
    """An anonymous text type of at most n characters (at least 1 when required). With a code table: its codes,
    blanks around them allowed as the code-field look-up strips them (translator.codes.code_list_pattern)."""
    return f"text{n}{'r' if required else ''}" + (f"@{table}" if table else "")


def attr(value: str) -> str:
    """An attribute value with blanks and non-ASCII characters as character references (kept exactly)."""
    return "".join(c if 0x20 < ord(c) < 0x7F and c not in '<>&"' else f"&#x{ord(c):X};" for c in value)


# -- element tables: (name, [form fields], Chinese, English, type, minOccurs) ---------------------------------
# type: a TYPES / ENUMS key, or "textN" / "textNr" (string of at most N characters, "r": not empty)
HEAD = [
    ("SeqNo", [], "数据中心统一编号", "Unified number assigned by the data centre; empty on first submission "
     "(realformats §1.3).", "UnifiedNo", 0),
    ("IEFlag", [], "进出口标志", "Import/export flag, I import or E export. Position 9 of fields 1 and 2 "
     "carries the same information (checked by rule prc-ie-flag-mismatch).", "IEFlag", 1),
    ("Type", [47], "单据类型 / EDI申报备注 (自报自缴)", "Declaration type; the code Z and the ZY/ZC/ZW/ZF/ZX "
     "combinations mark self-declaration and self-payment (field 47 自报自缴, prc_decl_type).",
     t(4, table="prc_decl_type"), 0),
    ("AgentCode", [48], "申报单位代码", "Declarant unit customs code (10 characters).", t(10), 0),
    ("AgentName", [48], "申报单位名称", "Declarant unit name (customs broker or the trader itself).", t(70, True), 1),
    ("ApprNo", [], "批准文号", "Approval document number (legacy).", t(32), 0),
    ("BillNo", [11], "提运单号", "Bill of lading / waybill number; only one per declaration; master*house "
     "(sea) or master_house (air).", t(50), 0),
    ("ContrNo", [18], "合同协议号", "Contract / agreement number.", t(32), 0),
    ("CustomMaster", [], "申报地海关", "Customs office where the declaration is lodged (4-digit customs code); "
     "positions 1-4 of fields 1 and 2.", "CustomsCode", 1),
    ("CutMode", [15], "征免性质", "Nature of levy/exemption (prc_levy_nature).", "CutModeCode", 0),
    ("DistinatePort", [21], "经停港 / 指运港", "Port of transit (import) / port of destination (export); "
     "port code.", t(10), 0),
    ("FeeCurr", [28], "运费币制", "Freight currency.", "CurrencyCodeOpt", 0),
    ("FeeMark", [28], "运费标记", "Freight mark: 1 rate, 2 per ton, 3 total (prc_freight_mark).", "FeeMarkCode", 0),
    ("FeeRate", [28], "运费/率", "Freight amount or rate.", "Decimal", 0),
    ("GrossWet", [25], "毛重(千克)", "Gross weight in kg; below 1 kg write 1.", "RequiredDecimal", 1),
    ("IEDate", [5], "进出口日期", "Import/export date, YYYYMMDD.", "Date", 0),
    ("IEPort", [4], "进出境关别", "Customs of entry/exit (4-digit customs code).", "CustomsCode", 1),
    ("InsurCurr", [29], "保险费币制", "Insurance currency.", "CurrencyCodeOpt", 0),
    ("InsurMark", [29], "保险费标记", "Insurance mark: 1 rate, 3 total (prc_insurance_mark).", "InsurMarkCode", 0),
    ("InsurRate", [29], "保险费/率", "Insurance amount or rate.", "Decimal", 0),
    ("LicenseNo", [16], "许可证号", "Licence number; at most one per declaration.", t(32), 0),
    ("ManualNo", [7], "备案号", "Record number (processing-trade manual, bonded account book, levy/exemption "
     "certificate); at most one.", t(32), 0),
    ("NetWt", [26], "净重(千克)", "Net weight in kg; below 1 kg write 1.", "RequiredDecimal", 1),
    ("NoteS", [32], "备注", "Notes (free text, incl. the fixed phrases of spec/prc.md §8.14).", t(500), 0),
    ("OtherCurr", [30], "杂费币制", "Other charges currency.", "CurrencyCodeOpt", 0),
    ("OtherMark", [30], "杂费标记", "Other charges mark: 1 rate, 3 total (prc_other_mark).", "OtherMarkCode", 0),
    ("OtherRate", [30], "杂费/率", "Other charges amount or rate; negative for a deduction.", "SignedDecimal", 0),
    ("OwnerCode", [13], "消费使用单位 / 生产销售单位代码", "Customs code of the consuming/using unit (import) or "
     "producing/selling unit (export).", t(10), 0),
    ("OwnerName", [13], "消费使用单位 / 生产销售单位名称", "Name of the consuming/using unit (import) or "
     "producing/selling unit (export).", t(70, True), 1),
    ("PackNo", [24], "件数", "Number of packages; at least 1.", "Count", 1),
    ("TradeCode", [3], "境内收发货人代码", "Domestic consignor/consignee customs code (10 characters).", t(10), 0),
    ("TradeCountry", [20], "启运国(地区) / 运抵国(地区)", "Country of departure (import) / destination (export).",
     "Country", 1),
    ("TradeMode", [14], "监管方式", "Supervision mode (prc_supervision_mode); exactly one.", "TradeModeCode", 1),
    ("TradeName", [3], "境内收发货人名称", "Domestic consignor/consignee name.", t(70, True), 1),
    ("TrafMode", [9], "运输方式", "Mode of transport (prc_transport_mode).", "TrafMode", 1),
    ("TrafName", [10], "运输工具名称", "Name of the means of transport (the voyage number is DecFreeTxt/VoyNo).",
     t(50), 0),
    ("TransMode", [27], "成交方式", "Transaction mode (prc_transaction_mode).", "TransMode", 1),
    ("WrapType", [23], "包装种类", "Package type of the transport packaging (prc_package_type); other packaging "
     "in DecOtherPacks.", "WrapTypeCode", 1),
    ("EntryId", [2], "海关编号", "Customs number, 18 characters, assigned by customs.", "Number18", 0),
    ("PreEntryId", [1], "预录入编号", "Pre-entry number, 18 characters, generated by the system.", "Number18", 0),
    ("EdiId", [], "报关标志", "EDI declaration flag (prc_edi_id).", t(1, table="prc_edi_id"), 0),
    ("Risk", [], "风险评估参数", "Risk assessment parameter.", t(32), 0),
    ("CopName", [], "录入单位名称", "Data-entry unit name.", t(70), 0),
    ("CopCode", [], "录入单位代码", "Data-entry unit code.", t(10), 0),
    ("EntryType", [], "报关单类型", "Declaration form type (prc_entry_type).", t(1, table="prc_entry_type"), 0),
    ("PDate", [], "首次暂存操作时间", "Time of the first temporary save.", t(32), 0),
    ("TypistNo", [], "录入员IC卡号", "IC card number of the data-entry clerk.", t(32), 0),
    ("InputerName", [], "录入员姓名", "Name of the data-entry clerk.", t(32), 0),
    ("PartenerID", [], "申报人标识", "Declarant identifier (Shanghai import).", t(32), 0),
    ("TgdNo", [], "通关申请单号", "Clearance application number (Ningbo).", t(32), 0),
    ("DataSource", [], "数据来源", "Data source (e.g. PTS electronic manual, SZJB Shenzhen consolidated).", t(10), 0),
    ("DeclTrnRel", [], "报关/转关关系标志", "0 ordinary declaration, 1 transit pre-declaration.", t(1), 0),
    ("ChkSurety", [], "担保验放标志", "Guarantee release flag; its 0/1 meaning conflicts between sources, so "
     "no code table is applied.", t(1), 0),
    ("BillType", [], "备案清单类型", "Record list type.", t(1), 0),
    ("CopCodeScc", [], "录入单位统一社会信用代码", "USCC of the data-entry unit.", "Uscc", 0),
    ("OwnerCodeScc", [13], "消费使用单位 / 生产销售单位统一社会信用代码", "USCC of the consuming/using or "
     "producing/selling unit, or NO.", "OwnerUscc", 0),
    ("AgentCodeScc", [48], "申报单位统一社会信用代码", "USCC of the declarant unit.", "Uscc", 0),
    ("TradeCoScc", [3], "境内收发货人统一社会信用代码", "USCC of the domestic consignor/consignee.", "Uscc", 0),
    ("TradeCodeScc", [3], "境内收发货人统一社会信用代码 (旧拼写)", "USCC of the domestic consignor/consignee; "
     "the spelling one producer (S-ODOO) uses instead of TradeCoScc.", "Uscc", 0),
    ("PromiseItmes", [44, 45, 46], "承诺事项 (特殊关系确认 / 价格影响确认 / 支付特许权使用费确认)",
     "Confirmations of special relationship (44), price influence (45) and royalty payment (46): one digit "
     "each, 1 是, 0 否, 9 not filled.", "Promise", 0),
    ("TradeAreaCode", [19], "贸易国(地区)", "Trading country (region).", "CountryOpt", 0),
    ("CheckFlow", [], "查验分流", "Inspection diversion flag 0/1.", t(1), 0),
    ("TaxAaminMark", [], "税收征管标记", "Tax administration mark: 0 none, 1 present.", t(1), 0),
    ("MarkNo", [32], "标记唛码", "Shipping marks; N/M when there are none.", t(400), 0),
    ("DespPortCode", [17], "启运港代码", "Port of departure (import only).", t(10), 0),
    ("EntyPortCode", [22], "入境口岸 / 离境口岸代码", "Port of entry (import) / exit (export), 6-digit code.",
     t(10), 0),
    ("GoodsPlace", [12], "货物存放地点", "Goods storage place (free text).", t(100), 0),
    ("BLNo", [], "提货单号", "Delivery order (B/L) number.", t(50), 0),
    ("InspOrgCode", [], "口岸检验检疫机关", "Inspection and quarantine authority at the port.", t(10), 0),
    ("SpecDeclFlag", [], "特种业务标识", "Special business flag.", t(20), 0),
    ("PurpOrgCode", [], "目的地检验检疫机关", "Inspection and quarantine authority at destination.", t(10), 0),
    ("DespDate", [], "启运日期", "Date of departure, YYYYMMDD.", "Date", 0),
    ("CmplDschrgDt", [], "卸毕日期", "Date discharge was completed, YYYYMMDD.", "Date", 0),
    ("CorrelationReasonFlag", [], "关联理由", "Reason for the correlation.", t(10), 0),
    ("VsaOrgCode", [], "领证机关", "Authority issuing the certificate.", t(10), 0),
    ("OrigBoxFlag", [], "原集装箱标识", "Original container flag 0/1.", t(1), 0),
    ("DeclareName", [48], "报关员姓名", "Name of the declaration staff member (报关人员).", t(32), 0),
    ("NoOtherPack", [], "无其他包装", "1 = no other packaging.", t(1), 0),
    ("OrgCode", [], "检验检疫受理机关", "Inspection and quarantine receiving authority.", t(10), 0),
    ("OverseasConsignorCode", [8], "境外发货人代码", "Overseas consignor code (AEO code: country code + "
     "enterprise code, e.g. SG123456789012) — import.", "AeoCode", 0),
    ("OverseasConsignorCname", [8], "境外发货人名称(中文)", "Overseas consignor name in Chinese — import.", t(150), 0),
    ("OverseasConsignorEname", [8], "境外发货人名称(外文)", "Overseas consignor name in English (NO when there is "
     "none) — import.", t(150), 0),
    ("OverseasConsignorAddr", [8], "境外发货人地址", "Overseas consignor address — import.", t(200), 0),
    ("OverseasConsigneeCode", [8], "境外收货人代码", "Overseas consignee code (AEO code) — export.", "AeoCode", 0),
    ("OverseasConsigneeEname", [8], "境外收货人名称(外文)", "Overseas consignee name in English (NO when there "
     "is none) — export.", t(150), 0),
    ("DomesticConsigneeEname", [], "境内收货人名称(外文)", "Domestic consignee name in a foreign language.", t(150), 0),
    ("CorrelationNo", [], "关联号码", "Correlation number.", t(32), 0),
    ("EdiRemark", [], "EDI申报备注", "EDI declaration remark.", t(50), 0),
    ("EdiRemark2", [], "EDI申报备注2", "EDI declaration remark 2.", t(50), 0),
    ("TradeCiqCode", [], "境内收发货人检验检疫编码", "Inspection code of the domestic consignor/consignee.", t(10), 0),
    ("OwnerCiqCode", [], "消费使用 / 生产销售单位检验检疫编码", "Inspection code of the owner unit.", t(10), 0),
    ("DeclCiqCode", [], "申报单位检验检疫编码", "Inspection code of the declarant unit.", t(10), 0),
    ("DDate", [6], "申报日期", "Declaration date, YYYYMMDD, set by customs when it accepts the declaration. "
     "edihub extension: real producers carry it only in the receipt (DEC_RESULT/D_DATE), not in DecHead "
     "(realformats §1.3); kept optional so the 49 fields all have a place.", "Date", 0),
    ("CustomsNote", [49], "海关批注及签章", "Customs endorsement and seal, filled in by customs. edihub "
     "extension: no DecMessage element was seen in real producers; customs answers arrive as receipts.", t(500), 0),
]

GOODS = [
    ("ClassMark", [], "归类标志", "Classification mark.", t(1), 0),
    ("CodeTS", [34], "商品编号", "Commodity code, 10 digits.", "HsCode", 1),
    ("ContrItem", [33], "备案序号", "Record item number (second line of 项号: item in the manual / account book "
     "/ certificate).", t(19), 0),
    ("DeclPrice", [37], "单价", "Unit price.", "RequiredDecimal", 1),
    ("DutyMode", [43], "征免", "Levy/exemption method of this item (prc_levy_method).", t(1, True, "prc_levy_method"), 1),
    ("Factor", [], "比例因子", "Ratio of the declared unit to the legal unit.", "Decimal", 0),
    ("GModel", [35], "规格型号", "Specification and model (申报要素, elements separated by |).", t(255, True), 1),
    ("GName", [35], "商品名称", "Goods name in Chinese.", t(255, True), 1),
    ("GNo", [33], "项号", "Item number 1..n, consecutive (first line of 项号).", "Count", 1),
    ("OriginCountry", [40], "原产国(地区)", "Country (region) of origin. Two real sources (S-AU, S-PHP) fill it "
     "with the destination on exports and swap DestinationCountry (realformats §1.4); edihub does not check "
     "which of the two carries CHN.", "Country", 1),
    ("TradeCurr", [39], "币制", "Currency (ISO 4217 alpha-3).", "CurrencyCode", 1),
    ("DeclTotal", [38], "总价", "Total price of the item.", "RequiredDecimal", 1),
    ("GQty", [36], "成交数量", "Quantity in the transaction (declared) unit, line 3 of field 36.",
     "RequiredDecimal", 1),
    ("FirstQty", [36], "第一法定数量", "Quantity in the first legal unit, line 1 of field 36.", "RequiredDecimal", 1),
    ("SecondQty", [36], "第二法定数量", "Quantity in the second legal unit, line 2 of field 36; empty when the "
     "commodity has none.", "Decimal", 0),
    ("GUnit", [36], "成交计量单位", "Transaction unit (prc_unit).", "UnitCodeListed", 1),
    ("FirstUnit", [36], "第一法定计量单位", "First legal unit (prc_unit).", "UnitCodeListed", 1),
    ("SecondUnit", [36], "第二法定计量单位", "Second legal unit (prc_unit) or empty.", "UnitCodeListedOpt", 0),
    ("UseTo", [], "用途/生产厂家", "Use / manufacturer.", t(50), 0),
    ("WorkUsd", [], "工缴费", "Processing fee.", "Decimal", 0),
    ("ExgNo", [], "货号", "Article number.", t(32), 0),
    ("ExgVersion", [], "版本号", "Version number.", t(10), 0),
    ("DestinationCountry", [41], "最终目的国(地区)", "Country (region) of final destination (see the note on "
     "OriginCountry).", "Country", 1),
    ("CiqCode", [], "检验检疫编码", "Inspection and quarantine code (3 digits).", t(10), 0),
    ("DeclGoodsEname", [], "商品英文名称", "Goods name in English.", t(255), 0),
    ("OrigPlaceCode", [], "原产地区代码", "Region of origin code.", t(10), 0),
    ("Purpose", [], "用途代码", "Purpose code (99 other).", t(4), 0),
    ("ProdValidDt", [], "产品有效期", "Product validity date, YYYYMMDD.", "Date", 0),
    ("ProdQgp", [], "产品保质期", "Product shelf life.", t(20), 0),
    ("GoodsAttr", [], "货物属性代码", "Goods attribute codes.", t(100), 0),
    ("Stuff", [], "成份/原料/组份", "Ingredients / materials / components.", t(400), 0),
    ("Uncode", [], "UN编码", "UN number of dangerous goods.", t(20), 0),
    ("DangName", [], "危险货物名称", "Dangerous goods name.", t(80), 0),
    ("DangPackType", [], "危包类别", "Dangerous goods packing group.", t(4), 0),
    ("DangPackSpec", [], "危包规格", "Dangerous goods packing specification.", t(24), 0),
    ("NoDangFlag", [], "非危险化学品", "Not a dangerous chemical (flag).", t(1), 0),
    ("EngManEntCnm", [], "境外生产企业名称", "Name of the overseas manufacturer.", t(100), 0),
    ("DestCode", [42], "目的地代码(境内)", "Domestic destination administrative-division code (import: "
     "county level).", "AdminDivision", 0),
    ("GoodsSpec", [], "检验检疫货物规格", "Goods specification for inspection.", t(255), 0),
    ("GoodsModel", [], "货物型号", "Goods model for inspection.", t(255), 0),
    ("GoodsBrand", [], "货物品牌", "Goods brand for inspection.", t(255), 0),
    ("ProduceDate", [], "生产日期", "Production date(s).", t(100), 0),
    ("ProdBatchNo", [], "生产批号", "Production batch number(s).", t(100), 0),
    ("DistrictCode", [42], "境内目的地 / 境内货源地", "Domestic destination (import) / domestic source of goods "
     "(export), 5-digit domestic region code.", "District", 0),
    ("CiqName", [], "检验检疫名称", "Inspection and quarantine name.", t(100), 0),
    ("MnufctrRegNo", [], "生产单位注册号", "Manufacturer registration number.", t(32), 0),
    ("MnufctrRegno", [], "生产单位注册号 (S-EP 拼写)", "Manufacturer registration number, spelling of S-EP.", t(32), 0),
    ("MnufctrRegName", [], "生产单位名称", "Manufacturer registered name.", t(150), 0),
]

GOODS_LIMIT = [
    ("GoodsNo", [], "商品序号", "Item number the licence applies to.", "Integer", 0),
    ("LicTypeCode", [], "许可证类别代码", "Licence type code.", t(10), 0),
    ("LicenceNo", [], "许可证编号", "Licence number.", t(40), 0),
    ("LicWrtofDetailNo", [], "核销货物序号", "Write-off item number.", t(10), 0),
    ("LicWrtofQty", [], "核销数量", "Write-off quantity.", "Decimal", 0),
    ("LicWrtofQtyUnit", [], "核销数量单位", "Write-off quantity unit.", "UnitCodeOpt", 0),
]
GOODS_LIMIT_VIN = [
    ("LicenceNo", [], "许可证编号", "Licence number.", t(40), 0),
    ("LicTypeCode", [], "许可证类别代码", "Licence type code.", t(10), 0),
    ("VinNo", [], "VIN序号", "VIN serial number within the licence.", t(10), 0),
    ("BillLadDate", [35], "提/运单日期", "B/L date (3C vehicle data, field 35 rule 11).", "Date", 0),
    ("QualityQgp", [35], "质量保质期", "Warranty period (3C vehicle data).", t(20), 0),
    ("MotorNo", [35], "发动机号或电机号", "Engine or electric motor number (3C vehicle data).", t(40), 0),
    ("VinCode", [35], "车辆识别代码(VIN)", "Vehicle identification number, GB 16735 (3C vehicle data).", t(17), 0),
    ("ChassisNo", [], "底盘(车架)号", "Chassis number.", t(40), 0),
    ("InvoiceNum", [35], "发票所列数量", "Invoice quantity (3C vehicle data).", "Integer", 0),
    ("ProdCnnm", [35], "品名(中文名称)", "Brand name in Chinese (3C vehicle data).", t(100), 0),
    ("ProdEnnm", [35], "品名(英文名称)", "Brand name in English (3C vehicle data).", t(100), 0),
    ("ModelEn", [35], "型号(英文)", "Model in English (3C vehicle data).", t(100), 0),
    ("PricePerUnit", [], "单价", "Unit price.", "Decimal", 0),
    ("InvoiceNo", [], "发票号", "Invoice number.", t(40), 0),
]
CONTAINER = [
    ("ContainerId", [32], "集装箱号", "Container number (ISO 6346 style, 11 characters).", t(11, True), 1),
    ("ContainerMd", [32], "集装箱规格", "Container specification (prc_container_type).",
     t(2, table="prc_container_type"), 0),
    ("GoodsNo", [32], "商品项号", "Item numbers carried in this container, comma-separated.", t(200), 0),
    ("LclFlag", [], "拼箱标识", "Less-than-container-load flag 0/1.", t(1), 0),
    ("GoodsContaWt", [32], "箱货重量", "Container weight: tare + goods, kg.", "Decimal", 0),
    ("ContainerWt", [32], "集装箱自重", "Container tare weight, kg.", "Decimal", 0),
]
LICENSE_DOCU = [
    ("DocuCode", [31], "随附单证代码", "Accompanying document code (prc_document), e.g. Y origin proof.",
     t(4, True, "prc_document"), 1),
    ("CertCode", [31], "随附单证编号", "Accompanying document number; for Y: (agreement code) + C/D + number, "
     "or + XJE00000.", t(64), 0),
]
REQUEST_CERT = [
    ("AppCertCode", [], "申请单证代码", "Requested certificate code.", t(10), 0),
    ("ApplOri", [], "申请单证正本数", "Number of originals requested.", "Integer", 0),
    ("ApplCopyQuan", [], "申请单证副本数", "Number of copies requested.", "Integer", 0),
]
OTHER_PACK = [
    ("PackQty", [23], "包装件数", "Number of packages of this other packaging.", "Decimal", 0),
    ("PackType", [23], "包装材料种类", "Other packaging type (prc_package_type).", t(2, True, "prc_package_type"), 1),
]
COP_LIMIT = [
    ("EntQualifNo", [], "企业资质编号", "Enterprise qualification number.", t(40), 0),
    ("EntQualifTypeCode", [], "企业资质类别代码", "Enterprise qualification type code.", t(10), 0),
]
USER = [
    ("UseOrgPersonCode", [], "使用单位联系人", "Contact person of the using unit.", t(32), 0),
    ("UseOrgPersonTel", [], "使用单位联系电话", "Telephone of the using unit.", t(32), 0),
]
COP_PROMISE = [("DeclaratioMaterialCode", [], "证明/声明材料代码", "Code of a proof or declaration material.",
                t(10), 0)]
FREE_TXT = [
    ("RelId", [32], "关联报关单号", "Related declaration number (关联报关单).", t(18), 0),
    ("RelManNo", [32], "关联备案号", "Related record number (关联备案).", t(32), 0),
    ("BonNo", [32], "监管仓号", "Bonded / supervision place code (保税/监管场所).", t(32), 0),
    ("VoyNo", [10], "航次号", "Voyage number of the means of transport.", t(32), 0),
    ("DecBpNo", [48], "报关员联系方式", "Telephone of the declaration staff member.", t(32), 0),
    ("CusFie", [], "货场代码", "Cargo yard code.", t(10), 0),
    ("DecNo", [48], "报关员号", "Registration code of the declaration staff member.", t(32), 0),
]
SIGN = [
    ("OperType", [], "操作类型", "Operation type (prc_oper_type): A upload, C declare, G temporary save, ...",
     t(1, table="prc_oper_type"), 0),
    ("ICCode", [], "操作员IC卡号", "Operator IC card number.", t(32), 0),
    ("CopCode", [], "操作员所属企业代码", "Code of the operator's enterprise.", t(18), 0),
    ("OperName", [], "操作员姓名", "Operator name.", t(32), 0),
    ("ClientSeqNo", [], "客户端报关单编号", "Client-side declaration number, unique per declaration; echoed in "
     "DecImportResponse.", t(64), 0),
    ("Sign", [], "数字签名信息", "Signature value as text: how the e-Port carries the declarant's signature "
     "(realformats §1.6; optional for third-party clients).", t(4000), 0),
    ("SignDate", [], "签名日期", "Signing time; producers use several formats, so any string.", t(32), 0),
    ("Certificate", [], "证书", "Signer certificate (Base64) or its number.", t(8000), 0),
    ("HostId", [], "邮箱ID", "Host / mailbox identifier.", t(32), 0),
    ("BillSeqNo", [], "清单统一编号", "Unified number of the related list.", t(32), 0),
    ("DomainId", [], "申报人标识", "1 data-entry person, 2 declarant.", t(1), 0),
    ("Note", [], "备注", "Note.", t(255), 0),
]
EDOC = [
    ("EdocID", [], "随附单据编号", "Attached document number / file name.", t(64, True), 1),
    ("EdocCode", [], "随附单据类别", "Attached document type (prc_edoc_type).", t(8, True, "prc_edoc_type"), 1),
    ("EdocFomatType", [], "随附单据格式类型", "Format: S structured, US unstructured.", "EdocFormat", 0),
    ("OpNote", [], "操作说明", "Operation note.", t(255), 0),
    ("EdocCopId", [], "随附单据文件企业名", "Enterprise file name of the document.", t(64), 0),
    ("EdocOwnerCode", [], "所属单位海关编号", "Customs code of the owner.", t(18), 0),
    ("SignUnit", [], "签名单位代码", "Signing unit code.", t(18), 0),
    ("SignTime", [], "签名时间", "Signing time.", t(32), 0),
    ("EdocOwnerName", [], "所属单位名称", "Owner name.", t(100), 0),
    ("EdocSize", [], "随附单据文件大小", "File size in bytes.", "Integer", 0),
]
ECO = [
    ("CertType", [31], "证书类型", "Origin proof type (certificate or declaration).", t(4), 0),
    ("EcoCertNo", [31], "原产地证明编号", "Number of the certificate / declaration of origin.", t(64), 0),
    ("DecGNo", [31], "报关单商品项号", "Declaration item number (单证对应关系表).", "Integer", 0),
    ("EcoGNo", [31], "原产地证明商品项号", "Item number in the origin proof.", "Integer", 0),
    ("ExtendFiled", [], "扩展字段", "Extension field.", t(255), 0),
]
ROYALTY = [(n, [46], "特许权使用费申报", f"Royalty declaration data: {n}.", t(255), 0) for n in [
    "PricePreDeterminNo", "TaxRoyaltyDeclType", "ContractNo", "Authorizer", "AuthorizedPerson", "PayType",
    "PayTime", "PayPeriod", "EffectiveDateTime", "ExpirationDateTime", "RoyaltyAmount", "Curr", "RoyaltyFeeType",
    "EdocType", "Statment", "IsSecret", "IsCusAudit", "IsCusPricePreDetermin", "IssueDateTime",
    "PeriodStartDate", "PeriodEndDate"]]


# -- writer ---------------------------------------------------------------------------------------------------
def doc(fields, zh, en, indent):
    pad = " " * indent
    nums = ", ".join(str(f) for f in fields)
    label = (f"Field {nums} — " if fields else "Not a numbered form field — ") + f"{zh} — {en}"
    appinfo = "".join(f"<field>{f}</field>" for f in fields)
    out = f"{pad}<xs:annotation>\n{pad}  <xs:documentation xml:lang=\"en\">{escape(label)}</xs:documentation>\n"
    if appinfo:
        out += f"{pad}  <xs:appinfo>{appinfo}</xs:appinfo>\n"
    return out + f"{pad}</xs:annotation>\n"


def simple_ref(type_key: str, indent: int) -> tuple[str, str]:
    """-> (attribute text, inline body)"""
    if type_key.startswith("text"):
        type_key, _, table = type_key.partition("@")
        required = type_key.endswith("r")
        n = int(type_key[4:].rstrip("r"))
        pad = " " * indent
        facets = (f'<xs:minLength value="1"/>' if required else "") + f'<xs:maxLength value="{n}"/>'
        note = ""
        if table:
            facets += f'<xs:pattern value="{attr(code_list_pattern(table_codes(table)))}"/>'
            note = f"<xs:annotation><xs:appinfo><codeTable>{table}</codeTable></xs:appinfo></xs:annotation>"
        return "", (f"{pad}<xs:simpleType>{note}<xs:restriction base=\"xs:string\">{facets}"
                    f"</xs:restriction></xs:simpleType>\n")
    return f' type="{type_key}"', ""


def leaf(row, indent=8):
    name, fields, zh, en, type_key, min_occurs = row
    pad = " " * indent
    attr, body = simple_ref(type_key, indent + 2)
    occurs = "" if min_occurs else ' minOccurs="0"'
    return (f'{pad}<xs:element name="{name}"{attr}{occurs}>\n' + doc(fields, zh, en, indent + 2) + body
            + f"{pad}</xs:element>\n")


def complex_all(rows, indent):
    pad = " " * indent
    return (f"{pad}<xs:complexType>\n{pad}  <xs:all>\n" + "".join(leaf(r, indent + 4) for r in rows)
            + f"{pad}  </xs:all>\n{pad}</xs:complexType>\n")


def group(name, item, rows, fields, zh, en, item_zh, item_en, indent=8, item_body=None, item_min=0):
    """A wrapper element holding 0..n items with all-group content."""
    pad = " " * indent
    inner = item_body if item_body is not None else complex_all(rows, indent + 10)
    return (f'{pad}<xs:element name="{name}" minOccurs="0">\n' + doc(fields, zh, en, indent + 2)
            + f"{pad}  <xs:complexType>\n{pad}    <xs:sequence>\n"
            + f'{pad}      <xs:element name="{item}" minOccurs="{item_min}" maxOccurs="unbounded">\n'
            + doc(fields, item_zh, item_en, indent + 8) + inner
            + f"{pad}      </xs:element>\n{pad}    </xs:sequence>\n{pad}  </xs:complexType>\n{pad}</xs:element>\n")


def build() -> str:
    out = [f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- GENERATED by xsd/prc/build_xsd.py from its element tables: edit those and re-run, do not edit here. -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="{NS}" targetNamespace="{NS}"
           elementFormDefault="qualified" attributeFormDefault="unqualified" version="edihub-1">
  <xs:annotation>
    <xs:documentation xml:lang="en">China e-Port customs declaration DecMessage (报关单), import and export, as real
producers write it (docs/formats/prc.md). No official XSD was found (spec/realformats.md §5): element names,
nesting and groups come from eight independent producers; the 49 form fields of the filling rules
(spec/prc.md) are mapped onto them, each element naming its field numbers in xs:appinfo/field.
Ordering: producers disagree on the order of the groups under DecMessage and of the elements inside DecHead
and DecList, so the groups form a repeated xs:choice (their counts are checked by rule prc-group-count) and
DecHead / DecList / group items use xs:all (any order, each element at most once).
Code tables (mappings/codes/prc_*.csv) are the source of every code list; the currency list is ISO 4217 as
the pinned pycountry gives it (table iso4217_alpha). The closed lists and the code fields whose type forbids
blanks carry their table as an enumeration (annotated with appinfo/codeTable, generated from the table; an
optional field also lists the empty value); the other code fields are checked by code_fields and rules.</xs:documentation>
  </xs:annotation>
"""]
    for name, (body, text) in TYPES.items():
        out.append(f'  <xs:simpleType name="{name}">\n    <xs:annotation><xs:documentation xml:lang="en">'
                   f'{escape(text)}</xs:documentation></xs:annotation>\n'
                   f'    <xs:restriction base="xs:string">{body}</xs:restriction>\n  </xs:simpleType>\n')
    for name, (base, table, optional, text) in CODE_TYPES.items():
        enum = "".join(f'<xs:enumeration value="{escape(v, {chr(34): "&quot;"})}"/>'
                       for v in ([""] if optional else []) + table_codes(table))
        out.append(f'  <xs:simpleType name="{name}">\n    <xs:annotation><xs:documentation xml:lang="en">'
                   f'{escape(text)}</xs:documentation>\n      <xs:appinfo><codeTable>{table}</codeTable>'
                   f'</xs:appinfo></xs:annotation>\n'
                   f'    <xs:restriction base="xs:string">{TYPES[base][0]}{enum}</xs:restriction>\n'
                   f'  </xs:simpleType>\n')
    for name, (table, values, text) in ENUMS.items():
        enum = "".join(f'<xs:enumeration value="{v}"/>' for v in values)
        out.append(f'  <xs:simpleType name="{name}">\n    <xs:annotation><xs:documentation xml:lang="en">'
                   f'{escape(text)}</xs:documentation>\n      <xs:appinfo><codeTable>{table}</codeTable>'
                   f'</xs:appinfo></xs:annotation>\n'
                   f'    <xs:restriction base="xs:string">{enum}</xs:restriction>\n  </xs:simpleType>\n')

    vin = (" " * 20 + "<xs:complexType>\n" + " " * 22 + "<xs:choice minOccurs=\"0\" maxOccurs=\"unbounded\">\n"
           + "".join(leaf(r, 24) for r in GOODS_LIMIT)
           + " " * 24 + '<xs:element name="DecGoodsLimitVin">\n'
           + doc([35], "产品资质VIN信息", "VIN data of one vehicle (3C vehicle data, field 35 rule 11).", 26)
           + complex_all(GOODS_LIMIT_VIN, 26) + " " * 24 + "</xs:element>\n"
           + " " * 22 + "</xs:choice>\n" + " " * 20 + "</xs:complexType>\n")
    goods_limits = group("DecGoodsLimits", "DecGoodsLimit", None, [], "产品资质", "Licences / qualifications "
                         "of the goods line.", "产品资质(许可证)", "One licence of the goods line; its elements "
                         "may repeat in any order (DecGoodsLimitVin once per vehicle).", indent=14, item_body=vin)
    declist_body = (" " * 18 + "<xs:complexType>\n" + " " * 20 + "<xs:all>\n"
                    + "".join(leaf(r, 22) for r in GOODS) + goods_limits.replace(" " * 14, " " * 22, 1)
                    + " " * 20 + "</xs:all>\n" + " " * 18 + "</xs:complexType>\n")
    groups = [
        ('<xs:element name="DecHead">\n' + doc([], "报关单表头", "Declaration header (fields 1-32, 44-49).", 10)
         + complex_all(HEAD, 10) + "        </xs:element>\n", True),
        (group("DecLists", "DecList", None, [33], "报关单表体", "Goods lines (fields 33-43).", "商品项",
               "One goods line.", item_body=declist_body, item_min=1), False),
        (group("DecContainers", "Container", CONTAINER, [32], "集装箱信息", "Containers (field 32 rule 28).",
               "集装箱", "One container."), False),
        (group("DecLicenseDocus", "LicenseDocu", LICENSE_DOCU, [31], "随附单证", "Accompanying documents "
               "(field 31).", "随附单证", "One accompanying document."), False),
        (group("DecRequestCerts", "DecRequestCert", REQUEST_CERT, [], "申请单证信息", "Requested certificates.",
               "申请单证", "One requested certificate."), False),
        (group("DecOtherPacks", "DecOtherPack", OTHER_PACK, [23], "其他包装", "Other packaging (field 23).",
               "其他包装", "One other packaging."), False),
        (group("DecCopLimits", "DecCopLimit", COP_LIMIT, [], "企业资质", "Enterprise qualifications.",
               "企业资质", "One enterprise qualification."), False),
        (group("DecUsers", "DecUser", USER, [], "使用人信息", "Users of the goods.", "使用人", "One user."), False),
        (group("DecCopPromises", "DecCopPromise", COP_PROMISE, [], "企业承诺", "Enterprise promises (S-EP).",
               "企业承诺", "One promise."), False),
    ]
    out.append(f"""
  <xs:element name="DecMessage">
    <xs:annotation>
      <xs:documentation xml:lang="en">Not a numbered form field — 报关单报文 — the customs declaration message.
Groups in any order: DecHead 1, DecLists 1, DecFreeTxt / DecSign / DecRoyaltyFee and each wrapper at most 1,
EdocRealation and EcoRelation 0..n (not wrapped), and at most one enveloped ds:Signature (edihub's optional
XMLDSig placement; the e-Port itself carries the signature as text in DecSign/Sign, realformats §1.6).
Counts are checked by rule prc-group-count.</xs:documentation>
    </xs:annotation>
    <xs:complexType>
      <xs:choice minOccurs="0" maxOccurs="unbounded">
""")
    for text, _ in groups:
        out.append(text if text.startswith("        ") else "        " + text)
    out.append(
        '        <xs:element name="DecFreeTxt">\n' + doc([10, 32, 48], "自由文本", "Free-text group: related "
        "numbers, voyage number, declaration staff.", 10) + complex_all(FREE_TXT, 10) + "        </xs:element>\n")
    out.append('        <xs:element name="DecSign">\n' + doc([], "报关单签名", "Operation and signature data "
               "(DecSign/Sign holds the e-Port text signature).", 10) + complex_all(SIGN, 10)
               + "        </xs:element>\n")
    out.append('        <xs:element name="DecRoyaltyFee">\n' + doc([46], "特许权使用费", "Royalty fee "
               "declaration (S-EP only).", 10) + complex_all(ROYALTY, 10) + "        </xs:element>\n")
    out.append('        <xs:element name="EdocRealation">\n' + doc([], "随附单据 (sic)", "One attached "
               "electronic document; repeated, not wrapped.", 10) + complex_all(EDOC, 10) + "        </xs:element>\n")
    out.append('        <xs:element name="EcoRelation">\n' + doc([31], "单证对应关系", "Document correspondence "
               "table row: declaration item vs origin-proof item (field 31 rule 5).", 10) + complex_all(ECO, 10)
               + "        </xs:element>\n")
    out.append(f'        <xs:any namespace="{DS}" processContents="lax">\n'
               '          <xs:annotation><xs:documentation xml:lang="en">Not a form field: the enveloped XML signature '
               '(ds:Signature) of a signed declaration.</xs:documentation></xs:annotation>\n'
               '        </xs:any>\n')
    out.append("""      </xs:choice>
      <xs:attribute name="version" type="xs:string" use="optional">
        <xs:annotation><xs:documentation xml:lang="en">Message version as producers send it (3.1, 4.8, 5.0 seen;
any string accepted).</xs:documentation></xs:annotation>
      </xs:attribute>
    </xs:complexType>
  </xs:element>
</xs:schema>
""")
    return "".join(out)


if __name__ == "__main__":
    (HERE / "DecMessage.xsd").write_text(build(), encoding="utf-8")
    print("wrote", HERE / "DecMessage.xsd")
