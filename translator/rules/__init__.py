"""Business rules, registered per message type. Adding a rule touches one place: its function.

A rule is a small pure function over the parsed document:

    from translator.rules import rule, Finding

    @rule("prc:DecMessage", code="prc-gross-lt-net", doc="gross weight must not be below net weight")
    def gross_not_below_net(root, ctx):
        head = root.find("d:DecHead", ctx.ns)
        ...
        yield Finding(element, "gross weight 10 kg is below net weight 12 kg")

`ctx` carries the family's namespaces (`ctx.ns`), the code tables (`ctx.codes`) and the message type
(`ctx.mtype`). A Finding may override the code (for rules that check several related things) and severity.
Paths and line numbers are filled in by the validator from the element.

A message type may also have a *screen*: a fast, conservative test of the conditions of some of its rules
(`covers`) on a document the XSD accepted. When it says clear, none of those rules can report anything and the
validator skips them; otherwise they run as usual. The rules stay the only source of findings. PRC's screen is
a C extension (translator/rules/_prcscreen.c); a rule a screen does not list in `covers` always runs, so adding
a rule still touches one place.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Iterable

from lxml import etree


@dataclass(slots=True)
class Finding:
    element: etree._Element | None
    message: str
    code: str | None = None
    severity: str | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    func: Callable
    doc: str = ""
    severity: str = "error"


@dataclass
class RuleContext:
    """Made afresh for each validation: `memo` is scratch shared by the rules of that one validation (e.g. a view
    of the document several rules read), never by two documents."""
    ns: dict[str, str]
    codes: "object"
    mtype: "object"
    memo: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Screen:
    """`clear(root)` is True when no rule in `covers` (rule codes) can report anything on this XSD-valid
    document."""
    clear: Callable[[etree._Element], bool]
    covers: frozenset[str]


# message type id ("prc:DecMessage") -> rules
RULES: dict[str, list[Rule]] = {}
# message type id -> the factory of its screen: (code tables) -> Screen or None (not available here)
SCREENS: dict[str, Callable[[object], Screen | None]] = {}


def rule(*format_ids: str, code: str, doc: str = "", severity: str = "error"):
    def register(func: Callable[[etree._Element, RuleContext], Iterable[Finding]]):
        r = Rule(code, func, doc or (func.__doc__ or "").strip(), severity)
        for fid in format_ids:
            RULES.setdefault(fid, []).append(r)
        return func
    return register


def screen(*format_ids: str):
    """Registers a screen factory for message types: factory(codes) -> Screen, or None when the screen cannot
    run here (e.g. its C extension is not built); the rules then simply all run."""
    def register(factory: Callable[[object], Screen | None]):
        for fid in format_ids:
            SCREENS[fid] = factory
        return factory
    return register


def screen_for(format_id: str, codes) -> Screen | None:
    factory = SCREENS.get(format_id)
    return factory(codes) if factory is not None else None


def load_rule_module(name: str | None) -> None:
    if name:
        importlib.import_module(name)


def rules_for(format_id: str) -> list[Rule]:
    return RULES.get(format_id, [])
