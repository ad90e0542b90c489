"""The validation engine on a small format made for the test: detection, XSD errors with readable paths,
rules, code tables, registry and table errors named at load."""
from xml.sax.saxutils import quoteattr

import pytest

from translator.codes import BLANKS, CodeTableError, CodeTables, code_list_pattern
from translator.registry import Registry, RegistryError
from translator.rules import Finding, rule
from translator.validate import ValidationPolicy, Validator

from tests.toyformat import FORMATS, NS, XSD, doc

@rule("toy:Order", code="toy-qty-positive", doc="each item quantity must be above zero")
def _qty_positive(root, ctx):
    for q in root.iterfind("t:Item/t:Qty", ctx.ns):
        try:
            if float(q.text) <= 0:
                yield Finding(q, f"quantity {q.text} must be above zero")
        except (TypeError, ValueError):
            pass  # the XSD reports non-numbers


@pytest.fixture
def home(tmp_path):
    (tmp_path / "xsd" / "toy").mkdir(parents=True)
    (tmp_path / "xsd" / "toy" / "order.xsd").write_text(XSD)
    (tmp_path / "xsd" / "toy" / "formats.toml").write_text(FORMATS)
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes" / "toy_mode.csv").write_text("code,label,source\nA,air,test\nS,sea,test\n")
    return tmp_path


@pytest.fixture
def validator(home):
    return Validator(Registry(home / "xsd"), CodeTables(home / "codes"))


def test_valid_document(validator):
    report, tree = validator.validate_bytes(doc())
    assert report.valid and report.format == "toy:Order" and report.issues == []
    assert validator.registry.get("toy:Order").key_of(tree.getroot()) == "ORD-1"


def test_xsd_error_has_readable_path_line_and_code(validator):
    items = "".join(f"<Item><Qty>{q}</Qty><Country>CN</Country></Item>" for q in ["1", "2", "x", "4"])
    report, _ = validator.validate_bytes(doc(items))
    assert not report.valid
    [issue] = report.errors
    assert issue.code == "xsd-datatype"
    assert issue.path == "/Order/Item[3]/Qty"
    assert issue.line == 4
    assert "{" not in issue.message  # no Clark notation in messages meant for people


def test_all_errors_are_reported(validator):
    items = ("<Item><Qty>0</Qty><Country>ZZ</Country></Item>"
             "<Item><Qty>-1</Qty><Country>CN</Country></Item>")
    report, _ = validator.validate_bytes(doc(items, mode="X"))
    got = sorted((i.code, i.path) for i in report.errors)
    assert got == [("code-unknown", "/Order/Item[1]/Country"), ("code-unknown", "/Order/Mode"),
                   ("toy-qty-positive", "/Order/Item[1]/Qty"), ("toy-qty-positive", "/Order/Item[2]/Qty")]


def test_structure_error(validator):
    report, _ = validator.validate_bytes(f'<Order xmlns="{NS}"><Mode>S</Mode></Order>'.encode())
    assert report.codes() == {"xsd-structure"}


def test_wrong_namespace_is_unknown_format(validator):
    report, _ = validator.validate_bytes(doc(ns="urn:someone:else"))
    assert report.codes() == {"format-unknown"}
    assert "urn:someone:else" in report.errors[0].message


def test_explicit_format(validator):
    assert validator.validate_bytes(doc(), "toy:Order")[0].valid
    assert validator.validate_bytes(doc(), "Order")[0].valid
    assert validator.validate_bytes(doc(ns="urn:x"), "toy:Order")[0].codes() == {"format-mismatch"}
    assert validator.validate_bytes(doc(), "nope:Nothing")[0].codes() == {"format-unknown"}


def test_policy_without_rules(validator):
    report, _ = validator.validate_bytes(doc(mode="X"), policy=ValidationPolicy(rules=False))
    assert report.valid


def test_parse_errors_become_issues(validator):
    report, tree = validator.validate_bytes(b"<Order><unclosed></Order>")
    assert tree is None and report.codes() == {"xml-malformed"} and report.errors[0].line == 1


