"""Per-partner admission limits: how many messages a partner may have in flight at once, and how fast it may send
(a token bucket: `rate_per_second` tokens added per second, at most `burst` saved up).

Pure: no clock of its own (every call takes `now`, seconds as a float), no I/O. Thread-safe (one lock), because
the SOAP service runs in a thread pool. A refusal is a `LimitExceeded` with a stable code and the number of seconds
after which a retry can succeed (the HTTP `Retry-After`).

Configured per partner in edihub.toml (`[partners.<id>]` keys `max_in_flight`, `rate` (per second) and `burst`;
0 or absent = no limit of that kind). soap/app.py applies it to every authenticated request: on the HTTP API before
the body is read, on the SOAP endpoint once the caller is known (token or WS-Security), for every operation.
"""
from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    max_in_flight: int = 0          # 0 = unlimited
    rate_per_second: float = 0.0    # 0 = unlimited
    burst: int = 0                  # bucket size; 0 = max(1, ceil(rate_per_second))

    def __post_init__(self):
        if self.max_in_flight < 0 or self.rate_per_second < 0 or self.burst < 0:
            raise ValueError("limits must not be negative")

    @property
    def bucket(self) -> float:
        return float(self.burst or max(1, math.ceil(self.rate_per_second)))

    @property
    def unlimited(self) -> bool:
        return not self.max_in_flight and not self.rate_per_second

    @classmethod
    def of(cls, obj) -> "LimitPolicy":
        """From any object with (some of) the attributes max_in_flight / rate_per_second / burst (a Partner)."""
        rate = getattr(obj, "rate_per_second", None) or getattr(obj, "rate", 0) or 0   # routing.config: `rate`
        return cls(int(getattr(obj, "max_in_flight", 0) or 0), float(rate), int(getattr(obj, "burst", 0) or 0))


class LimitExceeded(Exception):
    """code: too-many-in-flight | rate-limited. retry_after: whole seconds (>= 1)."""

    def __init__(self, code: str, message: str, partner: str, retry_after: int):
        super().__init__(message)
        self.code, self.message, self.partner, self.retry_after = code, message, partner, retry_after
        self.version = "1.1"    # the SOAP version to answer in; set by the SOAP service

    def __str__(self):
        return f"{self.code}: {self.message}"


@dataclass
class _State:
    tokens: float
    last: float | None = None
    in_flight: int = 0


class PartnerLimiter:
    """Admission control for all partners. `acquire(pid, now)` admits or raises LimitExceeded; every successful
    acquire must be paired with `release(pid)` (or use `hold(pid, now)` as a context manager)."""

    def __init__(self, policies: dict[str, LimitPolicy], default: LimitPolicy = LimitPolicy()):
        self.policies = dict(policies)
        self.default = default
        self._state: dict[str, _State] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_partners(cls, partners: dict) -> "PartnerLimiter":
        return cls({pid: LimitPolicy.of(p) for pid, p in partners.items()})

    def policy(self, pid: str) -> LimitPolicy:
        return self.policies.get(pid, self.default)

    def _st(self, pid: str, pol: LimitPolicy) -> _State:
        st = self._state.get(pid)
        if st is None:
            st = self._state[pid] = _State(tokens=pol.bucket)
        return st

    def acquire(self, pid: str, now: float) -> None:
        pol = self.policy(pid)
        if pol.unlimited:
            return
        with self._lock:
            st = self._st(pid, pol)
            if pol.max_in_flight and st.in_flight >= pol.max_in_flight:
                raise LimitExceeded("too-many-in-flight",
                                    f"partner {pid} already has {st.in_flight} message(s) in progress (limit "
                                    f"{pol.max_in_flight}); retry when one is answered", pid, 1)
            if pol.rate_per_second:
                if st.last is not None and now > st.last:
                    st.tokens = min(pol.bucket, st.tokens + (now - st.last) * pol.rate_per_second)
                if st.last is None or now > st.last:
                    st.last = now
                if st.tokens < 1.0:
                    wait = (1.0 - st.tokens) / pol.rate_per_second
                    raise LimitExceeded("rate-limited",
                                        f"partner {pid} sends faster than {pol.rate_per_second:g} message(s) per "
                                        f"second (burst {pol.bucket:g}); retry in {wait:.2f} s", pid,
                                        max(1, math.ceil(wait)))
                st.tokens -= 1.0
            st.in_flight += 1

    def release(self, pid: str) -> None:
        with self._lock:
            st = self._state.get(pid)
            if st is not None and st.in_flight > 0:
                st.in_flight -= 1

    @contextlib.contextmanager
    def hold(self, pid: str, now: float):
        self.acquire(pid, now)
        counted = not self.policy(pid).unlimited
        try:
            yield
        finally:
            if counted:
                self.release(pid)

    def in_flight(self, pid: str) -> int:
        st = self._state.get(pid)
        return st.in_flight if st else 0
