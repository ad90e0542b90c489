"""Readiness (/readyz): can this hub process do its job right now? (/healthz, in soap/app.py, says it runs.)

Checks: the store answers a query; the validator has its schemas (message types registered); every configured
signing section has its key loaded; the process is not shutting down (delivery worker stopping).
"""
from __future__ import annotations

from . import queries


def readiness(runtime) -> tuple[bool, dict]:
    checks = {}
    try:
        queries.ping(runtime.store)
        checks["store"] = {"ok": True}
    except Exception as e:  # noqa: BLE001 - reported, not raised
        checks["store"] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    types = getattr(getattr(runtime.validator, "registry", None), "types", None) or {}
    checks["schemas"] = {"ok": bool(types), "message_types": len(types)}
    if not types:
        checks["schemas"]["error"] = "no message types loaded (xsd/ missing or unreadable)"
    wanted = set(runtime.cfg.signing)
    loaded = set(getattr(runtime.pipeline, "signers", {}) or {})
    missing = sorted(wanted - loaded)
    checks["keys"] = {"ok": not missing, "loaded": sorted(wanted & loaded)}
    if missing:
        checks["keys"]["error"] = "signing section(s) without a loaded key: " + ", ".join(missing)
    w = runtime.worker
    if w is not None:
        started = getattr(w, "_loop", None) is not None
        stopping = bool(getattr(w, "_stopping", False))
        # a process whose worker was not started can still take messages (another process delivers them);
        # one whose worker is stopping is shutting down and should get no new traffic
        checks["worker"] = {"ok": not stopping, "started": started, "stopping": stopping}
        if stopping:
            checks["worker"]["error"] = "the hub is shutting down"
    return all(c["ok"] for c in checks.values()), checks
