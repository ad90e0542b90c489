"""Every family's samples, generically: each valid sample validates, each invalid sample
(samples/<family>/invalid/<code>[__variant].xml) fails with exactly the code it is named for; every XSD
enumeration that names a code table equals that table; every declared element and attribute is documented; the
schemas that model public documentation say they are not official."""
from pathlib import Path

import pytest
from lxml import etree

from translator.codes import code_list_pattern, default_codes
from translator.registry import default_registry
from translator.validate import default_validator

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
XS = "{http://www.w3.org/2001/XMLSchema}"

FAMILIES = sorted(default_registry().families)
VALID = sorted(p for fam in FAMILIES for p in (SAMPLES / fam).glob("*.xml"))
INVALID = sorted(p for fam in FAMILIES for p in (SAMPLES / fam / "invalid").glob("*.xml"))
XSDS = sorted({p for fam in default_registry().families.values() for p in fam.folder.glob("*.xsd")})


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


@pytest.mark.parametrize("path", VALID, ids=rel)
def test_valid_sample(path):
    report = default_validator().validate_bytes(path.read_bytes())[0]
    assert report.valid, [i.to_dict() for i in report.errors]


@pytest.mark.parametrize("path", INVALID, ids=rel)
def test_invalid_sample_fails_with_exactly_its_rule(path):
    expected = path.stem.split("__")[0]
    report = default_validator().validate_bytes(path.read_bytes())[0]
    assert not report.valid
    assert report.codes() == {expected}, [i.to_dict() for i in report.errors]


def test_every_family_has_valid_and_invalid_samples():
    for fam in FAMILIES:
        if fam == "canonical":
            continue
        assert list((SAMPLES / fam).glob("*.xml")), f"no valid samples for {fam}"
        assert list((SAMPLES / fam / "invalid").glob("*.xml")), f"no invalid samples for {fam}"


def _code_table_enums(xsd: Path):
    doc = etree.parse(str(xsd))
    for st in doc.iter(XS + "simpleType"):
        tables = [e.text.strip() for e in st.iter() if isinstance(e.tag, str)
                  and etree.QName(e).localname == "codeTable" and e.text]
        if tables:
            values = {e.get("value") for e in st.iter(XS + "enumeration")}
            patterns = [e.get("value") for e in st.iter(XS + "pattern")]
            yield st.get("name") or st.getparent().get("name"), tables[0], values, patterns


@pytest.mark.parametrize("xsd", XSDS, ids=rel)
def test_enumerations_equal_their_code_tables(xsd):
    codes = default_codes()
    for name, table, values, patterns in _code_table_enums(xsd):
        assert table in codes, f"{rel(xsd)}: {name} names unknown code table {table}"
        if not values:     # a text field: the code list as a pattern that lets blanks surround the code
            assert patterns == [code_list_pattern(codes[table])], f"{rel(xsd)}: {name}: pattern is not {table}'s"
            continue
        values = values - {""}     # an optional field's type also lists the empty value ("not filled")
        assert values == set(codes[table]), (
            f"{rel(xsd)}: {name} differs from mappings/codes/{table}.csv: "
            f"only in XSD {sorted(values - set(codes[table]))}, only in CSV {sorted(set(codes[table]) - values)}")


@pytest.mark.parametrize("xsd", XSDS, ids=rel)
def test_every_element_and_attribute_is_documented(xsd):
    doc = etree.parse(str(xsd))
    missing = [f"{e.tag[len(XS):]} {e.get('name')}" for e in doc.iter(XS + "element", XS + "attribute", XS + "any")
               if not e.get("ref") and e.find(f"{XS}annotation/{XS}documentation") is None]
    assert not missing, f"{rel(xsd)}: declarations without xs:documentation: {missing[:20]}"


# the families whose schemas model public documentation rather than an authority's own XSD (README)
MODELLED = ("vnaccs", "siveca", "iran")


@pytest.mark.parametrize("xsd", [p for p in XSDS if p.parent.name in MODELLED], ids=rel)
def test_modelled_schemas_say_they_are_not_official(xsd):
    assert "NOT AN OFFICIAL SCHEMA" in xsd.read_text(encoding="utf-8")
