"""Operator commands for a running hub that cli/client.py does not have:

    edihub show ID [--url URL] [--json]                 one message: facts, journey (each state with its time and
                                                        duration), deliveries and every attempt, as tables
    edihub submit-dir DIR [--wait] [--jobs N] [--timeout S] [--pattern GLOB]
                                                        submit every XML file of a folder with a progress bar and
                                                        a summary table

Token, URL and configuration as for `edihub submit` (cli/client.py: --token, $EDIHUB_TOKEN, the demo token;
the operator token for `show`). Exit codes: 0 ok, 1 something was rejected / refused / not delivered,
2 usage, unreadable folder or hub unreachable.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cli.client import FINAL, hub_options

from .humanize import duration

GOOD = {"delivered", "acknowledged"}


def register(sub) -> None:
    def common(p):
        hub_options(p, json_help="print JSON instead of tables")

    p = sub.add_parser("show", help="one message's journey, deliveries and attempts as tables")
    p.add_argument("id")
    common(p)
    p.set_defaults(func=run_show)

    p = sub.add_parser("submit-dir", help="submit every XML file of a folder (progress bar, summary)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--pattern", default="*.xml", help="file name pattern (default *.xml; not recursive)")
    p.add_argument("--wait", action="store_true", help="then wait until every message reaches a final state")
    p.add_argument("--timeout", type=float, default=120.0, help="how long --wait waits in all (seconds)")
    p.add_argument("--jobs", type=int, default=4, help="submissions in parallel (default 4)")
    common(p)
    p.set_defaults(func=run_submit_dir)


# -- output helpers ------------------------------------------------------------------------------------------
def table(rows: list[list], header: list[str], out=None) -> None:
    """Plain aligned columns (no colour, no box characters: fine in logs and pipes)."""
    out = out or sys.stdout
    cells = [[("" if c is None else str(c)) for c in r] for r in [header] + rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, r in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def _t(iso: str | None) -> dt.datetime | None:
    if not iso:
        return None
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def journey(history: list[dict], now: dt.datetime) -> list[list]:
    """History rows (from the HTTP API) -> table rows with the time spent in each state (per message/delivery)."""
    rows, last = [], {}
    for h in history:
        at = _t(h["at"])
        scope = h.get("delivery") or "message"
        row = [h["at"], scope, (h["from"] + " -> " if h.get("from") else "") + h["to"], "", h.get("detail") or ""]
        if h.get("from") == h["to"]:
            rows.append(row)
            continue
        if scope in last:
            prev_row, prev_at = last[scope]
            prev_row[3] = duration((at - prev_at).total_seconds())
        last[scope] = (row, at)
        rows.append(row)
    for row, at in last.values():
        if row[2].split(" -> ")[-1] not in FINAL:
            row[3] = duration((now - at).total_seconds()) + " so far"
    return rows


class Progress:
    """One status line on stderr, redrawn in place when stderr is a terminal (silent otherwise)."""

    def __init__(self, total: int, label: str, stream=None):
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.counts: dict[str, int] = {}

    def step(self, outcome: str) -> None:
        self.done += 1
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.draw()

    def draw(self) -> None:
        if not self.tty:
            return
        width = 30
        filled = int(width * self.done / max(1, self.total))
        tail = "  ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  {tail}"
                          "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# -- commands ------------------------------------------------------------------------------------------------
def _client():
    from cli import client
    return client


def run_show(args) -> int:
    import httpx
    c = _client()
    try:
        url, headers = c._settings(args, operator=True)
        r = c._call(lambda: httpx.get(f"{url}/api/messages/{args.id}", headers=headers, timeout=10))
    except c._Usage as e:
        print(f"edihub: {e}", file=sys.stderr)
        return 2
    body = r.json()
    if r.status_code != 200:
        print(f"edihub: {body.get('error', {}).get('message', r.status_code)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    print(f"message   {body['message_id']}   state {body['state']}")
    print(f"partner   {body['partner']}   format {body.get('format') or '-'}   key {body.get('business_key') or '-'}")
    print(f"received  {body['created_at']}   last change {body['updated_at']}")
    if body.get("error"):
        print(f"error     {body['error']}")
    errs = (body.get("validation") or {}).get("errors") or []
    if errs:
        print("\nvalidation")
        table([[e["code"], e.get("severity"), e.get("path") or "", e["message"]] for e in errs],
              ["code", "severity", "where", "message"])
    print("\njourney")
    routes = {d["id"]: d["route"] for d in body.get("deliveries", [])}
    rows = journey(body.get("history", []), dt.datetime.now(dt.timezone.utc))
    for row in rows:
        row[1] = routes.get(row[1], row[1])
    table(rows, ["time (UTC)", "where", "state", "took", "detail"])
    for d in body.get("deliveries", []):
        print(f"\ndelivery {d['id']}  {d['route']} -> {d['endpoint']}  {d['state']}  "
              f"attempts {d['attempts']}/{d['max_attempts']}"
              + (f"  next {d['next_attempt_at']}" if d.get("next_attempt_at") else ""))
        log = d.get("attempt_log") or []
        if log:
            table([[a["n"], a["started_at"], duration((_t(a["finished_at"]) - _t(a["started_at"])).total_seconds())
                    if a.get("finished_at") else "", a.get("outcome") or "in progress", a.get("status") or "",
                    a.get("error") or ""] for a in log],
                  ["#", "started (UTC)", "took", "outcome", "HTTP", "error"])
    return 0 if body["state"] not in ("rejected", "dead") else 1


def run_submit_dir(args) -> int:
    import httpx
    c = _client()
    folder = Path(args.dir)
    if not folder.is_dir():
        print(f"edihub: {folder}: not a folder", file=sys.stderr)
        return 2
    files = sorted(p for p in folder.glob(args.pattern) if p.is_file())
    if not files:
        print(f"edihub: no file matches {args.pattern} in {folder}", file=sys.stderr)
        return 2
    try:
        url, headers = c._settings(args)
    except c._Usage as e:
        print(f"edihub: {e}", file=sys.stderr)
        return 2
    headers = {**headers, "Content-Type": "application/xml"}
    results: dict[Path, dict] = {}
    bar = Progress(len(files), "submit")
    unreachable = []
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=max(1, args.jobs))) as http:
        def one(p: Path):
            try:
                data = p.read_bytes()
            except OSError as e:
                return p, {"outcome": "unreadable", "error": e.strerror}
            try:
                r = http.post(f"{url}/api/messages", content=data, headers=headers)
            except httpx.HTTPError as e:
                unreachable.append(str(e))
                return p, {"outcome": "unreachable", "error": str(e)}
            try:
                b = r.json()
            except ValueError:
                b = {}
            if r.status_code in (200, 202):
                return p, {"outcome": "duplicate" if b.get("duplicate") else "accepted", "id": b["message_id"],
                           "state": b["state"]}
            err = b.get("error", {})
            return p, {"outcome": "rejected" if r.status_code == 422 else "refused", "id": b.get("message_id"),
                       "state": b.get("state"), "error": f"{err.get('code')}: {err.get('message')}"
                       + (f" ({err['issues'][0]['code']})" if err.get("issues") else "")}
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for p, res in pool.map(one, files):
                results[p] = res
                bar.step(res["outcome"])
        bar.close()
        if args.wait:
            pending = {p: r["id"] for p, r in results.items() if r.get("id") and r.get("state") not in FINAL}
            bar = Progress(len(pending), "deliver")
            deadline = time.monotonic() + args.timeout
            while pending and time.monotonic() < deadline:
                for p, mid in list(pending.items()):
                    try:
                        st = http.get(f"{url}/api/messages/{mid}", headers=headers, timeout=10).json()
                    except (httpx.HTTPError, ValueError):
                        continue
                    results[p]["state"] = st.get("state")
                    if st.get("state") in FINAL:
                        del pending[p]
                        bar.step(st["state"])
                if pending:
                    time.sleep(0.2)
            bar.close()
    if args.json:
        print(json.dumps({str(p): r for p, r in results.items()}, ensure_ascii=False, indent=2))
    else:
        table([[p.name, r["outcome"], r.get("id") or "", r.get("state") or "", r.get("error") or ""]
               for p, r in results.items()], ["file", "submitted", "message", "state", "error"])
        counts: dict[str, int] = {}
        for r in results.values():
            counts[r.get("state") or r["outcome"]] = counts.get(r.get("state") or r["outcome"], 0) + 1
        print(f"\n{len(files)} file(s): " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    if unreachable and len(unreachable) == len(files):
        print(f"edihub: hub unreachable: {unreachable[0]}", file=sys.stderr)
        return 2
    bad = [r for r in results.values() if r["outcome"] not in ("accepted", "duplicate")
           or (args.wait and r.get("state") not in GOOD)]
    return 1 if bad else 0
