"""The pure part of a submission in worker processes (`server.pipeline_processes = N`).

Why: parse + validate + translate + sign is CPU-bound Python; in one process every thread takes turns on the GIL,
so the hub could never use more than one core for it, and the HTTP server, the store writer and the delivery
worker waited behind it. The pipeline is pure by design (no store, no network, clock passed in), so it runs in
N processes here while the serving process keeps everything with I/O: HTTP, the one store writer (group
commit, durable commit before the answer), the delivery worker.

What a worker does for one submission is what Hub.submit does before touching the store: parse once, identify,
authorise, read the business key, run the pipeline. It returns plain picklable values (no tree). The serving
process then does the duplicate check and the one accepting transaction exactly as before.

A worker that dies is replaced (the new one starts in the background). A submission that finds its worker
already gone (the pipe refuses it) runs in the serving process instead, so a sender never gets an error for an
idle worker's death; so does a submission that finds no worker free within `wait` seconds (e.g. none could be
started). A worker that dies *while it holds a submission* may have been killed by that very document (a crash in
a C library, memory exhaustion): running it again in the serving process could take the whole hub down, so that
submission is refused instead (WorkerLost: the sender gets a server error and may retry; nothing is stored and
the hub logs the refusal). Process isolation thus also contains a document that crashes the parser.

Each worker serves one pipe (multiprocessing.Pipe, spawned process): a serving thread takes a free worker, sends
the submission, waits for the answer. No pool manager or feeder threads, no wake-up pipe: in the serving process,
which holds the HTTP loop and the store writer on one GIL, each thread hop costs.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time

from .pipeline import Prepared

log = logging.getLogger("edihub")

_pipeline = None            # in a worker process: the Pipeline built by _main
_reader = None              # and a read connection to the SQLite store, for the duplicate pre-check


def _exit_with_parent(period: float = 1.0) -> None:
    """A worker ends when the serving process is gone, however it ended (a SIGTERM'd uvicorn re-raises the
    signal and skips every cleanup; SIGKILL)."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(period)
        os._exit(0)
    threading.Thread(target=watch, name="edihub-parent-watch", daemon=True).start()


def _main(cfg, conn) -> None:
    """A worker process: build the pipeline once, then answer submissions until the pipe closes."""
    global _pipeline, _reader
    import gc
    import signal
    from .runtime import build_pipeline
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C is for the serving process; it stops us
    _exit_with_parent()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _, _pipeline, _, _ = build_pipeline(cfg)
    db = cfg.sqlite_path()
    if db is not None:
        # the duplicate pre-check reads here, as the serving process would (WAL: readers never wait); the
        # accepting transaction checks again, so a twin committed in between is still caught
        import sqlite3
        _reader = sqlite3.connect(str(db), isolation_level=None, timeout=30)
        _reader.execute("PRAGMA busy_timeout=30000")
    gc.collect()
    gc.freeze()            # long-lived schemas, tables and keys: out of the cyclic collector's scans
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        try:
            out = ("ok", _work(*msg))
        except BaseException as e:  # noqa: BLE001 - handed to the caller, which raises it there
            out = ("error", e)
        try:
            conn.send(out)
        except Exception as e:  # noqa: BLE001 - e.g. an answer that cannot be pickled
            conn.send(("error", RuntimeError(f"pipeline worker: cannot return the result: {e}")))


def _work(partner_id: str, raw: bytes, now: float, hints: dict | None, message_id: str | None) -> Prepared:
    existing = None
    if _reader is not None:
        from .store import find_active_in

        def existing(fmt, key):
            return find_active_in(_reader, partner_id, message_id, fmt, key)
    prep = _pipeline.prepare(_pipeline.cfg.partners[partner_id], raw, now, hints, existing=existing)
    if prep.result is not None:
        prep.result.tree = None        # stays here: the serving process needs values, not the tree
    return prep


class WorkerLost(Exception):
    """The worker process ended while it held this submission (see the module docstring)."""


class _Worker:
    def __init__(self, cfg):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_main, args=(cfg, child), name="edihub-pipeline", daemon=True)
        self.proc.start()
        child.close()
        self.pid = self.proc.pid

    def wait_ready(self, timeout: float) -> None:
        if not self.conn.poll(timeout):
            raise RuntimeError(f"pipeline worker {self.pid} did not start within {timeout:g} s")
        kind, _ = self.conn.recv()
        assert kind == "ready"

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.conn.close()
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()


class PipelineProcesses:
    """N pipeline worker processes (spawned, each builds its own Pipeline from the same Config)."""

    def __init__(self, cfg, n: int, fallback):
        self.cfg = cfg
        self.n = n
        self.fallback = fallback          # Pipeline of the serving process: used when a worker dies
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self.workers = [_Worker(cfg) for _ in range(n)]
        for w in self.workers:
            self._free.put(w)

    def warm_up(self, timeout: float = 120.0) -> None:
        """Wait until every worker has built its pipeline (so the first senders do not wait)."""
        deadline = time.monotonic() + timeout
        for w in self.workers:
            w.wait_ready(max(0.1, deadline - time.monotonic()))

    wait = 30.0

    def prepare(self, partner, raw: bytes, now: float, hints: dict | None, message_id: str | None = None) -> Prepared:
        try:
            w = self._free.get(timeout=self.wait)
        except queue.Empty:
            log.error("no pipeline worker free within %g s; this submission runs here", self.wait)
            return self.fallback.prepare(partner, raw, now, hints)
        try:
            w.conn.send((partner.id, raw, now, hints, message_id))
        except (EOFError, OSError):           # gone before it took this submission: run it here
            log.error("pipeline worker %s had ended; starting another (this submission runs here)", w.pid)
            self._replace(w)
            return self.fallback.prepare(partner, raw, now, hints)
        try:
            kind, value = w.conn.recv()
        except (EOFError, OSError):           # ended while holding it: this document may be the cause
            w.proc.join(timeout=1)
            code = w.proc.exitcode if w.proc.exitcode is not None else "unknown"
            log.error("pipeline worker %s ended (exit code %s) while processing a submission of %s (%d bytes); "
                      "starting another, the submission is refused", w.pid, code, partner.id, len(raw))
            self._replace(w)
            raise WorkerLost(f"the pipeline worker ended (exit code {code}) while processing this document; "
                             f"it was not accepted") from None
        self._free.put(w)
        if kind == "error":
            raise value
        return value

    def _replace(self, dead: _Worker) -> None:
        dead.conn.close()
        dead.proc.join(timeout=1)
        w = _Worker(self.cfg)
        self.workers = [w if x is dead else x for x in self.workers]
        threading.Thread(target=self._when_ready, args=(w,), name="edihub-pipeline-start", daemon=True).start()

    def _when_ready(self, w: _Worker) -> None:
        try:
            w.wait_ready(120.0)
        except Exception:  # noqa: BLE001
            log.exception("pipeline worker %s did not start", w.pid)
            return
        self._free.put(w)

    def close(self) -> None:
        for w in self.workers:
            w.stop()
