"""Operator console, Prometheus metrics and readiness for the edihub hub.

    from soap.app import create_app
    import console
    app = create_app(runtime)
    console.install(app, runtime, console_cfg)      # the [console] table (dict), a ConsoleCfg, or None
                                                    # (None: /metrics and /readyz only, no console pages)

Adds /console... (login, messages, message journey, routes, certificates, resend/cancel actions),
/metrics (Prometheus text, read from the store at scrape time) and /readyz (store reachable, schemas and keys
loaded; 503 otherwise). See docs/console.md.
"""
from __future__ import annotations

import logging
import time

log = logging.getLogger("edihub.console")


def install(app, runtime, console_cfg, *, clock=None) -> None:
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from .auth import Sessions
    from .certs import collect
    from .config import ConsoleCfg, parse_console
    from .health import readiness
    from .metrics import make_registry
    from .views import HERE, Console

    if console_cfg is None:                 # no [console] table: metrics and readiness only
        cfg = None
    elif isinstance(console_cfg, ConsoleCfg):
        cfg = console_cfg
    else:
        cfg = parse_console(console_cfg, base=getattr(runtime.cfg, "base", None))
    clock = clock or getattr(runtime.hub, "clock", None) or time.time
    certificates, problems = collect(runtime, cfg.certificates if cfg else ())
    for name, p in problems:
        log.warning("console: certificate %s unreadable: %s", name, p)
    registry = make_registry(runtime, certificates, clock)
    metrics_token = cfg.metrics_token if cfg else None

    async def metrics(request):
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from starlette.concurrency import run_in_threadpool
        if metrics_token is not None:
            import hmac
            got = request.headers.get("authorization", "")
            if not hmac.compare_digest(got.encode(), f"Bearer {metrics_token}".encode()):
                return JSONResponse({"error": {"code": "metrics-token", "message": "bearer token required"}},
                                    status_code=401)
        return Response(await run_in_threadpool(generate_latest, registry), media_type=CONTENT_TYPE_LATEST)

    async def readyz(request):
        from starlette.concurrency import run_in_threadpool
        ok, checks = await run_in_threadpool(readiness, runtime)
        return JSONResponse({"status": "ready" if ok else "not-ready", "checks": checks},
                            status_code=200 if ok else 503)

    routes = [Route("/metrics", metrics, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
    app.state.metrics_registry = registry
    if cfg is None:
        app.router.routes.extend(routes)
        return
    ui = Console(runtime, cfg, Sessions(cfg), certificates, problems, clock)
    routes += [
        Route("/console", ui.home, methods=["GET"]),
        Route("/console/", ui.home, methods=["GET"]),
        Route("/console/login", ui.login_form, methods=["GET"]),
        Route("/console/login", ui.login, methods=["POST"]),
        Route("/console/logout", ui.logout, methods=["POST"]),
        Route("/console/messages", ui.messages, methods=["GET"]),
        Route("/console/messages/{id}", ui.message, methods=["GET"]),
        Route("/console/messages/{id}/inbound.xml", ui.inbound, methods=["GET"]),
        Route("/console/messages/{id}/documents/{doc:int}.xml", ui.document, methods=["GET"]),
        Route("/console/messages/{id}/deliveries/{delivery}/attempts/{n:int}.xml", ui.response, methods=["GET"]),
        Route("/console/messages/{id}/resend", ui.resend, methods=["POST"]),
        Route("/console/messages/{id}/cancel", ui.cancel, methods=["POST"]),
        Route("/console/routes", ui.routes, methods=["GET"]),
        Route("/console/certificates", ui.certificates, methods=["GET"]),
        Mount("/console/static", app=StaticFiles(directory=str(HERE / "static")), name="console-static"),
    ]
    app.router.routes.extend(routes)
    app.state.console = ui
