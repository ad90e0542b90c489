"""The processing stage of a submission: parse once, validate, plan, translate, validate the output, sign.

`Pipeline.run(raw, partner, now, hints)` is pure (no store, no network, clock passed in) and returns a
`PipelineResult` — the evidence of each step — that the hub writes in one transaction. The translate and sign
steps are injected (defaults: translator.translate.translate and signing.sign) so each is replaceable.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Callable

from lxml import etree

from translator.parsing import ParseError, ParseLimits, parse
from translator.report import Issue

from . import states as S
from .config import Config, Partner, Route
from .plan import compile_facts, facts_of, plan


@dataclass
class Output:
    route: Route
    target: str
    payload: bytes
    report: dict | None
    evidence: dict | None


@dataclass
class PipelineResult:
    state: str                                   # queued or rejected
    format: str | None
    business_key: str | None
    digest: str
    transitions: list = field(default_factory=list)   # (from, to, at, detail)
    validation: dict | None = None
    issues: list[Issue] = field(default_factory=list)
    fault: str | None = None                     # "client" (the sender's input) / "server" (our side) when rejected
    outputs: list[Output] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    tree: object = None

    @property
    def error(self) -> str | None:
        return "; ".join(f"{i.code}: {i.message}" for i in self.issues[:5]) or None


@dataclass
class Prepared:
    """The steps of a submission before the store: what was identified, and the pipeline's result."""
    format: str | None                      # the identified message type (None: not XML / not identified)
    business_key: str | None
    not_allowed: tuple[str, str] | None = None   # (code, message): the partner may not send this type
    existing: str | None = None             # an accepted message with the same keys (from the `existing` check)
    dup_checked: bool = False               # the `existing` check was made (else the caller makes it)
    result: PipelineResult | None = None    # None when not allowed or a duplicate


class NotAllowed(Exception):
    """The partner may not send this message type (authorisation, not validation)."""

    def __init__(self, code: str, message: str, fmt: str | None = None):
        super().__init__(message)
        self.code, self.message, self.format = code, message, fmt


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def evidence_dict(ev) -> dict | None:
    if ev is None:
        return None
    if hasattr(ev, "to_dict"):
        return ev.to_dict()
    if dataclasses.is_dataclass(ev):
        return {k: (v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v))
                for k, v in dataclasses.asdict(ev).items()}
    if isinstance(ev, dict):
        return ev
    return {"value": str(ev)}


def _default_translate():
    try:
        from translator.translate import translate
    except ImportError:
        return None
    return translate


