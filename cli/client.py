"""Client commands for a running hub (HTTP API, bearer token of the configured demo partner):

    edihub submit FILE [--url URL] [--wait] [--timeout S] [--message-id ID] [--route R] [--json]
    edihub status ID [--url URL] [--json]
    edihub resend ID [--url URL] [--json]
    edihub messages [--state S] [--since T] [--format F] [--limit N] [--url URL] [--json]

The token: --token, else $EDIHUB_TOKEN, else the demo partner's variable named in the configuration, else the
demo token file the server writes on first start (var/demo-token-<partner>). EDIHUB_OPERATOR_TOKEN (or the
variable named by hub.operator_token_env) is used for `resend` and `messages` when set.
Exit codes: 0 ok, 1 rejected / not delivered / refused, 2 usage, unreadable file or hub unreachable.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from routing.states import MESSAGE_FINAL

FINAL = MESSAGE_FINAL


def hub_options(p, json_help: str = "print the hub's JSON answer") -> None:
    """The options every command talking to a running hub takes (also console/cli_ops.py's)."""
    p.add_argument("--url", default=None, help="hub base URL (default: http://<server.host>:<server.port>)")
    p.add_argument("--config", default=None, help="configuration file to find the URL and demo partner")
    p.add_argument("--token", default=None, help="bearer token (default: see `edihub submit --help`)")
    p.add_argument("--json", action="store_true", help=json_help)


def register(sub) -> None:
    common = hub_options

    p = sub.add_parser("submit", help="submit a document to a running hub")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--wait", action="store_true", help="wait until every delivery reaches a final state")
    p.add_argument("--timeout", type=float, default=60.0, help="how long --wait waits (seconds)")
    p.add_argument("--message-id", default=None, help="your own message id (duplicate detection)")
    p.add_argument("--route", action="append", default=[], help="restrict to this route id (repeatable)")
    common(p)
    p.set_defaults(func=run_submit)

    p = sub.add_parser("status", help="show the state of a message and its deliveries")
    p.add_argument("id")
    common(p)
    p.set_defaults(func=run_status)

    p = sub.add_parser("resend", help="put a dead or failed message's deliveries back in the queue")
    p.add_argument("id")
    common(p)
    p.set_defaults(func=run_resend)

    p = sub.add_parser("messages", help="list messages (newest first)")
    p.add_argument("--state", default=None)
    p.add_argument("--format", default=None)
    p.add_argument("--since", type=since_epoch, default=None, metavar="T",
                   help="only messages received since T: 30m, 2h, 1d ago, an ISO date/time, or epoch seconds")
    p.add_argument("--limit", type=int, default=20)
    common(p)
    p.set_defaults(func=run_messages)


class _Usage(Exception):
    pass


def _settings(args, operator=False):
    cfg = None
    try:
        from routing.config import load_config
        cfg = load_config(args.config)
    except Exception:  # noqa: BLE001 - the client works without a readable configuration when given --url/--token
        if args.config:
            raise _Usage(f"cannot read configuration {args.config}") from None
    url = args.url or (f"http://{cfg.server.host}:{cfg.server.port}" if cfg else "http://127.0.0.1:8080")
    token = args.token
    if not token and operator and cfg and cfg.hub.operator_token_env:
        token = os.environ.get(cfg.hub.operator_token_env)
    token = token or os.environ.get("EDIHUB_TOKEN")
    if not token and cfg and cfg.demo_partner:
        p = cfg.partners[cfg.demo_partner]
        token = p.token
        if not token:
            from routing.config import demo_token_file
            f = demo_token_file(cfg, p.id)
            if f.exists():
                token = f.read_text().strip()
    if not token:
        raise _Usage("no token: pass --token, set EDIHUB_TOKEN, or start the demo hub once (it writes the demo token)")
    return url.rstrip("/"), {"Authorization": f"Bearer {token}"}


def _call(fn):
    import httpx
    try:
        return fn()
    except httpx.HTTPError as e:
        raise _Usage(f"hub unreachable: {e}") from None


def _operator_api(args, method: str, path: str, **kw) -> dict | None:
    """One call to the hub's HTTP API as the operator: the JSON body, or None after printing the hub's error."""
    import httpx
    url, headers = _settings(args, operator=True)
    r = _call(lambda: httpx.request(method, f"{url}{path}", headers=headers, timeout=10, **kw))
    body = r.json()
    if r.status_code != 200:
        print(f"edihub: {body['error']['message']}", file=sys.stderr)
        return None
    return body


def _guard(run):
    def wrapper(args):
        try:
            return run(args)
        except _Usage as e:
            print(f"edihub: {e}", file=sys.stderr)
            return 2
    return wrapper


def _print_status(st: dict) -> None:
    print(f"{st['message_id']}  {st['state']}  {st.get('format') or ''}  {st.get('business_key') or ''}")
    for d in st.get("deliveries", []):
        extra = f"  ({d['last_error']})" if d.get("last_error") and d["state"] != "acknowledged" else ""
        print(f"  {d['route']:<24} -> {d['endpoint']:<16} {d['state']:<13} attempts {d['attempts']}{extra}")


@_guard
def run_submit(args) -> int:
    import httpx
    try:
        data = Path(args.file).read_bytes()
    except OSError as e:
        print(f"edihub: {args.file}: {e.strerror}", file=sys.stderr)
        return 2
    url, headers = _settings(args)
    headers["Content-Type"] = "application/xml"
    if args.message_id:
        headers["X-Message-Id"] = args.message_id
    r = _call(lambda: httpx.post(f"{url}/api/messages", content=data, headers=headers,
                                 params=[("route", x) for x in args.route], timeout=30))
    body = r.json()
    if r.status_code not in (200, 202):
        if args.json:
            print(json.dumps(body, ensure_ascii=False))
        else:
            err = body.get("error", {})
            print(f"{body.get('message_id') or args.file}: refused ({r.status_code}) {err.get('code')}: "
                  f"{err.get('message')}")
            for i in err.get("issues") or []:
                print(f"  {i['code']:<24} {i.get('path') or ''}\n          {i['message']}")
        return 1
    mid = body["message_id"]
    if not args.wait:
        print(json.dumps(body, ensure_ascii=False) if args.json
              else f"{mid}  {body['state']}{'  (duplicate)' if body['duplicate'] else ''}")
        return 0
    deadline = time.monotonic() + args.timeout
    while True:
        st = _call(lambda: httpx.get(f"{url}/api/messages/{mid}", headers=headers, timeout=10)).json()
        if st["state"] in FINAL or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if args.json:
        print(json.dumps(st, ensure_ascii=False))
    else:
        _print_status(st)
        if st["state"] not in FINAL:
            print(f"  (still {st['state']} after {args.timeout:.0f} s)")
    return 0 if st["state"] in ("delivered", "acknowledged") else 1


@_guard
def run_status(args) -> int:
    body = _operator_api(args, "GET", f"/api/messages/{args.id}")
    if body is None:
        return 1
    print(json.dumps(body, ensure_ascii=False)) if args.json else _print_status(body)
    return 0


@_guard
def run_resend(args) -> int:
    body = _operator_api(args, "POST", f"/api/messages/{args.id}/resend")
    if body is None:
        return 1
    if args.json:
        print(json.dumps(body, ensure_ascii=False))
    else:
        print(f"{args.id}: {len(body['requeued'])} delivery(ies) requeued; state {body['state']}")
    return 0


def since_epoch(text: str, now: float | None = None) -> float:
    """`--since`: a duration back from now (30s, 30m, 2h, 1d), an ISO 8601 date or date-time (UTC unless it
    names its offset), or epoch seconds."""
    import argparse
    import datetime as dt
    import time
    t = text.strip()
    now = time.time() if now is None else now
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(t) > 1 and t[-1] in units and t[:-1].replace(".", "", 1).isdigit():
        return now - float(t[:-1]) * units[t[-1]]
    try:
        return float(t)
    except ValueError:
        pass
    try:
        d = dt.datetime.fromisoformat(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use 30m / 2h / 1d, an ISO date or date-time, or epoch seconds")
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d.timestamp()


@_guard
def run_messages(args) -> int:
    params = {"limit": args.limit, **({"state": args.state} if args.state else {}),
              **({"format": args.format} if args.format else {}),
              **({"since": args.since} if args.since is not None else {})}
    body = _operator_api(args, "GET", "/api/messages", params=params)
    if body is None:
        return 1
    if args.json:
        print(json.dumps(body, ensure_ascii=False))
        return 0
    for m in body["messages"]:
        print(f"{m['id']}  {m['created_at']}  {m['state']:<13} {m['format'] or '-':<22} {m['business_key'] or ''}")
    return 0
