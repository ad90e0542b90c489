"""Deliver one signed document to one national endpoint: SOAP 1.1/1.2, plain HTTP, or a directory.

    cfgs = load_endpoints(config["endpoints"])                       # at start-up; errors name endpoint and key
    resp = await deliver(cfg, payload, message_id=..., idempotency_key=..., client=shared_async_client)
    resp = deliver_sync(cfg, payload, message_id=..., client=shared_client)

`deliver` never retries and never raises for transport problems: the EndpointResponse says whether it worked
(`ok`), whether trying again can help (`retryable`) and what the authority answered (`outcome`,
routing.responses). The delivery worker owns retries, backoff and state. See docs/endpoints.md.
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from translator.parsing import ParseError, parse

from .http11 import Http11Pool, ResponseTooLarge
from .responses import (SOAP11_NS, SOAP12_NS, EndpointOutcome, ResponseError, correlates, find_fault, parse_document,
                        request_ids)

KINDS = ("soap", "http", "directory")
TRANSPORTS = ("httpx", "zeep")
MESSAGE_ID_HEADER = "X-Edihub-Message-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"

# SOAP fault codes a retry cannot cure (the sender's fault); Server/Receiver faults are retryable.
NON_RETRYABLE_FAULTS = frozenset({"Client", "Sender", "VersionMismatch", "MustUnderstand", "DataEncodingUnknown"})
RETRYABLE_STATUS = frozenset({408, 425, 429})
MAX_RESPONSE_BYTES = 10 * 1024 * 1024     # a larger answer is cut off and reported, never read whole

_KEYS = {"kind", "url", "path", "soap_version", "soap_action", "prebuilt_envelope", "transport", "wsdl",
         "operation", "family", "timeout", "headers", "max_attempts", "backoff", "max_backoff", "concurrency",
         "name", "description"}

# RFC 9110 token for names; values: visible ASCII/latin-1 text, spaces and tabs, never CR/LF (header injection)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


class EndpointConfigError(ValueError):
    """An [endpoints.<id>] table is wrong; raised at start-up."""

    def __init__(self, endpoint_id: str, key: str, message: str):
        super().__init__(f"[endpoints.{endpoint_id}] {key}: {message}")
        self.endpoint_id = endpoint_id
        self.key = key
        self.message = message


@dataclass(frozen=True)
class EndpointConfig:
    id: str
    kind: str
    url: str | None = None
    path: str | None = None
    soap_version: str = "1.1"
    soap_action: str = ""
    prebuilt_envelope: bool = False
    transport: str = "httpx"
    wsdl: str | None = None
    operation: str | None = None
    family: str | None = None
    timeout: float = 10.0
    headers: tuple[tuple[str, str], ...] = ()
    max_attempts: int = 8
    backoff: float = 1.0
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_dict(cls, endpoint_id: str, table: dict[str, Any], *, environ=None) -> "EndpointConfig":
        env = os.environ if environ is None else environ

        def bad(key, msg):
            return EndpointConfigError(endpoint_id, key, msg)

        if not isinstance(table, dict):
            raise bad("*", "must be a table")
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise bad(unknown[0], f"unknown key (known: {', '.join(sorted(_KEYS))})")
        kind = table.get("kind")
        if kind not in KINDS:
            raise bad("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
        url = table.get("url")
        if kind in ("soap", "http"):
            transport = table.get("transport", "httpx")
            if url is None and not (kind == "soap" and transport == "zeep" and table.get("wsdl")):
                raise bad("url", f"required for kind {kind!r}")
            if url is not None and (not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url)):
                raise bad("url", f"must be an http:// or https:// URL, not {url!r}")
        path = table.get("path")
        if kind == "directory":
            if not isinstance(path, str) or not path.strip():
                raise bad("path", "required for kind 'directory' (a folder)")
        version = str(table.get("soap_version", "1.1"))
        if version not in ("1.1", "1.2"):
            raise bad("soap_version", f"must be 1.1 or 1.2, not {table.get('soap_version')!r}")
        transport = table.get("transport", "httpx")
        if transport not in TRANSPORTS:
            raise bad("transport", f"must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
        if transport == "zeep":
            if kind != "soap":
                raise bad("transport", "zeep is only for kind 'soap'")
            if not table.get("wsdl") or not table.get("operation"):
                raise bad("wsdl" if not table.get("wsdl") else "operation", "required with transport = 'zeep'")
        family = table.get("family")
        if family is not None and family not in ("vnaccs", "siveca", "prc", "iran"):
            raise bad("family", f"must be vnaccs, siveca, prc or iran, not {family!r}")
        try:
            timeout = float(table.get("timeout", 10.0))
        except (TypeError, ValueError):
            raise bad("timeout", f"must be a number of seconds, not {table.get('timeout')!r}") from None
        if not timeout > 0:
            raise bad("timeout", "must be > 0")
        headers_in = table.get("headers", {}) or {}
        if not isinstance(headers_in, dict):
            raise bad("headers", "must be a table of strings")
        headers = []
        for k, v in headers_in.items():
            if not isinstance(v, str):
                raise bad("headers", f"{k}: must be a string")
            if v.startswith("env:"):
                name = v[4:]
                if name not in env:
                    raise bad("headers", f"{k}: environment variable {name} is not set")
                v = env[name]
            if not _HEADER_NAME.fullmatch(str(k)):
                raise bad("headers", f"{k!r}: not a valid HTTP header name")
            if not _HEADER_VALUE.fullmatch(v):
                raise bad("headers", f"{k}: the value must be printable text on one line (no CR, LF or control "
                                     f"characters)")
            headers.append((str(k), v))
        try:
            max_attempts = int(table.get("max_attempts", 8))
            backoff = float(table.get("backoff", 1.0))
        except (TypeError, ValueError):
            raise bad("max_attempts", "max_attempts must be an integer and backoff a number") from None
        extra = {k: table[k] for k in ("max_backoff", "concurrency", "name", "description") if k in table}
        return cls(id=endpoint_id, kind=kind, url=url, path=path, soap_version=version,
                   soap_action=str(table.get("soap_action", "")), prebuilt_envelope=bool(table.get("prebuilt_envelope", False)),
                   transport=transport, wsdl=table.get("wsdl"), operation=table.get("operation"), family=family,
                   timeout=timeout, headers=tuple(headers), max_attempts=max_attempts, backoff=backoff, extra=extra)


def load_endpoints(tables: dict[str, dict] | None, *, environ=None) -> dict[str, EndpointConfig]:
    """All [endpoints.<id>] tables -> {id: EndpointConfig}; the first error stops start-up."""
    return {eid: EndpointConfig.from_dict(eid, t, environ=environ) for eid, t in (tables or {}).items()}


@dataclass(frozen=True)
class EndpointResponse:
    endpoint_id: str
    ok: bool
    retryable: bool
    status: int | None = None
    body: bytes = b""
    outcome: EndpointOutcome | None = None
    fault_code: str | None = None
    elapsed: float = 0.0
    error: str | None = None
    location: str | None = None          # directory kind: the file written
    correlated: bool = True              # False when the answer names another message as the one it answers

    def to_dict(self) -> dict:
        return {
            "endpoint_id": self.endpoint_id, "ok": self.ok, "retryable": self.retryable, "status": self.status,
            "body": self.body.decode("utf-8", "replace"), "outcome": self.outcome.to_dict() if self.outcome else None,
            "fault_code": self.fault_code, "elapsed": round(self.elapsed, 6), "error": self.error,
            "location": self.location, "correlated": self.correlated,
        }


# ---------------------------------------------------------------------------------------------- building
_XML_DECL = re.compile(rb"^\s*<\?xml\s[^>]*\?>\s*")
_ENCODING = re.compile(rb"encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def document_bytes(payload: bytes) -> bytes:
    """The payload without BOM and XML declaration, as UTF-8, ready to sit inside a SOAP Body. The document's
    bytes are kept as they are (a signature over them stays valid) unless it is not UTF-8: then it is parsed
    with translator.parse and re-serialised in UTF-8."""
    data = payload[3:] if payload.startswith(b"\xef\xbb\xbf") else payload
    m = _XML_DECL.match(data)
    if m:
        enc = _ENCODING.search(m.group(0))
        if enc and enc.group(1).decode("ascii").lower().replace("_", "-") not in ("utf-8", "utf8", "us-ascii", "ascii"):
            root = parse(payload).getroot()
            return etree.tostring(root, encoding="utf-8", xml_declaration=False)
        data = data[m.end():]
    elif payload[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return etree.tostring(parse(payload).getroot(), encoding="utf-8", xml_declaration=False)
    return _strip_prolog(data).rstrip()


_PROLOG_ITEM = re.compile(rb"\s*(?:<!--.*?-->|<\?.*?\?>)", re.S)


def _strip_prolog(data: bytes) -> bytes:
    """Drop comments and processing instructions before the document element (they would otherwise land in the
    SOAP Body next to the document); a DOCTYPE is left for the parser of the receiving side to refuse."""
    pos = 0
    while True:
        m = _PROLOG_ITEM.match(data, pos)
        if not m:
            break
        pos = m.end()
    return data[pos:].lstrip()


def soap_envelope(payload: bytes, version: str = "1.1") -> bytes:
    """Wrap a document in a SOAP envelope (the document is the only Body child)."""
    ns = SOAP12_NS if version == "1.2" else SOAP11_NS
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="' + ns.encode() +
            b'"><soap:Body>' + document_bytes(payload) + b"</soap:Body></soap:Envelope>")


def soap_content_type(version: str, action: str = "") -> str:
    if version == "1.2":
        return "application/soap+xml; charset=utf-8" + (f'; action="{action}"' if action else "")
    return "text/xml; charset=utf-8"


def _headers(cfg: EndpointConfig, message_id: str, key: str, content_type: str, action: str) -> dict[str, str]:
    h = dict(cfg.headers)
    h["Content-Type"] = content_type
    h[MESSAGE_ID_HEADER] = message_id
    h[IDEMPOTENCY_HEADER] = key
    if cfg.kind == "soap" and cfg.soap_version == "1.1":
        h["SOAPAction"] = f'"{action}"'
    return h


# zeep: one client per (endpoint, wsdl), made on first use (or at start-up via prepare()).
_ZEEP: dict[tuple[str, str], Any] = {}


def _zeep_client(cfg: EndpointConfig):
    key = (cfg.id, cfg.wsdl or "")
    c = _ZEEP.get(key)
    if c is None:
        import zeep
        from zeep.transports import Transport
        c = zeep.Client(cfg.wsdl, settings=zeep.Settings(forbid_dtd=True, strict=True),
                        transport=Transport(timeout=cfg.timeout, operation_timeout=cfg.timeout))
        _ZEEP[key] = c
    return c


def prepare(cfg: EndpointConfig) -> None:
    """Load what an endpoint needs once (the WSDL for transport = 'zeep'); call at start-up."""
    if cfg.transport == "zeep":
        _zeep_client(cfg)


def zeep_request(cfg: EndpointConfig, payload: bytes) -> tuple[str, bytes, str, str]:
    """WSDL-driven envelope: zeep builds the operation's envelope (client.create_message), the document element
    is appended as the operation element's content. Returns (address, envelope bytes, SOAP version, action)."""
    client = _zeep_client(cfg)
    service = client.service
    binding = service._binding
    op = binding.get(cfg.operation)
    envelope = client.create_message(service, cfg.operation)
    env_ns = envelope.nsmap.get(envelope.prefix) or etree.QName(envelope).namespace
    body = envelope.find(f"{{{env_ns}}}Body")
    doc = parse(payload).getroot()
    if len(body):
        body[0].append(doc)
    else:
        body.append(doc)
    version = "1.2" if env_ns == SOAP12_NS else "1.1"
    address = cfg.url or service._binding_options["address"]
    action = op.soapaction or cfg.soap_action or ""
    return address, etree.tostring(envelope, xml_declaration=True, encoding="utf-8"), version, action


