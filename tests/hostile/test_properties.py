"""Property tests (hypothesis) over every input surface: the parser, the validator, translation, the endpoint
response parser, the SOAP envelope reader and the SOAP dispatcher. Each target is the function tools/fuzz.py
drives (a crash is an exception that is not the target's documented error type); max_examples is bounded so the
suite stays fast. Inputs the fuzzer once crashed on are kept in regressions/ and replayed here."""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import fuzz  # noqa: E402

SEEDS = fuzz.samples()
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ok(name: str, data: bytes) -> None:
    problem = fuzz.run_one(name, data)
    assert problem is None, f"{name} crashed on {data[:200]!r}...\n{problem}"


mutated = st.builds(lambda i, seed, n: fuzz.mutate(SEEDS[i % len(SEEDS)], random.Random(seed), n),
                    st.integers(0, 10_000), st.integers(0, 2**32), st.integers(1, 6))
xmlish = st.one_of(st.binary(max_size=300),
                   st.text(alphabet=st.sampled_from(list("<>/=\"'&;!?[]-: abcxmlns#0123456789\x00\x01é中")),
                           max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")))


@FAST
@given(st.one_of(xmlish, mutated))
def test_parser_only_raises_parse_error(data):
    ok("parse", data)


@FAST
@given(mutated)
def test_validator_answers_every_mutated_sample_with_a_report(data):
    ok("validate", data)


# values that broke business rules: non-numbers where numbers are expected, huge exponents, signs
FIELD_VALUES = st.one_of(st.sampled_from(["NaN", "Infinity", "-0", "1e309", "11e3091340", "1-1", "1=", "", " ",
                                          "９", "0x10", "'; DROP TABLE x;--", "../../etc/passwd", "\u202e",
                                          "9" * 60, "-1", "0", "1.5.5"]),
                         st.text(max_size=20).filter(lambda s: all(c not in s for c in "<&\x00") and
                                                     all(ord(c) >= 32 or c in "\t\n\r" for c in s)
                                                     and not any(0xD800 <= ord(c) <= 0xDFFF or ord(c) >= 0xFFFE
                                                                 for c in s)))


def _with_field_value(i: int, j: int, value: str) -> bytes:
    """Sample i with the text of its j-th leaf element (or its j-th attribute) replaced by value."""
    from lxml import etree
    from translator.parsing import parse
    tree = parse(SEEDS[i % len(SEEDS)])
    leaves = [e for e in tree.iter() if isinstance(e.tag, str) and len(e) == 0]
    el = leaves[j % len(leaves)]
    if el.attrib and j % 3 == 0:
        el.set(sorted(el.attrib)[j % len(el.attrib)], value)
    else:
        el.text = value
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


field_mutations = st.builds(_with_field_value, st.integers(0, 10_000), st.integers(0, 10_000), FIELD_VALUES)


@FAST
@given(field_mutations)
def test_validator_and_rules_on_hostile_field_values(data):
    ok("validate", data)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_mutations)
def test_translation_of_changed_documents_fails_only_with_translation_error(data):
    ok("translate", data)


@FAST
@given(st.one_of(xmlish, mutated))
def test_response_parser_only_raises_response_error(data):
    ok("response", data)


soap_inputs = st.one_of(
    xmlish,
    st.builds(lambda d, op: fuzz.soap_wrap(d, op), mutated,
              st.sampled_from(["ValidateRequest", "SubmitRequest", "TranslateRequest", "GetStatusRequest", "X"])),
    st.builds(lambda d, seed: fuzz.mutate(fuzz.soap_wrap(d), random.Random(seed)), st.sampled_from(SEEDS[:6]),
              st.integers(0, 2**32)))


@FAST
@given(soap_inputs)
def test_envelope_reader_only_raises_faults(data):
    ok("envelope", data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(soap_inputs)
def test_soap_dispatcher_answers_every_input_with_a_result_or_a_fault(data):
    ok("soap", data)


@pytest.mark.parametrize("path", sorted((Path(__file__).parent / "regressions").glob("*.bin")), ids=lambda p: p.name)
def test_fuzz_regressions(path):
    data = path.read_bytes()
    for name in ("validate", "translate", "soap"):
        ok(name, data if name != "soap" else fuzz.soap_wrap(data))


def test_safe_file_name_keeps_files_in_their_folder(tmp_path):
    from routing.endpoints import safe_file_name, write_atomically
    for mid in ["../../etc/passwd", "..", ".", "", "a/b\\c", "/abs", "C:\\x", "\x00", "con", ".hidden", "é中",
                "x" * 500, "....//....//"]:
        name = safe_file_name(mid)
        assert "/" not in name and "\\" not in name and not name.startswith(".") and len(name) <= 124, name
        p = write_atomically(tmp_path / "out", name, b"<x/>")
        assert p.resolve().parent == (tmp_path / "out").resolve()


def test_a_rule_that_raises_is_an_issue_not_a_traceback(monkeypatch):
    """On an XSD-valid document a broken rule becomes a `rule-failed` issue naming the rule; on an XSD-invalid one
    it is skipped (the XSD issues say which value is not of its type)."""
    from translator.rules import RULES, Rule
    from translator.validate import default_validator
    v = default_validator()
    good = (ROOT / "samples/vnaccs/ida_haiphong_valves_1line.xml").read_bytes()
    assert v.validate_bytes(good, None)[0].valid

    def broken(root, ctx):
        yield from ()
        raise ArithmeticError("boom")
    monkeypatch.setitem(RULES, "vnaccs:IDA", [*RULES.get("vnaccs:IDA", []), Rule("vnaccs-test-broken", broken, "", "error")])
    report, _ = v.validate_bytes(good, None)
    assert [i.code for i in report.issues] == ["rule-failed"]
    assert "vnaccs-test-broken" in report.issues[0].message and "boom" not in report.issues[0].message
    bad = good.replace(b"<ICN>100574219060</ICN>", b"<ICN>12</ICN>")
    codes = [i.code for i in v.validate_bytes(bad, None)[0].issues]
    assert codes and "rule-failed" not in codes and all(c.startswith(("xsd-", "vnaccs-")) for c in codes)
