"""Choosing the backend from configuration: store.url picks SQLite or PostgreSQL; mistakes name the key."""
from __future__ import annotations

import pytest

from routing.config import ConfigError, load_config
from routing.store import SQLiteStore
from routing.store_factory import is_postgres, open_store, sqlite_path


def test_urls():
    assert is_postgres("postgresql://u@h/db") and is_postgres("postgres://h/db")
    assert not is_postgres("sqlite:///x.db")
    assert sqlite_path("sqlite:///rel/x.db", base=__import__("pathlib").Path("/base")).as_posix() == "/base/rel/x.db"
    assert sqlite_path("sqlite:////abs/x.db").as_posix() == "/abs/x.db"
    assert sqlite_path("sqlite://") is None


def test_sqlite_url_opens_sqlite(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'a.db'}", lease_seconds=5, pool_size=2)   # PG options ignored
    try:
        assert isinstance(s, SQLiteStore) and (tmp_path / "a.db").exists()
    finally:
        s.close()


def test_postgres_configuration_builds_a_postgres_runtime(tmp_path, pg_schema):
    from routing.runtime import build_runtime
    from routing.store_pg import PostgresStore
    cfg = load_config(tmp_path, env={}, text=f'[store]\nurl = "{pg_schema}"\nlease_seconds = 7\npool_size = 3\n')
    assert cfg.sqlite_path() is None
    rt = build_runtime(cfg, with_worker=False)
    try:
        assert isinstance(rt.store, PostgresStore)
        assert rt.store.lease_seconds == 7 and rt.delivery_lock is None     # no flock: leases instead
        assert rt.store.counts() == {"messages": {}, "deliveries": {}}
    finally:
        rt.store.close()


@pytest.mark.parametrize("text,where", [
    ('[store]\nlease_seconds = 0', "store.lease_seconds"),
    ('[store]\npool_size = 0', "store.pool_size"),
    ('[store]\nlease_seconds = "x"', "store.lease_seconds"),
])
def test_store_options_are_checked(tmp_path, text, where):
    with pytest.raises(ConfigError, match=where):
        load_config(tmp_path, text=text, env={})


def test_unsupported_store_url_is_a_configuration_error(tmp_path):
    cfg = load_config(tmp_path, text='[store]\nurl = "mysql://h/db"', env={})
    with pytest.raises(ConfigError, match="store.url"):
        cfg.sqlite_path()
