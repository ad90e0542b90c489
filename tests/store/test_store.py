"""Every Store method, on both backends (SQLite and PostgreSQL: see conftest.py). The same assertions must hold on
both; PostgreSQL-only behaviour (leases, several instances) is in test_pg_instances.py."""
from __future__ import annotations

import pytest

from routing import states as S
from routing.store import DuplicateMessage, NewDelivery, NewMessage
from routing.store_factory import open_store

LIMITS = {"r0": 4, "r1": 4}


def msg(mid, client_id=None, key=None, state=S.QUEUED, n_deliveries=1, partner="p", at=1.0):
    return NewMessage(mid, partner, client_id, "vnaccs:IDA", key, b"<x/>", "sha256:0", state,
                      [(None, S.RECEIVED, at, "received"), (S.RECEIVED, state, at, "")],
                      validation={"ok": state != S.REJECTED}, hints={"h": 1},
                      error="bad" if state == S.REJECTED else None,
                      deliveries=[NewDelivery(f"r{i}", "vnaccs:IDA", "e", 2, b"<y%d/>" % i, report={"i": i},
                                              evidence={"signed": True}) for i in range(n_deliveries)])


def test_migrations_recorded_once(store_url):
    a = open_store(store_url)
    a.close()
    b = open_store(store_url)                      # reopening applies nothing twice
    try:
        with b._read() as c:
            versions = [r[0] for r in c.execute("SELECT version FROM schema_version ORDER BY version").fetchall()]
        from routing.store import MIGRATIONS
        assert versions == [v for v, _ in MIGRATIONS]
    finally:
        b.close()


def test_accept_and_read_back(store):
    assert store.accept(msg("M1", "c1", "K1", n_deliveries=2)) == "M1"
    m = store.message("M1")
    assert m["state"] == S.QUEUED and m["partner"] == "p" and bytes(m["inbound"]) == b"<x/>"
    assert m["active"] == 1 and m["created_at"] == 1.0
    assert store.message("nope") is None
    ds = store.deliveries("M1")
    assert [(d["id"], d["route"], d["state"], d["attempts"], d["attempt_log"]) for d in ds] == [
        ("M1-1", "r0", S.QUEUED, 0, []), ("M1-2", "r1", S.QUEUED, 0, [])]
    docs = store.documents("M1", "outbound")
    assert [(bytes(d["data"]), d["report"], d["evidence"]) for d in docs] == [
        (b"<y0/>", {"i": 0}, {"signed": True}), (b"<y1/>", {"i": 1}, {"signed": True})]
    assert store.documents("M1", "receipt") == []
    trail = [(x["delivery_id"], x["from_state"], x["to_state"]) for x in store.audit("M1")]
    assert trail == [(None, None, S.RECEIVED), (None, S.RECEIVED, S.QUEUED), ("M1-1", None, S.QUEUED),
                     ("M1-2", None, S.QUEUED)]
    assert store.counts() == {"messages": {S.QUEUED: 1}, "deliveries": {S.QUEUED: 2}}


def test_duplicates_only_among_active_messages(store):
    store.accept(msg("M1", "c1", "K1"))
    with pytest.raises(DuplicateMessage) as e:
        store.accept(msg("M2", "c1", "K2"))
    assert e.value.existing_id == "M1"
    with pytest.raises(DuplicateMessage) as e:
        store.accept(msg("M3", "c9", "K1"))
    assert e.value.existing_id == "M1"
    store.accept(msg("M4", "c1", "K1", partner="other"))         # another partner's keys are its own
    store.accept(msg("R1", "r", "KR", state=S.REJECTED, n_deliveries=0))
    store.accept(msg("R2", "r", "KR", state=S.REJECTED, n_deliveries=0))   # rejected ones never block
    store.accept(msg("R3", "r", "KR"))
    assert store.find_active("p", "r", "vnaccs:IDA", None) == "R3"
    assert store.find_active("p", None, "vnaccs:IDA", "K1") == "M1"
    assert store.find_active("p", "zz", "vnaccs:IDA", "zz") is None
    assert store.message("M2") is None and store.message("R1")["state"] == S.REJECTED


