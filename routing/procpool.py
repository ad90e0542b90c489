"""The pure part of a submission in worker processes (`server.pipeline_processes = N`).

Why: parse + validate + translate + sign is CPU-bound Python; in one process every thread takes turns on the GIL,
so the hub could never use more than one core for it, and the HTTP server, the store writer and the delivery
worker waited behind it. The pipeline is pure by design (no store, no network, clock passed in), so it runs in
N processes here while the serving process keeps everything with I/O: HTTP, the one store writer (group
commit, durable commit before the answer), the delivery worker.

What a worker does for one submission is what Hub.submit does before touching the store: parse once, identify,
authorise, read the business key, run the pipeline. It returns plain picklable values (no tree). The serving
process then does the duplicate check and the one accepting transaction exactly as before.

A worker that dies takes the pool with it (BrokenProcessPool): the pool is rebuilt and that submission runs in
the serving process instead, so a sender never gets an error for it.
"""
from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .pipeline import Prepared

log = logging.getLogger("edihub")

_pipeline = None            # in a worker process: the Pipeline built by _init


def _init(cfg) -> None:
    global _pipeline
    from .runtime import build_pipeline
    _exit_with_parent()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _, _pipeline, _, _ = build_pipeline(cfg)
    import gc
    gc.collect()
    gc.freeze()            # long-lived schemas, tables and keys: out of the cyclic collector's scans


def _exit_with_parent(period: float = 1.0) -> None:
    """A worker ends when the serving process is gone, however it ended (a SIGTERM'd uvicorn re-raises the
    signal and skips every cleanup; SIGKILL): the pool's queue pipe alone does not tell a spawned worker."""
    import os
    import threading
    import time
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(period)
        os._exit(0)
    threading.Thread(target=watch, name="edihub-parent-watch", daemon=True).start()


def _work(partner_id: str, raw: bytes, now: float, hints: dict | None) -> Prepared:
    prep = _pipeline.prepare(_pipeline.cfg.partners[partner_id], raw, now, hints)
    if prep.result is not None:
        prep.result.tree = None        # stays here: the serving process needs values, not the tree
    return prep


def _ready(pause: float) -> int:
    """A worker's pid once its pipeline is built; `pause` keeps it busy so the next call starts another."""
    import os
    import time
    time.sleep(pause)
    return os.getpid() if _pipeline is not None else 0


class PipelineProcesses:
    """A pool of N pipeline worker processes (spawned, each builds its own Pipeline from the same Config)."""

    def __init__(self, cfg, n: int, fallback):
        self.cfg = cfg
        self.n = n
        self.fallback = fallback          # Pipeline of the serving process: used when the pool breaks
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self.n, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                                   initargs=(self.cfg,))
        return pool

    def warm_up(self, timeout: float = 120.0) -> None:
        """Start every worker and wait until each has built its pipeline (so the first senders do not wait)."""
        import time
        deadline = time.monotonic() + timeout
        seen: set[int] = set()
        while len(seen) < self.n and time.monotonic() < deadline:
            # the pool starts processes on demand: n calls that each hold a worker for a moment need n of them
            futs = [self._pool.submit(_ready, 0.05) for _ in range(self.n)]
            seen.update(f.result(timeout=max(0.1, deadline - time.monotonic())) for f in futs)
            seen.discard(0)

    def prepare(self, partner, raw: bytes, now: float, hints: dict | None) -> Prepared:
        pool = self._pool
        try:
            return pool.submit(_work, partner.id, raw, now, hints).result()
        except BrokenProcessPool:
            log.error("a pipeline worker process died; restarting the pool (this submission runs here)")
            with self._lock:
                if self._pool is pool:
                    self._pool = self._start()
            pool.shutdown(wait=False, cancel_futures=True)
            return self.fallback.prepare(partner, raw, now, hints)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