def _request(cfg: EndpointConfig, payload: bytes, message_id: str, key: str) -> tuple[str, bytes, dict[str, str]]:
    if cfg.kind == "http":
        return cfg.url, payload, _headers(cfg, message_id, key, "application/xml; charset=utf-8", "")
    if cfg.transport == "zeep":
        url, body, version, action = zeep_request(cfg, payload)
        cfg_v = cfg if version == cfg.soap_version else _with_version(cfg, version)
        return url, body, _headers(cfg_v, message_id, key, soap_content_type(version, action), action)
    body = payload if cfg.prebuilt_envelope else soap_envelope(payload, cfg.soap_version)
    ct = soap_content_type(cfg.soap_version, cfg.soap_action)
    return cfg.url, body, _headers(cfg, message_id, key, ct, cfg.soap_action)


def _with_version(cfg: EndpointConfig, version: str) -> EndpointConfig:
    from dataclasses import replace
    return replace(cfg, soap_version=version)


# ---------------------------------------------------------------------------------------------- classifying
def classify(cfg: EndpointConfig, status: int, body: bytes, elapsed: float) -> EndpointResponse:
    """Turn an HTTP answer into an EndpointResponse (pure; used by both the async and the sync client)."""
    fault = None
    outcome = None
    parse_error = None
    root = None
    if body.strip():
        try:
            root = parse(body).getroot()
        except ParseError as e:
            parse_error = f"answer is not XML: {e.message}"
    if root is not None:
        fault = find_fault(root)
        if fault is None:
            try:
                outcome = parse_document(root, cfg.family)
            except ResponseError as e:
                parse_error = f"{e.code}: {e.message}"
    if fault is not None:
        code, reason = fault
        return EndpointResponse(cfg.id, False, code not in NON_RETRYABLE_FAULTS, status, body, None, code, elapsed,
                                f"SOAP fault {code}: {reason}")
    if 200 <= status < 300:
        return EndpointResponse(cfg.id, True, False, status, body, outcome, None, elapsed,
                                None if outcome is not None or not body.strip() else parse_error)
    retryable = status >= 500 or status in RETRYABLE_STATUS
    snippet = body[:200].decode("utf-8", "replace").strip()
    return EndpointResponse(cfg.id, False, retryable, status, body, outcome, None, elapsed,
                            f"HTTP {status}" + (f": {snippet}" if snippet else ""))