class Pipeline:
    def __init__(self, cfg: Config, validator, *, translate: Callable | None = None,
                 signers: dict | None = None, translate_error: type | tuple = ()):
        self.cfg = cfg
        self.validator = validator
        self.limits = ParseLimits(max_bytes=cfg.server.max_body_bytes, max_depth=cfg.server.max_depth)
        self.translate = translate or _default_translate()
        if not translate_error:
            try:
                from translator.translate import TranslationError
                translate_error = TranslationError
            except ImportError:
                translate_error = ()
        self.translate_error = translate_error
        self.signers = signers or {}            # signing section id -> (profile, signer, sign_fn)
        self.facts = compile_facts(cfg, validator.registry)

    # ---------------------------------------------------------------------------------------------------------
    def check_allowed(self, partner: Partner, fmt: str | None) -> None:
        if fmt and fmt not in partner.may_send and fmt.split(":", 1)[0] not in partner.may_send:
            raise NotAllowed("not-authorised", f"partner {partner.id} may not send {fmt} "
                                               f"(may send: {', '.join(partner.may_send) or 'nothing'})", fmt)

    def parse_and_identify(self, raw: bytes):
        """Parse once; returns (tree, MessageType or None, ParseError or None)."""
        try:
            tree = parse(raw, self.limits)
        except ParseError as e:
            return None, None, e
        return tree, self.validator.registry.detect(tree.getroot()), None

    def prepare(self, partner: Partner, raw: bytes, now: float, hints: dict | None = None, *, tree=None,
                existing: Callable | None = None) -> Prepared:
        """Parse once and identify (authorisation and the duplicate check need the format and business key),
        authorise, then run. `existing(format, key)` -> id of an accepted twin, asked before the pipeline runs
        (None: not asked; the caller checks). Pure apart from what `existing` reads."""
        mt = key = err = None
        checked = existing is not None
        if tree is None:
            tree, mt, err = self.parse_and_identify(raw)
        else:
            mt = self.validator.registry.detect(tree.getroot())
        if err is not None:
            return Prepared(None, None, dup_checked=checked, result=self.run(raw, partner, now, hints))
        if mt is not None:
            try:
                self.check_allowed(partner, mt.id)
            except NotAllowed as e:
                return Prepared(mt.id, None, not_allowed=(e.code, e.message))
            key = mt.key_of(tree.getroot())
            twin = existing(mt.id, key) if existing is not None else None
            if twin:
                return Prepared(mt.id, key, existing=twin, dup_checked=True)
        return Prepared(mt.id if mt is not None else None, key, dup_checked=checked,
                        result=self.run(raw, partner, now, hints, tree=tree, mt=mt,
                                        key=(mt.id, key) if mt is not None else None))

    def run(self, raw: bytes, partner: Partner, now: float, hints: dict | None = None, *,
            tree=None, mt=None, key: tuple | None = None) -> PipelineResult:
        """key: (format id, business key) the caller already read from this tree (not read twice)."""
        d = digest(raw)
        res = PipelineResult(S.RECEIVED, None, None, d)
        res.transitions.append((None, S.RECEIVED, now, f"{len(raw)} bytes from {partner.id}, {d}"))
        if tree is None:
            tree, mt, err = self.parse_and_identify(raw)
            if err is not None:
                return self._reject(res, [err.to_issue()], now, "client")
        res.tree = tree
        root = tree.getroot()
        if mt is not None:
            res.format = mt.id
            self.check_allowed(partner, mt.id)
        report = self.validator.validate(tree, hints.get("format") if hints and hints.get("format") else None)
        res.validation = report.to_dict()
        if report.format:
            res.format = report.format
        if not report.valid:
            return self._reject(res, report.errors, now, "client")
        mt = self.validator.registry.get(report.format)
        res.business_key = key[1] if key is not None and key[0] == mt.id else mt.key_of(root)
        res.transitions.append((S.RECEIVED, S.VALIDATED, now, f"valid {mt.id}"
                                + (f", key {res.business_key}" if res.business_key else "")))
        res.facts = facts_of(mt.id, root, self.facts, hints)
        routes = plan(self.cfg.routes, res.facts, partner, hints)
        if not routes:
            facts = ", ".join(f"{k}={v}" for k, v in res.facts.items())
            return self._reject(res, [Issue("route-none", f"no route matches this message ({facts})", "", None)],
                                now, "client")
        # translate every route's target, then validate what came out
        translated = []
        for r in routes:
            try:
                docs, report_d = self._translate(tree, mt.id, r.target, now)
            except Exception as e:  # noqa: BLE001 - a mapping defect must become a clean rejection
                if self.translate_error and isinstance(e, self.translate_error):
                    where = " ".join(x for x in (getattr(e, "field", None) and f"field {e.field}",
                                                 getattr(e, "row", None) and f"mapping {e.row}") if x)
                    msg = f"route {r.id}: cannot translate to {r.target}: {getattr(e, 'message', e)}" + \
                          (f" ({where})" if where else "")
                    return self._reject(res, [Issue("mapping-failed", msg, str(getattr(e, 'field', '') or ''),
                                                    None)], now, "server")
                if isinstance(e, LookupError):
                    return self._reject(res, [Issue("mapping-missing", f"route {r.id}: {e}", "", None)], now,
                                        "server")
                raise
            for doc in docs:
                if isinstance(report_d, dict) and report_d.get("pass_through"):
                    translated.append((r, doc, report_d))     # the input itself, validated above
                    continue
                out_report = self.validator.validate(doc, r.target)
                if not out_report.valid:
                    first = out_report.errors[0]
                    return self._reject(res, [Issue("mapping-invalid-output",
                                                    f"route {r.id}: the {r.target} produced is invalid: "
                                                    f"{first.code} {first.message}", first.path, first.line)],
                                        now, "server")
                translated.append((r, doc, report_d))
        res.transitions.append((S.VALIDATED, S.TRANSLATED, now,
                                ", ".join(f"{r.id}->{r.target}" for r in routes)))
        signed_any = False
        for r, doc, report_d in translated:
            if r.profile:
                data, ev = self._sign(doc, r.profile, now)
                signed_any = True
            else:
                data, ev = etree.tostring(doc, xml_declaration=True, encoding="UTF-8"), None
            res.outputs.append(Output(r, r.target, data, report_d, ev))
        res.transitions.append((S.TRANSLATED, S.SIGNED, now, "signed" if signed_any else "no signing profile"))
        res.transitions.append((S.SIGNED, S.QUEUED, now, f"{len(res.outputs)} delivery(ies)"))
        res.state = S.QUEUED
        return res

    # ---------------------------------------------------------------------------------------------------------
    def _reject(self, res: PipelineResult, issues, now, fault) -> PipelineResult:
        res.issues = list(issues)
        res.fault = fault
        res.state = S.REJECTED
        last = res.transitions[-1][1]
        res.transitions.append((last, S.REJECTED, now, res.error))
        if res.validation is None:
            res.validation = {"valid": False, "format": res.format and res.format.split(":")[0],
                              "message_type": res.format and res.format.split(":")[1],
                              "errors": [i.to_dict() for i in res.issues]}
        return res

    def _translate(self, tree, source: str, target: str, now, hints: dict | None = None):
        if target == source:
            import copy
            return [copy.deepcopy(tree)], {"target": target, "pass_through": True}
        if self.translate is None:
            raise LookupError(f"no translator installed for {source} -> {target}")
        import datetime as dt
        when = dt.datetime.fromtimestamp(now, dt.timezone.utc) if isinstance(now, (int, float)) else now
        result = self.translate(tree, target, now=when, **({"hints": hints} if hints else {}))
        rep = result.report
        report_d = rep.to_dict() if hasattr(rep, "to_dict") else rep
        return list(result.documents), report_d

    def _sign(self, doc, section: str, now):
        entry = self.signers.get(section)
        if entry is None:
            raise LookupError(f"signing section {section!r} is not loaded")
        profile, signer, sign_fn = entry
        result = sign_fn(doc, profile, signer)
        return result.data, evidence_dict(result.evidence)
