"""Generators for the hostile cases that are too big, too signed or too time-dependent to commit as files.

Each recipe is `name(ctx, **args) -> bytes`; `ctx` gives the PKI folder, the samples folder and the body limit of
the hub under test. The manifest names the recipe and its arguments (tests/hostile/manifest.toml).
"""
from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
HUB = "urn:edihub:hub:1"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
GOOD_IDA = "vnaccs/ida_haiphong_valves_1line.xml"


@dataclass
class Ctx:
    pki: Path
    body_limit: int


def soap_op(op: str, inner: str, version: str = "1.1") -> bytes:
    ns = S11 if version == "1.1" else S12
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope xmlns:s="{ns}"><s:Body>'
            f'<h:{op} xmlns:h="{HUB}">{inner}</h:{op}></s:Body></s:Envelope>').encode()


def wrap_payload(doc: bytes, op: str = "SubmitRequest", version: str = "1.1") -> bytes:
    return soap_op(op, f"<h:Payload>{base64.b64encode(doc).decode()}</h:Payload>", version)


def _wrap(doc: bytes, wrap: str | None) -> bytes:
    if wrap == "submit":
        return wrap_payload(doc)
    if wrap == "validate":
        return wrap_payload(doc, "ValidateRequest")
    if wrap == "soap-status":   # the document's text ends up in a GetStatus MessageId (entities inline)
        return doc
    return doc


# -- entity expansion -----------------------------------------------------------------------------------------
def _entity_doc(dtd: str, body_text: str, into: str) -> bytes:
    if into == "soap":
        return (f'<?xml version="1.0"?>\n<!DOCTYPE s:Envelope [{dtd}]>\n<s:Envelope xmlns:s="{S11}"><s:Body>'
                f'<h:GetStatusRequest xmlns:h="{HUB}"><h:MessageId>{body_text}</h:MessageId></h:GetStatusRequest>'
                f'</s:Body></s:Envelope>').encode()
    return (f'<?xml version="1.0"?>\n<!DOCTYPE IDA [{dtd}]>\n<IDA xmlns="urn:edihub:vnaccs:1">'
            f'<ICN>{body_text}</ICN></IDA>').encode()


def billion_laughs(ctx: Ctx, into: str = "soap", levels: int = 10) -> bytes:
    ents = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, levels)]
    return _entity_doc("".join(ents), f"&l{levels - 1};", into)


