"""What the console and /metrics read from (and the two small writes they make to) the message store.

The hub's Store interface covers the hub's needs (list by exact filters, one message's rows, resend); the console
also needs search with totals, per-route figures and aggregate counts. They are plain, portable SQL run through
the store's own connection helpers (`_read()` for reads, `_tx()` for a write with its audit row), so they see
exactly what the hub sees and work with several hub processes on one database.
Writes: `note_action` (an audit row naming the console user, through the store's writer); cancel is the
store's own `cancel(message_id, now, detail)`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from routing import states as S

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Filters:
    state: str | None = None
    partner: str | None = None
    format: str | None = None          # "prc:DecMessage" or a family "prc"
    route: str | None = None
    since: float | None = None
    until: float | None = None
    q: str | None = None               # message id, partner message id, business key (declaration number),
                                       # or an authority reference (CID, VNACCS number) from an endpoint answer


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


MAX_MATCHES = 500


def _matching_ids(c, q: str) -> set[str]:
    """Messages a search term names: its id, the partner's message id, the business key (declaration number),
    or an authority reference in an endpoint answer (JSON string value, exact)."""
    q = q.strip()
    ids = {r[0] for r in c.execute("SELECT id FROM messages WHERE id = ? OR client_msg_id = ? OR business_key = ?",
                                   (q, q, q))}
    pattern = '%"' + _like_escape(json.dumps(q, ensure_ascii=False)[1:-1]) + '"%'
    ids |= {r[0] for r in c.execute("SELECT DISTINCT d.message_id FROM attempts a JOIN deliveries d ON "
                                    "d.id = a.delivery_id WHERE a.response_info LIKE ? ESCAPE '\\'", (pattern,))}
    return ids


def _where(f: Filters, with_state: bool = True, matching_ids=None) -> tuple[str, list]:
    where, args = [], []
    if with_state and f.state:
        where.append("m.state = ?")
        args.append(f.state)
    if f.partner:
        where.append("m.partner = ?")
        args.append(f.partner)
    if f.format:
        if ":" in f.format:
            where.append("m.format = ?")
            args.append(f.format)
        else:
            where.append("m.format LIKE ? ESCAPE '\\'")
            args.append(_like_escape(f.format) + ":%")
    if f.route:
        where.append("EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.route = ?)")
        args.append(f.route)
    if f.since is not None:
        where.append("m.created_at >= ?")
        args.append(f.since)
    if f.until is not None:
        where.append("m.created_at < ?")
        args.append(f.until)
    if f.q is not None:
        ids = list(matching_ids)[:MAX_MATCHES] if matching_ids else []
        if not ids:
            where.append("1 = 0")
        else:
            where.append(f"m.id IN ({','.join('?' * len(ids))})")
            args += ids
    return (" WHERE " + " AND ".join(where)) if where else "", args


def _rows(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def search(store, f: Filters, limit: int = 50, offset: int = 0) -> tuple[list[dict], int, dict]:
    """(rows newest first with a `deliveries` summary, total matching, counts per state under the other filters)."""
    with store._read() as c:
        ids = _matching_ids(c, f.q) if f.q else None
        w, args = _where(f, matching_ids=ids)
        ws, args_s = _where(f, with_state=False, matching_ids=ids)
        total = c.execute("SELECT COUNT(*) FROM messages m" + w, args).fetchone()[0]
        rows = _rows(c.execute("SELECT m.id, m.partner, m.client_msg_id, m.format, m.business_key, m.state, "
                               "m.created_at, m.updated_at, m.error FROM messages m" + w +
                               " ORDER BY m.created_at DESC, m.id DESC LIMIT ? OFFSET ?",
                               (*args, int(limit), int(offset))))
        counts = dict(c.execute("SELECT m.state, COUNT(*) FROM messages m" + ws + " GROUP BY m.state",
                                args_s).fetchall())
        if rows:
            marks = ",".join("?" * len(rows))
            by = {}
            for mid, route, state in c.execute(f"SELECT message_id, route, state FROM deliveries WHERE message_id "
                                               f"IN ({marks}) ORDER BY id", [r["id"] for r in rows]).fetchall():
                by.setdefault(mid, []).append((route, state))
            for r in rows:
                r["deliveries"] = by.get(r["id"], [])
    return rows, total, counts


def formats(store) -> list[str]:
    with store._read() as c:
        return [r[0] for r in c.execute("SELECT DISTINCT format FROM messages WHERE format IS NOT NULL "
                                        "ORDER BY format").fetchall()]


def attempt_responses(store, delivery_id: str) -> dict[int, tuple[bytes | None, dict | None]]:
    """attempt number -> (response body, response info) for every attempt of a delivery."""
    with store._read() as c:
        out = {}
        for n, body, info in c.execute("SELECT n, response, response_info FROM attempts WHERE delivery_id = ? "
                                       "ORDER BY id", (delivery_id,)).fetchall():
            out[n] = (bytes(body) if body is not None else None, json.loads(info) if info else None)
    return out


def document(store, message_id: str, doc_id: int) -> dict | None:
    for d in store.documents(message_id):
        if d["id"] == doc_id:
            return d
    return None


def route_figures(store) -> dict[str, dict]:
    """Per route: deliveries per state, queue depth, last success, failed attempts (all / since last success),
    last attempt outcome and error."""
    out: dict[str, dict] = {}

    def r(route):
        return out.setdefault(route, {"states": {}, "queue": 0, "last_success": None, "failures": 0,
                                      "failures_since_success": 0, "last_outcome": None, "last_error": None,
                                      "last_at": None, "attempts": 0})
    with store._read() as c:
        for route, state, n in c.execute("SELECT route, state, COUNT(*) FROM deliveries GROUP BY route, state"):
            x = r(route)
            x["states"][state] = n
            if state in (S.QUEUED, S.FAILED, S.SENDING):
                x["queue"] += n
        for route, outcome, n, last in c.execute(
                "SELECT d.route, a.outcome, COUNT(*), MAX(a.finished_at) FROM attempts a JOIN deliveries d "
                "ON d.id = a.delivery_id WHERE a.finished_at IS NOT NULL GROUP BY d.route, a.outcome"):
            x = r(route)
            x["attempts"] += n
            if outcome in (S.DELIVERED, S.ACKNOWLEDGED, S.REJECTED):
                x["last_success"] = max(x["last_success"] or 0, last)
            elif outcome == S.FAILED:
                x["failures"] += n
        for route, x in out.items():
            row = c.execute("SELECT a.outcome, a.error, a.finished_at FROM attempts a JOIN deliveries d ON "
                            "d.id = a.delivery_id WHERE d.route = ? AND a.finished_at IS NOT NULL "
                            "ORDER BY a.finished_at DESC, a.id DESC LIMIT 1", (route,)).fetchone()
            if row:
                x["last_outcome"], x["last_error"], x["last_at"] = row
            x["failures_since_success"] = c.execute(
                "SELECT COUNT(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.route = ? "
                "AND a.outcome = ? AND a.finished_at > ?", (route, S.FAILED, x["last_success"] or 0)).fetchone()[0]
    return out


def metric_rows(store) -> dict:
    """Everything /metrics exposes, read in one go at scrape time."""
    m: dict = {}
    with store._read() as c:
        m["messages"] = c.execute("SELECT state, COUNT(*) FROM messages GROUP BY state").fetchall()
        m["deliveries"] = c.execute("SELECT route, state, COUNT(*) FROM deliveries GROUP BY route, state").fetchall()
        m["attempts"] = c.execute("SELECT d.route, a.outcome, COUNT(*) FROM attempts a JOIN deliveries d ON "
                                  "d.id = a.delivery_id WHERE a.outcome IS NOT NULL GROUP BY d.route, a.outcome"
                                  ).fetchall()
        m["retries"] = c.execute("SELECT d.route, COUNT(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id"
                                 " WHERE a.n > 1 GROUP BY d.route").fetchall()
        m["dead_events"] = c.execute("SELECT d.route, COUNT(*) FROM audit x JOIN deliveries d ON d.id = x.delivery_id"
                                     " WHERE x.to_state = ? GROUP BY d.route", (S.DEAD,)).fetchall()
        cases = ", ".join(f"SUM(CASE WHEN a.finished_at - a.started_at <= {b!r} THEN 1 ELSE 0 END)"
                          for b in LATENCY_BUCKETS)
        m["latency"] = c.execute(f"SELECT d.route, {cases}, COUNT(*), SUM(a.finished_at - a.started_at) "
                                 "FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE a.finished_at IS "
                                 "NOT NULL AND a.outcome IS NOT NULL AND a.outcome <> 'in-doubt' GROUP BY d.route"
                                 ).fetchall()
        m["refusals"] = c.execute("SELECT channel, code, COUNT(*) FROM refusals GROUP BY channel, code").fetchall()
        codes: dict[str, int] = {}
        for (v,) in c.execute("SELECT validation FROM messages WHERE state = ? AND validation IS NOT NULL",
                              (S.REJECTED,)):
            try:
                errs = json.loads(v).get("errors") or []
            except (ValueError, AttributeError):
                continue
            for code in {e.get("code") for e in errs if isinstance(e, dict) and e.get("severity", "error") == "error"}:
                if code:
                    codes[code] = codes.get(code, 0) + 1
        m["validation"] = sorted(codes.items())
    return m


def ping(store) -> None:
    with store._read() as c:
        c.execute("SELECT 1 FROM messages LIMIT 1").fetchall()


# -- writes --------------------------------------------------------------------------------------------------
def _write(store, job):
    """Run a write job in the store's transaction (its writer thread when it has one)."""
    if callable(getattr(store, "_run", None)):
        return store._run(job)
    with store._tx() as c:
        return job(c)


def note_action(store, message_id: str, now: float, detail: str) -> None:
    """An audit row for an operator action (the state is unchanged: from = to = current state)."""
    def job(c):
        row = c.execute("SELECT state FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row:
            store._audit(c, message_id, None, row[0], row[0], now, detail)
    _write(store, job)


def cancel(store, message_id: str, now: float, detail: str) -> tuple[list[str], list[str]]:
    """The store's cancel (queued / failed / dead deliveries -> cancelled, audited with `detail`; deliveries being
    sent right now finish their attempt and end cancelled if it fails). Returns (cancelled, still being sent).
    Raises KeyError for an unknown message."""
    if store.message(message_id) is None:
        raise KeyError(message_id)
    ids = store.cancel(message_id, now, detail)
    states = {d["id"]: d["state"] for d in store.deliveries(message_id)}
    done = [i for i in ids if states.get(i) == S.CANCELLED]
    return done, [i for i in ids if i not in done]