def _transport_error(cfg: EndpointConfig, exc: Exception, elapsed: float, timeout: float) -> EndpointResponse:
    if isinstance(exc, httpx.TimeoutException):
        err = f"timeout after {timeout:g}s ({type(exc).__name__})"
    elif isinstance(exc, httpx.ConnectError):
        err = f"connection refused or unreachable: {exc or type(exc).__name__}"
    elif isinstance(exc, httpx.TransportError):
        err = f"transport error: {type(exc).__name__}: {exc}"
    else:
        err = f"{type(exc).__name__}: {exc}"
    # network trouble is retryable; a local programming/config error is not
    return EndpointResponse(cfg.id, False, isinstance(exc, (httpx.TransportError, OSError)), None, b"", None, None,
                            elapsed, err)


def _too_large(cfg: EndpointConfig, status: int, elapsed: float) -> EndpointResponse:
    # the endpoint may have taken the message; a retry carries the same idempotency key, so it is safe
    return EndpointResponse(cfg.id, False, True, status, b"", None, None, elapsed,
                            f"answer larger than {MAX_RESPONSE_BYTES} bytes (HTTP {status}); not read")


def _correlate(resp: EndpointResponse, payload: bytes, message_id: str, key: str | None) -> EndpointResponse:
    """Mark an answer that names another message as the one it answers (correlated=False, error set)."""
    out = resp.outcome
    if out is None or not out.correlation_id or out.correlation_id in (message_id, key):
        return resp
    try:
        ids = request_ids(parse(payload).getroot())
    except ParseError:
        ids = ()
    if correlates(out, message_id, *ids, *((key,) if key else ())):
        return resp
    from dataclasses import replace
    return replace(resp, correlated=False,
                   error=f"the answer correlates to {out.correlation_id!r}, not to message {message_id!r} "
                         f"(ids in the document: {', '.join(ids) or 'none'})")


