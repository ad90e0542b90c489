"""The HTTP face of the hub (Starlette): SOAP at /soap (WSDL at /soap?wsdl), plain XML over HTTP at /api/messages,
OpenAPI at /openapi.json with a docs page at /docs, health at /healthz.

Bodies are read as a stream and refused with 413 as soon as the limit is passed. Blocking work (parsing,
signature checks, the pipeline, store writes) runs in a bounded thread pool so the event loop stays free.
The delivery worker runs as an asyncio task for the app's lifetime.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from routing.auth import AuthError
from routing.hub import HubError

from .envelope import CT, Fault, fault_envelope, fault_version
from .limits import LimitExceeded, PartnerLimiter
from .service import SoapService

log = logging.getLogger("edihub.http")
HUB_XSD_DIR = Path(__file__).resolve().parent.parent / "xsd" / "hub"


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass


async def read_body(request: Request, limit: int, deadline: float = 0) -> bytes:
    """Read the body as it streams in; stop as soon as it passes `limit` (no full read first), or when it has not
    arrived completely within `deadline` seconds (slow-loris; 0 = no deadline)."""
    cl = request.headers.get("content-length")
    if cl is not None:
        try:
            if int(cl) > limit:
                raise BodyTooLarge()
        except ValueError:
            pass
    chunks, size = [], 0

    async def receive():
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge()
            chunks.append(chunk)
    if deadline and deadline > 0:
        try:
            await asyncio.wait_for(receive(), deadline)
        except asyncio.TimeoutError:
            raise BodyTimeout() from None
    else:
        await receive()
    return b"".join(chunks)


def _err(status: int, code: str, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def _b64(d):
    return base64.b64encode(d).decode() if d else None


def create_app(runtime, *, start_worker: bool = True) -> Starlette:
    cfg = runtime.cfg
    hub = runtime.hub
    limit = cfg.server.max_body_bytes
    pool = ThreadPoolExecutor(max_workers=cfg.server.pipeline_threads, thread_name_prefix="edihub-pipeline")
    body_deadline = getattr(cfg.server, "body_read_timeout", 0)
    limiter = PartnerLimiter.from_partners(cfg.partners)
    soap = SoapService(runtime)
    soap.limiter = limiter
    wsdl_cache: dict[str, bytes] = {}

    async def blocking(fn, *a, **kw):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, lambda: fn(*a, **kw))

    def remote_of(request: Request) -> str | None:
        return f"{request.client.host}:{request.client.port}" if request.client else None

    # -- SOAP ------------------------------------------------------------------------------------------------
    def wsdl_bytes(request: Request) -> bytes:
        base = cfg.server.public_url.rstrip("/") or str(request.base_url).rstrip("/")
        if base not in wsdl_cache:
            text = (HUB_XSD_DIR / "edihub.wsdl").read_text(encoding="utf-8")
            wsdl_cache[base] = text.replace("http://127.0.0.1:8080", base).encode()
        return wsdl_cache[base]

    async def soap_get(request: Request):
        if "wsdl" in {k.lower() for k in request.query_params}:
            return Response(wsdl_bytes(request), media_type="text/xml")
        if "xsd" in request.query_params:
            name = request.query_params["xsd"]
            if name != "edihub.xsd":
                return _err(404, "not-found", "unknown schema")
            return Response((HUB_XSD_DIR / "edihub.xsd").read_bytes(), media_type="text/xml")
        return HTMLResponse("<p>edihub SOAP service. WSDL: <a href='/soap?wsdl'>/soap?wsdl</a></p>")

    async def soap_post(request: Request):
        ct = request.headers.get("content-type")
        try:
            data = await read_body(request, limit, body_deadline)
        except BodyTooLarge:
            hub.refuse("soap", "body-too-large", f"body larger than {limit} bytes", None, remote_of(request))
            v = fault_version(b"", ct)
            status, body = fault_envelope(v, Fault("sender", "xml-too-large",
                                                   f"the request is larger than {limit} bytes"))
            return Response(body, status_code=413, media_type=CT[v])
        except BodyTimeout:
            await blocking(hub.refuse, "soap", "body-timeout", f"body not received within {body_deadline} s", None,
                           remote_of(request))
            v = fault_version(b"", ct)
            status, body = fault_envelope(v, Fault("sender", "body-timeout",
                                                   f"the request body did not arrive within {body_deadline:g} s"))
            return Response(body, status_code=408, media_type=CT[v], headers={"Connection": "close"})
        try:
            status, media, body = await blocking(soap.handle, data, ct, request.headers.get("authorization"),
                                                 remote_of(request))
        except LimitExceeded as e:       # already logged as a refusal by the service
            status, body = fault_envelope(e.version, Fault("sender", e.code, e.message))
            return Response(body, status_code=429, media_type=CT[e.version],
                            headers={"Retry-After": str(e.retry_after)})
        return Response(body, status_code=status, media_type=media)

    # -- HTTP API --------------------------------------------------------------------------------------------
    def partner_of(request: Request):
        return runtime.auth.by_token(request.headers.get("authorization"))

    async def authed(request: Request):
        """(partner or None for the operator, error response or None)."""
        header = request.headers.get("authorization")
        if runtime.auth.is_operator(header):
            return None, None
        try:
            return partner_of(request), None
        except AuthError as e:
            await blocking(hub.refuse, "api", e.code, e.message, None, remote_of(request))
            return None, _err(401, e.code, e.message)

    async def api_submit(request: Request):
        try:
            partner = partner_of(request)
        except AuthError as e:
            await blocking(hub.refuse, "api", e.code, e.message, None, remote_of(request))
            return _err(401, e.code, e.message)
        try:
            limiter.acquire(partner.id, hub.clock())     # before the body is read
        except LimitExceeded as e:
            await blocking(hub.refuse, "api", e.code, e.message, partner.id, remote_of(request))
            return JSONResponse({"error": {"code": e.code, "message": e.message, "retry_after": e.retry_after}},
                                status_code=429, headers={"Retry-After": str(e.retry_after)})
        try:
            try:
                data = await read_body(request, limit, body_deadline)
            except BodyTooLarge:
                await blocking(hub.refuse, "api", "body-too-large", f"body larger than {limit} bytes", partner.id,
                               remote_of(request))
                return _err(413, "body-too-large", f"the body is larger than {limit} bytes")
            except BodyTimeout:
                await blocking(hub.refuse, "api", "body-timeout", f"body not received within {body_deadline} s",
                               partner.id, remote_of(request))
                r = _err(408, "body-timeout", f"the request body did not arrive within {body_deadline:g} s")
                r.headers["Connection"] = "close"
                return r
            q = request.query_params
            hints = {"routes": q.getlist("route"), "direction": q.get("direction"),
                     "destination": q.get("destination"), "agency": q.get("agency"), "format": q.get("format")}
            try:
                res = await blocking(hub.submit, partner.id, data, message_id=request.headers.get("x-message-id"),
                                     hints=hints, channel="api", remote=remote_of(request))
            except HubError as e:
                r = _err(e.status, e.code, e.message)
                if e.status == 429:
                    r.headers["Retry-After"] = "1"
                return r
        finally:
            limiter.release(partner.id)
        body = res.to_dict()
        if res.state == "rejected":
            errs = (res.validation or {}).get("errors") or [i.to_dict() for i in res.issues]
            return JSONResponse({**body, "error": {"code": "validation-failed" if res.fault != "server"
                                                   else (errs[0]["code"] if errs else "failed"),
                                                   "message": f"{len(errs)} error(s)", "issues": errs}},
                                status_code=422 if res.fault != "server" else 500)
        return JSONResponse(body, status_code=200 if res.duplicate else 202,
                            headers={"Location": f"/api/messages/{res.message_id}"})

    async def api_list(request: Request):
        partner, err = await authed(request)
        if err:
            return err
        q = request.query_params
        try:
            limit_n = min(int(q.get("limit", 100)), 1000)
            offset = int(q.get("offset", 0))
            since = float(q["since"]) if q.get("since") else None
            until = float(q["until"]) if q.get("until") else None
        except ValueError:
            return _err(400, "bad-filter", "limit/offset must be integers; since/until epoch seconds")
        rows = await blocking(hub.list_messages, partner.id if partner else None, state=q.get("state"),
                              format=q.get("format"), business_key=q.get("business_key"), since=since, until=until,
                              limit=limit_n, offset=offset,
                              **({"partner": q.get("partner")} if partner is None and q.get("partner") else {}))
        return JSONResponse({"messages": rows, "limit": limit_n, "offset": offset})

    async def api_get(request: Request):
        partner, err = await authed(request)
        if err:
            return err
        try:
            return JSONResponse(await blocking(hub.status, request.path_params["id"], partner and partner.id))
        except HubError as e:
            return _err(e.status, e.code, e.message)

    async def api_receipt(request: Request):
        partner, err = await authed(request)
        if err:
            return err
        try:
            r = await blocking(hub.receipt, request.path_params["id"], partner and partner.id)
        except HubError as e:
            return _err(e.status, e.code, e.message)
        for x in r["receipts"]:
            for k in ("endpoint_response", "hub_receipt", "translated_back"):
                x[k] = _b64(x[k])
        return JSONResponse(r)

    async def api_resend(request: Request):
        partner, err = await authed(request)
        if err:
            return err
        try:
            return JSONResponse(await blocking(hub.resend, request.path_params["id"], partner and partner.id))
        except HubError as e:
            return _err(e.status, e.code, e.message)

    async def api_cancel(request: Request):
        partner, err = await authed(request)
        if err:
            return err
        try:
            return JSONResponse(await blocking(hub.cancel, request.path_params["id"], partner and partner.id))
        except HubError as e:
            return _err(e.status, e.code, e.message)

    async def api_refusals(request: Request):
        if not runtime.auth.is_operator(request.headers.get("authorization")):
            return _err(403, "operator-only", "the refusal log needs the operator token")
        return JSONResponse({"refusals": await blocking(runtime.store.refusals, 200)})

    async def health(request: Request):
        w = runtime.worker
        return JSONResponse({"status": "ok", "store": await blocking(runtime.store.counts),
                             "store_writes": getattr(runtime.store, "write_stats", None),
                             "worker": dict(w.stats, in_doubt_at_start=len(w.in_doubt), leader=w.leader,
                                                     ready=w.ready) if w else None})

    async def hub_xsd(request: Request):
        return Response((HUB_XSD_DIR / "edihub.xsd").read_bytes(), media_type="text/xml")

    async def openapi(request: Request):
        return Response((HUB_XSD_DIR / "openapi.json").read_bytes(), media_type="application/json")

    async def docs(request: Request):
        return HTMLResponse(_DOCS_PAGE)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = None
        if runtime.worker is not None and start_worker:
            task = asyncio.create_task(runtime.worker.run_when_leader(runtime.delivery_lock))
        try:
            yield
        finally:
            if task is not None:
                await runtime.worker.stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=cfg.delivery.timeout + 2)
            pool.shutdown(wait=False, cancel_futures=True)

    routes = [
        Route("/soap", soap_get, methods=["GET"]),
        Route("/soap", soap_post, methods=["POST"]),
        Route("/api/messages", api_submit, methods=["POST"]),
        Route("/api/messages", api_list, methods=["GET"]),
        Route("/api/messages/{id}", api_get, methods=["GET"]),
        Route("/api/messages/{id}/receipt", api_receipt, methods=["GET"]),
        Route("/api/messages/{id}/resend", api_resend, methods=["POST"]),
        Route("/api/messages/{id}/cancel", api_cancel, methods=["POST"]),
        Route("/api/refusals", api_refusals, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/edihub.xsd", hub_xsd, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.limiter = limiter
    app.state.started = time.time()
    return app


_DOCS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>edihub API</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code,pre{background:#f4f4f4}
td,th{border-bottom:1px solid #ddd;padding:.3em;text-align:left;vertical-align:top}</style></head>
<body><h1>edihub HTTP API</h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). SOAP: <a href="/soap?wsdl">/soap?wsdl</a>.</p>
<p>Every call needs <code>Authorization: Bearer &lt;token&gt;</code> (a partner's token, or the operator's).</p>
<div id="ops">Loading…</div>
<script>
fetch('/openapi.json').then(r=>r.json()).then(spec=>{
  let h='<table><tr><th>method</th><th>path</th><th>what</th></tr>';
  for (const [p,ops] of Object.entries(spec.paths)) for (const [m,op] of Object.entries(ops))
    h+=`<tr><td>${m.toUpperCase()}</td><td><code>${p}</code></td><td><b>${op.summary||''}</b><br>${op.description||''}</td></tr>`;
  document.getElementById('ops').innerHTML=h+'</table>';
});
</script></body></html>
"""
