"""The store (transitions with their audit rows, duplicates, claims, recovery, resend) and the configuration
(the demo file loads; every mistake names its key)."""
from __future__ import annotations

import pytest

from routing import states as S
from routing.config import ConfigError, load_config
from routing.store import DuplicateMessage, NewDelivery, NewMessage, SQLiteStore

from hubkit import ROOT


def msg(mid, client_id=None, key=None, state=S.QUEUED, n_deliveries=1):
    return NewMessage(mid, "p", client_id, "vnaccs:IDA", key, b"<x/>", "sha256:0", state,
                      [(None, S.RECEIVED, 1.0, ""), (S.RECEIVED, state, 1.0, "")],
                      deliveries=[NewDelivery(f"r{i}", "vnaccs:IDA", "e", 2, b"<y/>") for i in range(n_deliveries)])


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "s.db")
    yield s
    s.close()


def test_migrations_are_recorded_and_idempotent(tmp_path):
    a = SQLiteStore(tmp_path / "m.db")
    a.close()
    b = SQLiteStore(tmp_path / "m.db")           # reopening applies nothing twice
    import sqlite3
    c = sqlite3.connect(tmp_path / "m.db")
    assert [r[0] for r in c.execute("SELECT version FROM schema_version")] == [1, 2]
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    b.close()


def test_duplicates_only_among_active_messages(store):
    store.accept(msg("M1", "c1", "K1"))
    with pytest.raises(DuplicateMessage) as e:
        store.accept(msg("M2", "c1", "K2"))
    assert e.value.existing_id == "M1"
    with pytest.raises(DuplicateMessage):
        store.accept(msg("M3", "c9", "K1"))
    store.accept(msg("R1", "r", "KR", state=S.REJECTED, n_deliveries=0))
    store.accept(msg("R2", "r", "KR", state=S.REJECTED, n_deliveries=0))   # rejected ones never block
    store.accept(msg("R3", "r", "KR"))
    assert store.find_active("p", "r", "vnaccs:IDA", None) == "R3"


def test_claim_finish_retry_dead_resend_with_audit(store):
    store.accept(msg("M1", n_deliveries=2))
    got = store.claim_due(10.0, {"r0": 1, "r1": 1}, {}, 10)
    assert sorted(c.route for c in got) == ["r0", "r1"]
    assert store.claim_due(10.0, {"r0": 1, "r1": 1}, {}, 10) == []        # nothing due twice
    a, b = sorted(got, key=lambda c: c.route)
    assert store.finish_attempt(a, 11.0, S.ACKNOWLEDGED, status="200", response=b"ok") == S.ACKNOWLEDGED
    assert store.finish_attempt(b, 11.0, S.FAILED, error="HTTP 500", next_at=12.0) == S.FAILED
    assert store.message("M1")["state"] == S.FAILED
    assert store.claim_due(11.5, {"r1": 1}, {}, 10) == []                 # not due before next_at
    (b2,) = store.claim_due(12.0, {"r0": 1, "r1": 1}, {}, 10)
    assert b2.attempt == 2
    assert store.finish_attempt(b2, 13.0, S.FAILED, error="HTTP 500", next_at=14.0) == S.DEAD   # max 2
    assert store.message("M1")["state"] == S.DEAD
    # a stale claim changes nothing
    assert store.finish_attempt(b, 13.5, S.DELIVERED) == S.DEAD
    assert store.resend("M1", 15.0, 2) == ["M1-2"]
    assert store.message("M1")["state"] == S.QUEUED
    trail = [(x["delivery_id"], x["from_state"], x["to_state"]) for x in store.audit("M1")]
    assert ("M1-2", S.SENDING, S.DEAD) in trail and ("M1-2", S.DEAD, S.QUEUED) in trail
    assert (None, S.DEAD, S.QUEUED) in trail


def test_cancel_during_an_attempt_ends_cancelled(store):
    store.accept(msg("M1"))
    (c,) = store.claim_due(1.0, {"r0": 1}, {}, 1)
    assert store.cancel("M1", 1.5) == ["M1-1"]
    assert store.finish_attempt(c, 2.0, S.FAILED, error="HTTP 500", next_at=3.0) == S.CANCELLED
    assert store.message("M1")["state"] == S.CANCELLED
    assert store.claim_due(5.0, {"r0": 1}, {}, 1) == []


def test_recover_in_doubt(store):
    store.accept(msg("M1"))
    (c,) = store.claim_due(1.0, {"r0": 4}, {}, 4)
    found = store.recover_in_doubt(2.0)
    assert found == [{"delivery_id": "M1-1", "message_id": "M1", "attempt": 1}]
    (c2,) = store.claim_due(2.0, {"r0": 4}, {}, 4)
    assert c2.delivery_id == "M1-1" and c2.attempt == 2 and c2.claim != c.claim
    assert store.finish_attempt(c, 3.0, S.DELIVERED) == S.SENDING   # the old claim is void


def test_demo_configuration_loads():
    cfg = load_config(ROOT / "edihub.toml", env={})
    assert cfg.server.port == 8080 and cfg.server.demo_endpoints
    assert {r.target for r in cfg.routes.values()} >= {"vnaccs:IDA", "siveca:Registration"}
    assert cfg.partners[cfg.demo_partner].token is None          # no secret in the file


@pytest.mark.parametrize("text,where", [
    ("[server]\nport = 'x'", "server.port"),
    ("[server]\nbogus = 1", "server: unknown key"),
    ("[nonsense]\na = 1", "unknown section"),
    ("[endpoints.e]\nkind = 'ftp'", "endpoints.e.kind"),
    ("[endpoints.e]\nkind = 'soap'", "endpoints.e.url"),
    ("[endpoints.e]\nkind = 'soap'\nurl='http://x'\n[routes.r]\ntarget='a:b'\nendpoint='nope'", "routes.r.endpoint"),
    ("[endpoints.e]\nkind = 'soap'\nurl='http://x'\n[routes.r]\ntarget='a:b'\nendpoint='e'\nprofile='s'",
     "routes.r.profile"),
    ("[endpoints.e]\nkind = 'soap'\nurl='http://x'\n[routes.r]\ntarget='a:b'\nendpoint='e'\nmatch={colour='red'}",
     "routes.r.match"),
    ("[partners.p]\nroutes = ['zz']", "partners.p.routes"),
    ("[store]\nsynchronous = 'OFF'", "store.synchronous"),
])
def test_configuration_errors_name_the_key(tmp_path, text, where):
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path, text=text, env={})
    assert where in str(e.value)