# ---------------------------------------------------------------------------------------------- directory
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_file_name(message_id: str) -> str:
    """A file name derived from a message id that cannot leave its folder: [A-Za-z0-9._-] only, no leading dot,
    at most 120 characters, '.xml' appended."""
    name = _UNSAFE.sub("_", message_id or "").lstrip(".")[:120]
    if not name.strip("_"):
        name = "message" + (("_" + name) if name else "")
    return name + ".xml"


def write_atomically(folder: str | os.PathLike, name: str, data: bytes) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.resolve().parent != folder.resolve():
        raise ValueError(f"file name {name!r} would leave {folder}")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:   # make the rename durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return target


def _deliver_directory(cfg: EndpointConfig, payload: bytes, message_id: str) -> EndpointResponse:
    t0 = time.monotonic()
    try:
        target = write_atomically(cfg.path, safe_file_name(message_id), payload)
    except OSError as e:
        # disk full / permissions: an operator can fix it, so a later attempt may succeed
        return EndpointResponse(cfg.id, False, True, None, b"", None, None, time.monotonic() - t0,
                                f"cannot write into {cfg.path}: {e.strerror or e}")
    except ValueError as e:
        return EndpointResponse(cfg.id, False, False, None, b"", None, None, time.monotonic() - t0, str(e))
    return EndpointResponse(cfg.id, True, False, None, b"", None, None, time.monotonic() - t0, None, str(target))


