"""Fixtures for the store suite: every test runs on SQLite and on PostgreSQL (a fresh schema per test, dropped
after). PostgreSQL tests skip, saying why, when the server is unreachable; set EDIHUB_TEST_PG to use another one."""
from __future__ import annotations

import os
import uuid

import pytest

PG_URL = os.environ.get("EDIHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_unreachable() -> str | None:
    try:
        import psycopg
        with psycopg.connect(PG_URL, connect_timeout=3) as c:
            c.execute("SELECT 1")
    except Exception as e:  # noqa: BLE001 - the reason is the skip message
        return f"PostgreSQL not reachable at {PG_URL}: {type(e).__name__}: {str(e).strip()[:200]}"
    return None


@pytest.fixture
def pg_schema():
    """A store URL on a fresh PostgreSQL schema; the schema is dropped after the test."""
    why = pg_unreachable()
    if why:
        pytest.skip(why)
    import psycopg
    name = "edihub_test_" + uuid.uuid4().hex[:12]
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}schema={name}"
    with psycopg.connect(PG_URL, autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_schema")


@pytest.fixture
def open_(store_url):
    """open_(**opts) -> a store on this test's URL (several may be open at once: several instances)."""
    from routing.store_factory import open_store
    opened = []

    def make(**opts):
        s = open_store(store_url, **opts)
        opened.append(s)
        return s
    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(open_):
    return open_()
