"""The SOAP service: Body-child QName -> handler, contract in xsd/hub/edihub.wsdl + edihub.xsd.

`SoapService.handle(data, content_type, authorization, remote)` -> (status, content type, bytes). Blocking (parse,
verify, pipeline): the app runs it in the thread pool. Every failure is a SOAP fault, never a traceback.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging

from lxml import etree

from routing.auth import AuthError
from routing.hub import HubError

from .envelope import CT, HUB_NS, Fault, envelope, fault_envelope, fault_version, read_request, serialize
from .limits import LimitExceeded

log = logging.getLogger("edihub.soap")


def H(tag: str) -> str:
    return f"{{{HUB_NS}}}{tag}"


def _sub(parent, tag, text=None):
    el = etree.SubElement(parent, H(tag))
    if text is not None:
        el.text = str(text)
    return el


def _text(el, tag) -> str | None:
    x = el.find(H(tag))
    return (x.text or "").strip() if x is not None and x.text is not None else None


class SoapService:
    def __init__(self, runtime):
        self.rt = runtime
        self.hub = runtime.hub
        self.limits = runtime.pipeline.limits
        self.limiter = None         # soap.limits.PartnerLimiter, set by the app
        self.ops = {H("SubmitRequest"): self.submit, H("TranslateRequest"): self.translate,
                    H("ValidateRequest"): self.validate, H("GetStatusRequest"): self.get_status,
                    H("GetReceiptRequest"): self.get_receipt}

    # -- entry point -----------------------------------------------------------------------------------------
    def handle(self, data: bytes, content_type: str | None, authorization: str | None = None,
               remote: str | None = None) -> tuple[int, str, bytes]:
        version = fault_version(data, content_type)
        try:
            req = read_request(data, content_type, self.limits)
            version = req.version
            handler = self.ops.get(req.body_child.tag)
            if handler is None:
                raise Fault("sender", "soap-unknown-operation",
                            f"unknown operation {req.body_child.tag}; known: "
                            + ", ".join(k.split('}')[1] for k in self.ops))
            partner = self._authenticate(req, authorization, remote, data)
            if self.limiter is not None:
                try:
                    self.limiter.acquire(partner.id, self.hub.clock())
                except LimitExceeded as e:      # the app answers 429 with Retry-After
                    self._refuse(e.code, e.message, partner.id, remote, data)
                    e.version = version
                    raise
                try:
                    answer = handler(req, partner, data, remote)
                finally:
                    self.limiter.release(partner.id)
            else:
                answer = handler(req, partner, data, remote)
            return 200, CT[version], serialize(envelope(version, answer))
        except LimitExceeded:
            raise
        except Fault as f:
            if f.kind == "version":
                # answered as a SOAP 1.1 node answers (SOAP 1.2 Part 1 appendix A), with the Upgrade header
                version = "1.1"
            if f.kind in ("version", "must-understand") or f.code.startswith(("soap-", "xml-")):
                self._refuse(f.code, f.message, None, remote, data)
            status, body = fault_envelope(version, f)
            return status, CT[version], body
        except Exception:  # noqa: BLE001 - a bug must still answer with a fault
            log.exception("SOAP request failed")
            status, body = fault_envelope(version, Fault("receiver", "internal-error",
                                                         "edihub could not process the request; it is logged"))
            return status, CT[version], body

    def _refuse(self, code, message, partner, remote, data):
        try:
            self.hub.refuse("soap", code, message, partner, remote, data)
        except Exception:  # noqa: BLE001
            log.exception("could not log a refusal")

    def _authenticate(self, req, authorization, remote, data):
        try:
            if req.security is not None:
                partner, ev = self.rt.auth.by_wssec(req.envelope, req.security, self.hub.clock())
                body = getattr(ev, "body", None)
                if body is not None:
                    # continue with the Body the signature covers (signature wrapping defence)
                    kids = [c for c in body if isinstance(c.tag, str)]
                    if len(kids) != 1 or kids[0].tag != req.body_child.tag:
                        raise AuthError("wssec-body-mismatch", "the signed Body is not the Body being processed",
                                        partner.id)
                    req.body_child = kids[0]
                return partner
            return self.rt.auth.by_token(authorization)
        except AuthError as e:
            self._refuse(e.code, e.message, e.partner, remote, data)
            raise Fault("sender", e.code, e.message) from None

    # -- helpers ---------------------------------------------------------------------------------------------
    def _document(self, el) -> bytes:
        """The document of a request: <Payload> (base64 of the exact bytes) or <Document> (inline XML)."""
        payload = el.find(H("Payload"))
        if payload is not None:
            try:
                return base64.b64decode("".join((payload.text or "").split()), validate=True)
            except (binascii.Error, ValueError):
                raise Fault("sender", "payload-not-base64", "Payload is not valid base64") from None
        doc = el.find(H("Document"))
        if doc is not None:
            kids = [c for c in doc if isinstance(c.tag, str)]
            if len(kids) != 1:
                raise Fault("sender", "document-structure", "Document must hold exactly one XML element")
            return etree.tostring(kids[0], encoding="UTF-8", xml_declaration=True)
        raise Fault("sender", "document-missing", "the request carries neither Payload nor Document")

    @staticmethod
    def _validation(parent, v: dict | None):
        el = _sub(parent, "Validation")
        v = v or {}
        _sub(el, "Valid", "true" if v.get("valid") else "false")
        if v.get("format"):
            _sub(el, "Format", f"{v['format']}:{v.get('message_type')}")
        for i in v.get("errors") or ():
            it = _sub(el, "Issue")
            _sub(it, "Code", i.get("code"))
            _sub(it, "Severity", i.get("severity") or "error")
            _sub(it, "Path", i.get("path") or "")
            if i.get("line") is not None:
                _sub(it, "Line", i["line"])
            _sub(it, "Message", i.get("message") or "")
        return el

    @staticmethod
    def _delivery(parent, d: dict):
        el = _sub(parent, "Delivery")
        for tag, key in (("Id", "id"), ("Route", "route"), ("Target", "target"), ("Endpoint", "endpoint"),
                         ("State", "state"), ("Attempts", "attempts"), ("LastError", "last_error"),
                         ("NextAttemptAt", "next_attempt_at")):
            if d.get(key) is not None:
                _sub(el, tag, d[key])
        return el

    @staticmethod
    def _hub_fault(e: HubError, extra=None) -> Fault:
        return Fault("sender" if e.kind == "client" else "receiver", e.code, e.message, extra=extra or {})

    # -- operations ------------------------------------------------------------------------------------------
    def submit(self, req, partner, data, remote):
        el = req.body_child
        raw = self._document(el)
        hints_el = el.find(H("Hints"))
        hints = None
        if hints_el is not None:
            hints = {"routes": [(r.text or "").strip() for r in hints_el.findall(H("Route")) if r.text]}
            for tag, key in (("Direction", "direction"), ("Destination", "destination"), ("Agency", "agency"),
                             ("Format", "format")):
                hints[key] = _text(hints_el, tag)
        try:
            res = self.hub.submit(partner.id, raw, message_id=_text(el, "MessageId"), hints=hints, channel="soap",
                                  remote=remote)
        except HubError as e:
            raise self._hub_fault(e) from None
        if res.state == "rejected":
            issues = (res.validation or {}).get("errors") or [i.to_dict() for i in res.issues]
            first = issues[0]["message"] if issues else "rejected"
            raise Fault("sender" if res.fault != "server" else "receiver",
                        "validation-failed" if res.fault != "server" else (issues[0]["code"] if issues else "failed"),
                        f"message {res.message_id} rejected: {len(issues)} error(s); first: {first}",
                        issues, extra={"MessageId": res.message_id, "State": res.state})
        out = etree.Element(H("SubmitResponse"), nsmap={"hub": HUB_NS})
        _sub(out, "MessageId", res.message_id)
        _sub(out, "State", res.state)
        _sub(out, "Duplicate", "true" if res.duplicate else "false")
        if res.format:
            _sub(out, "Format", res.format)
        if res.business_key:
            _sub(out, "BusinessKey", res.business_key)
        self._validation(out, res.validation)
        for d in res.deliveries:
            self._delivery(out, d)
        return out

    def validate(self, req, partner, data, remote):
        el = req.body_child
        raw = self._document(el)
        report, _ = self.rt.validator.validate_bytes(raw, _text(el, "Format") or None, _policy(self.limits))
        out = etree.Element(H("ValidateResponse"), nsmap={"hub": HUB_NS})
        self._validation(out, report.to_dict())
        return out

    def translate(self, req, partner, data, remote):
        el = req.body_child
        raw = self._document(el)
        target = _text(el, "Target")
        if not target:
            raise Fault("sender", "target-missing", "Target is required (e.g. vnaccs:IDA)")
        report, tree = self.rt.validator.validate_bytes(raw, None, _policy(self.limits))
        if not report.valid:
            d = report.to_dict()
            raise Fault("sender", "validation-failed", f"the document is not valid: {len(d['errors'])} error(s)",
                        d["errors"])
        try:
            self.rt.validator.registry.get(target)
        except KeyError as e:
            raise Fault("sender", "target-unknown", str(e.args[0])) from None
        try:
            docs, rep = self.rt.pipeline._translate(tree, report.format, target, self.hub.clock())
        except LookupError as e:
            raise Fault("receiver", "mapping-missing", str(e)) from None
        except Exception as e:  # noqa: BLE001
            if self.rt.pipeline.translate_error and isinstance(e, self.rt.pipeline.translate_error):
                raise Fault("receiver", "mapping-failed", str(getattr(e, "message", e))) from None
            raise
        out = etree.Element(H("TranslateResponse"), nsmap={"hub": HUB_NS})
        _sub(out, "Target", target)
        for d in docs:
            _sub(out, "Output", base64.b64encode(etree.tostring(d, xml_declaration=True,
                                                                encoding="UTF-8")).decode())
        _sub(out, "MappingReport", json.dumps(rep, ensure_ascii=False, default=str))
        return out

    def get_status(self, req, partner, data, remote):
        mid = _text(req.body_child, "MessageId")
        if not mid:
            raise Fault("sender", "message-id-missing", "MessageId is required")
        try:
            st = self.hub.status(mid, partner.id)
        except HubError as e:
            raise self._hub_fault(e, {"MessageId": mid}) from None
        out = etree.Element(H("GetStatusResponse"), nsmap={"hub": HUB_NS})
        for tag, key in (("MessageId", "message_id"), ("State", "state"), ("Format", "format"),
                         ("BusinessKey", "business_key"), ("ClientMessageId", "client_message_id"),
                         ("CreatedAt", "created_at"), ("UpdatedAt", "updated_at"), ("Error", "error")):
            if st.get(key) is not None:
                _sub(out, tag, st[key])
        for d in st["deliveries"]:
            self._delivery(out, d)
        return out

    def get_receipt(self, req, partner, data, remote):
        mid = _text(req.body_child, "MessageId")
        if not mid:
            raise Fault("sender", "message-id-missing", "MessageId is required")
        try:
            r = self.hub.receipt(mid, partner.id)
        except HubError as e:
            raise self._hub_fault(e, {"MessageId": mid}) from None
        out = etree.Element(H("GetReceiptResponse"), nsmap={"hub": HUB_NS})
        _sub(out, "MessageId", r["message_id"])
        _sub(out, "State", r["state"])
        _sub(out, "InboundDigest", r["inbound_digest"])
        for x in r["receipts"]:
            el = _sub(out, "Receipt")
            _sub(el, "DeliveryId", x["delivery"])
            _sub(el, "Route", x["route"])
            _sub(el, "Endpoint", x["endpoint"])
            _sub(el, "State", x["state"])
            if x["outbound_digest"]:
                _sub(el, "OutboundDigest", x["outbound_digest"])
            if x["endpoint_status"] is not None:
                _sub(el, "EndpointStatus", x["endpoint_status"])
            if x["endpoint_response"]:
                _sub(el, "EndpointResponse", base64.b64encode(x["endpoint_response"]).decode())
            if x["hub_receipt"]:
                _sub(el, "HubReceipt", base64.b64encode(x["hub_receipt"]).decode())
        return out


def _policy(limits):
    from translator.validate import ValidationPolicy
    return ValidationPolicy(limits=limits)
