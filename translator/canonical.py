"""The canonical pivot: every format maps to and from it; there is no pairwise format-to-format code.

The model is aligned with the WCO Data Model 3.x (class and element names, WCO data element IDs where one exists,
see spec/wco_tree.txt). It is written once, below, as an indented outline; from it come
  * the field registry the mapping-table loader checks names against (`MODEL.fields`),
  * the in-memory form (a `Canonical` document: a dict keyed by canonical field names, repeating groups as
    lists of dicts keyed the same way), which is what the engine works on (fast: no tree in the middle),
  * the XML form (`to_xml` / `from_xml`) and its schema xsd/canonical/Declaration.xsd
    (`python -m translator.canonical > xsd/canonical/Declaration.xsd`; a test checks the file is current).

Outline syntax: `Name  WCO-ID|-  type  documentation`; a line ending in `:` opens a container, `[]` after a
name marks a repeating group. Types: string, code, date (ISO 8601 yyyy-mm-dd), datetime, decimal, integer.
National fields with no canonical meaning travel losslessly as extensions (`Extension:<scheme>/<Name>`): they are
carried through the pivot and restored by the same family's table; other targets report them as dropped.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

from lxml import etree

NS = "urn:edihub:canonical:1"
EXT_PREFIX = "Extension:"

MODEL_TEXT = r"""
Declaration:  42A  A goods declaration (export or import), seen from the customs administration that receives it.
  ID  D014  string  Declaration number assigned by customs (PRC 海关编号 EntryId, VNACCS ICN).
  PreEntryID  -  string  Pre-entry number given before acceptance (PRC 预录入编号 PreEntryId); no WCO element.
  SystemReferenceID  -  string  Reference the customs system returns on first submission (PRC SeqNo); no WCO element.
  FunctionalReferenceID  D026  string  The declarant's own reference (PRC DecSign/ClientSeqNo, VNACCS REF).
  Direction  -  code  export or import, seen from the customs administration that receives this declaration (WCO codes it in TypeCode EX/IM).
  DeclarationCountryCode  -  code  ISO 3166-1 alpha-2 country of the customs administration that receives this declaration.
  ProcedureCategoryCode  166  code  Customs procedure as an edihub category (crosswalk xw_procedure); the national code travels as an extension.
  DeclarationOfficeID  065  code  Office of declaration (PRC CustomMaster 申报地海关, VNACCS CH).
  ExitEntryOfficeID  G005  code  Office of exit (export) or entry (import) (PRC IEPort 进出境关别).
  IssueDateTime  D011  date  Declaration date.
  ExitEntryDate  024  date  Date of export or import (PRC IEDate 进出口日期).
  GoodsItemQuantity  228  integer  Total number of goods items.
  Exporter:  57A  The exporter (for a PRC export: 境内发货人; for a PRC import: the overseas consignor).
    ID  R032  string  Exporter, coded (customs registration code).
    TaxID  -  string  Exporter's national tax/credit identifier (PRC 统一社会信用代码, VNACCS MST).
    Name  R031  string  Exporter name.
    NameLocal  -  string  Exporter name in the local script.
    AddressLine  239  string  Street and number.
    CityName  241  string  City.
    CountryCode  242  code  Country of the address (ISO 3166-1 alpha-2).
    PostcodeID  245  string  Postcode.
    Phone  240  string  Telephone number.
  Importer:  74A  The importer (for a PRC import: 境内收货人; for a PRC export: the overseas consignee).
    ID  R038  string  Importer, coded.
    TaxID  -  string  Importer's national tax identifier.
    Name  R037  string  Importer name.
    NameLocal  -  string  Importer name in the local script.
    AddressLine  239  string  Street and number.
    CityName  241  string  City.
    CountryCode  242  code  Country of the address (ISO 3166-1 alpha-2).
    PostcodeID  245  string  Postcode.
    Phone  240  string  Telephone number.
  Declarant:  57B  The party lodging the declaration (customs broker or the trader itself).
    ID  R123  string  Declarant (customs broker / declaring unit), coded (PRC AgentCode 申报单位, VNACCS ICC).
    TaxID  -  string  Declarant's national tax identifier.
    Name  R124  string  Declarant name.
  ProducerConsumer:  -  The domestic producer/seller (export) or consumer/user (import) unit.
    ID  R119  string  Domestic producer/seller (export) or consumer/user (import) unit, coded (PRC OwnerCode); WCO DomesticDutyTaxParty is the nearest class.
    TaxID  -  string  Its national tax identifier.
    Name  -  string  Its name.
  BorderTransportMeans:  15A  The means of transport crossing the border.
    ModeCode  T022  code  Mode of transport crossing the border, UN/ECE Rec 19 (crosswalk xw_transport_mode).
    Name  T005  string  Means of transport crossing the border (vessel name, flight, vehicle plate).
    ID  T006  string  Means of transport, coded (IMO number, call sign).
    JourneyID  149  string  Voyage / flight number.
    RegistrationNationalityCode  T014  code  Nationality of the means of transport (ISO 3166-1 alpha-2).
  TransportContractDocument:  -  The transport contract (bill of lading, air waybill).
    ID  D022  string  Bill of lading / air waybill number.
  LoadingLocation:  83A  Place of loading.
    ID  L010  code  Port or place of loading (PRC DespPortCode 启运港).
  DestinationPort:  -  Port of transit or destination.
    ID  L012  code  Port of transit or destination (PRC DistinatePort 经停港/指运港).
  BorderPlace:  -  Domestic port of entry or exit.
    ID  -  code  Domestic port of entry or exit (PRC EntyPortCode 入境/离境口岸); no WCO element.
  GoodsLocation:  64A  Where the goods are located for examination.
    Name  L016  string  Place where the goods can be examined / are stored (PRC GoodsPlace 货物存放地点).
    ID  L017  code  Goods location, coded (VNACCS ST).
  TradeCountryCode  -  code  Trading country (PRC 贸易国), ISO 3166-1 alpha-2; no exact WCO match.
  ExportCountryCode  062  code  Country of export / departure (PRC 启运国 on import), ISO 3166-1 alpha-2.
  DestinationCountryCode  465  code  Country of destination (PRC 运抵国 on export), ISO 3166-1 alpha-2.
  TradeTerms:  22B  Delivery terms.
    ConditionCode  090  code  Incoterms code (crosswalk xw_incoterms).
    LocationName  L001  string  Named place of the delivery terms.
  Freight:  -  Freight charge.
    TypeCode  -  code  How the amount is given: rate, unit (per ton) or total (PRC FeeMark).
    Amount  117  decimal  Freight charge (or rate).
    CurrencyCode  135  code  ISO 4217 currency of the freight.
  Insurance:  -  Insurance charge.
    TypeCode  -  code  rate or total (PRC InsurMark).
    Amount  -  decimal  Insurance amount (or rate); absent from the WCO DMS profile.
    CurrencyCode  135  code  ISO 4217 currency.
  OtherCharges:  58B  Other charges or deductions.
    TypeCode  -  code  rate, unit or total (PRC OtherMark).
    Amount  181  decimal  Other charges amount (or rate).
    CurrencyCode  135  code  ISO 4217 currency.
  Invoice:  78A  The commercial invoice.
    ID  D016  string  Invoice number.
    IssueDate  D015  date  Invoice date.
    Amount  109  decimal  Total invoice amount.
    CurrencyCode  135  code  ISO 4217 invoice currency.
  Contract:  -  The sales contract or agreement.
    ID  -  string  Contract / agreement number (PRC ContrNo 合同协议号).
  Licence:  -  The licence covering the declaration.
    ID  -  string  Licence number (PRC LicenseNo 许可证号).
  AuthorisationID  R144  string  Record / manual / authorisation number (PRC ManualNo 备案号).
  TotalPackageQuantity  146  integer  Total number of packages.
  PackagingTypeCode  141  code  Type of packages, UN/ECE Rec 21 (crosswalk xw_package_type).
  TotalGrossMassMeasure  131  decimal  Total gross weight in kilograms.
  TotalNetMassMeasure  -  decimal  Total net weight in kilograms (net weight 127 of the full DM).
  MarksNumbersID  142  string  Shipping marks and numbers.
  Remarks  225  string  Free-text remarks (AdditionalInformation/StatementDescription).
  Valuation:  41A  Valuation confirmations.
    SpecialRelationshipCode  -  code  Buyer and seller related: yes, no or empty (PRC 特殊关系确认).
    PriceInfluenceCode  -  code  Relationship influenced the price: yes, no or empty (PRC 价格影响确认).
    RoyaltyCode  -  code  Royalties payable: yes, no or empty (PRC 支付特许权使用费确认).
  GoodsItem[]:  68A  A goods item (one line of the declaration).
    SequenceNumeric  006  integer  Goods item number.
    ClassificationID  145  code  Commodity code (national tariff code, 8 to 10 digits).
    Description  137  string  Description of goods (in the declaring country's language).
    DescriptionEnglish  137  string  Description of goods in English.
    Specification  -  string  Specification / model (PRC GModel 规格型号).
    Quantity  -  decimal  Declared (transaction) quantity.
    QuantityUnitCode  -  code  Unit of the declared quantity, UN/ECE Rec 20 (crosswalk xw_unit).
    TariffQuantity  130  decimal  First statutory quantity.
    TariffQuantityUnitCode  -  code  Its unit, UN/ECE Rec 20.
    SecondQuantity  -  decimal  Second statutory quantity.
    SecondQuantityUnitCode  -  code  Its unit, UN/ECE Rec 20.
    UnitPriceAmount  -  decimal  Declared unit price.
    ItemAmount  -  decimal  Declared total price of the item.
    CurrencyCode  135  code  ISO 4217 currency of the item price.
    OriginCountryCode  063  code  Country of origin, ISO 3166-1 alpha-2.
    DestinationCountryCode  465  code  Country of final destination, ISO 3166-1 alpha-2.
    DomesticRegionCode  -  code  Domestic source (export) or destination (import) region (PRC DistrictCode).
    DutyRegimeCode  164  code  Levy/exemption method of the item (PRC DutyMode 征免), national code.
    PreferenceCode  -  code  Trade-agreement preference claimed for the item.
    NetMassMeasure  -  decimal  Net weight of the item in kilograms.
    GrossMassMeasure  126  decimal  Gross weight of the item in kilograms.
  Container[]:  31B  A container (transport equipment).
    SequenceNumeric  006  integer  Container sequence number.
    ID  159  string  Container number (ISO 6346).
    SizeTypeCode  152  code  Container size and type.
    SealID  165  string  Seal numbers, separated by spaces.
    GoodsItemSequences  -  string  Goods item numbers loaded in the container, comma-separated.
    FullnessCode  -  code  full (FCL) or partial (LCL).
    TareMassMeasure  -  decimal  Tare weight in kilograms.
    GrossMassMeasure  -  decimal  Gross weight of the goods in the container in kilograms.
  Document[]:  02A  An additional document (licence, accompanying document, attachment, certificate).
    CategoryCode  D031  code  licence, accompanying (随附单证), attached (electronic attachment) or origin (certificate of origin linked to goods items).
    TypeCode  D006  code  Document type, national code.
    ID  D005  string  Document reference number.
    Name  -  string  File name or title.
    GoodsItemSequence  006  integer  Goods item the document refers to.
    LineID  -  string  Line of the document the goods item refers to (e.g. item of a certificate of origin).
  Packaging[]:  93A  Packages of one type.
    QuantityQuantity  144  integer  Number of packages of this type.
    TypeCode  141  code  Package type, UN/ECE Rec 21 (crosswalk xw_package_type).
Response:  -  A customs response about a declaration: status, channel, messages.
  DeclarationID  D014  string  Number of the declaration the response is about.
  DeclarationCountryCode  -  code  ISO 3166-1 alpha-2 country of the customs administration that issued the response.
  SystemReferenceID  -  string  Customs-system reference (PRC SeqNo / CUS_CIQ_NO).
  FunctionalReferenceID  D026  string  The declarant's own reference echoed back.
  DeclarationOfficeID  065  code  Office that issued the response.
  IssueDateTime  D011  datetime  When the response was issued.
  StatusCode  -  code  Status as an edihub category (crosswalk xw_response_status): accepted, rejected, released, ...
  ChannelCode  -  code  Inspection channel: green, yellow or red (crosswalk xw_channel).
  StatusText  -  string  Free-text note on the status (PRC NOTE / ErrorMessage).
  ExitEntryDate  024  date  Date of export or import confirmed by customs.
  AcceptanceDate  023  date  Acceptance (declaration) date confirmed by customs.
  Message[]:  -  A message or error returned with the response.
    Code  -  code  Message or error code.
    Text  -  string  Message text.
  Container[]:  31B  A container the response is about (e.g. with its SIVECA CID).
    ID  159  string  Container number.
    ReferenceID  -  string  Identifier issued per container (e.g. the SIVECA CID).
"""

TYPES = {"string", "code", "date", "datetime", "decimal", "integer"}


@dataclass(frozen=True)
class Field:
    name: str            # "Exporter/Name", "GoodsItem/ClassificationID"
    wco_id: str          # "" when the WCO DM has no element
    type: str
    doc: str
    group: str | None    # "GoodsItem" for group members


@dataclass
class Root:
    name: str                                   # "Declaration" / "Response"
    fields: dict[str, Field] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    outline: list = field(default_factory=list)   # nested (name, children|Field) for XML/XSD order
    doc: str = ""


class Model:
    def __init__(self, text: str = MODEL_TEXT):
        self.roots: dict[str, Root] = {}
        self.container_docs: dict[str, str] = {}
        stack: list[tuple[int, list, str]] = []
        root: Root | None = None
        for lineno, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            indent = len(raw) - len(raw.lstrip(" "))
            line = raw.strip()
            head, _, rest = line.partition(":")
            is_container = line.endswith(":") or (rest.startswith("  ") and " " not in head)
            cdoc = ""
            if is_container and rest.strip():
                wco, _, cdoc = rest.strip().partition("  ")
                cdoc = cdoc.strip()
            if indent == 0:
                root = Root(head)
                root.doc = cdoc
                self.roots[root.name] = root
                stack = [(0, root.outline, "")]
                continue
            while stack and stack[-1][0] >= indent:
                stack.pop()
            _, children, prefix = stack[-1]
            if is_container:
                name = head
                repeating = name.endswith("[]")
                name = name.removesuffix("[]")
                node: list = []
                children.append((name, node, repeating))
                self.container_docs[prefix + name] = cdoc
                full = f"{prefix}{name}"
                if repeating:
                    if prefix:
                        raise ValueError(f"model line {lineno}: nested repeating groups are not supported")
                    root.groups.append(full)
                stack.append((indent, node, full + "/"))
                continue
            parts = re.split(r"\s{2,}", line, maxsplit=3)
            if len(parts) != 4 or parts[2] not in TYPES:
                raise ValueError(f"model line {lineno}: expected 'Name  WCO-ID  type  doc': {line!r}")
            name, wco, typ, doc = parts
            full = f"{prefix}{name}"
            group = full.split("/", 1)[0] if full.split("/", 1)[0] in root.groups else None
            f = Field(full, "" if wco == "-" else wco, typ, doc, group)
            root.fields[full] = f
            children.append((name, f, False))

    def root(self, name: str) -> Root:
        return self.roots[name]


MODEL = Model()


def is_extension(name: str) -> bool:
    return name.startswith(EXT_PREFIX)


def group_of(name: str, root: Root) -> str | None:
    """The repeating group a field (or extension) belongs to: `GoodsItem/...`, `Extension:prc/GoodsItem/...`."""
    bare = name.split("/", 1)[1] if is_extension(name) else name
    head = bare.split("/", 1)[0]
    return head if head in root.groups else None


class Canonical(dict):
    """A canonical document in memory: {"Exporter/Name": "...", "GoodsItem": [{"GoodsItem/ClassificationID": ...}]}.
    `root` names the pivot ("Declaration" or "Response")."""

    def __init__(self, root: str = "Declaration", *args, **kw):
        super().__init__(*args, **kw)
        self.root = root


# -- XML form ---------------------------------------------------------------------------------------------

def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def to_xml(doc: Canonical) -> etree._ElementTree:
    root_def = MODEL.root(doc.root)
    root = etree.Element(_q(doc.root), nsmap={None: NS})

    def emit(parent, outline, values: dict, prefix: str, in_group: bool):
        for name, node, repeating in outline:
            if isinstance(node, Field):
                v = values.get(node.name)
                if v not in (None, ""):
                    etree.SubElement(parent, _q(name)).text = str(v)
                continue
            if repeating:
                for item in values.get(name) or ():
                    el = etree.SubElement(parent, _q(name))
                    emit(el, node, item, prefix + name + "/", True)
                    _emit_ext(el, item, prefix + name + "/")
                continue
            sub = etree.Element(_q(name))
            emit(sub, node, values, prefix + name + "/", in_group)
            if len(sub):
                parent.append(sub)

    emit(root, root_def.outline, doc, "", False)
    _emit_ext(root, doc, "")
    return root.getroottree()


def _emit_ext(parent, values: dict, group_prefix: str) -> None:
    for k, v in sorted(values.items(), key=lambda kv: kv[0]) if any(map(is_extension, values)) else ():
        if not is_extension(k) or v in (None, ""):
            continue
        scheme, _, rest = k[len(EXT_PREFIX):].partition("/")
        if group_prefix:
            if not rest.startswith(group_prefix):
                continue
            rest = rest[len(group_prefix):]
        elif "/" in rest and rest.split("/", 1)[0] in MODEL.root(_root_of(parent)).groups:
            continue
        el = etree.SubElement(parent, _q("Extension"), scheme=scheme, name=rest)
        el.text = str(v)


def _root_of(el) -> str:
    return etree.QName(el.getroottree().getroot()).localname


def from_xml(tree) -> Canonical:
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    rname = etree.QName(root).localname
    root_def = MODEL.root(rname)
    doc = Canonical(rname)

    def walk(el, prefix: str, target: dict):
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if name == "Extension":
                target[f"{EXT_PREFIX}{child.get('scheme')}/{prefix}{child.get('name')}"] = child.text or ""
                continue
            full = prefix + name
            if full in root_def.groups:
                item: dict = {}
                walk(child, full + "/", item)
                doc.setdefault(full, []).append(item)
            elif len(child):
                walk(child, full + "/", target)
            else:
                target[full] = (child.text or "").strip()

    walk(root, "", doc)
    return doc


# -- XSD --------------------------------------------------------------------------------------------------

_XS = "http://www.w3.org/2001/XMLSchema"
_XSD_TYPES = {"string": "NonEmpty", "code": "Code", "date": "xs:date", "datetime": "xs:dateTime",
              "decimal": "xs:decimal", "integer": "xs:nonNegativeInteger"}


def xsd_text() -> str:
    """The canonical schema, generated from MODEL (xsd/canonical/Declaration.xsd is this output)."""
    xs = lambda tag, parent=None, **a: (etree.SubElement(parent, f"{{{_XS}}}{tag}", **a) if parent is not None
                                        else etree.Element(f"{{{_XS}}}{tag}", nsmap={"xs": _XS, None: NS}, **a))
    schema = xs("schema", targetNamespace=NS, elementFormDefault="qualified", version="1")
    _doc(schema, "edihub canonical pivot, aligned with the WCO Data Model 3.x (element names follow WCO classes; "
                 "appinfo/wcoId gives the WCO data element ID where one exists). Generated from "
                 "translator/canonical.py: do not edit by hand.")
    st = xs("simpleType", schema, name="NonEmpty")
    r = xs("restriction", st, base="xs:string")
    xs("minLength", r, value="1")
    st = xs("simpleType", schema, name="Code")
    r = xs("restriction", st, base="xs:token")
    xs("minLength", r, value="1")
    xs("maxLength", r, value="35")
    ext = xs("complexType", schema, name="ExtensionType")
    _doc(ext, "A national field with no canonical meaning, carried losslessly: scheme = family, name = its path.")
    sc = xs("simpleContent", ext)
    e = xs("extension", sc, base="xs:string")
    _doc(xs("attribute", e, name="scheme", type="xs:token", use="required"),
         "The format family the field comes from (prc, vnaccs, siveca, iran).")
    _doc(xs("attribute", e, name="name", type="xs:string", use="required"), "The field's path in its own format.")

    def build(parent_seq, outline, prefix=""):
        for name, node, repeating in outline:
            if isinstance(node, Field):
                el = xs("element", parent_seq, name=name, type=_XSD_TYPES[node.type], minOccurs="0")
                _doc(el, node.doc, node.wco_id)
                continue
            el = xs("element", parent_seq, name=name, minOccurs="0")
            if repeating:
                el.set("maxOccurs", "unbounded")
            _doc(el, MODEL.container_docs.get(prefix + name, ""))
            ct = xs("complexType", el)
            seq = xs("sequence", ct)
            build(seq, node, prefix + name + "/")
            if repeating:
                ext = xs("element", seq, name="Extension", type="ExtensionType", minOccurs="0", maxOccurs="unbounded")
                _doc(ext, "National fields of this item with no canonical meaning (see ExtensionType).")

    for rname, rdef in MODEL.roots.items():
        el = xs("element", schema, name=rname)
        _doc(el, f"canonical:{rname} — {rdef.doc}")
        ct = xs("complexType", el)
        seq = xs("sequence", ct)
        build(seq, rdef.outline)
        ext = xs("element", seq, name="Extension", type="ExtensionType", minOccurs="0", maxOccurs="unbounded")
        _doc(ext, "National fields with no canonical meaning (see ExtensionType).")
    return etree.tostring(schema, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


def _doc(el, text: str, wco: str = "") -> None:
    ann = etree.SubElement(el, f"{{{_XS}}}annotation")
    d = etree.SubElement(ann, f"{{{_XS}}}documentation")
    d.text = text
    if wco:
        ai = etree.SubElement(ann, f"{{{_XS}}}appinfo")
        etree.SubElement(ai, f"{{{NS}}}wcoId").text = wco


if __name__ == "__main__":
    sys.stdout.write(xsd_text())
