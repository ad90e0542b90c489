"""The siveca family on its own: schemas compile, samples validate or fail with exactly their code, every rule
and code field has an invalid sample, enumerations equal their code tables, every element and attribute is
documented, and the check-digit functions agree with real identifiers."""
import csv
import os
from pathlib import Path

import pytest
from lxml import etree

from translator.codes import default_codes
from translator.registry import Registry
from translator.rules import rules_for
from translator.rules.siveca import (container_check_digit, container_number_ok, ruc_check_digit, ruc_ok,
                                     uscc_check_char, uscc_ok)
from translator.validate import Validator

ROOT = Path(__file__).resolve().parent.parent
FAMILY = "siveca"
SAMPLES = ROOT / "samples" / FAMILY
XSD_DIR = ROOT / "xsd" / FAMILY
XS = "{http://www.w3.org/2001/XMLSchema}"
TYPES = ["siveca:Registration", "siveca:CIDNotification", "siveca:CIDCheckRequest", "siveca:CIDCheckResponse"]


@pytest.fixture(scope="module")
def validator(tmp_path_factory):
    # a registry of this family only, so the test does not depend on other families being complete
    home = tmp_path_factory.mktemp("xsd")
    os.symlink(XSD_DIR, home / FAMILY)
    return Validator(Registry(home), default_codes())


def test_registry_has_the_four_message_types(validator):
    assert sorted(validator.registry.types) == sorted(TYPES)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.xml")), ids=lambda p: p.name)
def test_valid_sample(validator, path):
    report = validator.validate_bytes(path.read_bytes())[0]
    assert report.valid, [i.to_dict() for i in report.issues]
    assert not report.warnings


@pytest.mark.parametrize("path", sorted((SAMPLES / "invalid").glob("*.xml")), ids=lambda p: p.name)
def test_invalid_sample_fails_with_exactly_its_code(validator, path):
    report = validator.validate_bytes(path.read_bytes())[0]
    assert report.codes() == {path.stem.split("__")[0]}, [i.to_dict() for i in report.issues]
    for issue in report.errors:
        assert issue.message
        if issue.code.startswith("siveca-"):
            assert issue.path.startswith("/") and issue.line


def test_each_message_type_has_two_valid_samples(validator):
    seen = {}
    for p in SAMPLES.glob("*.xml"):
        fmt = validator.validate_bytes(p.read_bytes())[0].format
        seen[fmt] = seen.get(fmt, 0) + 1
    assert all(seen.get(t, 0) >= 2 for t in TYPES), seen


def test_goods_lines_one_and_more_than_twenty(validator):
    counts = []
    for p in SAMPLES.glob("registration_*.xml"):
        root = etree.parse(str(p)).getroot()
        counts.append(len(root.findall(".//{urn:hub:py:siveca:1}GoodsItem")))
    assert 1 in counts and max(counts) >= 20


def test_every_rule_and_code_field_has_an_invalid_sample(validator):
    have = {p.stem.split("__")[0] for p in (SAMPLES / "invalid").glob("*.xml")}
    codes = {r.code for t in TYPES for r in rules_for(t) if r.severity == "error"}
    codes |= {"siveca-uscc-check"}          # reported by the party rule under its own code
    assert codes - have == set()
    if any(validator.registry.types[t].code_fields for t in TYPES):
        assert "code-unknown" in have


def test_rule_sample_fails_and_fixed_sample_passes(validator):
    # the same document with the check digit repaired validates: the rule is what failed it
    bad = (SAMPLES / "invalid" / "siveca-container-check-digit.xml").read_bytes()
    assert not validator.validate_bytes(bad)[0].valid
    fixed = bad.replace(b"MSCU6639871", b"MSCU6639870")
    assert validator.validate_bytes(fixed)[0].valid


def _schemas():
    return sorted(XSD_DIR.glob("*.xsd"))


@pytest.mark.parametrize("xsd", _schemas(), ids=lambda p: p.name)
def test_enumerations_equal_code_tables(xsd):
    codes = default_codes()
    doc = etree.parse(str(xsd))
    found = 0
    for st in doc.iter(XS + "simpleType"):
        table = st.findtext(f"{XS}annotation/{XS}appinfo/codeTable")
        if table:
            found += 1
            assert {e.get("value") for e in st.iter(XS + "enumeration")} == set(codes[table]), (st.get("name"), table)
    assert found or xsd.name != "siveca-common.xsd"


def test_code_tables_cite_their_source():
    for p in (ROOT / "mappings" / "codes").glob("siveca_*.csv"):
        with p.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows and all(r["source"] and r["label_en"] for r in rows), p.name


# ---- check-digit functions --------------------------------------------------------------------------------------

# CSQU3054383 is the ISO 6346 worked example; the others are real container numbers from validator.js's tests
REAL_CONTAINERS = ["CSQU3054383", "HLXU2008419", "TGHU7599330", "ECMU4657496", "MEDU6246078", "YMLU2809976",
                   "MRKU0046221", "EMCU3811879", "OOLU8643084", "HJCU1922713"]


@pytest.mark.parametrize("number", REAL_CONTAINERS)
def test_container_check_digit_on_real_numbers(number):
    assert container_check_digit(number[:10]) == int(number[10])
    assert container_number_ok(number)


@pytest.mark.parametrize("number", ["OOLU1922713", "HJCU1922413", "CSQU3054384"])
def test_container_check_digit_rejects_altered_numbers(number):
    assert not container_number_ok(number)


_LETTERS = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", [10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27,
                                                     28, 29, 30, 31, 32, 34, 35, 36, 37, 38]))   # ISO 6346 table


def _weighted_sum(s: str) -> int:
    return sum((_LETTERS[c] if c.isalpha() else int(c)) * 2 ** i for i, c in enumerate(s))


def test_container_check_digit_remainder_ten_counts_as_zero():
    assert container_check_digit("MSCU663987") == 0          # remainder 0
    tens = [s for s in (f"ABCU{n:06d}" for n in range(500)) if _weighted_sum(s) % 11 == 10]
    assert tens and all(container_check_digit(s) == 0 for s in tens)


@pytest.mark.parametrize("bad", ["CSQ305438", "CSQA305438", "csqu30543", "CSQU30543X"])
def test_container_check_digit_refuses_malformed_input(bad):
    with pytest.raises(ValueError):
        container_check_digit(bad)


@pytest.mark.parametrize("ruc", ["80069563-1", "3595193-1", "7659394-0"])
def test_ruc_check_digit_on_real_rucs(ruc):
    base, dv = ruc.split("-")
    assert ruc_check_digit(base) == int(dv)
    assert ruc_ok(ruc)


def test_ruc_rejects_wrong_digit():
    assert not ruc_ok("80069563-2") and not ruc_ok("3595193-5") and not ruc_ok("80069563")


def test_uscc_check_character():
    assert uscc_check_char("91350100M000100Y4") == "3"      # the example of GB 32100-2015 commentaries
    assert uscc_ok("91350100M000100Y43") and not uscc_ok("91350100M000100Y44")
    assert not uscc_ok("91350100M000100I43")                 # I is not in the USCC alphabet


def test_missing_importer_ruc_is_a_warning(validator):
    data = (SAMPLES / "registration_shanghai_asuncion_1line.xml").read_bytes()
    tree = etree.fromstring(data)
    ident = tree.find(".//{urn:hub:py:siveca:1}Importer/{urn:hub:py:siveca:1}Identifier")
    ident.getparent().remove(ident)
    report = validator.validate(tree)
    assert report.valid and {i.code for i in report.warnings} == {"siveca-importer-ruc-missing"}
