"""Golden tests of the iran mapping tables (mappings/iran/): Iranian documents survive a round trip through the
pivot; a PRC export to Iran seeds the importer's order-registration file as far as its data allows, and the
translation names exactly what is missing; the file status notification maps to the canonical response."""
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from translator import canonical as cm
from translator.parsing import parse
from translator.translate import TranslationError, default_translator
from translator.xpath import readable_path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "iran"
SAMPLES = ROOT / "samples" / "iran"
NOW = datetime(2024, 11, 12, 7, 30, 0, tzinfo=timezone.utc)
ORD = "{urn:hub:ir:cts:order-registration:1}"
WRITE_GOLDEN = False     # set True once to regenerate tests/golden/iran/*.xml after a deliberate table change

# what the Iranian importer adds: trader master data, its order-file choices and the proforma invoice
IRANIAN_SIDE = {
    "Importer/TaxID": "10101234567",
    "Extension:iran/ApplicantRole": "LEGAL_TRADER",
    "Extension:iran/CommercialCardNumber": "0011223344",
    "Extension:iran/CommercialCardIssueDate": "2019-07-14",
    "Extension:iran/CommercialCardProvince": "تهران",
    "Extension:iran/FxLicensingAuthority": "MIMT",
    "Invoice/ID": "XY-PI-241020",
    "Invoice/IssueDate": "2024-10-20",
    "Invoice/CurrencyCode": "USD",
    "Extension:iran/ProformaValidityDate": "2025-01-20",
    "Extension:iran/EntryBorderName": "بندر شهید رجایی (بندرعباس)",
    "Extension:iran/DestinationCustomsName": "گمرک شهید رجایی",
    "Extension:iran/TransportFleet": "FOREIGN",
    "Extension:iran/FxOperationType": "NO_FX_TRANSFER",
    "Extension:iran/FxSupplyMethod": "BANK_SYSTEM_PURCHASE",
}


@pytest.fixture(scope="module")
def translator():
    return default_translator()


def _shape(tree) -> list:
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    return [(etree.QName(el).namespace, readable_path(el), (el.text or "").strip(), sorted(el.attrib.items()))
            for el in root.iter() if isinstance(el.tag, str)]


def _prc() -> bytes:
    return (GOLDEN / "prc_export_to_iran.xml").read_bytes()


def _seeded_pivot(translator, *, iranian_tariffs=True):
    _, doc, _, _ = translator.to_canonical(parse(_prc()))
    # a PRC export is seen from the PRC side; the Iranian file is the other side of the border
    doc.update(IRANIAN_SIDE)
    total = sum(Decimal(i["GoodsItem/ItemAmount"]) for i in doc["GoodsItem"])
    doc["Invoice/Amount"] = str(total)
    if iranian_tariffs:
        for item in doc["GoodsItem"]:
            # the trader looks up the 8-digit Iranian code; only the HS6 part is shared with the PRC code
            item["GoodsItem/ClassificationID"] = item["GoodsItem/ClassificationID"][:6] + "00"
    return cm.to_xml(doc)


def test_prc_input_is_valid(translator):
    assert translator.validator.validate_bytes(_prc())[0].valid


def test_prc_alone_is_not_enough_and_the_error_says_what_is_missing(translator):
    with pytest.raises(TranslationError) as e:
        translator.translate(parse(_prc()), "iran:OrderRegistration", now=NOW)
    assert e.value.row and e.value.row.startswith("mappings/iran/OrderRegistration.csv:")
    assert "Invoice/ID" in e.value.message


def test_prc_export_seeds_the_order_registration(translator):
    result = translator.translate(_seeded_pivot(translator), "iran:OrderRegistration", now=NOW)
    assert len(result.documents) == 1
    out = result.documents[0]
    golden = GOLDEN / "prc_export_to_iran.order_registration.xml"
    if WRITE_GOLDEN:
        out.write(str(golden), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    assert _shape(out) == _shape(parse(golden.read_bytes()))
    report = translator.validator.validate(out)
    assert report.valid, [i.to_dict() for i in report.issues]
    root = out.getroot()
    src = parse(_prc()).getroot()
    P = "{http://www.chinaport.gov.cn/dec}"
    # from the PRC declaration: seller, Incoterm, mode, origin, goods lines with quantities and amounts
    assert root.findtext(f".//{ORD}SellerName") == src.findtext(f"{P}DecHead/{P}TradeName")
    assert root.findtext(f".//{ORD}ContractType") == "FOB"
    assert root.findtext(f".//{ORD}TransportMethod") == "SEA"
    assert root.findtext(f".//{ORD}BeneficiaryCountry") == "CN"
    items = root.findall(f"{ORD}Goods/{ORD}Item")
    lines = src.findall(f"{P}DecLists/{P}DecList")
    assert len(items) == len(lines) == 20
    for it, line in zip(items, lines):
        assert it.findtext(f"{ORD}Description") == line.findtext(f"{P}GName")
        assert Decimal(it.findtext(f"{ORD}Quantity")) == Decimal(line.findtext(f"{P}GQty"))
        assert Decimal(it.findtext(f"{ORD}FobAmount")) == Decimal(line.findtext(f"{P}DeclTotal"))
    # choices nobody stated are visible as defaults in the mapping report
    text = result.report.to_text()
    for field in ("SellerType", "MultipleShipments", "FreightCost", "Process"):
        assert field in text
    assert "defaulted" in text


def test_a_ten_digit_prc_code_is_refused_not_cut(translator):
    with pytest.raises(TranslationError) as e:
        translator.translate(_seeded_pivot(translator, iranian_tariffs=False), "iran:OrderRegistration", now=NOW)
    assert e.value.row and e.value.row.startswith("mappings/iran/OrderRegistration.csv:")
    assert "TariffCode" in e.value.message or "8" in e.value.message


ROUND_TRIP = [p for p in sorted(SAMPLES.glob("*.xml")) if not p.name.startswith(("fee_notice", "order_registration_no_history"))]


@pytest.mark.parametrize("path", ROUND_TRIP, ids=lambda p: p.name)
def test_round_trip_through_the_pivot_is_lossless(translator, path):
    src = parse(path.read_bytes())
    target = translator.registry.detect(src.getroot()).id
    result = translator.translate(src, target, now=NOW)
    assert _shape(result.documents[0]) == _shape(parse(path.read_bytes()))


def test_second_shipment_is_reported_dropped(translator):
    # the pivot has one border crossing: shipments after the first are not silently lost, they are reported
    path = SAMPLES / "order_registration_no_history_22items_usd.xml"
    result = translator.translate(parse(path.read_bytes()), "iran:OrderRegistration", now=NOW)
    dropped = [str(d[2]) for d in result.report.dropped]
    assert "بندر امام خمینی" in dropped and "گمرک بندر امام خمینی" in dropped


@pytest.mark.parametrize("name,status", [("file_status_registered.xml", "accepted"),
                                         ("file_status_pi_rejected.xml", "rejected"),
                                         ("file_status_permit_rejected.xml", "rejected")])
def test_status_notification_becomes_a_canonical_response(translator, name, status):
    result = translator.translate(parse((SAMPLES / name).read_bytes()), "canonical:Response", now=NOW)
    doc = result.canonical
    assert doc["StatusCode"] == status
    assert doc["SystemReferenceID"] == parse((SAMPLES / name).read_bytes()).getroot().findtext(f"{ORD}FileNumber")
    assert doc["Message"] and all(m["Message/Text"] for m in doc["Message"])
