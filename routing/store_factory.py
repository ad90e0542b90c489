"""Open the message store named by a store URL: `sqlite:///path` (or `sqlite://` in memory) -> SQLiteStore,
`postgresql://user@host:port/db[?schema=name]` -> PostgresStore (several hub instances may share it).

    open_store("sqlite:///var/edihub.db", synchronous="FULL")
    open_store("postgresql://edihub@db:5432/edihub?schema=hub", lease_seconds=30, pool_size=8)

Options a backend does not use are ignored (so one call serves both); a URL of another kind raises ValueError
naming it.
"""
from __future__ import annotations

from pathlib import Path

from .store import SQLiteStore, Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def sqlite_path(url: str, base: Path | None = None) -> Path | None:
    """The file of a sqlite URL (relative paths against `base`); None for an in-memory store."""
    if url in ("sqlite://", "sqlite://:memory:"):
        return None
    if url.startswith("sqlite:///"):
        rest = url[len("sqlite:///"):]
        p = Path(rest)
        return p if p.is_absolute() or base is None else base / p
    raise ValueError(f"not a sqlite store URL: {url!r}")


def open_store(url: str, *, base: Path | None = None, synchronous: str = "FULL", lease_seconds: float = 30.0,
               pool_size: int = 8, **pg_opts) -> Store:
    if url.startswith("sqlite:"):
        return SQLiteStore(sqlite_path(url, base), synchronous)
    if is_postgres(url):
        from .store_pg import PostgresStore
        if url.startswith("postgresql+psycopg://"):
            url = "postgresql://" + url[len("postgresql+psycopg://"):]
        return PostgresStore(url, lease_seconds=lease_seconds, pool_size=pool_size, **pg_opts)
    raise ValueError(f"store.url: unsupported store {url!r} (sqlite:///path or postgresql://user@host/db)")