def test_list_messages_filters_and_pages(store):
    for i in range(5):
        store.accept(msg(f"M{i}", key=f"K{i}", at=10.0 + i, partner="a" if i % 2 else "b"))
    store.accept(msg("X", state=S.REJECTED, n_deliveries=0, at=20.0))
    assert [m["id"] for m in store.list_messages()] == ["X", "M4", "M3", "M2", "M1", "M0"]
    assert [m["id"] for m in store.list_messages(partner="a")] == ["M3", "M1"]
    assert [m["id"] for m in store.list_messages(state=S.REJECTED)] == ["X"]
    assert [m["id"] for m in store.list_messages(since=11.0, until=13.0)] == ["M2", "M1"]
    assert [m["id"] for m in store.list_messages(business_key="K2", format="vnaccs:IDA")] == ["M2"]
    assert [m["id"] for m in store.list_messages(limit=2, offset=1)] == ["M4", "M3"]


def test_refusals_and_documents(store):
    store.record_refusal(at=5.0, channel="http", code="auth-failed", reason="bad token", partner="p",
                         remote="127.0.0.1", size=12, digest="sha256:1")
    store.record_refusal(at=6.0, channel="soap", code="too-large", reason="100% over")
    r = store.refusals()
    assert [(x["code"], x["reason"], x["size"]) for x in r] == [("too-large", "100% over", None),
                                                               ("auth-failed", "bad token", 12)]
    assert len(store.refusals(limit=1)) == 1
    store.accept(msg("M1"))
    store.add_document("M1", "M1-1", "note", "x:y", b"\x00\xffbytes", 7.0, report={"a": 1})
    (d,) = store.documents("M1", "note")
    assert bytes(d["data"]) == b"\x00\xffbytes" and d["report"] == {"a": 1} and d["evidence"] is None
    assert len(store.documents("M1")) == 2


def test_claim_finish_retry_dead_resend_with_audit(store):
    store.accept(msg("M1", n_deliveries=2))
    got = store.claim_due(10.0, {"r0": 1, "r1": 1}, {}, 10)
    assert sorted(c.route for c in got) == ["r0", "r1"]
    assert all(bytes(c.payload).startswith(b"<y") and c.attempt == 1 for c in got)
    assert store.claim_due(10.0, {"r0": 1, "r1": 1}, {}, 10) == []        # nothing due twice
    a, b = sorted(got, key=lambda c: c.route)
    assert store.finish_attempt(a, 11.0, S.ACKNOWLEDGED, status="200", response=b"ok",
                                response_info={"status": 200}, receipt=b"<r/>", receipt_evidence={"x": 1},
                                back=("vnaccs:IDC", b"<b/>", {"rep": 1})) == S.ACKNOWLEDGED
    assert store.finish_attempt(b, 11.0, S.FAILED, error="HTTP 500", next_at=12.0) == S.FAILED
    assert store.message("M1")["state"] == S.FAILED
    assert bytes(store.last_response(a.delivery_id)["response"]) == b"ok"
    assert store.last_response(b.delivery_id) is None
    assert [bytes(d["data"]) for d in store.documents("M1", "receipt")] == [b"<r/>"]
    assert [(d["format"], d["report"]) for d in store.documents("M1", "back")] == [("vnaccs:IDC", {"rep": 1})]
    assert store.claim_due(11.5, {"r1": 1}, {}, 10) == []                 # not due before next_at
    (b2,) = store.claim_due(12.0, {"r0": 1, "r1": 1}, {}, 10)
    assert b2.attempt == 2
    assert store.finish_attempt(b2, 13.0, S.FAILED, error="HTTP 500", next_at=14.0) == S.DEAD   # max 2
    assert store.message("M1")["state"] == S.DEAD and store.message("M1")["active"] == 0
    assert store.finish_attempt(b, 13.5, S.DELIVERED) == S.DEAD           # a stale claim changes nothing
    log = {d["id"]: d["attempt_log"] for d in store.deliveries("M1")}
    assert [(x["n"], x["outcome"], x["error"]) for x in log["M1-2"]] == [(1, S.FAILED, "HTTP 500"),
                                                                         (2, S.FAILED, "HTTP 500")]
    assert log["M1-1"][0]["response_info"] == {"status": 200}
    assert store.resend("M1", 15.0, 2) == ["M1-2"]
    assert store.message("M1")["state"] == S.QUEUED
    trail = [(x["delivery_id"], x["from_state"], x["to_state"]) for x in store.audit("M1")]
    assert ("M1-2", S.SENDING, S.DEAD) in trail and ("M1-2", S.DEAD, S.QUEUED) in trail
    assert (None, S.DEAD, S.QUEUED) in trail
    with pytest.raises(KeyError):
        store.resend("nope", 16.0)