def test_report_to_dict(validator):
    d = validator.validate_bytes(doc(mode="X"))[0].to_dict()
    assert d["valid"] is False and d["format"] == "toy" and d["message_type"] == "Order"
    assert d["errors"][0] == {"code": "code-unknown", "severity": "error", "path": "/Order/Mode", "line": 3,
                              "message": "Mode: 'X' is not in code table toy_mode"}


def test_unknown_code_table_stops_start_up(home):
    (home / "xsd" / "toy" / "formats.toml").write_text(FORMATS.replace('"toy_mode"', '"no_such_table"'))
    with pytest.raises(CodeTableError, match="no_such_table"):
        Validator(Registry(home / "xsd"), CodeTables(home / "codes"))


def test_broken_registry_names_the_file(home):
    (home / "xsd" / "toy" / "formats.toml").write_text(FORMATS.replace('root = ', 'rooot = '))
    with pytest.raises(RegistryError, match=r"formats.toml.*missing key 'root'"):
        Registry(home / "xsd")
    (home / "xsd" / "toy" / "formats.toml").write_text(FORMATS)
    (home / "xsd" / "toy" / "order.xsd").write_text("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'><oops/></xs:schema>")
    with pytest.raises(RegistryError, match="order.xsd"):
        Registry(home / "xsd")


def test_broken_code_table_names_file_and_row(home):
    (home / "codes" / "toy_mode.csv").write_text("code,label,source\nA,air,t\nA,again,t\n")
    with pytest.raises(CodeTableError, match=r"toy_mode.csv:3: duplicate code 'A'"):
        CodeTables(home / "codes")
    (home / "codes" / "toy_mode.csv").write_text("code,label\nA,air\n")
    with pytest.raises(CodeTableError, match="source"):
        CodeTables(home / "codes")


def test_iso_tables_come_from_pycountry(home):
    codes = CodeTables(home / "codes")
    assert codes["iso3166_alpha2"]["VN"]["alpha_3"] == "VNM"
    assert codes["iso3166_alpha3"]["PRY"]["alpha_2"] == "PY"
    assert "CNY" in codes["iso4217_alpha"] and "156" in codes["iso4217_numeric"]


# -- code lists the XSD enforces -----------------------------------------------------------------------------------
ENUM_MODE = ('<xs:element name="Mode"><xs:simpleType><xs:restriction base="xs:string">{}</xs:restriction>'
             '</xs:simpleType></xs:element>')


def _with_mode_enum(home, codes):
    facets = "".join(f'<xs:enumeration value="{c}"/>' for c in codes)
    (home / "xsd" / "toy" / "order.xsd").write_text(
        XSD.replace('<xs:element name="Mode" type="xs:string"/>', ENUM_MODE.format(facets)))
    return Validator(Registry(home / "xsd"), CodeTables(home / "codes"))


def test_xsd_enumeration_equal_to_the_table_replaces_the_lookup(home):
    v = _with_mode_enum(home, ["A", "S"])
    assert [cf.path for cf in v.schema_checked["toy:Order"]] == ["t:Mode"]
    assert v.validate_bytes(doc())[0].valid
    # a code the table lacks: still code-unknown naming field and table, not the schema's enumeration error
    report, _ = v.validate_bytes(doc(mode="X"))
    assert [(i.code, i.path, i.message) for i in report.errors] == [
        ("code-unknown", "/Order/Mode", "Mode: 'X' is not in code table toy_mode")]
    # and together with other schema errors every error is still reported
    items = "<Item><Qty>x</Qty><Country>ZZ</Country></Item>"
    got = sorted((i.code, i.path) for i in v.validate_bytes(doc(items, mode="X"))[0].errors)
    assert got == [("code-unknown", "/Order/Item/Country"), ("code-unknown", "/Order/Mode"),
                   ("xsd-datatype", "/Order/Item/Qty")]


