"""soap/limits.py: the per-partner in-flight limit and token bucket, driven by an explicit clock."""
from __future__ import annotations

import pytest

from soap.limits import LimitExceeded, LimitPolicy, PartnerLimiter


def test_burst_then_refill_at_rate():
    lim = PartnerLimiter({"a": LimitPolicy(rate_per_second=2, burst=3)})
    for _ in range(3):                       # the burst is available at once
        lim.acquire("a", 100.0)
        lim.release("a")
    with pytest.raises(LimitExceeded) as ei:
        lim.acquire("a", 100.0)
    assert ei.value.code == "rate-limited" and ei.value.retry_after == 1 and ei.value.partner == "a"
    lim.acquire("a", 100.5)                  # 0.5 s * 2/s = one token back
    lim.release("a")
    with pytest.raises(LimitExceeded):
        lim.acquire("a", 100.6)
    # a long pause refills only up to the burst
    for _ in range(3):
        lim.acquire("a", 1000.0)
        lim.release("a")
    with pytest.raises(LimitExceeded):
        lim.acquire("a", 1000.0)


def test_retry_after_rounds_up_whole_seconds():
    lim = PartnerLimiter({"slow": LimitPolicy(rate_per_second=0.2, burst=1)})
    lim.acquire("slow", 0.0)
    with pytest.raises(LimitExceeded) as ei:
        lim.acquire("slow", 1.0)             # 0.2 tokens; 4 s until the next
    assert ei.value.retry_after == 4
    lim.acquire("slow", 5.0)


def test_in_flight_limit_and_release():
    lim = PartnerLimiter({"a": LimitPolicy(max_in_flight=2)})
    lim.acquire("a", 0)
    lim.acquire("a", 0)
    with pytest.raises(LimitExceeded) as ei:
        lim.acquire("a", 0)
    assert ei.value.code == "too-many-in-flight" and ei.value.retry_after >= 1
    lim.release("a")
    assert lim.in_flight("a") == 1
    lim.acquire("a", 0)
    assert lim.in_flight("a") == 2


def test_hold_releases_on_error_and_refused_request_takes_no_token():
    lim = PartnerLimiter({"a": LimitPolicy(max_in_flight=1, rate_per_second=1, burst=2)})
    with pytest.raises(RuntimeError):
        with lim.hold("a", 0.0):
            raise RuntimeError("handler failed")
    assert lim.in_flight("a") == 0
    with lim.hold("a", 0.0):
        with pytest.raises(LimitExceeded) as ei:   # in flight: refused, and no token spent
            lim.acquire("a", 0.0)
        assert ei.value.code == "too-many-in-flight"
    assert lim.in_flight("a") == 0
    with pytest.raises(LimitExceeded) as ei:       # two tokens were spent by the two holds
        lim.acquire("a", 0.0)
    assert ei.value.code == "rate-limited"


def test_partners_are_independent_and_unknown_is_unlimited():
    lim = PartnerLimiter({"a": LimitPolicy(rate_per_second=1, burst=1), "b": LimitPolicy(rate_per_second=1, burst=1)})
    lim.acquire("a", 0.0)
    lim.acquire("b", 0.0)
    with pytest.raises(LimitExceeded):
        lim.acquire("a", 0.0)
    for _ in range(1000):
        lim.acquire("nobody", 0.0)
    assert lim.in_flight("nobody") == 0


def test_clock_going_backwards_gives_no_tokens():
    lim = PartnerLimiter({"a": LimitPolicy(rate_per_second=1, burst=1)})
    lim.acquire("a", 10.0)
    with pytest.raises(LimitExceeded):
        lim.acquire("a", 5.0)
    with pytest.raises(LimitExceeded):
        lim.acquire("a", 10.5)
    lim.acquire("a", 11.0)


def test_policy_from_partner_like_objects_and_bad_values():
    class P:
        max_in_flight, rate_per_second, burst = 3, 2.5, 0
    pol = LimitPolicy.of(P())
    assert pol == LimitPolicy(3, 2.5, 0) and pol.bucket == 3.0
    assert LimitPolicy.of(object()).unlimited
    with pytest.raises(ValueError):
        LimitPolicy(rate_per_second=-1)
    lim = PartnerLimiter.from_partners({"x": P()})
    assert lim.policy("x").max_in_flight == 3


def test_served_hub_refuses_a_partner_over_its_in_flight_limit(hostile_hub):
    """partner-flood may have 2 requests in progress: with two held, the third is refused on both channels with
    429 + Retry-After; once one finishes, the partner is served again."""
    import httpx
    from lxml import etree

    from hostilekit import FLOOD_TOKEN
    from recipes import GOOD_IDA, SAMPLES, wrap_payload
    hub = hostile_hub
    limiter = hub.server.config.app.state.limiter
    limiter.release("partner-flood")   # nothing is in flight before the test
    h = {"Authorization": f"Bearer {FLOOD_TOKEN}"}
    soap_body = wrap_payload((SAMPLES / GOOD_IDA).read_bytes(), "ValidateRequest")
    import time
    time.sleep(1.6)                     # a full bucket, whatever ran before
    limiter.acquire("partner-flood", hub.runtime.hub.clock())
    limiter.acquire("partner-flood", hub.runtime.hub.clock())
    try:
        r = httpx.post(f"{hub.url}/api/messages", content=b"<x/>", headers=h | {"Content-Type": "application/xml"})
        assert r.status_code == 429 and r.json()["error"]["code"] == "too-many-in-flight"
        assert int(r.headers["Retry-After"]) >= 1
        r = httpx.post(f"{hub.url}/soap", content=soap_body, headers=h | {"Content-Type": "text/xml"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert etree.fromstring(r.content).findtext(".//{urn:edihub:hub:1}Code") == "too-many-in-flight"
    finally:
        limiter.release("partner-flood")
        limiter.release("partner-flood")
    r = httpx.post(f"{hub.url}/soap", content=soap_body, headers=h | {"Content-Type": "text/xml"})
    assert r.status_code == 200, r.text
    assert limiter.in_flight("partner-flood") == 0
    assert "too-many-in-flight" in {x["code"] for x in hub.runtime.store.refusals(50)}
