"""`edihub validate` and `edihub formats` as a user runs them (a subprocess), on a small format made for the test
(EDIHUB_HOME points the data folders at it) so the CLI contract is pinned independent of the real formats."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.toyformat import FORMATS, XSD, doc

ROOT = Path(__file__).resolve().parent.parent

RULES = '''
from translator.rules import Finding, rule

@rule("toy:Order", code="toy-no-prefix")
def no_prefix(root, ctx):
    no = root.find("t:No", ctx.ns)
    if no is not None and not (no.text or "").startswith("ORD-"):
        yield Finding(no, "order number must start with ORD-")
'''


@pytest.fixture
def home(tmp_path):
    (tmp_path / "xsd" / "toy").mkdir(parents=True)
    (tmp_path / "xsd" / "toy" / "order.xsd").write_text(XSD)
    (tmp_path / "xsd" / "toy" / "formats.toml").write_text('rules = "toy_cli_rules"\n' + FORMATS)
    (tmp_path / "mappings" / "codes").mkdir(parents=True)
    (tmp_path / "mappings" / "codes" / "toy_mode.csv").write_text("code,label,source\nA,air,t\nS,sea,t\n")
    (tmp_path / "toy_cli_rules.py").write_text(RULES)
    (tmp_path / "ok.xml").write_bytes(doc())
    (tmp_path / "bad.xml").write_bytes(doc(mode="Q").replace(b"ORD-1", b"X-1"))
    (tmp_path / "broken.xml").write_bytes(b"<Order>")
    return tmp_path


def run(home, *args):
    env = dict(os.environ, EDIHUB_HOME=str(home), PYTHONPATH=f"{ROOT}{os.pathsep}{home}")
    p = subprocess.run([sys.executable, "-m", "cli", *args], cwd=home, env=env, capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_formats_lists_families_and_types(home):
    code, out, _ = run(home, "formats")
    assert code == 0 and "toy" in out and "toy:Order" in out
    code, out, _ = run(home, "formats", "--json")
    assert json.loads(out)[0]["types"][0]["id"] == "toy:Order"


def test_exit_codes(home):
    assert run(home, "validate", "ok.xml")[0] == 0
    assert run(home, "validate", "ok.xml", "bad.xml")[0] == 1
    assert run(home, "validate", "broken.xml")[0] == 1
    assert run(home, "validate", "missing.xml")[0] == 2
    assert run(home, "validate", "ok.xml", "--format", "nope:X")[0] == 2
    assert run(home, "validate")[0] == 2


def test_json_output_shape(home):
    code, out, _ = run(home, "validate", "--json", "ok.xml", "bad.xml")
    assert code == 1
    ok, bad = [json.loads(line) for line in out.splitlines()]
    assert ok == {"file": "ok.xml", "valid": True, "format": "toy", "message_type": "Order", "errors": []}
    assert bad["valid"] is False
    assert {(e["code"], e["path"]) for e in bad["errors"]} == {("code-unknown", "/Order/Mode"),
                                                               ("toy-no-prefix", "/Order/No")}
    for e in bad["errors"]:
        assert set(e) == {"code", "severity", "message", "path", "line"} and e["line"]


def test_human_output_names_file_rule_and_path(home):
    code, out, _ = run(home, "validate", "bad.xml")
    assert code == 1
    assert "bad.xml: INVALID toy:Order" in out and "toy-no-prefix" in out and "/Order/No" in out
