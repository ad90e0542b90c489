"""Simulated national single-window endpoints (VNACCS, SIVECA/SOFIA, PRC, Iran) as SOAP servers on loopback.

    base_url, stop = start_in_thread(port=0)          # tests, server.py demo mode
    python -m samples.endpoints --port 8090            # a terminal

See docs/endpoints.md for the paths and the control API.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time

from .app import MODES, Simulator, make_app
from .authorities import ANSWERS
from .verify import make_verifier

AUTHORITIES = tuple(ANSWERS)

__all__ = ["AUTHORITIES", "MODES", "Simulator", "make_app", "make_verifier", "start_in_thread", "serve"]


def _server(app, host: str, port: int, log_level: str = "warning"):
    import uvicorn
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then. With proto 0 the
    # response's header and body writes meet Nagle + delayed ACK and every answer waits ~40 ms.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    return uvicorn.Server(config), sock


def start_in_thread(port: int = 0, *, host: str = "127.0.0.1", hub_cert=None, verifier=None,
                    simulator: Simulator | None = None, startup_timeout: float = 10.0):
    """Start all four simulated endpoints on one port in a daemon thread.

    Returns (base_url, stop); the simulator object is reachable as stop.simulator (for in-process inspection).
    `hub_cert`: path(s) of the hub certificate(s) whose signatures the endpoints accept (None: not checked).
    `simulator`: an earlier stop.simulator to serve again with its counters and issued numbers (a real outage:
    stop(), the port refuses connections, then start_in_thread(port, simulator=...) brings it back)."""
    if verifier is None and hub_cert is not None:
        verifier = make_verifier(hub_cert)
    if simulator is not None:
        if verifier is not None:
            simulator.verifier = verifier
        app, sim = simulator.app(), simulator
    else:
        app, sim = make_app(verifier)
    server, sock = _server(app, host, port)
    actual = sock.getsockname()[1]
    errors: list[BaseException] = []

    def run():
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as e:  # noqa: BLE001 - reported to the caller below
            errors.append(e)

    t = threading.Thread(target=run, name=f"edihub-endpoints-{actual}", daemon=True)
    t.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if errors or not t.is_alive():
            sock.close()
            raise RuntimeError(f"simulated endpoints did not start: {errors[0] if errors else 'thread ended'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"simulated endpoints did not start within {startup_timeout}s")
        time.sleep(0.01)

    def stop(timeout: float = 5.0) -> None:
        server.should_exit = True
        t.join(timeout)
        try:
            sock.close()
        except OSError:
            pass

    stop.simulator = sim
    stop.port = actual
    h = f"[{host}]" if ":" in host else host
    return f"http://{h}:{actual}", stop


def serve(port: int = 8090, host: str = "127.0.0.1", hub_cert=None, log_level: str = "info") -> None:
    """Run in the foreground until interrupted."""
    app, _ = make_app(make_verifier(hub_cert) if hub_cert else None)
    server, sock = _server(app, host, port, log_level)
    asyncio.run(server.serve(sockets=[sock]))
