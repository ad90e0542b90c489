"""The iran family on its own: schemas compile, samples validate or fail with exactly their code, every rule and
code field has an invalid sample, warnings fire where the guide is ambiguous, enumerations equal their code
tables, every element and attribute is documented, the fee function follows the guide's worked figures."""
import csv
import os
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from translator.codes import default_codes
from translator.registry import Registry
from translator.rules import rules_for
from translator.rules.iran import fee_eur, usd_value
from translator.validate import Validator

ROOT = Path(__file__).resolve().parent.parent
FAMILY = "iran"
SAMPLES = ROOT / "samples" / FAMILY
XSD_DIR = ROOT / "xsd" / FAMILY
XS = "{http://www.w3.org/2001/XMLSchema}"
ORD = "{urn:hub:ir:cts:order-registration:1}"
TYPES = ["iran:OrderRegistration", "iran:FileStatusNotification", "iran:FeeNotice"]


@pytest.fixture(scope="module")
def validator(tmp_path_factory):
    home = tmp_path_factory.mktemp("xsd")
    os.symlink(XSD_DIR, home / FAMILY)
    return Validator(Registry(home), default_codes())


def _validate(validator, data: bytes):
    return validator.validate_bytes(data)[0]


def test_registry_has_the_message_types(validator):
    assert sorted(validator.registry.types) == sorted(TYPES)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.xml")), ids=lambda p: p.name)
def test_valid_sample(validator, path):
    report = _validate(validator, path.read_bytes())
    assert report.valid, [i.to_dict() for i in report.issues]
    assert not report.warnings, [i.to_dict() for i in report.warnings]


@pytest.mark.parametrize("path", sorted((SAMPLES / "invalid").glob("*.xml")), ids=lambda p: p.name)
def test_invalid_sample_fails_with_exactly_its_code(validator, path):
    report = _validate(validator, path.read_bytes())
    assert report.codes() == {path.stem.split("__")[0]}, [i.to_dict() for i in report.issues]
    for issue in report.errors:
        assert issue.message
        if issue.code.startswith("iran-"):
            assert issue.path.startswith("/") and issue.line


def test_each_message_type_has_two_valid_samples(validator):
    seen = {}
    for p in SAMPLES.glob("*.xml"):
        fmt = _validate(validator, p.read_bytes()).format
        seen[fmt] = seen.get(fmt, 0) + 1
    assert all(seen.get(t, 0) >= 2 for t in TYPES), seen


def test_goods_rows_one_and_more_than_twenty():
    counts = [len(etree.parse(str(p)).getroot().findall(f"{ORD}Goods/{ORD}Item"))
              for p in SAMPLES.glob("order_registration_*.xml")]
    assert 1 in counts and max(counts) >= 20


def test_every_error_rule_and_code_field_has_an_invalid_sample(validator):
    have = {p.stem.split("__")[0] for p in (SAMPLES / "invalid").glob("*.xml")}
    codes = {r.code for t in TYPES for r in rules_for(t) if r.severity == "error"}
    assert codes - have == set()
    assert "code-unknown" in have


# ---- the caps, one dollar either side ---------------------------------------------------------------------------

def _with_amounts(path: Path, fob: str, total: str) -> bytes:
    tree = etree.parse(str(path))
    root = tree.getroot()
    items = root.findall(f"{ORD}Goods/{ORD}Item")
    for it in items[1:]:
        it.getparent().remove(it)
    it = items[0]
    it.find(f"{ORD}FobAmount").text = fob
    it.remove(it.find(f"{ORD}UnitPrice"))
    root.find(f"{ORD}FinancialAndBanking/{ORD}TotalProformaAmount").text = total
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def test_500k_cap_boundary(validator):
    path = SAMPLES / "order_registration_no_history_22items_usd.xml"     # freight 14,500 + other 1,800
    at_cap = _with_amounts(path, "483700.00", "500000.00")
    above = _with_amounts(path, "483700.01", "500000.01")
    assert _validate(validator, at_cap).valid
    assert _validate(validator, above).codes() == {"iran-mode-cap-500k"}


def test_100k_cap_boundary_for_new_trader(validator):
    path = SAMPLES / "order_registration_new_trader_usd.xml"             # freight 2,600
    assert _validate(validator, _with_amounts(path, "97400.00", "100000.00")).valid
    assert _validate(validator, _with_amounts(path, "97401.00", "100001.00")).codes() == {"iran-new-trader-cap-100k"}


