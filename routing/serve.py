"""Start the hub: load the configuration, build everything once, start the demo endpoints if asked, serve.

Used by `python server.py` and `edihub serve`. Exit codes: 0 stopped cleanly, 2 configuration unusable.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from urllib.parse import urlparse

log = logging.getLogger("edihub")


def start_demo_endpoints(cfg):
    """The simulated national endpoints (samples/endpoints) in a thread, on demo.endpoints_port. They check the
    hub's signatures with the hub certificate of the hub signing section when it exists."""
    from samples.endpoints import start_in_thread
    hub_cert = None
    if cfg.hub.signing and cfg.hub.signing in cfg.signing:
        p = cfg.resolve(cfg.signing[cfg.hub.signing].cert)
        hub_cert = str(p) if p.exists() else None
    base, stop = start_in_thread(port=cfg.demo_endpoints_port, hub_cert=hub_cert)
    return base, stop


def serve(config_path=None, host=None, port=None, log_level="info") -> int:
    from routing.config import ConfigError, load_config
    from routing.runtime import build_runtime
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)      # one line per delivery otherwise
    t0 = time.monotonic()
    try:
        cfg = load_config(config_path)
        rt = build_runtime(cfg)
    except ConfigError as e:
        print(f"edihub: configuration error: {e}", file=sys.stderr)
        return 2
    cfg = rt.cfg
    stop_demo = None
    if cfg.server.demo_endpoints:
        try:
            base, stop_demo = start_demo_endpoints(cfg)
            log.info("simulated national endpoints at %s (vnaccs, sofia, prc, iran)", base)
        except Exception as e:  # noqa: BLE001
            print(f"edihub: cannot start the simulated endpoints on port {cfg.demo_endpoints_port}: {e}",
                  file=sys.stderr)
            return 2
    import uvicorn
    h = host or cfg.server.host
    p = port if port is not None else cfg.server.port
    log.info("edihub ready to listen on http://%s:%s (start-up %.2f s; SOAP /soap?wsdl, API /docs)", h, p,
             time.monotonic() - t0)
    if cfg.demo_partner:
        from routing.config import demo_token_file
        log.info("demo partner %s: token in $%s or %s", cfg.demo_partner,
                 cfg.partners[cfg.demo_partner].token_env, demo_token_file(cfg, cfg.demo_partner))
    try:
        if cfg.server.workers > 1:
            # several processes share the port; each builds its own runtime (schemas, keys) from the same file
            rt.store.close()
            os.environ["EDIHUB_CONFIG"] = str(cfg.path or "")
            uvicorn.run("routing.serve:app_factory", factory=True, host=h, port=p, workers=cfg.server.workers,
                        log_level="warning", access_log=False)
        else:
            from soap.app import create_app
            uvicorn.run(create_app(rt), host=h, port=p, log_level="warning", access_log=False)
    finally:
        if stop_demo:
            stop_demo()
        rt.store.close()
    return 0


def app_factory():
    """One server process of a multi-process hub (server.workers > 1)."""
    from routing.config import load_config
    from routing.runtime import build_runtime
    from soap.app import create_app
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return create_app(build_runtime(load_config(os.environ.get("EDIHUB_CONFIG") or None)))


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="server.py", description="Run the edihub hub server")
    add_arguments(ap)
    a = ap.parse_args(argv)
    return serve(a.config, a.host, a.port, a.log_level)


def add_arguments(ap):
    ap.add_argument("--config", default=None, help="configuration file (default: edihub.toml of the project)")
    ap.add_argument("--host", default=None, help="address to listen on (default: server.host, 127.0.0.1)")
    ap.add_argument("--port", type=int, default=None, help="port (default: server.port, 8080)")
    ap.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def url_port(url: str) -> int | None:
    return urlparse(url).port
