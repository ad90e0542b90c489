"""The console's pages and actions (server-rendered with Jinja2, autoescaped; no script needed).

Every page needs a logged-in console user; actions (POST) need the operator role and the session's CSRF token.
Store access runs in Starlette's thread pool so the event loop stays free.
"""
from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from routing import states as S

from . import certs as certs_mod
from . import queries, xmlview
from .humanize import duration as fmt_duration

log = logging.getLogger("edihub.console")
HERE = Path(__file__).resolve().parent
PAGE_SIZE = 50

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

FLASH = {
    "resent": "Resend: {n} delivery(ies) put back in the queue.",
    "resent-none": "Resend: nothing to resend (no dead, failed or cancelled delivery).",
    "cancelled": "Cancel: {n} delivery(ies) cancelled.",
    "cancelled-busy": "Cancel: {n} delivery(ies) cancelled; {b} being sent right now finish their attempt "
                      "(cancelled if it fails).",
    "cancel-none": "Cancel: nothing waiting to be sent.",
}


def fmt_time(t) -> str:
    if t is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


def parse_day(v: str | None, end: bool = False) -> float | None:
    """`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` (UTC) -> epoch seconds; a bare day as `until` means the end of it."""
    if not v:
        return None
    v = v.strip()
    for f in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            d = dt.datetime.strptime(v, f)
        except ValueError:
            continue
        t = calendar.timegm(d.timetuple())
        return t + 86400 if end and f == "%Y-%m-%d" else t
    raise ValueError(v)


def timeline(audit: list[dict], now: float, final_states) -> list[dict]:
    """Audit rows -> events with the time spent in each state (until the next event of the same message or
    delivery; for the latest one, until now unless the state is final)."""
    events = []
    last_of: dict = {}
    for i, a in enumerate(audit):
        scope = a["delivery_id"] or ""
        ev = dict(a, scope=scope, duration=None, ongoing=False,
                  action=a["from_state"] == a["to_state"])
        if ev["action"]:
            events.append(ev)
            continue
        prev = last_of.get(scope)
        if prev is not None:
            prev["duration"] = a["at"] - prev["at"]
        last_of[scope] = ev
        events.append(ev)
    for ev in last_of.values():
        if ev["to_state"] not in final_states:
            ev["duration"] = max(0.0, now - ev["at"])
            ev["ongoing"] = True
    return events


