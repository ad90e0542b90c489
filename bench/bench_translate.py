"""Translation cost of a 20-line PRC export declaration to a VNACCS IDA against a floor: an XSLT 1.0 stylesheet
doing the same renames and code look-ups (xsl:key over a look-up table), run by lxml (libxslt).

The stylesheet is generated from the same mapping tables and this very document: every target element edihub writes
becomes a literal result element whose value is the source element it came from, through a composed code table
(source code -> target code) where the tables look a code up; goods lines become one xsl:for-each. The floor does no
validation, no provenance and no report, and copies numbers and dates as they are: it is the price of the renames
and look-ups alone. edihub is measured twice: the whole translate() (read, write, output validated against XSD +
rules, the mapping report built as JSON-ready dict) and the mapping alone (read + write, with provenance). Goal: mapping <= 2x the floor.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from bench._common import interleaved, line  # noqa: E402
from translator import parse  # noqa: E402
from translator.mapping_engine import read, write  # noqa: E402
from translator.mapping_transforms import Code, Map, TransformError  # noqa: E402
from translator.translate import default_translator  # noqa: E402

SAMPLE = ROOT / "samples" / "prc" / "export_20_lines.xml"
TARGET = "vnaccs:IDA"
XSL = "http://www.w3.org/1999/XSL/Transform"
LK = "urn:edihub:bench:lookup"
NOW = datetime(2024, 11, 6, tzinfo=timezone.utc)


def _lookup_fn(src_t, dst_t):
    """The composed value function of a (read transform, write transform) pair, or None when it is a copy."""
    if not isinstance(src_t, (Code, Map)) and not isinstance(dst_t, (Code, Map)):
        return None

    def f(v):
        c = src_t.to_canonical(v)
        return dst_t.to_format(c)
    return f


def _source_values(src_t) -> list[str]:
    if isinstance(src_t, Code):
        return sorted(src_t.fwd) if src_t.members is None else sorted(src_t.members)
    if isinstance(src_t, Map):
        return sorted(src_t.fwd)
    return []


def build_stylesheet(tr, tree, target: str) -> etree.XSLT:
    src_table = tr.tables[tr.registry.detect(tree.getroot()).id]
    dst_table = tr.tables[target]
    res = read(src_table, tree.getroot(), track_unread=False)
    out = write(dst_table, res.doc, res.prov, NOW)
    src_root = tree.getroot()
    src_ns = etree.QName(src_root).namespace
    by_node = {}
    for w in out.written:
        if w.node is not None:
            by_node[w.node if not isinstance(w.node, tuple) else w.node] = w
    group_tags = {}
    for g in dst_table.groups.values():
        steps = g.row.path.steps
        group_tags[steps[-1].tag] = g
    src_group_path = {g.canonical: g.row.path for g in src_table.groups.values()}

    xsl = etree.Element(f"{{{XSL}}}stylesheet", nsmap={"xsl": XSL, "s": src_ns, "lk": LK}, version="1.0")
    etree.SubElement(xsl, f"{{{XSL}}}output", method="xml", encoding="UTF-8")
    etree.SubElement(xsl, f"{{{XSL}}}key", name="lk", match="lk:e", use="concat(../@n, '|', @k)")
    tables = etree.SubElement(xsl, f"{{{LK}}}tables")
    made: dict = {}

    def lookup_name(src_row, dst_row) -> str | None:
        key = (src_row.where, dst_row.where)
        if key in made:
            return made[key]
        f = _lookup_fn(src_row.transform, dst_row.transform)
        if f is None:
            made[key] = None
            return None
        name = f"t{len(made)}"
        t = etree.SubElement(tables, f"{{{LK}}}t", n=name)
        for v in _source_values(src_row.transform) or []:
            try:
                etree.SubElement(t, f"{{{LK}}}e", k=v, v=f(v))
            except TransformError:
                pass
        made[key] = name
        return name

    def rel_path(node, ctx) -> str:
        steps = []
        el = node
        while el is not None and el is not ctx:
            steps.append("s:" + etree.QName(el).localname)
            el = el.getparent()
        return "/".join(reversed(steps)) or "."

    tmpl = etree.SubElement(xsl, f"{{{XSL}}}template", match="/")

    def emit(out_el, parent_xsl, src_ctx, seen_groups):
        new = etree.SubElement(parent_xsl, out_el.tag, nsmap=out_el.nsmap if out_el.getparent() is None else None)
        w = by_node.get(out_el)
        if w is not None and len(out_el) == 0:
            src = w.source
            if src is None or src.node is None:
                new.text = out_el.text
            else:
                snode = src.node[0] if isinstance(src.node, tuple) else src.node
                path = rel_path(snode, src_ctx)
                if isinstance(src.node, tuple):
                    path += f"/@{src.node[1]}"
                name = lookup_name(src.row, w.row)
                if name is None:
                    etree.SubElement(new, f"{{{XSL}}}value-of", select=path)
                else:
                    fe = etree.SubElement(new, f"{{{XSL}}}variable", name="v", select=path)
                    fe = etree.SubElement(new, f"{{{XSL}}}for-each", select="document('')")
                    etree.SubElement(fe, f"{{{XSL}}}value-of", select=f"key('lk', concat('{name}|', $v))/@v")
            return
        for child in out_el:
            g = group_tags.get(child.tag)
            if g is not None:
                if g.alias in seen_groups:
                    continue
                seen_groups.add(g.alias)
                spath = src_group_path.get(g.canonical)
                fe = etree.SubElement(new, f"{{{XSL}}}for-each",
                                      select="/s:" + etree.QName(src_root).localname + "/"
                                             + "/".join("s:" + etree.QName(s.tag).localname for s in spath.steps))
                first_src = src_root.find(spath.find)
                emit_children(child, fe, first_src, seen_groups)
                continue
            emit(child, new, src_ctx, seen_groups)

    def emit_children(out_el, parent_xsl, src_ctx, seen_groups):
        holder = etree.SubElement(parent_xsl, out_el.tag)
        for child in out_el:
            emit(child, holder, src_ctx, seen_groups)

    emit(out.tree.getroot(), tmpl, src_root.getroottree().getroot().getparent() or None, set())
    doc = etree.ElementTree(xsl)
    text = etree.tostring(doc)
    return etree.XSLT(etree.fromstring(text, base_url=str(ROOT / "bench" / "generated.xsl")).getroottree()), text


def _values(root) -> list[tuple[str, str]]:
    return [(el.tag, (el.text or "").strip()) for el in root.iter() if isinstance(el.tag, str) and len(el) == 0]


def _compare(a, b) -> tuple[bool, int, int]:
    """Same elements in the same order; count of values that differ only because edihub formats numbers or cuts
    to the target's length (the floor copies), and of values that differ otherwise."""
    va, vb = _values(a), _values(b)
    if [t for t, _ in va] != [t for t, _ in vb]:
        return False, 0, 0
    fmt = other = 0
    for (_, x), (_, y) in zip(va, vb):
        if x == y:
            continue
        try:
            if float(x) == float(y):
                fmt += 1
                continue
        except ValueError:
            pass
        if x.startswith(y) or y.startswith(x):
            fmt += 1
        else:
            other += 1
    return True, fmt, other


