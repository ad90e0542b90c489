"""VNACCS through the canonical pivot (mappings/vnaccs/*.csv): lossless round trips of every sample, a PRC export
to Viet Nam becoming an IDA draft (golden file), results read into the Response pivot, clear errors."""
import copy
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from translator.parsing import parse
from translator.translate import TranslationError, default_translator, translate
from translator.validate import default_validator

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples" / "vnaccs").glob("*.xml"))
GOLDEN = ROOT / "tests" / "golden" / "vnaccs"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
VN = "{urn:edihub:vnaccs:1}"
CANON = "{urn:edihub:canonical:1}"


def load(path: Path):
    return parse(path.read_bytes())


def c14n(tree) -> bytes:
    """Canonical form without comments and indentation, to compare documents."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    root = copy.deepcopy(root)
    for c in root.xpath("//comment()"):
        c.getparent().remove(c)
    for el in root.iter():
        if el.text is not None and not el.text.strip():
            el.text = None
        el.tail = None
    return etree.tostring(root, method="c14n")


def test_the_four_tables_load_and_are_readable_and_writable():
    tables = default_translator().tables
    for t in ("vnaccs:IDA", "vnaccs:EDA", "vnaccs:IDC", "vnaccs:EDC"):
        assert tables[t].readable and tables[t].writable, t
    assert tables["vnaccs:IDA"].pivot == tables["vnaccs:EDA"].pivot == "Declaration"
    assert tables["vnaccs:IDC"].pivot == tables["vnaccs:EDC"].pivot == "Response"


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_round_trip_through_the_pivot_is_lossless(path):
    tree = load(path)
    type_id = "vnaccs:" + etree.QName(tree.getroot()).localname
    pivot = translate(tree, "canonical", now=NOW)
    assert pivot.documents[0].getroot().tag.startswith(CANON)
    back = translate(pivot.documents[0], type_id, now=NOW)
    assert back.target == type_id and len(back.documents) == 1
    assert c14n(back.documents[0]) == c14n(tree)


def test_an_ida_reads_into_the_pivot_as_a_vietnamese_import():
    doc = translate(load(ROOT / "samples/vnaccs/ida_haiphong_valves_1line.xml"), "canonical", now=NOW).canonical
    assert doc["Direction"] == "import" and doc["DeclarationCountryCode"] == "VN"
    assert doc["ID"] == "100574219060" and doc["DeclarationOfficeID"] == "03CC"
    assert doc["ProcedureCategoryCode"] == "general-trade"          # A12 via xw_procedure
    assert doc["BorderTransportMeans/ModeCode"] == "1"              # MTC 2 sea container = UN/ECE Rec 19 maritime
    assert doc["TradeTerms/ConditionCode"] == "CIF"
    item = doc["GoodsItem"][0]
    assert item["GoodsItem/ClassificationID"] == "84818099" and item["GoodsItem/NetMassMeasure"] == "4860"
    assert item["GoodsItem/OriginCountryCode"] == "CN" and item["GoodsItem/QuantityUnitCode"] == "PCE"


def test_an_export_reads_as_a_vietnamese_export_with_the_buyer_abroad():
    doc = translate(load(ROOT / "samples/vnaccs/eda_catlai_cashew_pepper_to_shanghai.xml"), "canonical",
                    now=NOW).canonical
    assert doc["Direction"] == "export" and doc["Exporter/TaxID"] == "3701234568"
    assert doc["Importer/CountryCode"] == "CN" and doc["DestinationPort/ID"] == "CNSHA"
    assert [i["GoodsItem/ClassificationID"] for i in doc["GoodsItem"]] == ["08013200", "08013200", "09041120"]


def test_tonnes_are_kilograms_in_the_pivot_and_tonnes_again_on_the_way_back():
    tree = load(ROOT / "samples/vnaccs/ida_haiphong_valves_1line.xml")
    transport = tree.getroot().find(f"{VN}Transport")
    transport.find(f"{VN}GW").text = "5.12"
    transport.find(f"{VN}GWT").text = "TNE"
    pivot = translate(tree, "canonical", now=NOW)
    assert pivot.canonical["TotalGrossMassMeasure"] == "5120"
    back = translate(pivot.documents[0], "vnaccs:IDA", now=NOW).documents[0].getroot()
    assert back.findtext(f"{VN}Transport/{VN}GW") == "5.12" and back.findtext(f"{VN}Transport/{VN}GWT") == "TNE"


def test_a_pre_2010_price_term_travels_without_a_canonical_code():
    tree = load(ROOT / "samples/vnaccs/ida_haiphong_valves_1line.xml")
    tree.getroot().find(f"{VN}Invoice/{VN}IP2").text = "DDU"
    tree.getroot().find(f"{VN}Valuation/{VN}IN1").text = "A"
    pivot = translate(tree, "canonical", now=NOW)
    assert not pivot.canonical.get("TradeTerms/ConditionCode")
    back = translate(pivot.documents[0], "vnaccs:IDA", now=NOW).documents[0]
    assert back.getroot().findtext(f"{VN}Invoice/{VN}IP2") == "DDU"


# -- PRC export to Viet Nam -> VNACCS IDA draft (golden) --------------------------------------------------------
def test_prc_export_to_vietnam_becomes_the_golden_ida_draft():
    source = load(GOLDEN / "prc_export_to_vn.xml")
    assert default_validator().validate(source).valid
    result = translate(source, "vnaccs", now=NOW)          # the family: Direction=export picks the IDA
    assert result.target == "vnaccs:IDA"
    out = result.documents[0]
    assert c14n(out) == c14n(load(GOLDEN / "prc_export_to_vn.IDA.xml"))

    report = default_validator().validate(out)
    assert report.valid, [i.to_dict() for i in report.errors]
    assert {w.code for w in report.warnings} == {"vnaccs-missing-item", "vnaccs-hs-national-digits",
                                                 "vnaccs-description-language"}
    missing = {w.message.split(" ", 1)[0] for w in report.warnings if w.code == "vnaccs-missing-item"}
    assert missing == {"CH", "CHB", "ICD", "IMC", "IMA", "EPA", "ST", "ARR", "DST", "PSC", "IV1", "IP1", "IP3",
                       "IP4", "IVP"}

    mapping = result.report.to_dict()
    converted = {(f["target"], f["from"], f["to"]) for f in mapping["fields"] if f["status"] == "converted"}
    assert ("/IDA/Lines/Line[1]/CMD", "8471300000", "847130") in converted
    assert ("/IDA/ICB", "0110", "A11") in converted and ("/IDA/Transport/NOT", "22", "CS") in converted
    dropped = {d["source"]: d["value"] for d in mapping["dropped"]}
    # Chinese office, port and numbers are reported as dropped, never written into Vietnamese fields
    assert dropped["/DecMessage/DecHead/CustomMaster"] == "2248"
    assert dropped["/DecMessage/DecHead/DistinatePort"] == "VNM000"
    assert out.getroot().find(f"{VN}ICN") is None and out.getroot().find(f"{VN}CH") is None


def test_a_procedure_vnaccs_cannot_express_fails_naming_the_row_and_the_field():
    source = load(GOLDEN / "prc_export_to_vn.xml")
    source.getroot().find("{http://www.chinaport.gov.cn/dec}DecHead/{http://www.chinaport.gov.cn/dec}TradeMode") \
        .text = "0130"                                         # barter: no VNACCS type code in the sources
    with pytest.raises(TranslationError) as e:
        translate(source, "vnaccs:IDA", now=NOW)
    assert e.value.row.startswith("mappings/vnaccs/IDA.csv:")
    assert "barter" in e.value.message and "vnaccs_import" in e.value.message


def test_more_than_fifty_lines_cannot_become_one_ida():
    source = load(GOLDEN / "prc_export_to_vn.xml")
    pivot = translate(source, "canonical", now=NOW)
    doc = pivot.canonical
    doc["GoodsItem"] = [dict(doc["GoodsItem"][0]) for _ in range(51)]
    doc["TotalGrossMassMeasure"] = "100000"
    from translator import canonical as cm
    with pytest.raises(TranslationError) as e:
        translate(cm.to_xml(doc), "vnaccs:IDA", now=NOW)
    assert e.value.code == "output-invalid"
    assert {i.code for i in e.value.issues} == {"vnaccs-max-lines"}


# -- VNACCS export -> PRC import -------------------------------------------------------------------------------
def test_vietnamese_export_to_china_needs_the_chinese_side_data():
    """A Vietnamese export cannot supply the Chinese declaring customs (CustomMaster) and other PRC-only data:
    without them translation stops naming the field; with them (route hints) it yields a PRC import."""
    source = load(ROOT / "samples/vnaccs/eda_catlai_cashew_pepper_to_shanghai.xml")
    with pytest.raises(TranslationError) as e:
        translate(source, "prc", now=NOW)
    assert "CustomMaster" in str(e.value.field) + e.value.message
    hints = {"Extension:prc/CustomMaster": "2248", "Extension:prc/IEPort": "2248",
             "Extension:prc/GoodsItem/DestCode": "310115", "Importer/TaxID": "91310115MA1H3RTY5U",
             "TotalNetMassMeasure": "4980"}
    result = translate(source, "prc", now=NOW, hints=hints)
    assert result.target == "prc:DecMessage"
    root = result.documents[0].getroot()
    d = "{http://www.chinaport.gov.cn/dec}"
    assert root.findtext(f"{d}DecHead/{d}IEFlag") == "I"
    assert [x.text[:6] for x in root.iter(f"{d}CodeTS")] == ["080132", "080132", "090411"]


# -- registration results ---------------------------------------------------------------------------------------
def test_a_registered_result_is_accepted_with_its_channel():
    doc = translate(load(ROOT / "samples/vnaccs/idc_registered_yellow.xml"), "canonical", now=NOW).canonical
    assert doc.root == "Response"
    assert doc["DeclarationID"] == "100574331800" and doc["DeclarationOfficeID"] == "02CI"
    assert doc["StatusCode"] == "accepted" and doc["ChannelCode"] == "yellow"
    assert doc["IssueDateTime"] == "2026-11-23T09:14:05+07:00"


def test_a_rejected_result_carries_its_message():
    doc = translate(load(ROOT / "samples/vnaccs/idc_rejected.xml"), "canonical", now=NOW).canonical
    assert doc["StatusCode"] == "rejected" and not doc.get("ChannelCode")
    [msg] = doc["Message"]
    assert msg["Message/Text"].startswith("Tờ khai khai trước đã quá thời hạn")
    assert msg["Extension:vnaccs/Message/Item"] == "ICD"


def test_a_foreign_declaration_number_is_refused_in_a_result():
    """A Chinese customs result has an 18-digit number: it cannot become a VNACCS IDC."""
    with pytest.raises(TranslationError) as e:
        translate(load(ROOT / "samples/prc/dec_result_released.xml"), "vnaccs:IDC", now=NOW)
    assert e.value.code == "output-invalid" and e.value.row == "mappings/vnaccs/IDC.csv:3"
