"""Simulated national single-window endpoints: one Starlette app, one path per authority.

    POST /vnaccs | /sofia | /prc | /iran          SOAP 1.1, SOAP 1.2 or plain XML in; the same kind out
    GET  /<authority>?wsdl                       a small document/literal WSDL (operation Submit, any content)
    GET  /<authority>/_control/stats             delivery counters (JSON)
    POST /<authority>/_control                   {"mode", "delay", "fail_next", "fault_code", "channel", "reset"}
    GET  /_control/stats, POST /_control         the same for all four at once

Every delivery is counted per Idempotency-Key (else X-Edihub-Message-Id, else the body's digest); a repeated
key gets the answer it got the first time. See docs/endpoints.md.
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from translator.parsing import ParseError, parse

from .authorities import ANSWERS, TITLES, AnswerContext, AnswerRefused

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
MODES = ("ok", "fail", "slow", "down", "fault", "reject")
MAX_BODY = 10 * 1024 * 1024

# verifier(document bytes, or the document's lxml element/tree) -> (True, signer) | (False, reason); None: no
# verification configured
Verifier = Callable[[bytes], tuple[bool, str]]


@dataclass
class AuthorityState:
    name: str
    mode: str = "ok"
    delay: float = 0.0
    fail_next: int | None = None
    fault_code: str = "Server"
    options: dict = field(default_factory=dict)
    store: dict = field(default_factory=dict)
    attempts: int = 0
    failed: int = 0
    by_key: dict[str, int] = field(default_factory=dict)
    answers: dict[str, bytes] = field(default_factory=dict)
    seq: int = 0
    sig_verified: int = 0
    sig_failed: int = 0
    sig_unchecked: int = 0
    last_signer: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.mode, self.delay, self.fail_next, self.fault_code = "ok", 0.0, None, "Server"
        self.options, self.store = {}, {}
        self.attempts = self.failed = self.seq = 0
        self.sig_verified = self.sig_failed = self.sig_unchecked = 0
        self.by_key, self.answers, self.last_signer = {}, {}, None

    def stats(self) -> dict:
        deliveries = sum(self.by_key.values())
        return {
            "authority": self.name, "attempts": self.attempts, "deliveries": deliveries,
            "unique": len(self.by_key), "duplicates": deliveries - len(self.by_key),
            "by_key": dict(self.by_key), "failed": self.failed,
            "signature": {"verified": self.sig_verified, "failed": self.sig_failed,
                          "unchecked": self.sig_unchecked, "last_signer": self.last_signer},
            "mode": self.mode, "fail_next": self.fail_next, "delay": self.delay,
        }

    def configure(self, data: dict) -> None:
        if data.get("reset"):
            self.reset()
        if "mode" in data:
            if data["mode"] not in MODES:
                raise ValueError(f"mode must be one of {', '.join(MODES)}, not {data['mode']!r}")
            self.mode = data["mode"]
        if "delay" in data:
            d = float(data["delay"])
            if not 0 <= d <= 600:
                raise ValueError("delay must be between 0 and 600 seconds")
            self.delay = d
        if "fail_next" in data:
            n = data["fail_next"]
            if n is not None and (not isinstance(n, int) or n < 0):
                raise ValueError("fail_next must be a non-negative integer or null")
            self.fail_next = n
        if "fault_code" in data:
            if data["fault_code"] not in ("Client", "Server"):
                raise ValueError("fault_code must be Client or Server")
            self.fault_code = data["fault_code"]
        if "prc_answer" in data and data["prc_answer"] not in ("DEC_RESULT", "DecImportResponse"):
            raise ValueError("prc_answer must be DEC_RESULT or DecImportResponse")
        for k in ("channel", "prc_channel", "iran_status", "prc_answer"):
            if k in data:
                self.options[k] = str(data[k])

    def next_mode(self) -> str:
        """The mode for this attempt; counts down fail_next and returns to ok after it."""
        if self.fail_next is None:
            return self.mode
        if self.fail_next > 0:
            self.fail_next -= 1
            return self.mode
        self.mode, self.fail_next = "ok", None
        return "ok"


# ---------------------------------------------------------------------------------------------- SOAP helpers
def _version_of(root) -> str | None:
    if isinstance(root.tag, str) and root.tag.rpartition("}")[2] == "Envelope":
        ns = root.tag[1:].partition("}")[0]
        return {SOAP11_NS: "1.1", SOAP12_NS: "1.2"}.get(ns)
    return None


def _body_child(root):
    ns = root.tag[1:].partition("}")[0]
    body = root.find(f"{{{ns}}}Body")
    if body is None:
        return None
    kids = [c for c in body if isinstance(c.tag, str)]
    return kids[0] if kids else None


def envelope(version: str, content) -> bytes:
    ns = SOAP12_NS if version == "1.2" else SOAP11_NS
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"soap": ns})
    body = etree.SubElement(env, f"{{{ns}}}Body")
    body.append(content)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def fault(version: str | None, code: str, reason: str) -> Response:
    """SOAP fault: code 'Client'/'Server' (mapped to Sender/Receiver for 1.2). Plain requests get an XML error."""
    if version is None:
        el = etree.Element("Error", code=code)
        el.text = reason
        return Response(etree.tostring(el, xml_declaration=True, encoding="utf-8"),
                        status_code=400 if code == "Client" else 500, media_type="application/xml")
    if version == "1.2":
        f = etree.Element(f"{{{SOAP12_NS}}}Fault")
        c = etree.SubElement(f, f"{{{SOAP12_NS}}}Code")
        v = etree.SubElement(c, f"{{{SOAP12_NS}}}Value")
        v.text = "soap:" + ("Sender" if code == "Client" else "Receiver")
        r = etree.SubElement(f, f"{{{SOAP12_NS}}}Reason")
        t = etree.SubElement(r, f"{{{SOAP12_NS}}}Text")
        t.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        t.text = reason
        return Response(envelope("1.2", f), status_code=400 if code == "Client" else 500,
                        media_type="application/soap+xml; charset=utf-8")
    f = etree.Element(f"{{{SOAP11_NS}}}Fault")
    etree.SubElement(f, "faultcode").text = "soap:" + code
    etree.SubElement(f, "faultstring").text = reason
    return Response(envelope("1.1", f), status_code=500, media_type="text/xml; charset=utf-8")


_DECL = b"<?xml version='1.0' encoding='utf-8'?>\n"
_ENVELOPE_OPEN = {v: _DECL + b'<soap:Envelope xmlns:soap="' + ns.encode() + b'"><soap:Body>'
                  for v, ns in (("1.1", SOAP11_NS), ("1.2", SOAP12_NS))}
_ENVELOPE_CLOSE = b"</soap:Body></soap:Envelope>"


def _answer_bytes(version: str | None, element_bytes: bytes) -> bytes:
    """The answer from its stored serialisation (a standalone element: it declares its own namespaces), put
    into the same envelope envelope() builds, as bytes: the same document without a parse and a serialisation
    per request."""
    if version is None:
        return _DECL + element_bytes
    return _ENVELOPE_OPEN[version] + element_bytes + _ENVELOPE_CLOSE


def _media(version: str | None) -> str:
    return {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}.get(
        version, "application/xml; charset=utf-8")


def wsdl(authority: str, address: str) -> bytes:
    """A minimal document/literal WSDL 1.1 (SOAP 1.1 binding): operation Submit whose Document element holds the
    national document (xs:any, lax)."""
    tns = f"urn:edihub:simulator:{authority}"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="{tns}" targetNamespace="{tns}" name="{authority}">
  <wsdl:types>
    <xs:schema targetNamespace="{tns}" elementFormDefault="qualified">
      <xs:element name="Submit"><xs:complexType><xs:sequence>
        <xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="SubmitResponse"><xs:complexType><xs:sequence>
        <xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType></xs:element>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="SubmitIn"><wsdl:part name="parameters" element="tns:Submit"/></wsdl:message>
  <wsdl:message name="SubmitOut"><wsdl:part name="parameters" element="tns:SubmitResponse"/></wsdl:message>
  <wsdl:portType name="SubmitPort">
    <wsdl:operation name="Submit"><wsdl:input message="tns:SubmitIn"/><wsdl:output message="tns:SubmitOut"/></wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="SubmitBinding" type="tns:SubmitPort">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Submit">
      <soap:operation soapAction="{tns}#Submit"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="{authority}Service">
    <wsdl:port name="SubmitPort" binding="tns:SubmitBinding"><soap:address location="{address}"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>
""".encode()


