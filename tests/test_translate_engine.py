"""The mapping engine on its own: table loading refuses broken tables naming file and row, transforms work both
ways, every crosswalk row behaves as its cells say, the canonical XSD is current."""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from translator import canonical as cm
from translator import paths
from translator.codes import default_codes
from translator.mapping_table import MappingTableError, load_table, load_tables
from translator.mapping_transforms import SkipValue, TableDefinitionError, TransformError, build
from translator.registry import default_registry

HEADER = "kind,group,canonical,path,direction,transform,args,table,required,default,when,notes\n"
GOOD = (HEADER + "pivot,,Declaration,,,,,,,,,\n"
        "field,,ID,DecHead/EntryId,,,,,,,,\n"
        "group,items,GoodsItem,DecLists/DecList,,,,,,,,\n"
        "field,items,GoodsItem/ClassificationID,CodeTS,,,,,,,,\n")


def _load(tmp_path: Path, text: str):
    f = tmp_path / "DecMessage.csv"
    f.write_text(text, encoding="utf-8")
    return load_table(f, default_registry().types["prc:DecMessage"], default_codes(), tmp_path)


def test_good_table_loads(tmp_path):
    t = _load(tmp_path, GOOD)
    assert t.pivot == "Declaration" and "items" in t.groups and len(t.rows) == 3


@pytest.mark.parametrize("text, row, words", [
    (GOOD.replace("notes\n", "notes,colour\n"), 1, "unknown column"),
    (GOOD + "field,,ID,DecHead/PreEntryId,,lookup,,,,,,\n", 6, "unknown transform 'lookup'"),
    (GOOD + "field,,Freight/CurrencyCode,DecHead/FeeCurr,,code,,xw_nope:prc,,,,\n", 6, "unknown code table 'xw_nope'"),
    (GOOD + "field,,Freight/CurrencyCode,DecHead/FeeCurr,,code,,xw_currency:klingon,,,,\n", 6, "no column 'klingon'"),
    (GOOD + "field,,ID,DecHead/EntryId,,,,,,,,\n", 6, "duplicate key"),
    (GOOD + "field,,ID,DecHead/SeqNo,,,,,,,,\n", 6, "duplicate key"),
    (GOOD + "field,,NoSuchField,DecHead/SeqNo,,,,,,,,\n", 6, "unknown canonical field 'NoSuchField'"),
    (GOOD + "field,,GoodsItem/Quantity,DecHead/SeqNo,,,,,,,,\n", 6, "belongs to group GoodsItem"),
    (GOOD + "field,lines,GoodsItem/Quantity,GQty,,,,,,,,\n", 6, "group 'lines' is not declared"),
    (GOOD + "field,,ID,DecHead/SeqNo,sideways,,,,,,,\n", 6, "unknown direction"),
    (GOOD + "field,,PreEntryID,DecHead/PreEntryId,,date,colour=red,,,,,\n", 6, "takes no argument"),
    (GOOD + "field,,PreEntryID,DecHead/PreEntryId,,,,,,,Nope=1,\n", 6, "unknown canonical field 'Nope'"),
    (GOOD + "field,,PreEntryID,Dec Head,,,,,,,,\n", 6, "bad path step"),
    (GOOD + "field,,PreEntryID+ID,DecHead/X,,copy,,,,,,\n", 6, "need transform join"),
    (GOOD + "frob,,ID,DecHead/X,,,,,,,,\n", 6, "unknown kind"),
])
def test_broken_table_is_refused_naming_file_and_row(tmp_path, text, row, words):
    with pytest.raises(MappingTableError) as e:
        _load(tmp_path, text)
    assert e.value.row == row
    assert "DecMessage.csv" in e.value.file
    assert words in str(e.value), str(e.value)


def test_table_for_an_unregistered_type_is_refused(tmp_path):
    (tmp_path / "prc").mkdir()
    (tmp_path / "prc" / "NoSuchType.csv").write_text(GOOD, encoding="utf-8")
    with pytest.raises(MappingTableError, match="no registered message type prc:NoSuchType"):
        load_tables(default_registry(), default_codes(), tmp_path)


def test_the_real_tables_load():
    tables = load_tables(default_registry(), default_codes())
    assert {"prc:DecMessage", "prc:DEC_RESULT", "prc:DecImportResponse"} <= set(tables)


# -- transforms ---------------------------------------------------------------------------------------------

def _t(name, args="", table=""):
    return build(name, args, table, default_codes())


def test_date_both_ways_and_bad_input():
    t = _t("date", "format=%Y%m%d|%Y-%m-%d")
    assert t.to_canonical("20240301") == "2024-03-01"
    assert t.to_canonical("2024-03-01") == "2024-03-01"
    assert t.to_format("2024-03-01") == "20240301"
    with pytest.raises(TransformError, match="not a date"):
        t.to_canonical("20241301")
    dt = _t("date", "format=%d/%m/%Y %H:%M;canonical=datetime")
    assert dt.to_canonical("01/03/2024 10:05") == "2024-03-01T10:05:00"
    assert dt.to_format("2024-03-01T10:05:00") == "01/03/2024 10:05"


