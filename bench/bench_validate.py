"""Validation cost per document for a 20-line PRC declaration against the floor: a bare lxml parse + XSD
validate of the same bytes. edihub adds the hardened parser's checks, format detection and the business rules.
The code lists of every PRC code field (the CSV tables and ISO 4217) are compiled into DecMessage.xsd
(xsd/prc/build_xsd.py), so checking them is part of the floor as well. The business rules are
screened in C (translator/rules/_prcscreen.c): on this valid declaration the screen clears them all and the
Python rules do not run. The same run also times validation with the screen off (every rule in Python), for
comparison. Goal: ratio <= 1.3."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from bench._common import interleaved, line  # noqa: E402
from translator.validate import Validator, default_validator  # noqa: E402

SAMPLE = ROOT / "samples" / "prc" / "export_20_lines.xml"


def main() -> int:
    data = SAMPLE.read_bytes()
    validator = default_validator()
    report, tree = validator.validate_bytes(data)
    assert report.valid, report.to_dict()
    mt = validator.registry.get(report.format)
    screen = validator.screens.get(mt.id)
    python_only = Validator(validator.registry, validator.codes, accelerate=False)
    if screen is None:
        print("# the C rule screen is not built here (translator/rules/_prcscreen.c): every rule runs in Python")
    else:
        print(f"# C rule screen active; it clears this declaration: {screen.clear(tree.getroot())}")
    schema = mt.schema
    plain = etree.XMLParser()

    def floor():
        schema.validate(etree.fromstring(data, plain))

    def edihub():
        validator.validate_bytes(data)

    def rules_in_python():
        python_only.validate_bytes(data)

    t = interleaved({"floor": floor, "edihub": edihub, "python": rules_in_python}, repeat=21, number=300)
    n_lines = data.count(b"<DecList>")
    print(f"# {SAMPLE.name}: {len(data)} bytes, {n_lines} goods lines; floor {t['floor'] * 1e6:.0f} us, "
          f"edihub {t['edihub'] * 1e6:.0f} us per document")
    print(line("validate_prc_20_lines", t["edihub"] * 1e6, "us/doc", t["floor"] * 1e6,
               "lxml_parse+xsd_validate", 21 * 300))
    print(line("validate_prc_20_lines_rules_in_python", t["python"] * 1e6, "us/doc", t["floor"] * 1e6,
               "lxml_parse+xsd_validate", 21 * 300))
    return 0


if __name__ == "__main__":
    sys.exit(main())
