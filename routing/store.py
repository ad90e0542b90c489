"""The message store: messages, produced documents, deliveries with every attempt, audit trail, refusals.

`Store` is the small interface the hub uses; `SQLiteStore` implements it (WAL, synchronous=FULL by default).
SQL is kept portable (no SQLite-only syntax beyond the connection pragmas) so a PostgreSQL store can follow;
schema migrations are numbered SQL strings in MIGRATIONS, applied in order and recorded in schema_version.

Every state change is written in the same transaction as its audit row. Times are seconds since the epoch,
passed in by the caller (the store never reads the clock).
"""
from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
import uuid
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import states as S

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE messages (
    id              VARCHAR(40) PRIMARY KEY,
    partner         VARCHAR(100) NOT NULL,
    client_msg_id   VARCHAR(200),
    format          VARCHAR(100),
    business_key    VARCHAR(200),
    state           VARCHAR(20) NOT NULL,
    active          INTEGER NOT NULL,
    inbound         BLOB NOT NULL,
    inbound_digest  VARCHAR(80) NOT NULL,
    validation      TEXT,
    hints           TEXT,
    error           TEXT,
    created_at      DOUBLE PRECISION NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX messages_client_id ON messages (partner, client_msg_id) WHERE active = 1 AND client_msg_id IS NOT NULL;
CREATE UNIQUE INDEX messages_business_key ON messages (partner, format, business_key) WHERE active = 1 AND business_key IS NOT NULL;
CREATE INDEX messages_state ON messages (state, created_at);
CREATE INDEX messages_partner ON messages (partner, created_at);
CREATE TABLE deliveries (
    id              VARCHAR(60) PRIMARY KEY,
    message_id      VARCHAR(40) NOT NULL REFERENCES messages (id),
    route           VARCHAR(100) NOT NULL,
    target          VARCHAR(100) NOT NULL,
    endpoint        VARCHAR(100) NOT NULL,
    state           VARCHAR(20) NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    next_at         DOUBLE PRECISION,
    claim           VARCHAR(40),
    payload         BLOB NOT NULL,
    last_error      TEXT,
    created_at      DOUBLE PRECISION NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);
CREATE INDEX deliveries_message ON deliveries (message_id);
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY,
    delivery_id     VARCHAR(60) NOT NULL REFERENCES deliveries (id),
    n               INTEGER NOT NULL,
    claim           VARCHAR(40) NOT NULL,
    started_at      DOUBLE PRECISION NOT NULL,
    finished_at     DOUBLE PRECISION,
    outcome         VARCHAR(20),
    error           TEXT,
    status          VARCHAR(40),
    response        BLOB,
    response_info   TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, n);
CREATE TABLE documents (
    id              INTEGER PRIMARY KEY,
    message_id      VARCHAR(40) NOT NULL REFERENCES messages (id),
    delivery_id     VARCHAR(60),
    kind            VARCHAR(20) NOT NULL,
    format          VARCHAR(100),
    data            BLOB NOT NULL,
    report          TEXT,
    evidence        TEXT,
    created_at      DOUBLE PRECISION NOT NULL
);
CREATE INDEX documents_message ON documents (message_id, kind);
CREATE TABLE audit (
    id              INTEGER PRIMARY KEY,
    message_id      VARCHAR(40),
    delivery_id     VARCHAR(60),
    from_state      VARCHAR(20),
    to_state        VARCHAR(20) NOT NULL,
    at              DOUBLE PRECISION NOT NULL,
    detail          TEXT
);
CREATE INDEX audit_message ON audit (message_id, id);
CREATE TABLE refusals (
    id              INTEGER PRIMARY KEY,
    at              DOUBLE PRECISION NOT NULL,
    partner         VARCHAR(100),
    channel         VARCHAR(20) NOT NULL,
    code            VARCHAR(60) NOT NULL,
    reason          TEXT NOT NULL,
    remote          VARCHAR(100),
    size            INTEGER,
    digest          VARCHAR(80)
);
"""),
    (2, """