class Console:
    def __init__(self, runtime, cfg, sessions, certificates, problems, clock):
        self.rt = runtime
        self.cfg = cfg
        self.sessions = sessions
        self.certs = certificates
        self.cert_problems = problems
        self.clock = clock
        self.by_fingerprint = {c.fingerprint(certs_mod._sha256()).hex(): (n, c) for n, c in certificates}
        self.env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters["t"] = fmt_time
        self.env.filters["dur"] = fmt_duration
        self.env.globals["route_ids"] = sorted(runtime.cfg.routes)
        self.env.globals["partner_ids"] = sorted(runtime.cfg.partners)
        self.env.globals["message_states"] = S.MESSAGE_STATES

    # -- plumbing --------------------------------------------------------------------------------------------
    def _session(self, request: Request):
        return self.sessions.decode(request.cookies.get(self.cfg.cookie_name), self.clock())

    def _render(self, name: str, request: Request, session, status=200, **ctx) -> HTMLResponse:
        user = self.sessions.user_of(session)
        html = self.env.get_template(name).render(user=user, csrf=self.sessions.csrf(session) if session else "",
                                                  path=request.url.path, **ctx)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def _set(self, resp: Response, session) -> Response:
        resp.set_cookie(value=self.sessions.encode(session), **self.sessions.cookie_kwargs())
        return resp

    def _login_redirect(self, request: Request) -> Response:
        target = request.url.path + (("?" + request.url.query) if request.url.query else "")
        return RedirectResponse("/console/login?" + urlencode({"next": target}), status_code=303,
                                headers=SECURITY_HEADERS)

    def _forbidden(self, request, session, why: str) -> HTMLResponse:
        return self._render("error.html", request, session, status=403, title="Not allowed", message=why)

    async def _refuse(self, request: Request, code: str, reason: str) -> None:
        """Record a refused console request in the hub's refusal log (channel `console`; counted by /metrics)."""
        remote = f"{request.client.host}:{request.client.port}" if request.client else None
        try:
            await run_in_threadpool(self.rt.hub.refuse, "console", code, reason, None, remote)
        except Exception as e:  # noqa: BLE001 - logging a refusal must not turn it into a server error
            log.warning("console: cannot record refusal %s: %s", code, e)

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            return origin is None
        host = request.headers.get("host", "")
        return urlsplit(origin).netloc == host

    async def _user_or_redirect(self, request: Request):
        s = self._session(request)
        u = self.sessions.user_of(s)
        if u is None:
            return s, None, self._login_redirect(request)
        return s, u, None

    async def _action_guard(self, request: Request):
        """(session, user, form, refusal response or None) for a POST action."""
        s = self._session(request)
        u = self.sessions.user_of(s)
        form = await request.form(max_files=0, max_fields=20)
        if u is None:
            return s, None, form, HTMLResponse("login required", status_code=401, headers=SECURITY_HEADERS)
        if not self._same_origin(request) or not self.sessions.csrf_ok(s, form.get("csrf")):
            log.warning("console: %s refused for %s: missing or wrong CSRF token / origin", request.url.path, u.name)
            await self._refuse(request, "csrf-failed", f"{request.url.path} by {u.name}: CSRF token or origin wrong")
            return s, u, form, self._render("error.html", request, s, status=403, title="Refused",
                                            message="The form was not sent from this console session (CSRF check). "
                                                    "Reload the page and try again.")
        if not u.can_act:
            log.warning("console: %s refused for %s: role %s", request.url.path, u.name, u.role)
            await self._refuse(request, "role-refused", f"{request.url.path} by {u.name} (role {u.role})")
            return s, u, form, self._forbidden(request, s, f"Your role ({u.role}) may look but not act; "
                                                           f"operators can resend and cancel.")
        return s, u, form, None

    # -- login -----------------------------------------------------------------------------------------------
    async def login_form(self, request: Request):
        s = self._session(request) or self.sessions.new(None, self.clock())
        nxt = _safe_next(request.query_params.get("next"))
        return self._set(self._render("login.html", request, s, next=nxt, error=None), s)

    async def login(self, request: Request):
        s = self._session(request)
        form = await request.form(max_files=0, max_fields=10)
        nxt = _safe_next(form.get("next"))
        if not self._same_origin(request) or not self.sessions.csrf_ok(s, form.get("csrf")):
            s = self.sessions.new(None, self.clock())
            return self._set(self._render("login.html", request, s, status=403, next=nxt,
                                          error="The login form expired or did not come from this site; "
                                                "please try again."), s)
        name = str(form.get("username", ""))[:100]
        pw = str(form.get("password", ""))[:1000]
        u = await run_in_threadpool(self.sessions.check_password, name, pw, self.clock())
        if u is None:
            log.warning("console: failed login for %r from %s", name, request.client.host if request.client else "?")
            await self._refuse(request, "login-failed", f"console login failed for user name {name[:60]!r}")
            return self._set(self._render("login.html", request, s, status=401, next=nxt,
                                          error="Wrong user name or password (or too many attempts: wait a few "
                                                "minutes)."), s)
        log.info("console: %s logged in (%s)", u.name, u.role)
        new = self.sessions.new(u.name, self.clock())
        return self._set(RedirectResponse(nxt, status_code=303, headers=SECURITY_HEADERS), new)

    async def logout(self, request: Request):
        s = self._session(request)
        form = await request.form(max_files=0, max_fields=5)
        if not self.sessions.csrf_ok(s, form.get("csrf")):
            return self._render("error.html", request, s, status=403, title="Refused", message="CSRF check failed.")
        resp = RedirectResponse("/console/login", status_code=303, headers=SECURITY_HEADERS)
        return self._set(resp, self.sessions.new(None, self.clock()))

    # -- pages -----------------------------------------------------------------------------------------------
    async def home(self, request: Request):
        return RedirectResponse("/console/messages", status_code=303)

    async def messages(self, request: Request):
        s, u, redirect = await self._user_or_redirect(request)
        if redirect:
            return redirect
        q = request.query_params
        errors = []
        f = queries.Filters(state=q.get("state") or None, partner=q.get("partner") or None,
                            format=q.get("format") or None, route=q.get("route") or None,
                            q=(q.get("q") or "").strip()[:200] or None)
        if f.state and f.state not in S.MESSAGE_STATES:
            errors.append(f"state: unknown state {f.state!r}")
            f.state = None
        for key, end in (("since", False), ("until", True)):
            try:
                setattr(f, key, parse_day(q.get(key), end))
            except ValueError:
                errors.append(f"{key}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)")
        try:
            page = max(1, int(q.get("page", 1)))
        except ValueError:
            page = 1
        rows, total, counts = await run_in_threadpool(queries.search, self.rt.store, f, PAGE_SIZE,
                                                      (page - 1) * PAGE_SIZE)
        fmts = await run_in_threadpool(queries.formats, self.rt.store)
        keep = {k: v for k, v in q.items() if k != "page" and v}
        pages = max(1, -(-total // PAGE_SIZE))

        def link(**over):
            d = {**keep, **over}
            return "/console/messages?" + urlencode({k: v for k, v in d.items() if v not in (None, "")})
        return self._render("messages.html", request, s, title="Messages", rows=rows, total=total, counts=counts,
                            q=q, errors=errors, page=page, pages=pages, link=link, formats=fmts,
                            families=sorted({x.split(":")[0] for x in fmts}))

    async def message(self, request: Request):
        s, u, redirect = await self._user_or_redirect(request)
        if redirect:
            return redirect
        mid = request.path_params["id"]
        data = await run_in_threadpool(self._message_data, mid)
        if data is None:
            return self._render("error.html", request, s, status=404, title="Not found",
                                message=f"No message {mid}.")
        flash = _flash(request.query_params)
        return self._render("message.html", request, s, title=f"Message {mid}", flash=flash, **data)

    def _message_data(self, mid: str) -> dict | None:
        store = self.rt.store
        m = store.message(mid)
        if m is None:
            return None
        now = self.clock()
        validation = json.loads(m["validation"]) if m.get("validation") else None
        ds = store.deliveries(mid)
        docs = store.documents(mid)
        for d in ds:
            responses = queries.attempt_responses(store, d["id"])
            for a in d["attempt_log"]:
                body, _ = responses.get(a["n"], (None, None))
                a["duration"] = (a["finished_at"] - a["started_at"]) if a["finished_at"] else None
                a["response_html"], a["response_note"] = xmlview.render(body) if body else ("", None)
                a["response_size"] = len(body) if body else 0
            d["documents"] = [x for x in docs if x["delivery_id"] == d["id"]]
            d["can_resend"] = d["state"] in (S.DEAD, S.FAILED, S.CANCELLED)
        for x in docs:
            x["html"], x["note"] = xmlview.render(x["data"])
            x["size"] = len(x["data"])
            ev = x.get("evidence")
            if isinstance(ev, dict) and ev.get("certificate_sha256"):
                hit = self.by_fingerprint.get(ev["certificate_sha256"])
                if hit:
                    c = hit[1]
                    x["cert"] = {"name": hit[0], "not_before": c.not_valid_before_utc, "not_after":
                                 c.not_valid_after_utc,
                                 "days_left": int((c.not_valid_after_utc.timestamp() - now) // 86400),
                                 "valid": c.not_valid_before_utc.timestamp() <= now <= c.not_valid_after_utc.timestamp()}
        inbound_html, inbound_note = xmlview.render(m["inbound"])
        final = {S.DELIVERED, S.ACKNOWLEDGED, S.REJECTED, S.DEAD, S.CANCELLED}
        return {"m": m, "validation": validation, "deliveries": ds, "events": timeline(store.audit(mid), now, final),
                "inbound_html": inbound_html, "inbound_note": inbound_note, "inbound_size": len(m["inbound"]),
                "loose_docs": [x for x in docs if not x["delivery_id"]],
                "can_resend": m["state"] != S.REJECTED and any(d["can_resend"] for d in ds),
                "can_cancel": any(d["state"] in (S.QUEUED, S.FAILED, S.DEAD) for d in ds)}

    async def inbound(self, request: Request):
        s, u, redirect = await self._user_or_redirect(request)
        if redirect:
            return redirect
        mid = request.path_params["id"]
        m = await run_in_threadpool(self.rt.store.message, mid)
        if m is None:
            return Response("not found", status_code=404)
        return _download(m["inbound"], f"{mid}-inbound.xml")

    async def document(self, request: Request):
        s, u, redirect = await self._user_or_redirect(request)
        if redirect:
            return redirect
        mid, doc = request.path_params["id"], request.path_params["doc"]
        d = await run_in_threadpool(queries.document, self.rt.store, mid, doc)
        if d is None:
            return Response("not found", status_code=404)
        return _download(d["data"], f"{mid}-{d['kind']}-{doc}.xml")

    async def response(self, request: Request):
        s, u, redirect = await self._user_or_redirect(request)
        if redirect:
            return redirect
        mid, did, n = request.path_params["id"], request.path_params["delivery"], request.path_params["n"]
        ds = await run_in_threadpool(self.rt.store.deliveries, mid)
        if did not in {d["id"] for d in ds}:
            return Response("not found", status_code=404)
        body, _ = (await run_in_threadpool(queries.attempt_responses, self.rt.store, did)).get(n, (None, None))
        if body is None:
            return Response("not found", status_code=404)
        return _download(body, f"{did}-attempt{n}-response.xml")

    async def routes(self, request: Request):
        s, u, redirect = await self._user_or_redirect(request)
        if redirect:
            return redirect
        figs = await run_in_threadpool(queries.route_figures, self.rt.store)
        rows = []
        for rid, r in sorted(self.rt.cfg.routes.items()):
            ep = self.rt.cfg.endpoints.get(r.endpoint)
            f = figs.get(rid, {"states": {}, "queue": 0, "last_success": None, "failures": 0,
                               "failures_since_success": 0, "last_outcome": None, "last_error": None,
                               "last_at": None, "attempts": 0})
            if f["last_outcome"] is None:
                health = "unknown"
            elif f["last_outcome"] in (S.DELIVERED, S.ACKNOWLEDGED, S.REJECTED):
                health = "up"
            else:
                health = "failing"
            rows.append({"id": rid, "route": r, "endpoint": ep, "health": health, **f})
        return self._render("routes.html", request, s, title="Routes", rows=rows, now=self.clock())

    async def certificates(self, request: Request):
        s, u, redirect = await self._user_or_redirect(request)
        if redirect:
            return redirect
        now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)
        rows = certs_mod.report(self.certs, self.cert_problems, now, self.cfg.cert_warn_days)
        return self._render("certificates.html", request, s, title="Certificates", rows=rows,
                            warn_days=self.cfg.cert_warn_days)

    # -- actions ---------------------------------------------------------------------------------------------
    async def resend(self, request: Request):
        s, u, form, refused = await self._action_guard(request)
        if refused:
            return refused
        mid = request.path_params["id"]
        from routing.hub import HubError
        try:
            res = await run_in_threadpool(self.rt.hub.resend, mid)
        except HubError as e:
            return self._render("error.html", request, s, status=e.status, title="Resend refused",
                                message=e.message)
        n = len(res["requeued"])
        await run_in_threadpool(queries.note_action, self.rt.store, mid, self.clock(),
                                f"console: resend by {u.name} ({n} delivery(ies) requeued)")
        log.info("console: %s resent %s (%d deliveries)", u.name, mid, n)
        return RedirectResponse(f"/console/messages/{mid}?" + urlencode({"done": "resent" if n else "resent-none",
                                                                           "n": n}), status_code=303)

    async def cancel(self, request: Request):
        s, u, form, refused = await self._action_guard(request)
        if refused:
            return refused
        mid = request.path_params["id"]
        try:
            done, busy = await run_in_threadpool(queries.cancel, self.rt.store, mid, self.clock(),
                                                 f"console: cancelled by {u.name}")
        except KeyError:
            return self._render("error.html", request, s, status=404, title="Not found", message=f"No message {mid}.")
        log.info("console: %s cancelled %s (%d deliveries; %d in flight)", u.name, mid, len(done), len(busy))
        code = "cancelled-busy" if busy else ("cancelled" if done else "cancel-none")
        return RedirectResponse(f"/console/messages/{mid}?" + urlencode({"done": code, "n": len(done),
                                                                           "b": len(busy)}), status_code=303)


def _flash(q) -> str | None:
    code = q.get("done")
    if code not in FLASH:
        return None
    try:
        n, b = int(q.get("n", 0)), int(q.get("b", 0))
    except ValueError:
        n = b = 0
    return FLASH[code].format(n=n, b=b)


def _safe_next(v) -> str:
    v = str(v or "")
    if v.startswith("/console") and not v.startswith("//") and "\\" not in v and "\n" not in v and "\r" not in v:
        return v
    return "/console/messages"


def _download(data: bytes, name: str) -> Response:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return Response(data, media_type="application/xml",
                    headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{safe}"'})