def test_xsd_without_the_table_keeps_the_python_lookup(home):
    # an enumeration that is not exactly the table (an official XSD with its own list, or none at all)
    v = _with_mode_enum(home, ["A", "S", "X"])
    assert not v.schema_checked["toy:Order"]
    assert v.validate_bytes(doc(mode="X"))[0].codes() == {"code-unknown"}
    (home / "xsd" / "toy" / "order.xsd").write_text(XSD)
    plain = Validator(Registry(home / "xsd"), CodeTables(home / "codes"))
    assert not plain.schema_checked["toy:Order"]
    assert plain.validate_bytes(doc(mode="X"))[0].codes() == {"code-unknown"}


def test_blank_padded_code_keeps_its_schema_error(home):
    """' S' is S for the look-up (it strips), so no code-unknown; the schema's own error stays."""
    v = _with_mode_enum(home, ["A", "S"])
    report, _ = v.validate_bytes(doc(mode=" S"))
    assert report.codes() == {"xsd-enumeration"}


def test_code_list_pattern_accepts_what_the_lookup_accepts(home):
    """A text field restricted by code_list_pattern: the XSD accepts exactly the values the Python look-up
    accepts (blank, or a code with blanks around it), so the look-up is skipped on valid documents."""
    pattern = code_list_pattern(["A", "S"])
    (home / "xsd" / "toy" / "order.xsd").write_text(XSD.replace(
        '<xs:element name="Mode" type="xs:string"/>',
        ENUM_MODE.format(f'<xs:pattern value={quoteattr(pattern)}/>')), encoding="utf-8")
    v = Validator(Registry(home / "xsd"), CodeTables(home / "codes"))
    assert dict((cf.path, t) for cf, t in v.schema_checked["toy:Order"].items()) == {
        "t:Mode": "SCHEMAV_CVC_PATTERN_VALID"}
    for mode in ["S", " A\u3000", "", "\u00a0", "\t S \n"]:
        assert v.validate_bytes(doc(mode=mode))[0].valid, repr(mode)
    for mode in ["X", "S S", "AS", " s "]:
        report = v.validate_bytes(doc(mode=mode))[0]
        assert [(i.code, i.message) for i in report.errors] == [
            ("code-unknown", f"Mode: {mode.strip()!r} is not in code table toy_mode")], repr(mode)


def test_blanks_are_what_str_strip_removes_in_xml_text():
    def xml_char(c):
        return c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) > 0xFFFF
    assert BLANKS == "".join(c for c in map(chr, range(0x110000)) if c.isspace() and xml_char(c))


def test_a_comment_inside_a_code_does_not_split_it(validator, home):
    """A code field's value is what the XSD reads, its text joined across a comment: <Mode>A<!-- -->S</Mode> is
    AS, not A. Checked with the look-up in Python and with the code list in the XSD alike."""
    enum = _with_mode_enum(home, ["A", "S"])
    for v in (validator, enum):
        assert v.validate_bytes(doc(mode="<!-- note -->S"))[0].valid
        assert v.validate_bytes(doc(mode="<!-- note -->S<!-- note -->"))[0].valid
        for mode, value in (("S<!-- note -->X", "SX"), ("A<!-- note -->S", "AS"), ("<!-- note -->X", "X")):
            report = v.validate_bytes(doc(mode=mode))[0]
            assert [(i.code, i.path, i.message) for i in report.errors] == [
                ("code-unknown", "/Order/Mode", f"Mode: {value!r} is not in code table toy_mode")], mode


def test_xsd_only_policy_reports_the_code_list_as_code_unknown(home):
    """Without rules the look-ups do not run; a code list in the XSD still reports a missing code as code-unknown
    naming field and table, not as the schema's raw enumeration error."""
    v = _with_mode_enum(home, ["A", "S"])
    report, _ = v.validate_bytes(doc(mode="X"), policy=ValidationPolicy(rules=False))
    assert [(i.code, i.path, i.message) for i in report.errors] == [
        ("code-unknown", "/Order/Mode", "Mode: 'X' is not in code table toy_mode")]
    assert v.validate_bytes(doc(mode="S"), policy=ValidationPolicy(rules=False))[0].valid