def main() -> int:
    tr = default_translator()
    import gc
    gc.collect()
    gc.freeze()      # as the server does after start-up (routing.serve.freeze_startup_objects)
    data = SAMPLE.read_bytes()
    tree = parse(data)
    xslt, text = build_stylesheet(tr, tree, TARGET)
    src_table = tr.tables["prc:DecMessage"]
    dst_table = tr.tables[TARGET]
    floor_out = xslt(tree)
    ours = tr.translate(tree, TARGET, now=NOW).documents[0]
    same, fmt, other = _compare(floor_out.getroot(), ours.getroot())
    n_lines = data.count(b"<DecList>")

    def floor():
        xslt(tree)

    skip = tr._skippable("prc:DecMessage", TARGET)

    def mapping():
        r = read(src_table, tree.getroot(), skip=skip)      # as translate() reads for this target
        write(dst_table, r.doc, r.prov, NOW)

    def full():
        tr.translate(tree, TARGET, now=NOW).report.to_dict()

    t = interleaved({"floor": floor, "mapping": mapping, "full": full}, repeat=15, number=40)
    print(f"# {SAMPLE.name} -> {TARGET}: {n_lines} goods lines; generated stylesheet {len(text)} bytes; floor output "
          f"has edihub's elements: {'yes' if same else 'NO'}; values differing only by number format/length cut: "
          f"{fmt}; otherwise: {other}")
    print(f"# floor {t['floor'] * 1e6:.0f} us, mapping {t['mapping'] * 1e6:.0f} us, "
          f"translate() with output validation and the JSON report {t['full'] * 1e6:.0f} us per document")
    print(line("translate_prc20_to_ida_mapping", t["mapping"] * 1e6, "us/doc", t["floor"] * 1e6,
               "xslt1.0_renames+xsl:key_lookups", 15 * 40))
    print(line("translate_prc20_to_ida_full", t["full"] * 1e6, "us/doc", t["floor"] * 1e6,
               "xslt1.0_renames+xsl:key_lookups", 15 * 40))
    return 0


if __name__ == "__main__":
    sys.exit(main())