def quadratic(ctx: Ctx, into: str = "soap") -> bytes:
    """One big entity referenced many times (no nesting, so depth-based entity limits do not see it)."""
    size = ctx.body_limit // 8
    refs = (ctx.body_limit // 2) // 3
    return _entity_doc(f'<!ENTITY a "{"a" * size}">', "&a;" * refs, into)


# -- size and shape -------------------------------------------------------------------------------------------
def oversize(ctx: Ctx, into: str = "soap", factor: float = 3.0) -> bytes:
    filler = "x" * int(ctx.body_limit * factor)
    if into == "soap":
        return soap_op("ValidateRequest", f"<h:Format>{filler}</h:Format>")
    return f'<IDA xmlns="urn:edihub:vnaccs:1"><ICN>{filler}</ICN></IDA>'.encode()


def deep(ctx: Ctx, levels: int = 10000, into: str = "soap") -> bytes:
    inner = "<d>" * levels + "x" + "</d>" * levels
    if into == "soap":
        return soap_op("ValidateRequest", f"<h:Document>{inner}</h:Document>")
    return f'<IDA xmlns="urn:edihub:vnaccs:1">{inner}</IDA>'.encode()


def huge_attribute(ctx: Ctx) -> bytes:
    """A valid Validate request whose Envelope carries one attribute of most of the body limit."""
    doc = wrap_payload((SAMPLES / GOOD_IDA).read_bytes(), "ValidateRequest")
    big = "A" * int(ctx.body_limit * 0.8)
    return doc.replace(b"<s:Envelope ", f'<s:Envelope junk="{big}" '.encode(), 1)


def huge_text(ctx: Ctx, into: str = "api") -> bytes:
    """The good IDA with a text node of most of the body limit in a field that allows 12 digits."""
    doc = (SAMPLES / GOOD_IDA).read_bytes()
    doc = doc.replace(b"<ICN>100574219060</ICN>", b"<ICN>" + b"9" * int(ctx.body_limit * 0.6) + b"</ICN>")
    return doc if into == "api" else wrap_payload(doc)


def many_elements(ctx: Ctx) -> bytes:
    """Wide instead of deep: tens of thousands of empty siblings in a goods list."""
    n = ctx.body_limit // 12
    doc = (SAMPLES / GOOD_IDA).read_bytes()
    return doc.replace(b"</IDA>", b"<X/>" * n + b"</IDA>")


# -- samples of every family, changed --------------------------------------------------------------------------
def sample_mutation(ctx: Ctx, sample: str, mutation: str, wrap: str | None = None) -> bytes:
    doc = (SAMPLES / sample).read_bytes()
    body = doc.split(b"?>", 1)[1] if doc.startswith(b"<?xml") else doc
    if mutation == "none":
        out = doc
    elif mutation == "doctype-xxe":
        root = etree.fromstring(doc).tag.split("}")[-1]
        out = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE ' + root.encode()
               + b' [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + body)
    elif mutation == "namespace":
        root = etree.fromstring(doc)
        ns = root.tag[1:].split("}")[0]
        out = doc.replace(ns.encode(), b"urn:example:wrong-namespace")
    elif mutation == "utf16-bom":
        out = ('<?xml version="1.0" encoding="UTF-16"?>' + body.decode()).encode("utf-16")
    elif mutation == "utf16-no-bom-no-decl":
        out = body.lstrip().decode().encode("utf-16-le")
    elif mutation == "latin1-declared-utf8":
        out = doc.decode().encode("latin-1", errors="replace") + "<!-- ÿé -->".encode("latin-1")
    elif mutation == "sql-in-code":
        out = doc.replace(b"<CH>03CC</CH>", b"<CH>'; DROP TABLE messages;--</CH>")
        assert out != doc
    elif mutation == "traversal-in-text":
        out = doc.replace(b"<ICN>100574219060</ICN>", b"<ICN>../../../../etc/passwd</ICN>")
        assert out != doc
    else:
        raise ValueError(f"unknown mutation {mutation}")
    return _wrap(out, wrap)


# -- WS-Security ----------------------------------------------------------------------------------------------
def _signed_env(ctx: Ctx, who: str, doc: bytes, now: dt.datetime, op="SubmitRequest", ttl=300) -> etree._Element:
    from signing import LocalSigner
    from signing.wssec import sign_envelope
    env = etree.fromstring(wrap_payload(doc, op))
    signer = LocalSigner.from_files(ctx.pki / f"{who}.key", ctx.pki / f"{who}.pem")
    return etree.fromstring(sign_envelope(env, signer, now, ttl=ttl))


def signed(ctx: Ctx, who: str = "partner-a", variant: str = "plain", sample: str = GOOD_IDA,
           op: str = "SubmitRequest") -> bytes:
    now = dt.datetime.now(dt.timezone.utc)
    doc = (SAMPLES / sample).read_bytes()
    if variant == "timestamp-expired":
        env = _signed_env(ctx, who, doc, now - dt.timedelta(hours=2), op)
    elif variant == "timestamp-future":
        env = _signed_env(ctx, who, doc, now + dt.timedelta(hours=2), op)
    else:
        env = _signed_env(ctx, who, doc, now, op)
    body = env.find(f"{{{S11}}}Body")
    header = env.find(f"{{{S11}}}Header")
    payload = body.find(f".//{{{HUB}}}Payload")
    other = base64.b64encode((SAMPLES / "vnaccs/ida_catlai_electronics_22lines.xml").read_bytes()).decode()
    if variant == "tampered-digest":
        payload.text = other
    elif variant == "tampered-signature-value":
        sv = env.find(".//{http://www.w3.org/2000/09/xmldsig#}SignatureValue")
        raw = bytearray(base64.b64decode(sv.text))
        raw[10] ^= 0xFF
        sv.text = base64.b64encode(bytes(raw)).decode()
    elif variant == "wrong-certificate":
        # the token is partner-a's certificate, the signature was made with `who`'s key
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        cert = x509.load_pem_x509_certificate((ctx.pki / "partner-a.pem").read_bytes())
        env.find(f".//{{{WSSE}}}BinarySecurityToken").text = base64.b64encode(
            cert.public_bytes(serialization.Encoding.DER)).decode()
    elif variant == "wrap-body-into-header":
        # the signed Body moves into a header block; a new, unsigned Body carries another document
        holder = etree.SubElement(header, "{urn:example:wrap}Wrapper")
        env.remove(body)
        holder.append(body)
        new = etree.SubElement(env, f"{{{S11}}}Body")
        new.append(etree.fromstring(soap_op("SubmitRequest", f"<h:Payload>{other}</h:Payload>"))[0][0])
    elif variant == "wrap-same-id":
        # as above, and the new Body copies the signed Body's wsu:Id
        holder = etree.SubElement(header, "{urn:example:wrap}Wrapper")
        env.remove(body)
        holder.append(body)
        new = etree.SubElement(env, f"{{{S11}}}Body", {f"{{{WSU}}}Id": body.get(f"{{{WSU}}}Id")})
        new.append(etree.fromstring(soap_op("SubmitRequest", f"<h:Payload>{other}</h:Payload>"))[0][0])
    elif variant == "wrap-second-body":
        env.append(etree.fromstring(soap_op("SubmitRequest", f"<h:Payload>{other}</h:Payload>"))[0])
    elif variant == "wrap-second-operation":
        body.append(etree.fromstring(soap_op("SubmitRequest", f"<h:Payload>{other}</h:Payload>"))[0][0])
    elif variant == "wrap-id-in-security":
        # a copy of the signed Body (same Id) inside the Security header, the real Body replaced
        sec = header.find(f"{{{WSSE}}}Security")
        import copy
        sec.insert(0, copy.deepcopy(body))
        payload.text = other
    elif variant not in ("plain", "timestamp-expired", "timestamp-future"):
        raise ValueError(f"unknown variant {variant}")
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


RECIPES = {f.__name__: f for f in (billion_laughs, quadratic, oversize, deep, huge_attribute, huge_text,
                                   many_elements, sample_mutation, signed)}


def build(ctx: Ctx, name: str, args: dict) -> bytes:
    return RECIPES[name](ctx, **args)
