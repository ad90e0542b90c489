"""PostgreSQL only: several store instances (hub processes) on one database - claims never overlap, leases run
out and are taken over, concurrent duplicates are accepted once, schema migrated once by instances starting
together."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from routing import states as S
from routing.store import DuplicateMessage
from routing.store_factory import open_store
from routing.store_pg import _LOCKING, split_url

from test_store import msg

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg(pg_schema):
    opened = []

    def make(**opts):
        opts.setdefault("heartbeat", False)
        s = open_store(pg_schema, **opts)
        opened.append(s)
        return s
    yield make
    for s in opened:
        s.close()


def test_every_locking_statement_is_still_used(pg, monkeypatch):
    """The PostgreSQL store adds row locks to exact statements of routing/store.py: if one is reworded there, the
    lock would silently go; this runs every write path and checks each statement was seen with its lock."""
    from routing import store_pg
    seen = set()
    orig = store_pg._Conn.execute

    def spy(self, sql, args=()):
        if self.locking and sql in _LOCKING:
            seen.add(sql)
        return orig(self, sql, args)
    monkeypatch.setattr(store_pg._Conn, "execute", spy)
    s = pg()
    s.accept(msg("M1"))
    (c,) = s.claim_due(1.0, {"r0": 1}, {}, 1)
    s.finish_attempt(c, 2.0, S.FAILED, error="x")                          # dead (no next_at)
    s.resend("M1", 3.0, 1)
    s.cancel("M1", 4.0)
    s.resend("M1", 5.0, 1)
    s.recover_in_doubt(6.0)
    s.mark_delivered_after_probe("M1-1", 7.0, "probe")
    assert seen == set(_LOCKING)


def test_schema_parameter_is_checked():
    assert split_url("postgresql://u@h:5/db?schema=a_1&sslmode=disable") == \
        ("postgresql://u@h:5/db?sslmode=disable", "a_1")
    with pytest.raises(ValueError, match="schema"):
        split_url("postgresql://u@h/db?schema=a;drop")


def test_instances_starting_together_migrate_once(pg_schema):
    with ThreadPoolExecutor(4) as ex:
        stores = list(ex.map(lambda _: open_store(pg_schema, heartbeat=False), range(4)))
    try:
        with stores[0]._read() as c:
            from routing.store import MIGRATIONS
            assert [r[0] for r in c.execute("SELECT version FROM schema_version ORDER BY version").fetchall()] \
                == [v for v, _ in MIGRATIONS]
    finally:
        for s in stores:
            s.close()


def test_concurrent_claims_never_overlap(pg):
    a, b, c = pg(), pg(), pg()
    n = 120
    for i in range(n):
        a.accept(msg(f"M{i:03}", key=f"K{i}"))
    got: list = []
    lock = threading.Lock()

    def drain(store):
        while True:
            cl = store.claim_due(5.0, {"r0": 1000}, {}, 7)
            if not cl:
                return
            with lock:
                got.extend(cl)
    with ThreadPoolExecutor(6) as ex:
        list(ex.map(drain, [a, b, c, a, b, c]))
    assert sorted(x.delivery_id for x in got) == sorted(f"M{i:03}-1" for i in range(n))
    assert {x.attempt for x in got} == {1}


def test_expired_lease_is_taken_over_and_the_old_claim_is_void(pg):
    dead, live = pg(lease_seconds=10), pg(lease_seconds=10)
    dead.accept(msg("M1"))
    (c1,) = dead.claim_due(100.0, {"r0": 1}, {}, 1)
    assert live.claim_due(105.0, {"r0": 1}, {}, 1) == []                  # lease still running
    assert live.recover_in_doubt(105.0) == []                              # a live instance keeps its claims
    (c2,) = live.claim_due(110.5, {"r0": 1}, {}, 1)                        # lease ran out at 110
    assert c2.delivery_id == "M1-1" and c2.attempt == 2
    assert dead.finish_attempt(c1, 111.0, S.DELIVERED) == S.SENDING        # too late: changes nothing
    assert live.finish_attempt(c2, 111.0, S.ACKNOWLEDGED) == S.ACKNOWLEDGED
    (d,) = live.deliveries("M1")
    assert [(x["n"], x["outcome"]) for x in d["attempt_log"]] == [(1, "in-doubt"), (2, S.ACKNOWLEDGED)]
    trail = [(x["from_state"], x["to_state"], x["detail"]) for x in live.audit("M1") if x["delivery_id"]]
    assert (S.SENDING, S.QUEUED, "attempt 1 in doubt: lease expired") in trail


def test_renewed_lease_is_not_taken_over(pg):
    owner, other = pg(lease_seconds=10), pg(lease_seconds=10)
    owner.accept(msg("M1"))
    (c1,) = owner.claim_due(100.0, {"r0": 1}, {}, 1)
    assert owner.held_claims() == [c1.claim]
    assert owner.renew_leases(owner.held_claims(), 108.0) == 1             # now runs to 118
    assert other.claim_due(115.0, {"r0": 1}, {}, 1) == []
    assert owner.finish_attempt(c1, 116.0, S.DELIVERED) == S.DELIVERED
    assert owner.held_claims() == []
    assert owner.renew_leases([c1.claim], 117.0) == 0                      # finished: nothing to renew


def test_heartbeat_thread_renews_held_claims(pg):
    clock = {"now": 100.0}
    owner = pg(lease_seconds=0.3, heartbeat=True, clock=lambda: clock["now"])
    owner.accept(msg("M1"))
    (c1,) = owner.claim_due(100.0, {"r0": 1}, {}, 1)
    clock["now"] = 500.0
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with owner._read() as c:
            if c.execute("SELECT next_at FROM deliveries WHERE id = ?", ("M1-1",)).fetchone()[0] > 500:
                break
        time.sleep(0.05)
    with owner._read() as c:
        assert c.execute("SELECT next_at FROM deliveries WHERE id = ?", ("M1-1",)).fetchone()[0] == 500.3


def test_concurrent_duplicate_submissions_are_accepted_once(pg):
    stores = [pg(pool_size=4) for _ in range(3)]
    barrier = threading.Barrier(12)

    def submit(i, rnd=None):
        s = stores[i % 3]
        barrier.wait()
        try:
            return ("accepted", s.accept(msg(f"T{i}-{rnd}", "same-client-id", f"K{i}-{rnd}")))
        except DuplicateMessage as e:
            return ("duplicate", e.existing_id)
    for _round in range(3):
        for s in stores:
            for m in s.list_messages():
                s.cancel(m["id"], 1.0)                                     # the previous round's winner
        barrier.reset()
        with ThreadPoolExecutor(12) as ex:
            res = list(ex.map(submit, range(12), [_round] * 12))
        winners = [mid for kind, mid in res if kind == "accepted"]
        assert len(winners) == 1, res
        assert {mid for kind, mid in res if kind == "duplicate"} == {winners[0]}
        assert stores[0].find_active("p", "same-client-id", None, None) == winners[0]


def test_a_claim_held_too_long_is_no_longer_renewed(pg):
    clock = {"now": 100.0}
    owner = pg(lease_seconds=0.2, heartbeat=True, clock=lambda: clock["now"], max_hold_seconds=50)
    owner.accept(msg("M1"))
    owner.claim_due(100.0, {"r0": 1}, {}, 1)
    clock["now"] = 200.0                        # held 100 s > 50 s: the worker is stuck, let another take it
    import time
    time.sleep(0.5)                             # a few heartbeat periods (0.07 s)
    with owner._read() as c:
        assert c.execute("SELECT next_at FROM deliveries WHERE id = ?", ("M1-1",)).fetchone()[0] == 100.2
    other = pg(lease_seconds=0.2)
    assert [x.delivery_id for x in other.claim_due(200.0, {"r0": 1}, {}, 1)] == ["M1-1"]
