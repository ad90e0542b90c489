"""The hardened parser refuses hostile input with a clear code, quickly and without large memory."""
import tracemalloc

import pytest
from hypothesis import given, settings, strategies as st

from translator.parsing import ParseError, ParseLimits, parse


def code_of(data: bytes, limits: ParseLimits = ParseLimits()) -> str:
    with pytest.raises(ParseError) as e:
        parse(data, limits)
    assert e.value.message  # every refusal says why
    return e.value.code


def test_plain_document_parses():
    tree = parse('<?xml version="1.0" encoding="UTF-8"?><r a="1">报关单</r>'.encode())
    assert tree.getroot().text == "报关单"


def test_external_entity_to_local_file_is_refused_and_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    data = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r>&x;</r>'.encode()
    with pytest.raises(ParseError) as e:
        parse(data)
    assert e.value.code == "xml-dtd-forbidden"
    assert "TOP-SECRET" not in e.value.message


def test_external_dtd_file_is_not_read(tmp_path):
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED-FROM-DTD">')
    data = f'<!DOCTYPE r SYSTEM "{dtd}"><r>&leak;</r>'.encode()
    with pytest.raises(ParseError) as e:
        parse(data)
    assert e.value.code == "xml-dtd-forbidden"
    assert "LEAKED" not in e.value.message


def test_external_dtd_over_network_is_refused():
    assert code_of(b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd"><r/>') == "xml-dtd-forbidden"


def test_parameter_entity_is_refused(tmp_path):
    (tmp_path / "p.dtd").write_text("<!ENTITY y 'z'>")
    data = f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{tmp_path / "p.dtd"}"> %p;]><r>&y;</r>'.encode()
    assert code_of(data) == "xml-dtd-forbidden"


def test_billion_laughs_is_refused_without_expansion():
    ents = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    data = f'<?xml version="1.0"?><!DOCTYPE z [{ents}]><z>&l9;</z>'.encode()
    tracemalloc.start()
    try:
        assert code_of(data) == "xml-dtd-forbidden"
        assert tracemalloc.get_traced_memory()[1] < 5_000_000
    finally:
        tracemalloc.stop()


def test_quadratic_blowup_is_refused():
    data = ('<!DOCTYPE r [<!ENTITY a "' + "x" * 50_000 + '">]><r>' + "&a;" * 1000 + "</r>").encode()
    assert code_of(data) == "xml-dtd-forbidden"


def test_oversize_document_is_refused_before_parsing():
    big = b"<r>" + b"<x>0123456789</x>" * 3_200_000 + b"</r>"   # ~54 MB
    assert len(big) > 50_000_000
    tracemalloc.start()
    try:
        assert code_of(big) == "xml-too-large"
        assert tracemalloc.get_traced_memory()[1] < 1_000_000   # nothing was built from it
    finally:
        tracemalloc.stop()


def test_ten_thousand_deep_nesting_is_refused():
    assert code_of(b"<a>" * 10_000 + b"</a>" * 10_000) == "xml-too-deep"


def test_configurable_depth_limit():
    doc = b"<a>" * 20 + b"</a>" * 20
    assert parse(doc, ParseLimits(max_depth=20)).getroot().tag == "a"
    assert code_of(doc, ParseLimits(max_depth=19)) == "xml-too-deep"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_depth_check_in_c_agrees_with_the_xpath(data):
    """translator/_depth.c answers what the XPath probe answers, on trees with comments, text and tails."""
    from lxml import etree

    from translator import parsing
    if parsing._deeper_than is None:
        pytest.skip("the C depth check (translator/_depth.c) is not built here; the XPath probe is used")
    root = etree.Element("r")
    nodes = [(root, 1)]
    for _ in range(data.draw(st.integers(0, 60))):
        parent, depth = data.draw(st.sampled_from(nodes))
        if data.draw(st.booleans()):
            parent.append(etree.Comment("c"))
        child = etree.SubElement(parent, "e")
        child.text, child.tail = "t", "x"
        nodes.append((child, depth + 1))
    limit = data.draw(st.integers(1, 25))
    assert parsing._deeper_than(root, limit) == parsing._depth_probe(limit)(root.getroottree())


def test_invalid_utf8_is_refused():
    assert code_of(b'<?xml version="1.0" encoding="UTF-8"?><r>\xff\xfe\xfa</r>') == "xml-malformed"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_and_without_bom(encoding):
    data = '<?xml version="1.0" encoding="UTF-16"?><r>Tờ khai 报关单</r>'.encode(encoding)
    assert parse(data).getroot().text == "Tờ khai 报关单"


def test_empty_and_text_input():
    assert code_of(b"") == "xml-empty"
    assert code_of(b"   \n") == "xml-empty"
    assert code_of(b"not xml at all") == "xml-malformed"
    with pytest.raises(TypeError):
        parse("<r/>")


def test_error_carries_line_number():
    with pytest.raises(ParseError) as e:
        parse(b"<r>\n<a>\n</b>\n</r>")
    assert e.value.line == 3


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(data):
    try:
        parse(data)
    except ParseError as e:
        assert e.code.startswith("xml-")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/&;!-?='\"abc []DOCTYPEENTITY%x\n")), max_size=400))
def test_xmlish_text_never_crashes(text):
    try:
        parse(text.encode())
    except ParseError as e:
        assert e.code.startswith("xml-")
