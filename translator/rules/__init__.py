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


# message type id ("prc:DecMessage") -> rules
RULES: dict[str, list[Rule]] = {}


def rule(*format_ids: str, code: str, doc: str = "", severity: str = "error"):
    def register(func: Callable[[etree._Element, RuleContext], Iterable[Finding]]):
        r = Rule(code, func, doc or (func.__doc__ or "").strip(), severity)
        for fid in format_ids:
            RULES.setdefault(fid, []).append(r)
        return func
    return register


def load_rule_module(name: str | None) -> None:
    if name:
        importlib.import_module(name)


def rules_for(format_id: str) -> list[Rule]:
    return RULES.get(format_id, [])