# ---------------------------------------------------------------------------------------------- deliver
def _prepare_request(cfg, payload, message_id, idempotency_key):
    """-> (request or None, error text, retryable)."""
    key = idempotency_key or message_id
    try:
        return _request(cfg, payload, message_id, key), None, False
    except ParseError as e:
        return None, f"payload is not XML: {e.message}", False
    except Exception as e:  # noqa: BLE001 - WSDL loading/zeep errors: report, do not crash the worker
        # the WSDL could not be fetched (network): a later attempt may work; anything else will not
        net = isinstance(e, OSError) or type(e).__module__.startswith(("requests", "urllib3"))
        return None, f"cannot build the request{' (WSDL not reachable)' if net else ''}: {type(e).__name__}: {e}", net


async def deliver(cfg: EndpointConfig, payload: bytes, *, message_id: str, idempotency_key: str | None = None,
                  client: httpx.AsyncClient | None = None, timeout: float | None = None) -> EndpointResponse:
    """Send one document to one endpoint; never raises for transport problems (see module docstring)."""
    if cfg.kind == "directory":
        import asyncio
        return await asyncio.to_thread(_deliver_directory, cfg, payload, message_id)
    t = timeout or cfg.timeout
    t0 = time.monotonic()
    if cfg.transport == "zeep":
        import asyncio
        req, err, again = await asyncio.to_thread(_prepare_request, cfg, payload, message_id, idempotency_key)
    else:
        req, err, again = _prepare_request(cfg, payload, message_id, idempotency_key)
    if req is None:
        return EndpointResponse(cfg.id, False, again, None, b"", None, None, time.monotonic() - t0, err)
    url, body, headers = req
    if isinstance(client, Http11Pool):
        if client.handles(url):
            return await _deliver_lean(cfg, client, url, body, headers, t, t0, payload, message_id, idempotency_key)
        client = client.fallback()
    own = client is None
    c = client or httpx.AsyncClient()
    try:
        async with c.stream("POST", url, content=body, headers=headers, timeout=t) as r:
            chunks, size = [], 0
            async for chunk in r.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    return _too_large(cfg, r.status_code, time.monotonic() - t0)
                chunks.append(chunk)
            status = r.status_code
    except Exception as e:  # noqa: BLE001
        return _transport_error(cfg, e, time.monotonic() - t0, t)
    finally:
        if own:
            await c.aclose()
    return _correlate(classify(cfg, status, b"".join(chunks), time.monotonic() - t0), payload, message_id,
                      idempotency_key)


async def _deliver_lean(cfg, pool: Http11Pool, url, body, headers, t, t0, payload, message_id, idempotency_key):
    try:
        status, _, answer = await pool.post(url, body, headers, timeout=t, max_bytes=MAX_RESPONSE_BYTES)
    except ResponseTooLarge as e:
        return _too_large(cfg, e.status, time.monotonic() - t0)
    except Exception as e:  # noqa: BLE001
        return _transport_error(cfg, e, time.monotonic() - t0, t)
    return _correlate(classify(cfg, status, answer, time.monotonic() - t0), payload, message_id, idempotency_key)


def deliver_sync(cfg: EndpointConfig, payload: bytes, *, message_id: str, idempotency_key: str | None = None,
                 client: httpx.Client | None = None, timeout: float | None = None) -> EndpointResponse:
    """Blocking variant of deliver (CLI, threads)."""
    if cfg.kind == "directory":
        return _deliver_directory(cfg, payload, message_id)
    t = timeout or cfg.timeout
    t0 = time.monotonic()
    req, err, again = _prepare_request(cfg, payload, message_id, idempotency_key)
    if req is None:
        return EndpointResponse(cfg.id, False, again, None, b"", None, None, time.monotonic() - t0, err)
    url, body, headers = req
    own = client is None
    c = client or httpx.Client()
    try:
        with c.stream("POST", url, content=body, headers=headers, timeout=t) as r:
            chunks, size = [], 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    return _too_large(cfg, r.status_code, time.monotonic() - t0)
                chunks.append(chunk)
            status = r.status_code
    except Exception as e:  # noqa: BLE001
        return _transport_error(cfg, e, time.monotonic() - t0, t)
    finally:
        if own:
            c.close()
    return _correlate(classify(cfg, status, b"".join(chunks), time.monotonic() - t0), payload, message_id,
                      idempotency_key)
