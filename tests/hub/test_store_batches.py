"""The SQLite store's group commit: jobs that queue up while the writer is busy commit together; a job that fails
fails alone (the others of its batch are committed), and each caller is answered only after its commit."""
from __future__ import annotations

import sqlite3
import threading
import time

from routing.store import SQLiteStore


def test_a_failing_job_fails_alone_in_its_batch(tmp_path):
    st = SQLiteStore(tmp_path / "s.db")
    gate = threading.Event()
    first = threading.Thread(target=st._run, args=(lambda c: gate.wait(5),))
    first.start()
    time.sleep(0.1)                          # the writer is inside the first job: the next ones queue up

    def refusal(code):
        def job(c):
            c.execute("INSERT INTO refusals (at, channel, code, reason) VALUES (1, 'api', ?, 'r')", (code,))
            return code
        return job

    def broken(c):
        c.execute("INSERT INTO refusals (at, channel, code, reason) VALUES (1, 'api', 'half', 'r')")
        c.execute("INSERT INTO no_such_table VALUES (1)")

    results = {}

    def call(name, fn):
        try:
            results[name] = st._run(fn)
        except Exception as e:  # noqa: BLE001 - what the caller gets
            results[name] = e
    callers = [threading.Thread(target=call, args=a) for a in (("a", refusal("a")), ("bad", broken),
                                                                 ("b", refusal("b")))]
    for t in callers:
        t.start()
        time.sleep(0.02)
    before = st.write_stats["transactions"]
    gate.set()
    for t in (first, *callers):
        t.join(5)
    assert results["a"] == "a" and results["b"] == "b"
    assert isinstance(results["bad"], sqlite3.OperationalError)
    # the broken job's first insert was rolled back with it; the others are there once
    assert sorted(r["code"] for r in st.refusals()) == ["a", "b"]
    assert st.write_stats["transactions"] == before + 2     # the first job, then the three together
    st.close()