def test_number_unit_and_limits():
    assert _t("number", "decimals=2").to_format("1250.5") == "1250.50"
    assert _t("number", "decimals=0").to_format("2.5") == "3"
    assert _t("number").to_format("250.0000") == "250.0000"
    with pytest.raises(TransformError, match="not a number"):
        _t("number").to_canonical("12a")
    u = _t("unit", "canonical=kg;format=t;decimals=3")
    assert u.to_format("1250.5") == "1.251" and u.to_canonical("1.5") == "1500"
    with pytest.raises(TableDefinitionError, match="cannot convert"):
        _t("unit", "canonical=kg;format=l")
    lim = _t("copy", "maxlen=3")
    with pytest.raises(TransformError, match="at most 3"):
        lim.limit("abcd")
    assert _t("copy", "maxlen=3;overflow=truncate").limit("abcd") == "abc"


def test_map_join_const():
    m = _t("map", "E=export;I=import")
    assert m.to_canonical("E") == "export" and m.to_format("import") == "I"
    with pytest.raises(TransformError):
        m.to_canonical("X")
    j = _t("join", "sep=/")
    assert j.split("VESSEL/083W", 2) == ["VESSEL", "083W"] and j.split("VESSEL", 2) == ["VESSEL", ""]
    assert j.join(["VESSEL", ""]) == "VESSEL" and j.join(["A", "B"]) == "A/B"
    assert _t("const", "value=CN").to_canonical("") == "CN"


def test_code_plain_table_membership():
    c = _t("code", "", "prc_transport_mode")
    assert c.to_format("2") == "2"
    with pytest.raises(TransformError, match="not in code table"):
        c.to_canonical("Q")


# -- crosswalks: every row ---------------------------------------------------------------------------------

def _crosswalk_columns():
    for f in sorted(paths.CODES_DIR.glob("xw_*.csv")):
        with f.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        for col in [c for c in rows[0] if c not in ("code", "label", "source", "notes")]:
            yield f.stem, col, rows


COLUMNS = list(_crosswalk_columns())


def test_every_crosswalk_row_cites_a_source():
    for table, _, rows in COLUMNS:
        for r in rows:
            assert r["source"].strip(), f"{table} {r['code']}: no source"


@pytest.mark.parametrize("table, column, rows", COLUMNS, ids=[f"{t}:{c}" for t, c, _ in COLUMNS])
def test_every_crosswalk_row(table, column, rows):
    """Each row of each family column: `-` refuses with 'says none', empty refuses (or skips), otherwise writing
    gives the first code and reading each listed code gives a row that lists it."""
    t = _t("code", "", f"{table}:{column}")
    tskip = _t("code", "missing=skip", f"{table}:{column}")
    for row in rows:
        cell, code = (row[column] or "").strip(), row["code"]
        if cell == "-":
            with pytest.raises(TransformError, match="says none"):
                t.to_format(code)
            continue
        if not cell:
            with pytest.raises(TransformError):
                t.to_format(code)
            with pytest.raises(SkipValue):
                tskip.to_format(code)
            continue
        alts = cell.split("|")
        assert t.to_format(code) == alts[0], (table, column, code)
        for a in alts:
            back = t.to_canonical(a)
            assert a in _alts(table, column, back), (table, column, code, a, back)


def _alts(table, column, code):
    return (default_codes()[table][code][column] or "").split("|")


def test_country_crosswalk_matches_pycountry():
    import pycountry
    xw = default_codes()["xw_country"]
    assert len(xw) == len(list(pycountry.countries))
    for c in pycountry.countries:
        assert xw[c.alpha_2]["prc"] == c.alpha_3


# -- canonical model ---------------------------------------------------------------------------------------

def test_canonical_xsd_is_generated_from_the_model():
    on_disk = (paths.XSD_DIR / "canonical" / "Declaration.xsd").read_text(encoding="utf-8")
    assert on_disk == cm.xsd_text(), "run: python -m translator.canonical > xsd/canonical/Declaration.xsd"


def test_canonical_xml_round_trip_and_validity():
    doc = cm.Canonical("Declaration", {"ID": "1", "Direction": "export", "Exporter/Name": "A & B",
                                       "GoodsItem": [{"GoodsItem/SequenceNumeric": "1",
                                                      "Extension:prc/GoodsItem/Factor": "1"}],
                                       "Extension:prc/EdiId": "1"})
    tree = cm.to_xml(doc)
    assert default_registry().types["canonical:Declaration"].schema.validate(tree)
    assert cm.from_xml(tree) == doc
    bad = cm.to_xml(cm.Canonical("Declaration", {"IssueDateTime": "01.03.2024"}))
    assert not default_registry().types["canonical:Declaration"].schema.validate(bad)


def test_every_model_field_has_documentation_and_known_type():
    for root in cm.MODEL.roots.values():
        for f in root.fields.values():
            assert f.doc and f.type in cm.TYPES


def test_report_paths_equal_readable_path():
    from translator import parse
    from translator.translate import _Paths
    from translator.xpath import readable_path
    tree = parse((paths.SAMPLES_DIR / "prc" / "export_20_lines.xml").read_bytes())
    rp = _Paths()
    els = [el for el in tree.getroot().iter() if isinstance(el.tag, str)]
    assert len(els) > 300
    assert all(rp(el) == readable_path(el) for el in els)