def test_route_limits_and_busy(store):
    for i in range(3):
        store.accept(msg(f"M{i}", key=f"K{i}"))
    assert len(store.claim_due(5.0, {"r0": 2}, {}, 10)) == 2
    assert store.claim_due(5.0, {"r0": 2}, {"r0": 2}, 10) == []           # busy counts against the limit
    assert len(store.claim_due(5.0, {"r0": 2}, {"r0": 1}, 10)) == 1


def test_resend_refused_when_keys_are_taken_again(store):
    store.accept(msg("M1", "c1"))
    store.cancel("M1", 2.0)
    assert store.message("M1")["state"] == S.CANCELLED
    store.accept(msg("M2", "c1"))                                          # allowed: M1 is inactive
    with pytest.raises(DuplicateMessage) as e:
        store.resend("M1", 3.0)
    assert e.value.existing_id == "M2"


def test_cancel_during_an_attempt_ends_cancelled(store):
    store.accept(msg("M1"))
    (c,) = store.claim_due(1.0, {"r0": 1}, {}, 1)
    assert store.cancel("M1", 1.5) == ["M1-1"]
    assert store.finish_attempt(c, 2.0, S.FAILED, error="HTTP 500", next_at=3.0) == S.CANCELLED
    assert store.message("M1")["state"] == S.CANCELLED
    assert store.claim_due(5.0, {"r0": 1}, {}, 1) == []


def test_recover_in_doubt_and_probe(store):
    store.accept(msg("M1"))
    store.accept(msg("M2", key="K2"))
    c1, c2 = store.claim_due(1.0, {"r0": 4}, {}, 4)
    later = 1.0 + getattr(store, "lease_seconds", 0) + 1                    # PostgreSQL: after the lease
    found = store.recover_in_doubt(later)
    assert sorted(x["delivery_id"] for x in found) == ["M1-1", "M2-1"]
    assert all(x["attempt"] == 1 for x in found)
    assert store.deliveries("M1")[0]["attempt_log"][0]["outcome"] == "in-doubt"
    store.mark_delivered_after_probe("M2-1", later, "endpoint has it")
    assert store.message("M2")["state"] == S.DELIVERED
    store.mark_delivered_after_probe("M2-1", later, "again")              # not queued any more: no change
    (c3,) = store.claim_due(later, {"r0": 4}, {}, 4)
    assert c3.delivery_id == "M1-1" and c3.attempt == 2 and c3.claim != c1.claim
    assert store.finish_attempt(c1, later + 1, S.DELIVERED) == S.SENDING   # the old claim is void
    assert store.finish_attempt(c3, later + 1, S.DELIVERED) == S.DELIVERED


def test_unsupported_url_names_it():
    with pytest.raises(ValueError, match="mysql://x"):
        open_store("mysql://x")


def test_console_queries_work_on_both(store):
    """The console and /metrics read the store with its own SQL (console/queries.py): same answers on both."""
    from console import queries as Q
    store.accept(msg("M1", "c1", "K1", at=5.0))
    store.accept(msg("M2", "c2", "K2", at=6.0))
    (c,) = store.claim_due(7.0, {"r0": 1}, {}, 1)
    store.finish_attempt(c, 8.0, S.ACKNOWLEDGED, status="200", response=b"ok", response_info={"ref": "AB_1%"})
    rows, total, counts = Q.search(store, Q.Filters(format="vnaccs"))
    assert total == 2 and [r["id"] for r in rows] == ["M2", "M1"] and sum(counts.values()) == 2
    assert Q.search(store, Q.Filters(q="K2"))[1] == 1
    assert Q.search(store, Q.Filters(q="AB_1%"))[1] == 1                 # found in a response, % and _ literal
    assert Q.search(store, Q.Filters(q="AB_12"))[1] == 0
    assert Q.formats(store) == ["vnaccs:IDA"]
    assert Q.attempt_responses(store, c.delivery_id)[1][0] == b"ok"
    assert Q.route_figures(store) and Q.metric_rows(store)
    Q.ping(store)
    Q.note_action(store, "M1", 9.0, "looked at")
    assert store.audit("M1")[-1]["detail"] == "looked at"
