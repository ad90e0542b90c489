"""The VNACCS family: declaration numbers, samples, rules, code tables and schema documentation."""
import copy
import csv
import functools
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from lxml import etree

from translator.codes import default_codes
from translator.parsing import parse
from translator.registry import Registry
from translator.rules import rules_for
from translator.rules.vnaccs import (NS, _foreign_script, declaration_check_digit, is_valid_declaration_number,
                                     make_declaration_number, split_declaration_number)
from translator.validate import Validator

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "vnaccs"
XSD_DIR = ROOT / "xsd" / "vnaccs"
XS = "{http://www.w3.org/2001/XMLSchema}"
VALID = sorted(SAMPLES.glob("*.xml"))
INVALID = sorted((SAMPLES / "invalid").glob("*.xml"))
TYPES = ("vnaccs:IDA", "vnaccs:EDA", "vnaccs:IDC", "vnaccs:EDC")


@functools.lru_cache(maxsize=1)
def default_registry():
    """A registry of this family alone, so that another family's work in progress cannot break these tests."""
    home = Path(tempfile.mkdtemp(prefix="edihub-vnaccs-"))
    (home / "vnaccs").symlink_to(XSD_DIR, target_is_directory=True)
    return Registry(home)


@functools.lru_cache(maxsize=1)
def default_validator():
    return Validator(default_registry())


def q(name):
    return f"{{{NS}}}{name}"


def validate_tree(tree):
    return default_validator().validate(tree)


def codes_of(tree):
    return validate_tree(tree).codes()


# -- declaration numbers ----------------------------------------------------------------------------------------
def test_check_digit_of_the_spec_example():
    # spec/vnaccs.md §4.1: "10 12345678 2 0", MOD(12345678, 7) = 2
    assert declaration_check_digit("1012345678") == "2"
    assert make_declaration_number(10, 12345678) == "101234567820"
    assert make_declaration_number("30", 12345678, branch=3) == "301234567823"


@pytest.mark.parametrize("number", [
    "107774843040",   # import declaration quoted in a customs-lookup test report (MST 2300782217, office 18A3)
    "105829103920",   # OCR of a printed VNACCS import declaration, Cát Lái (02CI)
    "107962095252",   # OCR of an import declaration amended twice (branch 2)
    "105110557420",   # extract of a declaration XML
    "108625440120",   # customs portal lookup example (office 06DS)
])
def test_check_digit_holds_on_numbers_seen_in_public_code(number):
    assert declaration_check_digit(number) == number[10]
    assert is_valid_declaration_number(number)


def test_check_digit_accepts_10_11_or_12_characters_and_uses_positions_3_to_10():
    assert declaration_check_digit("1077748430") == declaration_check_digit("10777484304") == "4"
    assert declaration_check_digit("107774843049") == "4"


@pytest.mark.parametrize("bad", ["", "123", "10123456", "10ABCDEFGH", "１０１２３４５６７８"])
def test_check_digit_refuses_what_is_not_a_number(bad):
    with pytest.raises(ValueError):
        declaration_check_digit(bad)


@pytest.mark.parametrize("args", [(100, 1), ("1", 1), (10, 100_000_000), (10, -1), (10, 1, 10)])
def test_make_declaration_number_refuses_out_of_range_parts(args):
    with pytest.raises(ValueError):
        make_declaration_number(*args)


@given(st.sampled_from(["10", "11", "30", "31", "70", "71", "75"]), st.integers(0, 99_999_999), st.integers(0, 9))
def test_made_numbers_are_valid_and_split_back(doc_type, seq, branch):
    n = make_declaration_number(doc_type, seq, branch)
    assert len(n) == 12 and n.isdigit()
    assert is_valid_declaration_number(n)
    assert split_declaration_number(n) == (doc_type, f"{seq:08d}", str(seq % 7), str(branch))
    wrong = n[:10] + str((int(n[10]) + 1) % 10) + n[11]
    assert not is_valid_declaration_number(wrong)


# -- registry ---------------------------------------------------------------------------------------------------
def test_the_family_registers_its_four_types():
    reg = default_registry()
    for t in TYPES:
        mt = reg.types[t]
        assert mt.root == q(t.split(":")[1])
        assert mt.extra["document_type"] in ("10", "30")
    assert rules_for("vnaccs:IDA") and rules_for("vnaccs:IDC")


