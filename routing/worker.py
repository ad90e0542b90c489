"""The delivery worker: an asyncio task in the server process.

Loop: claim due deliveries (respecting each route's concurrency limit), send each with routing.endpoints.deliver
under the idempotency key `<delivery id>` (stable across retries and restarts), record the outcome:
acknowledged (the authority accepted; a signed edihub receipt is stored), delivered (taken, no business answer),
rejected (the authority refused the content: final), failed (retryable: next attempt after exponential backoff
with jitter) or dead (out of attempts, or not retryable; operator resend puts it back).

Exactly-once, and what remains: the claim (state `sending` + an attempt row) is committed before the request
goes out and the outcome is committed when the answer is in. A delivery whose outcome was recorded is never sent
again by a restart. The window that remains is the request itself: if the hub dies after the claim and before
the outcome commit, the attempt is *in doubt* (it may or may not have reached the endpoint). On restart such
deliveries are resent under the same idempotency key, so an endpoint that deduplicates on Idempotency-Key sees
one business delivery; an endpoint that does not would see at most one extra copy per in-doubt delivery (at most
the sum of the routes' concurrency limits per crash). This is counted and reported (`in_doubt`).
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Callable

from . import states as S
from .store import Claimed, Store

log = logging.getLogger("edihub.worker")


class DeliveryWorker:
    def __init__(self, cfg, store: Store, endpoint_cfgs: dict, *, clock: Callable[[], float] = time.time,
                 receipts=None, translate_back: Callable | None = None, rng: random.Random | None = None,
                 deliver: Callable | None = None, parse_response: Callable | None = None):
        self.cfg = cfg
        self.store = store
        self.endpoints = endpoint_cfgs
        self.clock = clock
        self.receipts = receipts
        self.translate_back = translate_back
        self.rng = rng or random.Random()
        if deliver is None:
            from .endpoints import deliver as deliver
        self.deliver = deliver
        self.limits = {r.id: r.concurrency for r in cfg.routes.values()}
        self.busy: dict[str, int] = {}
        self.max_in_flight = max(1, sum(self.limits.values()))
        self.in_flight: set[asyncio.Task] = set()
        self._done: list[tuple] = []      # outcomes (claimed, now, state, kw) not yet recorded
        self.in_doubt: list[dict] = []
        self.stats = {"attempts": 0, "acknowledged": 0, "delivered": 0, "failed": 0, "dead": 0, "rejected": 0}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._client = None
        self.leader = False
        self.ready = False              # in-doubt recovery done, delivering

    # -- control ---------------------------------------------------------------------------------------------
    def wake(self) -> None:
        """Thread-safe: new work is queued."""
        if self._loop is not None and self._wake is not None:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:
                pass

    def backoff(self, route_id: str, attempt: int) -> float:
        d = self.cfg.delivery
        r = self.cfg.routes.get(route_id)
        ep = self.cfg.endpoints.get(r.endpoint) if r else None
        initial = ep.backoff if ep and ep.backoff is not None else d.backoff_initial
        cap = ep.backoff_max if ep and ep.backoff_max is not None else d.backoff_max
        base = min(cap, initial * (d.backoff_factor ** max(0, attempt - 1)))
        return max(0.0, base * (1 + self.rng.uniform(-d.jitter, d.jitter)))

    async def run_when_leader(self, lock_path) -> None:
        """Run the worker only while this process holds the delivery lock (an flock on a file next to the
        store): one delivery worker per store, whatever the number of server processes. In-doubt recovery runs
        when the lock is taken, so it can never requeue a delivery another live process is sending. A process
        that does not get the lock only accepts, and tries again every second (it takes over if the holder
        dies: the kernel releases the lock)."""
        if lock_path is None:
            return await self.run()
        import fcntl
        import os
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while not self._stopping:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    await asyncio.sleep(1.0)
                    continue
                self.leader = True
                try:
                    return await self.run()
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    self.leader = False
        finally:
            os.close(fd)

    async def run(self) -> None:
        from .http11 import Http11Pool
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.in_doubt = await asyncio.to_thread(self.store.recover_in_doubt, self.clock())
        self.ready = True
        if self.in_doubt:
            log.warning("%d delivery(ies) were in flight when the hub stopped; resending under the same "
                        "idempotency key: %s", len(self.in_doubt), ", ".join(x["delivery_id"] for x in self.in_doubt))
        # plain http:// endpoints go through a small keep-alive HTTP/1.1 client (routing.http11: httpx cost
        # ~1.5 ms of event-loop CPU per delivery); https:// through its httpx fallback client
        async with Http11Pool(max_idle=self.max_in_flight) as client:
            self._client = client
            while not self._stopping:
                self._wake.clear()          # before the tick: a wake while it runs is not lost
                try:
                    await self._tick()
                except Exception:  # noqa: BLE001 - the worker must survive a bad row or a store hiccup
                    log.exception("delivery worker tick failed")
                    await asyncio.sleep(self.cfg.delivery.poll_interval)
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.cfg.delivery.poll_interval)
                except asyncio.TimeoutError:
                    pass
            if self.in_flight:
                await asyncio.wait(self.in_flight, timeout=self.cfg.delivery.timeout + 1)
            if self._done:                   # answers that came in: recorded before stopping
                done, self._done = self._done, []
                await asyncio.to_thread(self._record_each, done)

    async def stop(self) -> None:
        self._stopping = True
        if self._wake is not None:
            self._wake.set()

    async def _tick(self) -> None:
        """Record the outcomes that came in since the last tick and claim what is due, in one store call (one
        transaction on SQLite): a delivery costs one claim and one outcome write, batched with the others."""
        done, self._done = self._done, []
        free = self.max_in_flight - len(self.in_flight)
        if free <= 0 and not done:
            return
        try:
            states, claimed = await asyncio.to_thread(self.store.settle, done, self.clock(), self.limits,
                                                      dict(self.busy), max(0, free))
        except Exception:
            if done:                        # nothing was recorded: record them one by one (a bad one alone)
                await asyncio.to_thread(self._record_each, done)
            raise
        self._count(states)
        for c in claimed:
            self.busy[c.route] = self.busy.get(c.route, 0) + 1
            t = asyncio.create_task(self._attempt(c))
            self.in_flight.add(t)
            t.add_done_callback(self.in_flight.discard)

    def _count(self, states) -> None:
        for new in states:
            key = "dead" if new == S.CANCELLED else new
            if key in self.stats:
                self.stats[key] += 1

    def _record_each(self, done: list) -> None:
        """Fallback when a batch of outcomes could not be written: each alone; one that still fails is recorded
        as a retryable internal failure (its claim is never lost)."""
        for cl, now, outcome, kw in done:
            try:
                self._count([self.store.finish_attempt(cl, now, outcome, **kw)])
            except Exception as e:  # noqa: BLE001
                log.exception("recording the outcome of delivery %s attempt %d failed", cl.delivery_id, cl.attempt)
                try:
                    self._count([self.store.finish_attempt(cl, now, S.FAILED, error=f"internal error: {e}",
                                                           next_at=now + self.backoff(cl.route, cl.attempt))])
                except Exception:  # noqa: BLE001 - the store is down: it stays `sending`, in doubt at restart
                    log.exception("delivery %s attempt %d stays in doubt", cl.delivery_id, cl.attempt)

    # -- one attempt -----------------------------------------------------------------------------------------
    async def _attempt(self, c: Claimed) -> None:
        """Send, then queue the outcome for the next tick (the delivery stays `sending` in the store until it is
        recorded, so it cannot be claimed twice)."""
        try:
            ep = self.endpoints[c.endpoint]
            self.stats["attempts"] += 1
            resp = await self.deliver(ep, c.payload, message_id=c.message_id, idempotency_key=c.delivery_id,
                                      client=self._client, timeout=getattr(ep, "timeout", None))
            if self.receipts is not None or self.translate_back is not None:
                outcome = await asyncio.to_thread(self._outcome, c, resp)     # signing / translating: off the loop
            else:
                outcome = self._outcome(c, resp)
        except Exception as e:  # noqa: BLE001 - record as a retryable failure rather than lose the claim
            log.exception("delivery %s attempt %d crashed", c.delivery_id, c.attempt)
            now = self.clock()
            outcome = (c, now, S.FAILED, {"error": f"internal error: {e}",
                                           "next_at": now + self.backoff(c.route, c.attempt)})
        finally:
            self.busy[c.route] -= 1
        self._done.append(outcome)
        self._wake.set()

    def _outcome(self, c: Claimed, resp) -> tuple:
        """-> (claimed, now, outcome state, finish_attempt keyword arguments) for an endpoint's answer."""
        now = self.clock()
        outcome = getattr(resp, "outcome", None)
        info = resp.to_dict() if hasattr(resp, "to_dict") else None
        if isinstance(info, dict):
            info.pop("body", None)          # the body is stored as bytes next to it
        kw = dict(status=None if resp.status is None else str(resp.status), response=resp.body or None,
                  response_info=info)
        if resp.ok and getattr(resp, "correlated", True) is False:
            # the answer is about another message: not a receipt for ours; retry under the same key
            retry = c.attempt < c.max_attempts
            return (c, now, S.FAILED, dict(kw, error=resp.error or "uncorrelated answer",
                                           next_at=now + self.backoff(c.route, c.attempt) if retry else None))
        if resp.ok:
            if outcome is not None and not outcome.accepted:
                err = "refused by the authority: " + (
                    "; ".join(f"{a} {b}" for a, b in outcome.messages) or str(outcome.status))
                return (c, now, S.REJECTED, dict(kw, error=err))
            state = S.ACKNOWLEDGED if outcome is not None and outcome.accepted else S.DELIVERED
            receipt = ev = back = None
            if self.receipts is not None:
                try:
                    receipt, ev = self.receipts.make(message_id=c.message_id, delivery_id=c.delivery_id,
                                                     route=c.route, endpoint=c.endpoint, state=state,
                                                     payload=c.payload, response=resp.body, status=resp.status,
                                                     outcome=outcome.to_dict() if outcome is not None else None,
                                                     now=now)
                except Exception:  # noqa: BLE001 - a receipt problem must not lose the delivery outcome
                    log.exception("receipt for %s failed", c.delivery_id)
            if self.translate_back is not None and outcome is not None and outcome.document_root is not None:
                back = self.translate_back(c, outcome.document_root)
            return (c, now, state, dict(kw, receipt=receipt, receipt_evidence=ev, back=back))
        retry = bool(getattr(resp, "retryable", False)) and c.attempt < c.max_attempts
        return (c, now, S.FAILED, dict(kw, error=resp.error or "not delivered",
                                       next_at=now + self.backoff(c.route, c.attempt) if retry else None))