ALTER TABLE deliveries ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0
"""),
]


class DuplicateMessage(Exception):
    def __init__(self, existing_id: str):
        super().__init__(existing_id)
        self.existing_id = existing_id


@dataclass
class NewDelivery:
    route: str
    target: str
    endpoint: str
    max_attempts: int
    payload: bytes
    report: dict | None = None
    evidence: dict | None = None
    id: str = ""


@dataclass
class NewMessage:
    """Everything the pipeline produced for one submission, written in one transaction."""
    id: str
    partner: str
    client_msg_id: str | None
    format: str | None
    business_key: str | None
    inbound: bytes
    inbound_digest: str
    state: str                                    # final state after the pipeline: queued or rejected
    transitions: list[tuple[str | None, str, float, str]]   # (from, to, at, detail)
    validation: dict | None = None
    hints: dict | None = None
    error: str | None = None
    deliveries: list[NewDelivery] = field(default_factory=list)


@dataclass
class Claimed:
    delivery_id: str
    message_id: str
    route: str
    endpoint: str
    target: str
    attempt: int
    max_attempts: int
    claim: str
    payload: bytes


class Store:
    """Interface. See SQLiteStore for the semantics of each method."""

    def find_active(self, partner, client_msg_id, fmt, business_key): raise NotImplementedError
    def accept(self, msg: NewMessage): raise NotImplementedError
    def record_refusal(self, **kw): raise NotImplementedError
    def message(self, message_id): raise NotImplementedError
    def list_messages(self, **filters): raise NotImplementedError
    def deliveries(self, message_id): raise NotImplementedError
    def documents(self, message_id, kind=None): raise NotImplementedError
    def audit(self, message_id): raise NotImplementedError
    def claim_due(self, now, limits, busy, max_n): raise NotImplementedError
    def finish_attempt(self, claimed, now, outcome, **kw): raise NotImplementedError

    def settle(self, outcomes, now, limits, busy, max_n):
        """The delivery worker's round: record outcomes [(claimed, at, outcome, finish_attempt kwargs)], then
        claim up to max_n due deliveries. -> ([new state of each outcome], [Claimed]). Stores that can do both
        in one transaction do (SQLiteStore)."""
        states = [self.finish_attempt(cl, at, outcome, **kw) for cl, at, outcome, kw in outcomes]
        return states, (self.claim_due(now, limits, busy, max_n) if max_n > 0 else [])
    def recover_in_doubt(self, now): raise NotImplementedError
    def resend(self, message_id, now, max_attempts=None): raise NotImplementedError
    def cancel(self, message_id, now, detail=""): raise NotImplementedError
    def close(self): raise NotImplementedError


def new_id(prefix: str = "M") -> str:
    return prefix + uuid.uuid4().hex[:24].upper()


class SQLiteStore(Store):
    def __init__(self, path: str | Path | None, synchronous: str = "FULL"):
        self.path = str(path) if path else ":memory:"
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.synchronous = synchronous.upper()
        self._local = threading.local()
        self._write = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        self._shared = None
        if self.path == ":memory:":
            # one connection shared by every thread (serialised by the lock): for tests only
            self._shared = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._migrate()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.write_stats = {"transactions": 0, "jobs": 0, "seconds": 0.0, "commit_seconds": 0.0}
        self._writer = threading.Thread(target=self._write_loop, name="edihub-store-writer", daemon=True)
        self._writer.start()
        self._stop_checkpoints = threading.Event()
        self._checkpointer = None
        if self._shared is None:
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="edihub-store-checkpoint",
                                                  daemon=True)
            self._checkpointer.start()

    # -- group commit ----------------------------------------------------------------------------------------
    # Every write is a job run by one writer thread. Jobs that arrive while a commit is under way are run
    # together in the next transaction and committed with one fsync; each caller gets its answer only after
    # that commit. A job that raises rolls the whole batch back; the batch is then run again one job per
    # transaction, so only the failing job fails (jobs are plain SQL on the connection: safe to run again).
    MAX_BATCH = 128

    def _run(self, fn):
        if threading.current_thread() is self._writer:
            return fn(self._conn())
        fut: Future = Future()
        self._jobs.put((fn, fut))
        return fut.result()

    def _write_loop(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < self.MAX_BATCH:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            t0 = time.perf_counter()
            with self._write:
                done = self._commit(batch)
                if done is None and len(batch) == 1:
                    done = [(batch[0][1], None, self._last_error)]
                elif done is None:                 # a job failed: each job alone, in its own transaction
                    done = []
                    for one in batch:
                        got = self._commit([one])
                        done.extend(got if got is not None else [(one[1], None, self._last_error)])
            ws = self.write_stats
            ws["transactions"] += 1
            ws["jobs"] += len(batch)
            ws["seconds"] += time.perf_counter() - t0
            for fut, r, e in done:
                if e is not None:
                    fut.set_exception(e)
                else:
                    fut.set_result(r)
            if stop:
                return

    def _commit(self, batch):
        """Run the jobs in one transaction and commit. -> [(future, result, None)], or None when a job raised
        (rolled back; the error is in self._last_error). A failed commit fails every job of the batch."""
        c = self._conn()
        try:
            c.execute("BEGIN IMMEDIATE")
        except Exception as e:  # noqa: BLE001 - nobody's write happened
            return [(fut, None, e) for _, fut in batch]
        out = []
        try:
            for fn, fut in batch:
                out.append((fut, fn(c), None))
        except Exception as e:  # noqa: BLE001 - handed to the caller (alone, see _write_loop)
            self._last_error = e
            try:
                c.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            return None
        try:
            t1 = time.perf_counter()
            c.execute("COMMIT")
            self.write_stats["commit_seconds"] += time.perf_counter() - t1
        except Exception as e:  # noqa: BLE001 - the commit failed: nobody's write happened
            try:
                c.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            return [(fut, None, e) for _, fut in batch]
        return out

    # -- connections -----------------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute(f"PRAGMA synchronous={self.synchronous}")
            c.execute("PRAGMA foreign_keys=ON")
            c.execute("PRAGMA busy_timeout=30000")
            # no checkpoint inside a commit (it would copy the WAL into the database and fsync it while every
            # sender of the batch waits): _checkpoint_loop does it beside the writer
            c.execute("PRAGMA wal_autocheckpoint=0")
            self._local.conn = c
            self._all.append(c)
        return c

    @contextmanager
    def _tx(self):
        with self._write:
            c = self._conn()
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            else:
                c.execute("COMMIT")

    @contextmanager
    def _read(self):
        if self._shared is not None:
            with self._write:
                yield self._shared
        else:
            yield self._conn()

    def _migrate(self) -> None:
        with self._tx() as c:
            c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = c.execute("SELECT MAX(version) FROM schema_version").fetchone()
            have = row[0] or 0
            for version, sql in MIGRATIONS:
                if version > have:
                    for stmt in filter(None, (s.strip() for s in sql.split(";"))):
                        c.execute(stmt)
                    c.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    CHECKPOINT_SECONDS = 1.0

    def _checkpoint_loop(self) -> None:
        """WAL checkpoints on their own connection, beside the writer: PASSIVE copies what no reader still needs
        and never blocks the writer's commits; the WAL is reused from its start once a checkpoint caught up."""
        c = None
        while not self._stop_checkpoints.wait(self.CHECKPOINT_SECONDS):
            try:
                if c is None:
                    c = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
                    c.execute(f"PRAGMA synchronous={self.synchronous}")
                c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                pass                      # tried again next period
        if c is not None:
            c.close()

    def close(self) -> None:
        self._stop_checkpoints.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=30)
        if self._writer.is_alive():
            self._jobs.put(None)
            self._writer.join(timeout=30)
        for c in self._all:
            try:
                c.close()
            except sqlite3.Error:
                pass
        if self._shared is not None:
            self._shared.close()

    # -- helpers ---------------------------------------------------------------------------------------------
    @staticmethod
    def _audit(c, message_id, delivery_id, frm, to, at, detail=None):
        c.execute("INSERT INTO audit (message_id, delivery_id, from_state, to_state, at, detail) VALUES (?,?,?,?,?,?)",
                  (message_id, delivery_id, frm, to, at, detail))

    @staticmethod
    def _audit_rows(c, rows: list[tuple]) -> None:
        """Several audit rows (message_id, delivery_id, from, to, at, detail) in one statement."""
        if rows:
            c.execute("INSERT INTO audit (message_id, delivery_id, from_state, to_state, at, detail) VALUES "
                      + ",".join(["(?,?,?,?,?,?)"] * len(rows)), [v for r in rows for v in r])

    def _refresh_message(self, c, message_id, now, detail=None, audit: list | None = None) -> str:
        """Recompute a message's state from its deliveries; audit the change (into `audit` when given, for the
        caller to write with its own rows). Same transaction as the caller."""
        row = c.execute("SELECT state FROM messages WHERE id = ?", (message_id,)).fetchone()
        old = row[0]
        if old == S.REJECTED:
            return old
        ds = [r[0] for r in c.execute("SELECT state FROM deliveries WHERE message_id = ?", (message_id,))]
        new = S.message_state(ds)
        if new != old:
            c.execute("UPDATE messages SET state = ?, active = ?, updated_at = ? WHERE id = ?",
                      (new, 0 if new in S.INACTIVE else 1, now, message_id))
            if audit is None:
                self._audit(c, message_id, None, old, new, now, detail)
            else:
                audit.append((message_id, None, old, new, now, detail))
        return new

    # -- intake ----------------------------------------------------------------------------------------------
    def find_active(self, partner, client_msg_id, fmt, business_key) -> str | None:
        """The id of an accepted (active) message with the same partner message id or business key."""
        with self._read() as c:
            return find_active_in(c, partner, client_msg_id, fmt, business_key)

    def accept(self, m: NewMessage) -> str:
        """Write a processed submission (message, audit trail, documents, deliveries) in one transaction.
        Raises DuplicateMessage when an active message with the same keys exists (checked inside the
        transaction, so two concurrent submissions cannot both be accepted)."""
        active = 0 if m.state in S.INACTIVE else 1
        now = m.transitions[-1][2] if m.transitions else 0.0
        def job(c):
            if active:
                dup = None
                if m.client_msg_id:
                    dup = c.execute("SELECT id FROM messages WHERE partner = ? AND client_msg_id = ? AND active = 1",
                                    (m.partner, m.client_msg_id)).fetchone()
                if not dup and m.business_key and m.format:
                    dup = c.execute("SELECT id FROM messages WHERE partner = ? AND format = ? AND business_key = ? "
                                    "AND active = 1", (m.partner, m.format, m.business_key)).fetchone()
                if dup:
                    raise DuplicateMessage(dup[0])
            c.execute("INSERT INTO messages (id, partner, client_msg_id, format, business_key, state, active, inbound,"
                      " inbound_digest, validation, hints, error, created_at, updated_at)"
                      " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      (m.id, m.partner, m.client_msg_id, m.format, m.business_key, m.state, active, m.inbound,
                       m.inbound_digest, _j(m.validation), _j(m.hints), m.error,
                       m.transitions[0][2] if m.transitions else now, now))
            audit = [(m.id, None, frm, to, at, detail) for frm, to, at, detail in m.transitions]
            for i, d in enumerate(m.deliveries, 1):
                d.id = d.id or f"{m.id}-{i}"
                c.execute("INSERT INTO deliveries (id, message_id, route, target, endpoint, state, attempts, "
                          "max_attempts, next_at, payload, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                          (d.id, m.id, d.route, d.target, d.endpoint, S.QUEUED, 0, d.max_attempts, now, d.payload,
                           now, now))
                c.execute("INSERT INTO documents (message_id, delivery_id, kind, format, data, report, evidence, "
                          "created_at) VALUES (?,?,?,?,?,?,?,?)",
                          (m.id, d.id, "outbound", d.target, d.payload, _j(d.report), _j(d.evidence), now))
                audit.append((m.id, d.id, None, S.QUEUED, now, f"route {d.route} -> {d.endpoint}"))
            self._audit_rows(c, audit)
            return m.id
        return self._run(job)

    def record_refusal(self, *, at, channel, code, reason, partner=None, remote=None, size=None, digest=None):
        def job(c):
            c.execute("INSERT INTO refusals (at, partner, channel, code, reason, remote, size, digest) "
                      "VALUES (?,?,?,?,?,?,?,?)", (at, partner, channel, code, reason, remote, size, digest))
        return self._run(job)

    def refusals(self, limit=100) -> list[dict]:
        with self._read() as c:
            return _rows(c.execute("SELECT * FROM refusals ORDER BY id DESC LIMIT ?", (limit,)))

    def add_document(self, message_id, delivery_id, kind, fmt, data, now, report=None, evidence=None):
        def job(c):
            c.execute("INSERT INTO documents (message_id, delivery_id, kind, format, data, report, evidence, "
                      "created_at) VALUES (?,?,?,?,?,?,?,?)",
                      (message_id, delivery_id, kind, fmt, data, _j(report), _j(evidence), now))
        return self._run(job)

    # -- reading ---------------------------------------------------------------------------------------------
    def message(self, message_id) -> dict | None:
        with self._read() as c:
            rows = _rows(c.execute("SELECT * FROM messages WHERE id = ?", (message_id,)))
        return rows[0] if rows else None

    def list_messages(self, *, partner=None, state=None, format=None, since=None, until=None, business_key=None,
                      limit=100, offset=0) -> list[dict]:
        where, args = [], []
        for col, val in (("partner", partner), ("state", state), ("format", format), ("business_key", business_key)):
            if val:
                where.append(f"{col} = ?")
                args.append(val)
        if since is not None:
            where.append("created_at >= ?")
            args.append(since)
        if until is not None:
            where.append("created_at < ?")
            args.append(until)
        sql = ("SELECT id, partner, client_msg_id, format, business_key, state, created_at, updated_at, error "
               "FROM messages")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
        with self._read() as c:
            return _rows(c.execute(sql, (*args, int(limit), int(offset))))

    def deliveries(self, message_id) -> list[dict]:
        with self._read() as c:
            ds = _rows(c.execute("SELECT id, message_id, route, target, endpoint, state, attempts, max_attempts, "
                                 "next_at, last_error, created_at, updated_at FROM deliveries WHERE message_id = ? "
                                 "ORDER BY id", (message_id,)))
            for d in ds:
                d["attempt_log"] = _rows(c.execute(
                    "SELECT n, started_at, finished_at, outcome, error, status, response_info FROM attempts "
                    "WHERE delivery_id = ? ORDER BY id", (d["id"],)))
                for a in d["attempt_log"]:
                    a["response_info"] = json.loads(a["response_info"]) if a["response_info"] else None
        return ds

    def last_response(self, delivery_id) -> dict | None:
        with self._read() as c:
            rows = _rows(c.execute("SELECT n, outcome, status, response, response_info, finished_at FROM attempts "
                                   "WHERE delivery_id = ? AND response IS NOT NULL ORDER BY id DESC LIMIT 1",
                                   (delivery_id,)))
        return rows[0] if rows else None

    def documents(self, message_id, kind=None) -> list[dict]:
        sql = "SELECT * FROM documents WHERE message_id = ?"
        args = [message_id]
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        with self._read() as c:
            docs = _rows(c.execute(sql + " ORDER BY id", args))
        for d in docs:
            for k in ("report", "evidence"):
                d[k] = json.loads(d[k]) if d[k] else None
        return docs

    def audit(self, message_id) -> list[dict]:
        with self._read() as c:
            return _rows(c.execute("SELECT delivery_id, from_state, to_state, at, detail FROM audit "
                                   "WHERE message_id = ? ORDER BY id", (message_id,)))

    def counts(self) -> dict:
        with self._read() as c:
            return {
                "messages": dict(c.execute("SELECT state, COUNT(*) FROM messages GROUP BY state").fetchall()),
                "deliveries": dict(c.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall()),
            }

    # -- delivery worker -------------------------------------------------------------------------------------
    def claim_due(self, now: float, limits: dict[str, int], busy: dict[str, int], max_n: int) -> list[Claimed]:
        """Claim deliveries that are due, respecting per-route concurrency (limits minus busy). The claim and
        the attempt row are committed before anything is sent, so a restart knows the attempt may have happened.
        One statement per table for the whole batch; each delivery's claim is the batch token + its id."""
        return self._run(self._claim_job(now, limits, busy, max_n))

    def _claim_job(self, now: float, limits: dict[str, int], busy: dict[str, int], max_n: int):
        def job(c):
            out: list[Claimed] = []
            rows = c.execute("SELECT id, message_id, route, endpoint, target, attempts, max_attempts, payload "
                             "FROM deliveries WHERE state IN (?, ?) AND next_at <= ? ORDER BY next_at, id LIMIT ?",
                             (S.QUEUED, S.FAILED, now, max_n * 4)).fetchall()
            taken = dict(busy)
            token = uuid.uuid4().hex[:10] + ":"     # + the delivery id: fits the claim columns (40)
            for did, mid, route, endpoint, target, attempts, max_attempts, payload in rows:
                if len(out) >= max_n:
                    break
                if taken.get(route, 0) >= limits.get(route, 1):
                    continue
                taken[route] = taken.get(route, 0) + 1
                out.append(Claimed(did, mid, route, endpoint, target, attempts + 1, max_attempts, token + did,
                                   payload))
            if not out:
                return out
            ids = [x.delivery_id for x in out]
            c.execute(f"UPDATE deliveries SET state = ?, attempts = attempts + 1, claim = ? || id, updated_at = ? "
                      f"WHERE id IN ({','.join('?' * len(ids))})", (S.SENDING, token, now, *ids))
            c.execute("INSERT INTO attempts (delivery_id, n, claim, started_at) VALUES "
                      + ",".join(["(?,?,?,?)"] * len(out)),
                      [v for x in out for v in (x.delivery_id, x.attempt, x.claim, now)])
            self._audit_rows(c, [(x.message_id, x.delivery_id, None, S.SENDING, now, f"attempt {x.attempt}")
                                 for x in out])
            return out
        return job

    def finish_attempt(self, cl: Claimed, now: float, outcome: str, **kw) -> str:
        """Record an attempt's outcome: delivered / acknowledged, or failed (next_at given: retry) / dead.
        Returns the new delivery state. A stale claim (the delivery was re-claimed) changes nothing.
        kw: error, status, response, response_info, next_at, receipt, receipt_evidence, back."""
        return self._run(self._finish_job(cl, now, outcome, **kw))

    def settle(self, outcomes, now, limits, busy, max_n):
        """As Store.settle, in one transaction: the outcomes recorded and the next deliveries claimed together."""
        jobs = [self._finish_job(cl, at, outcome, **kw) for cl, at, outcome, kw in outcomes]
        claim = self._claim_job(now, limits, busy, max_n) if max_n > 0 else None

        def job(c):
            return [j(c) for j in jobs], (claim(c) if claim is not None else [])
        return self._run(job)

    def _finish_job(self, cl: Claimed, now: float, outcome: str, *, error=None, status=None, response=None,
                    response_info=None, next_at=None, receipt: bytes | None = None, receipt_evidence=None,
                    back: tuple | None = None):
        def job(c):
            row = c.execute("SELECT state, claim, cancel_requested FROM deliveries WHERE id = ?",
                            (cl.delivery_id,)).fetchone()
            if row is None or row[1] != cl.claim or row[0] != S.SENDING:
                return row[0] if row else "missing"
            c.execute("UPDATE attempts SET finished_at = ?, outcome = ?, error = ?, status = ?, response = ?, "
                      "response_info = ? WHERE delivery_id = ? AND claim = ?",
                      (now, outcome, error, status, response, _j(response_info), cl.delivery_id, cl.claim))
            cancel = row[2]
            if outcome in (S.DELIVERED, S.ACKNOWLEDGED, S.REJECTED):
                new = outcome
            elif cancel:
                new = S.CANCELLED           # cancelled while this attempt was under way: no retry
            elif next_at is not None and cl.attempt < cl.max_attempts:
                new = S.FAILED
            else:
                new = S.DEAD
            c.execute("UPDATE deliveries SET state = ?, next_at = ?, claim = NULL, last_error = ?, updated_at = ? "
                      "WHERE id = ?", (new, next_at if new == S.FAILED else None, error, now, cl.delivery_id))
            audit = [(cl.message_id, cl.delivery_id, S.SENDING, new, now,
                      f"attempt {cl.attempt}: {error or status or outcome}")]
            if receipt is not None:
                c.execute("INSERT INTO documents (message_id, delivery_id, kind, format, data, evidence, created_at)"
                          " VALUES (?,?,?,?,?,?,?)", (cl.message_id, cl.delivery_id, "receipt", "edihub:Receipt",
                                                      receipt, _j(receipt_evidence), now))
            if back is not None:
                fmt, data, report = back
                c.execute("INSERT INTO documents (message_id, delivery_id, kind, format, data, report, created_at)"
                          " VALUES (?,?,?,?,?,?,?)", (cl.message_id, cl.delivery_id, "back", fmt, data, _j(report),
                                                      now))
            self._refresh_message(c, cl.message_id, now, audit=audit)
            self._audit_rows(c, audit)
            return new
        return job

    def recover_in_doubt(self, now: float) -> list[dict]:
        """At start-up: deliveries left `sending` by a crash. Their last attempt may or may not have reached the
        endpoint. They are put back to `queued` with the attempt marked in-doubt; the caller decides (probe the
        endpoint if it can be asked, else resend under the same idempotency key). Returns what was found."""
        def job(c):
            found = []
            for did, mid, n, claim in self._in_doubt_rows(c, now):
                c.execute("UPDATE attempts SET finished_at = ?, outcome = ?, error = ? WHERE delivery_id = ? AND "
                          "claim = ?", (now, "in-doubt", "hub stopped during the attempt", did, claim))
                c.execute("UPDATE deliveries SET state = ?, claim = NULL, next_at = ?, updated_at = ? WHERE id = ?",
                          (S.QUEUED, now, now, did))
                self._audit(c, mid, did, S.SENDING, S.QUEUED, now, f"attempt {n} in doubt after restart")
                found.append({"delivery_id": did, "message_id": mid, "attempt": n})
            return found
        return self._run(job)

    def _in_doubt_rows(self, c, now: float) -> list[tuple]:
        """(delivery id, message id, attempts, claim) of the deliveries recover_in_doubt puts back: here every
        `sending` one (one hub owns this store, and it is starting)."""
        return c.execute("SELECT id, message_id, attempts, claim FROM deliveries WHERE state = ?",
                         (S.SENDING,)).fetchall()

    def mark_delivered_after_probe(self, delivery_id: str, now: float, detail: str) -> None:
        """An in-doubt delivery the endpoint confirms it already has: delivered without resending."""
        def job(c):
            row = c.execute("SELECT message_id, state FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            if not row or row[1] not in (S.QUEUED, S.FAILED):
                return
            c.execute("UPDATE deliveries SET state = ?, next_at = NULL, updated_at = ? WHERE id = ?",
                      (S.DELIVERED, now, delivery_id))
            self._audit(c, row[0], delivery_id, row[1], S.DELIVERED, now, detail)
            self._refresh_message(c, row[0], now)
        return self._run(job)

    def cancel(self, message_id: str, now: float, detail: str = "operator cancel") -> list[str]:
        """Cancel every delivery not yet sent or not sendable (queued, failed, dead). A delivery being sent
        right now finishes; delivered ones stay delivered."""
        return self._run(_cancel_job(self, message_id, now, detail))

    def resend(self, message_id: str, now: float, max_attempts: int | None = None) -> list[str]:
        """Operator resend: every dead or failed delivery goes back to queued with a fresh attempt budget.
        Raises DuplicateMessage if reactivating would clash with another accepted message."""
        def job(c):
            m = c.execute("SELECT state, partner, client_msg_id, format, business_key, active FROM messages "
                          "WHERE id = ?", (message_id,)).fetchone()
            if m is None:
                raise KeyError(message_id)
            state, partner, cmid, fmt, bkey, active = m
            if state == S.REJECTED:
                return []
            if not active:
                for sql, args in ((("SELECT id FROM messages WHERE partner = ? AND client_msg_id = ? AND active = 1"),
                                   (partner, cmid)),
                                  ("SELECT id FROM messages WHERE partner = ? AND format = ? AND business_key = ? "
                                   "AND active = 1", (partner, fmt, bkey))):
                    if None not in args:
                        dup = c.execute(sql, args).fetchone()
                        if dup and dup[0] != message_id:
                            raise DuplicateMessage(dup[0])
            ids = []
            for did, dstate, attempts in c.execute("SELECT id, state, attempts FROM deliveries WHERE message_id = ? "
                                                   "AND state IN (?, ?, ?)",
                                                   (message_id, S.DEAD, S.FAILED, S.CANCELLED)).fetchall():
                extra = max_attempts or 0
                c.execute("UPDATE deliveries SET state = ?, next_at = ?, max_attempts = attempts + ?, "
                          "cancel_requested = 0, updated_at = ? WHERE id = ?", (S.QUEUED, now, extra, now, did))
                self._audit(c, message_id, did, dstate, S.QUEUED, now, "operator resend")
                ids.append(did)
            self._refresh_message(c, message_id, now, "operator resend")
            return ids
        return self._run(job)


def find_active_in(c, partner, client_msg_id, fmt, business_key) -> str | None:
    """Store.find_active on a connection (also used by pipeline worker processes on their own read connection)."""
    if client_msg_id:
        r = c.execute("SELECT id FROM messages WHERE partner = ? AND client_msg_id = ? AND active = 1",
                      (partner, client_msg_id)).fetchone()
        if r:
            return r[0]
    if business_key and fmt:
        r = c.execute("SELECT id FROM messages WHERE partner = ? AND format = ? AND business_key = ? "
                      "AND active = 1", (partner, fmt, business_key)).fetchone()
        if r:
            return r[0]
    return None


def _cancel_job(store, message_id, now, detail):
    def job(c):
        ids = []
        for did, dstate in c.execute("SELECT id, state FROM deliveries WHERE message_id = ? AND state IN (?, ?, ?)",
                                     (message_id, S.QUEUED, S.FAILED, S.DEAD)).fetchall():
            c.execute("UPDATE deliveries SET state = ?, next_at = NULL, updated_at = ? WHERE id = ?",
                      (S.CANCELLED, now, did))
            store._audit(c, message_id, did, dstate, S.CANCELLED, now, detail)
            ids.append(did)
        # deliveries under way finish their attempt; a failure then ends cancelled instead of being retried
        for (did,) in c.execute("SELECT id FROM deliveries WHERE message_id = ? AND state = ?",
                                (message_id, S.SENDING)).fetchall():
            c.execute("UPDATE deliveries SET cancel_requested = 1 WHERE id = ?", (did,))
            ids.append(did)
        store._refresh_message(c, message_id, now, detail)
        return ids
    return job


def _j(v):
    return None if v is None else json.dumps(v, ensure_ascii=False, default=str)


def _rows(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]
