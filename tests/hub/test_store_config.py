"""SQLite specifics of the store (migrations recorded once, WAL mode) and the configuration (the demo file loads;
every mistake names its key). Every Store method, on both backends, is tested in tests/store/test_store.py."""
from __future__ import annotations

import pytest

from routing.config import ConfigError, load_config
from routing.store import SQLiteStore

from hubkit import ROOT


def test_migrations_are_recorded_and_idempotent(tmp_path):
    a = SQLiteStore(tmp_path / "m.db")
    a.close()
    b = SQLiteStore(tmp_path / "m.db")           # reopening applies nothing twice
    import sqlite3
    c = sqlite3.connect(tmp_path / "m.db")
    assert [r[0] for r in c.execute("SELECT version FROM schema_version")] == [1, 2]
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    b.close()


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