# -- samples ----------------------------------------------------------------------------------------------------
def test_there_are_enough_realistic_samples():
    names = [p.name for p in VALID]
    assert sum(n.startswith("ida_") for n in names) >= 2 and sum(n.startswith("eda_") for n in names) >= 2
    line_counts = []
    for p in VALID:
        root = parse(p.read_bytes()).getroot()
        line_counts.append(len(root.findall(f"{q('Lines')}/{q('Line')}")))
        if root.tag in (q("IDA"), q("EDA")):   # Vietnamese names survive parsing (letters of U+1EA0-U+1EF9)
            assert re.search("[\u1ea0-\u1ef9]", "".join(root.itertext())), p.name
    assert 1 in line_counts and max(line_counts) >= 20


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_sample_validates_with_its_business_key(path):
    report, tree = default_validator().validate_bytes(path.read_bytes())
    assert report.valid and not report.warnings, [i.to_dict() for i in report.issues]
    assert report.family == "vnaccs"
    mt = default_registry().types[report.format]
    key = mt.key_of(tree.getroot())
    assert key and is_valid_declaration_number(key) and key[:2] == mt.extra["document_type"]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_sample_fails_with_exactly_its_code(path):
    report = default_validator().validate_bytes(path.read_bytes())[0]
    assert report.codes() == {path.stem.split("__")[0]}, [i.to_dict() for i in report.issues]
    for issue in report.errors:
        assert issue.path.startswith("/") and issue.line, issue


def test_every_error_rule_has_an_invalid_sample():
    rule_codes = {r.code for t in TYPES for r in rules_for(t) if r.severity == "error"}
    sampled = {p.stem.split("__")[0] for p in INVALID}
    assert rule_codes <= sampled, sorted(rule_codes - sampled)


def test_every_code_field_has_an_invalid_sample():
    """Each code field of each type is hit by a code-unknown sample of that type."""
    hit = set()
    for p in INVALID:
        if not p.stem.startswith("code-unknown"):
            continue
        report = default_validator().validate_bytes(p.read_bytes())[0]
        for issue in report.errors:
            leaf = re.sub(r"\[\d+\]", "", issue.path).rsplit("/", 1)[-1]
            hit.add((report.format, leaf))
    wanted = {(t, cf.path.rsplit(":", 1)[-1]) for t in TYPES for cf in default_registry().types[t].code_fields}
    assert wanted <= hit, sorted(wanted - hit)


# -- rules at their boundaries ----------------------------------------------------------------------------------
def _ida1():
    return parse((SAMPLES / "ida_haiphong_valves_1line.xml").read_bytes())


def test_fifty_lines_are_allowed_fifty_one_are_not():
    tree = _ida1()
    lines = tree.getroot().find(q("Lines"))
    line = lines[0]
    tree.getroot().find(f"{q('Transport')}/{q('GW')}").text = "300000"
    for _ in range(49):
        lines.append(copy.deepcopy(line))
    assert validate_tree(tree).valid
    lines.append(copy.deepcopy(line))
    assert codes_of(tree) == {"vnaccs-max-lines"}


@pytest.mark.parametrize("icd, ok", [("2026-12-18", True), ("2026-12-19", False), ("2026-11-05", True)])
def test_import_deadline_is_30_days_after_arrival(icd, ok):
    tree = _ida1()   # ARR 2026-11-18, invoice date 2026-11-02
    tree.getroot().find(q("ICD")).text = icd
    assert codes_of(tree) == (set() if ok else {"vnaccs-import-deadline"})


@pytest.mark.parametrize("bpr, ok", [("21601", True), ("21599", True), ("21601.5", False)])
def test_line_value_tolerates_one_unit(bpr, ok):
    tree = _ida1()   # UPR 18 x QN1 1200 = 21600
    tree.getroot().find(f"{q('Lines')}/{q('Line')}/{q('BPR')}").text = bpr
    assert codes_of(tree) == (set() if ok else {"vnaccs-line-value"})


@pytest.mark.parametrize("term, ok", [("FOB", True), ("CIF", False), ("DAP", False), ("C&I", False), ("EXW", True)])
def test_no_insurance_is_refused_only_with_insured_terms(term, ok):
    tree = _ida1()
    tree.getroot().find(f"{q('Invoice')}/{q('IP2')}").text = term
    tree.getroot().find(f"{q('Valuation')}/{q('IN1')}").text = "D"
    assert codes_of(tree) == (set() if ok else {"vnaccs-insurance-incoterm"})


def test_gross_weight_in_pounds_is_converted():
    tree = _ida1()   # net 4860 kg = 10714.5 lb
    transport = tree.getroot().find(q("Transport"))
    transport.find(q("GWT")).text = "LBR"
    transport.find(q("GW")).text = "10715"
    assert codes_of(tree) == set()
    transport.find(q("GW")).text = "10714"
    assert codes_of(tree) == {"vnaccs-gross-lt-net"}