def test_usd_value_uses_equivalent_for_other_currencies():
    root = etree.parse(str(SAMPLES / "order_registration_none_mode_1item_eur.xml")).getroot()
    assert usd_value(root) is None
    fin = root.find(f"{ORD}FinancialAndBanking")
    eq = etree.Element(f"{ORD}UsdEquivalent", rateDate="2024-10-05")
    eq.text = "231000.00"
    fin.find(f"{ORD}DiscountAmount").addnext(eq)
    assert usd_value(root) == Decimal("231000.00")


# ---- warnings (the guide is ambiguous or only advisory) ---------------------------------------------------------

def _edit(path: Path, change) -> bytes:
    tree = etree.parse(str(path))
    change(tree.getroot())
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def test_card_from_1403_warns_but_does_not_block(validator):
    def change(root):
        root.find(f"{ORD}Applicant/{ORD}CommercialCard").set("issueDate", "2024-11-02")
    report = _validate(validator, _edit(SAMPLES / "order_registration_no_history_22items_usd.xml", change))
    assert report.valid and {i.code for i in report.warnings} == {"iran-new-trader-1403"}


def test_card_from_1404_blocks(validator):
    def change(root):
        root.find(f"{ORD}Applicant/{ORD}CommercialCard").set("issueDate", "2025-03-21")
    report = _validate(validator, _edit(SAMPLES / "order_registration_no_history_22items_usd.xml", change))
    assert "iran-new-trader-mode" in report.codes() and "iran-new-trader-cap-100k" in report.codes()


def test_missing_documents_warn(validator):
    def change(root):
        root.remove(root.find(f"{ORD}Documents"))
    report = _validate(validator, _edit(SAMPLES / "order_registration_none_mode_1item_eur.xml", change))
    assert report.valid and {i.code for i in report.warnings} == {"iran-documents-missing"}


def test_expired_pi_warns(validator):
    def change(root):
        root.find(f"{ORD}Header/{ORD}CreatedAt").text = "2025-01-15T10:00:00+03:30"
    report = _validate(validator, _edit(SAMPLES / "order_registration_none_mode_1item_eur.xml", change))
    assert report.valid and {i.code for i in report.warnings} == {"iran-pi-expired"}


def test_priority_21_27_without_allocation_warns(validator):
    def change(root):
        fin = root.find(f"{ORD}FinancialAndBanking")
        fin.remove(fin.find(f"{ORD}CentralBankAllocationRef"))
    report = _validate(validator, _edit(SAMPLES / "order_registration_amendment_pharma_air.xml", change))
    assert report.valid and [i.code for i in report.warnings] == ["iran-cbi-allocation"] * 2


# ---- fee (spec B.6 worked examples) ----------------------------------------------------------------------------

def test_fee_examples_of_the_guide():
    assert fee_eur("OPENING", Decimal("212000")) == Decimal("106.00")
    assert fee_eur("OPENING", Decimal("150000")) == Decimal("100")              # minimum applies
    assert fee_eur("EXTENSION", Decimal("580300"), "LETTER_OF_CREDIT", True) == Decimal("100")
    assert fee_eur("EXTENSION", Decimal("580300"), "LETTER_OF_CREDIT", False) == Decimal("290.15")
    assert fee_eur("AMENDMENT", Decimal("580300"), "LETTER_OF_CREDIT", True) == Decimal("290.15")


# ---- schema hygiene -----------------------------------------------------------------------------------------------

def _schemas():
    return sorted(XSD_DIR.glob("*.xsd"))


@pytest.mark.parametrize("xsd", _schemas(), ids=lambda p: p.name)
def test_enumerations_equal_code_tables(xsd):
    codes = default_codes()
    for st in etree.parse(str(xsd)).iter(XS + "simpleType"):
        table = st.findtext(f"{XS}annotation/{XS}appinfo/codeTable")
        if table:
            assert {e.get("value") for e in st.iter(XS + "enumeration")} == set(codes[table]), (st.get("name"), table)


def test_registration_mode_table_carries_the_cap():
    modes = default_codes()["iran_registration_mode"]
    assert modes["NO_HISTORY_UP_TO_500K"]["cap_usd"] == "500000"
    assert set(modes) == {"NONE", "NO_HISTORY_UP_TO_500K", "OWN_PRODUCTION_NEED", "EST_LICENCE_RAW_MATERIALS_MACHINERY"}


def test_code_tables_cite_their_source():
    for p in (ROOT / "mappings" / "codes").glob("iran_*.csv"):
        with p.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows and all(r["source"] and r["label_en"] and r["label"] for r in rows), p.name
