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
    _tune_threads()
    t0 = time.monotonic()
    try:
        cfg = load_config(config_path)
        rt = build_runtime(cfg, processes=cfg.server.workers <= 1)   # several workers: each has its own
        freeze_startup_objects()
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
        from routing.config import demo_console_password_file, demo_token_file
        log.info("demo partner %s: token in $%s or %s", cfg.demo_partner,
                 cfg.partners[cfg.demo_partner].token_env, demo_token_file(cfg, cfg.demo_partner))
        if cfg.console is not None and "demo" in cfg.console.users:
            log.info("console http://%s:%s/console: user demo, password in %s", h, p,
                     demo_console_password_file(cfg.base))
    try:
        if cfg.server.workers > 1:
            # server.workers accepting processes share the port (each builds its own runtime from the same
            # file) and one more process delivers; a watchdog restarts the delivery process if it dies
            rt.store.close()
            os.environ["EDIHUB_CONFIG"] = str(cfg.path or "")
            stop_delivery = _start_delivery_process(str(cfg.path or ""), cfg.delivery.enabled)
            try:
                uvicorn.run("routing.serve:app_factory", factory=True, host=h, port=p,
                            workers=cfg.server.workers, log_level="warning", access_log=False)
            finally:
                stop_delivery()
        else:
            uvicorn.run(build_app(rt), host=h, port=p, log_level="warning", access_log=False)
    finally:
        if stop_demo:
            stop_demo()
        if rt.hub.procs is not None:
            rt.hub.procs.close()
        rt.store.close()
    return 0


def freeze_startup_objects() -> None:
    """After start-up: move the long-lived objects (schemas, code and mapping tables, keys) out of the cyclic
    garbage collector's scans. They live as long as the process, and scanning their tens of thousands of objects on
    every full collection made each translation measurably slower. A process-wide choice, so it is made here, at
    the process entry points, not in the libraries."""
    import gc
    gc.collect()
    gc.freeze()


def _tune_threads() -> None:
    """The store writer thread runs many short SQLite calls, each releasing the GIL; with the default 5 ms switch
    interval every re-acquisition can wait 5 ms behind a CPU-bound pipeline thread, which stretches each
    transaction (and every sender's wait). A 0.5 ms interval keeps the writer's transactions short."""
    sys.setswitchinterval(float(os.environ.get("EDIHUB_SWITCH_INTERVAL", "0.0005")))


def app_factory():
    """One accepting process of a multi-process hub (server.workers > 1): no delivery worker here (the delivery
    process has it; it picks new work up within delivery.poll_interval)."""
    from routing.config import load_config
    from routing.runtime import build_runtime
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _tune_threads()
    rt = build_runtime(load_config(os.environ.get("EDIHUB_CONFIG") or None), with_worker=False)
    freeze_startup_objects()
    return build_app(rt)


def build_app(rt, **kw):
    """The served application: the SOAP/HTTP app plus the operator console, /metrics and /readyz."""
    import console
    from soap.app import create_app
    app = create_app(rt, **kw)
    console.install(app, rt, rt.cfg.console)
    return app


def delivery_main(config_path: str) -> None:
    """The delivery process of a multi-process hub: the delivery worker alone, under the delivery lock."""
    import asyncio
    import signal
    from routing.config import load_config
    from routing.runtime import build_runtime
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    _tune_threads()
    rt = build_runtime(load_config(config_path or None), processes=False)
    freeze_startup_objects()

    async def run():
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(rt.worker.stop()))
        await rt.worker.run_when_leader(rt.delivery_lock)
    try:
        asyncio.run(run())
    finally:
        rt.store.close()


def _start_delivery_process(config_path: str, enabled: bool):
    import multiprocessing
    import threading
    if not enabled:
        return lambda: None
    ctx = multiprocessing.get_context("spawn")
    state = {"proc": None, "stopping": False}

    def watchdog():
        while not state["stopping"]:
            proc = ctx.Process(target=delivery_main, args=(config_path,), name="edihub-delivery", daemon=True)
            proc.start()
            state["proc"] = proc
            proc.join()
            if not state["stopping"]:
                log.error("delivery process ended (exit code %s); restarting it", proc.exitcode)
                time.sleep(1.0)
    threading.Thread(target=watchdog, name="edihub-delivery-watchdog", daemon=True).start()

    def stop():
        state["stopping"] = True
        proc = state["proc"]
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(timeout=15)
    return stop


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
