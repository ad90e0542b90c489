"""Routing facts and route planning: pure functions over a parsed message and the configuration.

Facts are read with XPaths given as data (`[facts."prc:DecMessage"]` in edihub.toml), mapped through optional
value tables, then overridden by the sender's routing hints where the partner may give them.
"""
from __future__ import annotations

from lxml import etree

from .config import Config, FactsCfg, Partner, Route

HINTABLE = ("direction", "destination", "agency")


class CompiledFacts:
    def __init__(self, fc: FactsCfg, namespaces: dict):
        self.cfg = fc
        self.xpaths = {}
        for name, xp in fc.xpaths.items():
            try:
                self.xpaths[name] = etree.XPath(xp, namespaces=namespaces)
            except etree.XPathSyntaxError as e:
                raise ValueError(f"facts.{fc.format}.{name}: bad XPath {xp!r}: {e}") from None

    def read(self, root) -> dict:
        out = {}
        for name, xp in self.xpaths.items():
            found = xp(root)
            if isinstance(found, list):
                found = found[0] if found else None
            if found is None or isinstance(found, bool):
                value = found if isinstance(found, bool) else None
            elif isinstance(found, (str, float, int)):
                value = str(found).strip()
            else:
                value = (found.text or "").strip()
            if value in ("", None):
                continue
            table = self.cfg.values.get(name)
            if table is not None:
                value = table.get(value, table.get("*", value))
            out[name] = value
        return out


def compile_facts(cfg: Config, registry) -> dict[str, CompiledFacts]:
    out = {}
    for fmt, fc in cfg.facts.items():
        try:
            mt = registry.get(fmt)
        except KeyError:
            # a format that is not installed: its routes can never match; say so at start-up in the log
            continue
        out[mt.id] = CompiledFacts(fc, mt.namespaces)
    return out


def facts_of(fmt: str, root, compiled: dict[str, CompiledFacts], hints: dict | None) -> dict:
    facts = {"format": fmt, "family": fmt.split(":", 1)[0]}
    cf = compiled.get(fmt)
    if cf is not None:
        facts.update(cf.read(root))
    for k in HINTABLE:
        if hints and hints.get(k):
            facts[k] = hints[k]
    return facts


def plan(routes: dict[str, Route], facts: dict, partner: Partner, hints: dict | None = None) -> list[Route]:
    """Every route whose match fits the facts and that the partner may use; hints.routes narrows the set."""
    wanted = set(hints.get("routes") or ()) if hints else set()
    out = []
    for r in routes.values():
        if partner.routes and r.id not in partner.routes:
            continue
        if wanted and r.id not in wanted:
            continue
        if r.match.matches(facts):
            out.append(r)
    return out