@pytest.mark.parametrize("text, ok", [
    ("Nước mắm Phú Quốc đóng chai thủy tinh 500 ml, hàng mới 100%", True),
    ("Ổ cắm điện đa năng; dây dài 1,5 m — loại chống giật (ĐẶC BIỆT)", True),
    ("Stainless steel ball valve DN50 / 2\", new 100%", True),
    ("不锈钢球阀", False),
    ("Шаровой кран", False),
    ("ボールバルブ", False),
])
def test_descriptions_are_vietnamese_or_english(text, ok):
    assert (_foreign_script(text) is None) == ok


def test_a_draft_without_the_vietnamese_side_items_is_valid_with_warnings_naming_them():
    """What a declaration translated from abroad lacks is optional in the XSD and named by warnings."""
    tree = _ida1()
    root = tree.getroot()
    for path in ("CH", "CHB", "Importer/IMC", "Transport/ST", "IVP"):
        *parents, name = path.split("/")
        parent = root.find("/".join(q(p) for p in parents)) if parents else root
        parent.remove(parent.find(q(name)))
    line = root.find(f"{q('Lines')}/{q('Line')}")
    line.find(q("CMD")).text = "848180"
    line.find(q("CMN")).text = "不锈钢球阀 DN50"
    report = validate_tree(tree)
    assert report.valid
    got = sorted((w.code, w.path) for w in report.warnings)
    assert got == sorted([
        ("vnaccs-missing-item", "/IDA"), ("vnaccs-missing-item", "/IDA"), ("vnaccs-missing-item", "/IDA/Importer"),
        ("vnaccs-missing-item", "/IDA/Transport"), ("vnaccs-missing-item", "/IDA"),
        ("vnaccs-hs-national-digits", "/IDA/Lines/Line/CMD"),
        ("vnaccs-description-language", "/IDA/Lines/Line/CMN")])
    assert any("CH (Cơ quan Hải quan) is missing" in w.message for w in report.warnings)


def test_result_needs_a_channel_or_a_message():
    tree = parse((SAMPLES / "edc_registered_green.xml").read_bytes())
    root = tree.getroot()
    assert codes_of(tree) == set()
    root.remove(root.find(q("Channel")))
    root.remove(root.find(q("RegisteredAt")))
    assert codes_of(tree) == {"vnaccs-result-outcome"}


def test_result_channel_without_registration_time_is_a_structure_error():
    tree = parse((SAMPLES / "edc_registered_green.xml").read_bytes())
    root = tree.getroot()
    root.remove(root.find(q("RegisteredAt")))
    assert codes_of(tree) == {"xsd-structure"}


# -- code tables and schema documentation -----------------------------------------------------------------------
VN_CSVS = sorted((ROOT / "mappings" / "codes").glob("vnaccs_*.csv"))


@pytest.mark.parametrize("path", VN_CSVS, ids=lambda p: p.name)
def test_code_tables_have_labels_and_a_source_on_every_row(path):
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames[:3] == ["code", "label", "label_en"] and "source" in reader.fieldnames
        rows = list(reader)
    assert rows
    for row in rows:
        assert row["source"].startswith("spec/"), row


def test_closed_lists_equal_their_code_tables():
    codes = default_codes()
    seen = 0
    for xsd in XSD_DIR.glob("*.xsd"):
        for stype in etree.parse(str(xsd)).iter(XS + "simpleType"):
            enums = {e.get("value") for e in stype.iter(XS + "enumeration")}
            if not enums:
                continue
            table = next((e for e in stype.iter() if isinstance(e.tag, str)
                          and etree.QName(e).localname == "codeTable"), None)
            assert table is not None, f"{xsd.name}: {stype.get('name')} enumerates codes without naming its table"
            assert enums == set(codes[table.text.strip()]), stype.get("name")
            seen += 1
    assert seen >= 10


@pytest.mark.parametrize("xsd", sorted(XSD_DIR.glob("*.xsd")), ids=lambda p: p.name)
def test_item_code_elements_are_documented_with_code_and_vietnamese_label(xsd):
    for el in etree.parse(str(xsd)).iter(XS + "element"):
        doc = el.find(f"{XS}annotation/{XS}documentation")
        assert doc is not None and doc.text and doc.text.strip(), el.get("name")
        name = el.get("name")
        if re.fullmatch(r"[A-Z][A-Z0-9]{1,3}", name):
            # "ICN — Số tờ khai — declaration number"
            assert re.match(rf"{name} — [^—]+ —\s+\S", doc.text.strip()), (xsd.name, name, doc.text[:60])