# ---------------------------------------------------------------------------------------------- the app
class Simulator:
    def __init__(self, verifier: Verifier | None = None, clock: Callable[[], datetime] | None = None):
        self.states = {name: AuthorityState(name) for name in ANSWERS}
        self.verifier = verifier
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    async def _read_body(self, request: Request) -> bytes | None:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def submit(self, request: Request) -> Response:
        name = request.path_params["authority"]
        st = self.states.get(name)
        if st is None:
            return JSONResponse({"error": f"no authority {name!r}; known: {', '.join(self.states)}"}, 404)
        with st.lock:
            st.attempts += 1
            mode = st.next_mode()
        if mode == "slow":
            await asyncio.sleep(st.delay)
        raw = await self._read_body(request)
        ctype = request.headers.get("content-type", "")
        guess = "1.2" if "soap+xml" in ctype else ("1.1" if "text/xml" in ctype else None)
        if raw is None:
            return fault(guess, "Client", f"body larger than {MAX_BODY} bytes")
        if mode == "down":
            st.failed += 1
            return Response(b"service unavailable (simulated down)", 503, headers={"Retry-After": "1"},
                            media_type="text/plain")
        if mode == "fail":
            st.failed += 1
            return Response(b"internal error (simulated)", 500, media_type="text/plain")
        try:
            root = parse(raw).getroot()
        except ParseError as e:
            st.failed += 1
            return fault(guess, "Client", f"{e.code}: {e.message}")
        version = _version_of(root)
        if mode == "fault":
            st.failed += 1
            return fault(version, st.fault_code, f"simulated {st.fault_code} fault from {name}")
        doc = _body_child(root) if version else root
        if doc is None:
            st.failed += 1
            return fault(version, "Client", "SOAP Body is empty")
        doc = _unwrap_operation(doc)
        if doc is None:
            st.failed += 1
            return fault(version, "Client", "the operation element holds no document")
        if self.verifier is not None:
            ws = getattr(self.verifier, "envelope", None)
            if version and ws is not None and _has_wsse(root):
                ok, info = ws(root)
            else:
                # the document detached from the envelope (its own root, no soap: declarations in scope), checked
                # as it is: no serialising and parsing it once more
                ok, info = self.verifier(copy.deepcopy(doc))
            if not ok:
                with st.lock:
                    st.sig_failed += 1
                    st.failed += 1
                return fault(version, "Client", f"signature not accepted: {info}")
            with st.lock:
                st.sig_verified += 1
                st.last_signer = info
        else:
            with st.lock:
                st.sig_unchecked += 1
        key = (request.headers.get("idempotency-key") or request.headers.get("x-edihub-message-id")
               or "sha256:" + hashlib.sha256(raw).hexdigest())
        message_id = request.headers.get("x-edihub-message-id") or key
        with st.lock:
            cached = st.answers.get(key)
            if cached is None:
                ctx = AnswerContext(seq=st.seq + 1, message_id=message_id, now=self.clock(),
                                    reject=(mode == "reject"), options=dict(st.options), store=st.store)
                try:
                    answer_el = ANSWERS[name](doc, ctx)
                except AnswerRefused as e:
                    st.failed += 1
                    return fault(version, "Client", str(e))
                st.seq += 1
                cached = st.answers[key] = etree.tostring(answer_el, encoding="utf-8")
            st.by_key[key] = st.by_key.get(key, 0) + 1
        return Response(_answer_bytes(version, cached), 200, media_type=_media(version),
                        headers={"X-Simulator": name})

    async def get_wsdl(self, request: Request) -> Response:
        name = request.path_params["authority"]
        if name not in self.states:
            return JSONResponse({"error": f"no authority {name!r}"}, 404)
        if "wsdl" not in request.query_params:
            return JSONResponse({"authority": name, "title": TITLES[name],
                                 "post": "SOAP 1.1, SOAP 1.2 or plain XML", "wsdl": str(request.url) + "?wsdl"})
        address = str(request.url.replace(query=""))
        return Response(wsdl(name, address), media_type="text/xml; charset=utf-8")

    async def stats(self, request: Request) -> Response:
        name = request.path_params.get("authority")
        if name is None:
            return JSONResponse({n: s.stats() for n, s in self.states.items()})
        st = self.states.get(name)
        if st is None:
            return JSONResponse({"error": f"no authority {name!r}"}, 404)
        return JSONResponse(st.stats())

    async def control(self, request: Request) -> Response:
        name = request.path_params.get("authority")
        targets = list(self.states.values()) if name is None else [self.states.get(name)]
        if targets == [None]:
            return JSONResponse({"error": f"no authority {name!r}"}, 404)
        try:
            data = json.loads(await request.body() or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            for st in targets:
                with st.lock:
                    st.configure(data)
        except (ValueError, TypeError) as e:
            return JSONResponse({"error": str(e)}, 400)
        if name is None:
            return JSONResponse({n: s.stats() for n, s in self.states.items()})
        return JSONResponse(targets[0].stats())

    async def index(self, request: Request) -> Response:
        return JSONResponse({"authorities": {n: TITLES[n] for n in self.states}})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/", self.index, methods=["GET"]),
            Route("/_control/stats", self.stats, methods=["GET"]),
            Route("/_control", self.control, methods=["POST"]),
            Route("/{authority}/_control/stats", self.stats, methods=["GET"]),
            Route("/{authority}/_control", self.control, methods=["POST"]),
            Route("/{authority}", self.submit, methods=["POST"]),
            Route("/{authority}", self.get_wsdl, methods=["GET"]),
        ])


WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


def _has_wsse(envelope_root) -> bool:
    ns = envelope_root.tag[1:].partition("}")[0]
    header = envelope_root.find(f"{{{ns}}}Header")
    return header is not None and header.find(f"{{{WSSE_NS}}}Security") is not None


def _unwrap_operation(doc):
    """A WSDL-driven (zeep) request puts the document inside the operation element (…:Submit)."""
    if isinstance(doc.tag, str) and doc.tag.rpartition("}")[2] == "Submit" \
            and doc.tag.startswith("{urn:edihub:simulator:"):
        kids = [c for c in doc if isinstance(c.tag, str)]
        return kids[0] if kids else None
    return doc


def make_app(verifier: Verifier | None = None, clock=None) -> tuple[Starlette, Simulator]:
    sim = Simulator(verifier, clock)
    return sim.app(), sim
