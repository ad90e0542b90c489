"""Golden tests of the siveca mapping tables (mappings/siveca/): a PRC export to Paraguay becomes one SIVECA
registration per container, the CID notification becomes a canonical response carrying the CIDs, and SIVECA
documents survive a round trip through the pivot unchanged."""
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from translator import canonical as cm
from translator.parsing import parse
from translator.translate import TranslationError, default_translator
from translator.xpath import readable_path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "siveca"
SAMPLES = ROOT / "samples" / "siveca"
NOW = datetime(2024, 11, 9, 10, 0, 0, tzinfo=timezone.utc)
SIV = "{urn:hub:py:siveca:1}"
PRC = "{http://www.chinaport.gov.cn/dec}"
WRITE_GOLDEN = False     # set True once to regenerate tests/golden/siveca/*.xml after a deliberate table change


@pytest.fixture(scope="module")
def translator():
    return default_translator()


def _c14n(tree) -> list:
    """The document as (element path, text, attributes) in document order: namespace prefixes and indentation
    are not part of what a translation must preserve."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    return [(etree.QName(el).namespace, readable_path(el), (el.text or "").strip(), sorted(el.attrib.items()))
            for el in root.iter() if isinstance(el.tag, str)]


def _prc_input() -> bytes:
    return (GOLDEN / "prc_export_to_paraguay.xml").read_bytes()


def test_prc_input_is_a_valid_prc_declaration(translator):
    report = translator.validator.validate_bytes(_prc_input())[0]
    assert report.format == "prc:DecMessage" and report.valid, [i.to_dict() for i in report.errors]


RUC = "80012345-0"


def _pivot_with_ruc(translator, data: bytes, ruc: str = RUC):
    """PRC declaration -> canonical pivot, plus the importer's RUC captured outside the declaration (A.14)."""
    _, doc, _, _ = translator.to_canonical(parse(data))
    doc["Importer/TaxID"] = ruc
    return cm.to_xml(doc)


def test_prc_export_fans_out_one_registration_per_container(translator):
    src = parse(_prc_input())
    result = translator.translate(_pivot_with_ruc(translator, _prc_input()), "siveca:Registration", now=NOW)
    assert result.target == "siveca:Registration"
    containers = src.getroot().findall(f"{PRC}DecContainers/{PRC}Container")
    assert len(result.documents) == len(containers) == 2
    for n, (doc, cont) in enumerate(zip(result.documents, containers), 1):
        golden = GOLDEN / f"prc_export_to_paraguay.registration_{n}.xml"
        if WRITE_GOLDEN:
            doc.write(str(golden), xml_declaration=True, encoding="UTF-8", pretty_print=True)
        assert _c14n(doc) == _c14n(parse(golden.read_bytes())), f"differs from {golden.name}"
        root = doc.getroot()
        assert translator.validator.validate(doc).valid
        # the container of this registration, and exactly the goods lines the PRC container lists
        assert root.findtext(f".//{SIV}ContainerNo") == cont.findtext(f"{PRC}ContainerId")
        lines = [g.get("line") for g in root.iter(f"{SIV}GoodsItem")]
        assert lines == cont.findtext(f"{PRC}GoodsNo").split(",")
        assert root.findtext(f".//{SIV}ExportDocumentRef") == "224820240001456789"
        assert root.find(f".//{SIV}Importer/{SIV}Identifier").text == RUC
        assert root.findtext(f".//{SIV}CountryOfDestination") == "PY"
        assert root.findtext(f".//{SIV}ExportDate") == "2024-11-08"


def test_report_shows_defaults_and_drops(translator):
    result = translator.translate(_pivot_with_ruc(translator, _prc_input()), "siveca:Registration", now=NOW)
    rep = result.report.to_dict()
    text = result.report.to_text()
    assert "CertificationStatus" in text and "defaulted" in text
    # PRC-only fields (e.g. the levy nature 征免性质) are reported as dropped, not silently lost
    assert any("CutMode" in str(d) for d in rep["dropped"]), rep["dropped"][:5]


def test_without_the_ruc_the_registration_is_made_with_a_warning(translator):
    # the PRC declaration alone lacks the RUC (spec A.14): the registrations are still valid, with a warning
    result = translator.translate(parse(_prc_input()), "siveca:Registration", now=NOW)
    assert len(result.documents) == 2
    for doc in result.documents:
        assert doc.getroot().find(f".//{SIV}Importer/{SIV}Identifier") is None
        report = translator.validator.validate(doc)
        assert report.valid and {i.code for i in report.warnings} == {"siveca-importer-ruc-missing"}


def test_a_pending_declaration_has_no_export_date(translator):
    data = _prc_input().replace(b"<IEDate>20241108</IEDate>", b"")
    result = translator.translate(_pivot_with_ruc(translator, data), "siveca:Registration", now=NOW)
    assert all(d.getroot().find(f".//{SIV}ExportDate") is None for d in result.documents)


def test_wrong_check_digit_is_refused_not_sent(translator):
    with pytest.raises(TranslationError) as e:
        translator.translate(_pivot_with_ruc(translator, _prc_input(), "80012345-7"), "siveca:Registration", now=NOW)
    assert e.value.code == "output-invalid"
    assert "siveca-ruc-check-digit" in {i.code for i in e.value.issues}


def test_export_to_another_country_is_not_a_siveca_registration(translator):
    data = _prc_input().replace(b"<TradeCountry>PRY</TradeCountry>", b"<TradeCountry>DEU</TradeCountry>")
    with pytest.raises(TranslationError) as e:
        translator.translate(_pivot_with_ruc(translator, data), "siveca:Registration", now=NOW)
    assert "siveca-destination-not-py" in {i.code for i in e.value.issues}


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("registration_*.xml")) + sorted(SAMPLES.glob("cid_notification_*.xml")),
                         ids=lambda p: p.name)
def test_round_trip_through_the_pivot_is_lossless(translator, path):
    src = parse(path.read_bytes())
    target = translator.registry.detect(src.getroot()).id
    result = translator.translate(src, target, now=NOW)
    assert len(result.documents) == 1
    assert _c14n(result.documents[0]) == _c14n(parse(path.read_bytes()))


def test_cid_notification_becomes_a_response_with_the_cids(translator):
    path = SAMPLES / "cid_notification_3containers.xml"
    result = translator.translate(parse(path.read_bytes()), "canonical:Response", now=NOW)
    doc = result.canonical
    assert doc["SystemReferenceID"] == "SIV-2025-0104412"
    assert doc["StatusCode"] == "accepted"
    pairs = [(c["Container/ID"], c["Container/ReferenceID"]) for c in doc["Container"]]
    assert pairs == [("CSNU8123450", "CID25CN0603Q2M8T1"), ("CBHU5520199", "CID25CN0603Q2M8T2"),
                     ("TCNU6083142", "CID25CN0603Q2M8T3")]
