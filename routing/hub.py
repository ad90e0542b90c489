"""The hub: what soap/ and the HTTP API call. Submission, status, receipt, listing and operator resend.

`Hub.submit` runs the pipeline (pure), writes the result in one transaction, and only then answers: the sender
is acknowledged after the commit. Duplicates are found on (partner, partner's message id) and on
(partner, format, business key) among *accepted* messages; a rejected / dead / cancelled message does not count,
so its resubmission is processed anew.
"""
from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Callable

from . import states as S
from .config import Config
from .pipeline import Pipeline, digest
from .procpool import WorkerLost
from .store import DuplicateMessage, NewDelivery, NewMessage, Store, new_id


class HubError(Exception):
    """A request the hub refuses. kind: client (the caller's fault) / server; code is stable."""

    def __init__(self, code: str, message: str, kind: str = "client", status: int = 400, issues=None):
        super().__init__(message)
        self.code, self.message, self.kind, self.status = code, message, kind, status
        self.issues = issues or []


@dataclass
class SubmitResult:
    message_id: str
    state: str
    duplicate: bool
    format: str | None = None
    business_key: str | None = None
    validation: dict | None = None
    fault: str | None = None                 # client / server when rejected
    issues: list = field(default_factory=list)
    deliveries: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"message_id": self.message_id, "state": self.state, "duplicate": self.duplicate,
                "format": self.format, "business_key": self.business_key, "validation": self.validation,
                "deliveries": self.deliveries}


class Hub:
    def __init__(self, cfg: Config, store: Store, pipeline: Pipeline, *, clock: Callable[[], float] = time.time,
                 on_queued: Callable[[], None] | None = None, receipts=None, procs=None):
        self.cfg = cfg
        self.procs = procs                 # routing.procpool.PipelineProcesses, or None: the pipeline runs here
        self.store = store
        self.pipeline = pipeline
        self.clock = clock
        self.on_queued = on_queued or (lambda: None)
        self.receipts = receipts

    # -- intake ----------------------------------------------------------------------------------------------
    def submit(self, partner_id: str, raw: bytes, *, message_id: str | None = None, hints: dict | None = None,
               channel: str = "api", remote: str | None = None, tree=None) -> SubmitResult:
        partner = self.cfg.partners.get(partner_id)
        now = self.clock()
        if partner is None:
            self.refuse(channel, "partner-unknown", f"unknown partner {partner_id!r}", partner_id, remote, raw, now)
            raise HubError("partner-unknown", f"unknown partner {partner_id!r}", status=403)
        hints = _clean_hints(hints)
        if message_id is not None:
            message_id = message_id.strip() or None
            if message_id and len(message_id) > 200:
                raise HubError("message-id-too-long", "the message id is longer than 200 characters")
        if tree is None and self.procs is not None:
            # the pure steps in a worker process; the duplicate check follows here, before anything is stored
            try:
                prep = self.procs.prepare(partner, raw, now, hints, message_id)
            except WorkerLost as e:
                self.refuse(channel, "pipeline-worker-lost", str(e), partner.id, remote, raw, now)
                raise HubError("pipeline-worker-lost", f"{e}; retry, and report it if it happens again",
                               kind="server", status=500) from None
            if prep.format is not None and prep.not_allowed is None and not prep.dup_checked:
                prep.existing = self.store.find_active(partner.id, message_id, prep.format, prep.business_key)
        else:
            prep = self.pipeline.prepare(partner, raw, now, hints, tree=tree, existing=lambda fmt, key:
                                         self.store.find_active(partner.id, message_id, fmt, key))
        if prep.not_allowed is not None:
            code, text = prep.not_allowed
            self.refuse(channel, code, text, partner.id, remote, raw, now)
            raise HubError(code, text, status=403)
        if prep.existing:
            return self._existing(prep.existing)
        res = prep.result
        mid = new_id()
        msg = NewMessage(mid, partner.id, message_id, res.format, res.business_key, raw, res.digest, res.state,
                         res.transitions, res.validation, hints, res.error,
                         [NewDelivery(o.route.id, o.target, o.route.endpoint, o.route.max_attempts, o.payload,
                                      o.report, o.evidence) for o in res.outputs])
        try:
            self.store.accept(msg)
        except DuplicateMessage as e:          # a concurrent twin won the race
            return self._existing(e.existing_id)
        if res.state == S.QUEUED:
            self.on_queued()
        return SubmitResult(mid, res.state, False, res.format, res.business_key, res.validation, res.fault,
                            res.issues, [{"id": d.id, "route": d.route, "target": d.target, "endpoint": d.endpoint,
                                          "state": S.QUEUED} for d in msg.deliveries])

    def _existing(self, mid: str) -> SubmitResult:
        m = self.store.message(mid)
        ds = self.store.deliveries(mid)
        return SubmitResult(mid, m["state"], True, m["format"], m["business_key"], _loads(m["validation"]),
                            deliveries=[_delivery_view(d) for d in ds])

    def refuse(self, channel, code, reason, partner=None, remote=None, raw: bytes | None = None, now=None):
        """Log a refused request (authentication/authorisation/transport); nothing is stored as accepted."""
        self.store.record_refusal(at=now if now is not None else self.clock(), channel=channel, code=code,
                                  reason=reason, partner=partner, remote=remote,
                                  size=len(raw) if raw is not None else None,
                                  digest=digest(raw) if raw is not None else None)

    # -- queries ---------------------------------------------------------------------------------------------
    def _get(self, message_id: str, partner_id: str | None) -> dict:
        m = self.store.message(message_id)
        if m is None or (partner_id is not None and m["partner"] != partner_id):
            raise HubError("message-unknown", f"no message {message_id!r}", status=404)
        return m

    def status(self, message_id: str, partner_id: str | None = None) -> dict:
        m = self._get(message_id, partner_id)
        return {"message_id": m["id"], "partner": m["partner"], "client_message_id": m["client_msg_id"],
                "format": m["format"], "business_key": m["business_key"], "state": m["state"],
                "created_at": _iso(m["created_at"]), "updated_at": _iso(m["updated_at"]), "error": m["error"],
                "validation": _loads(m["validation"]),
                "deliveries": [_delivery_view(d) for d in self.store.deliveries(message_id)],
                "history": [{"delivery": a["delivery_id"], "from": a["from_state"], "to": a["to_state"],
                             "at": _iso(a["at"]), "detail": a["detail"]} for a in self.store.audit(message_id)]}

    def receipt(self, message_id: str, partner_id: str | None = None) -> dict:
        m = self._get(message_id, partner_id)
        out = {"message_id": m["id"], "state": m["state"], "inbound_digest": m["inbound_digest"], "receipts": []}
        docs = self.store.documents(message_id)
        by_delivery = {}
        for d in docs:
            by_delivery.setdefault(d["delivery_id"], {}).setdefault(d["kind"], []).append(d)
        for d in self.store.deliveries(message_id):
            got = by_delivery.get(d["id"], {})
            resp = self.store.last_response(d["id"])
            outbound = got.get("outbound", [{}])[0]
            if not got.get("receipt") and self.receipts is not None and d["state"] in (S.DELIVERED, S.ACKNOWLEDGED):
                got["receipt"] = [{"data": self._make_receipt(m, d, outbound, resp)}]
            out["receipts"].append({
                "delivery": d["id"], "route": d["route"], "endpoint": d["endpoint"], "state": d["state"],
                "outbound_digest": digest(outbound["data"]) if outbound.get("data") else None,
                "signature": outbound.get("evidence"),
                "mapping_report": outbound.get("report"),
                "endpoint_status": resp["status"] if resp else None,
                "endpoint_response": resp["response"] if resp else None,
                "endpoint_response_info": _loads(resp["response_info"]) if resp else None,
                "hub_receipt": got["receipt"][-1]["data"] if got.get("receipt") else None,
                "translated_back": got["back"][-1]["data"] if got.get("back") else None,
            })
        return out

    def _make_receipt(self, m, d, outbound, resp) -> bytes:
        """edihub's receipt for a delivery, built from the facts recorded when its outcome was committed (what was
        sent, the answer, when) and signed now; stored, so it is made once. Receipts are made on demand to keep
        an RSA signature per delivery off the delivery path (hub.receipts = "eager" makes them at delivery)."""
        info = _loads(resp["response_info"]) if resp else None
        delivered_at = next((a["finished_at"] for a in reversed(d.get("attempt_log", []))
                             if a["outcome"] in (S.DELIVERED, S.ACKNOWLEDGED)), d["updated_at"])
        data, ev = self.receipts.make(message_id=m["id"], delivery_id=d["id"], route=d["route"],
                                      endpoint=d["endpoint"], state=d["state"], payload=outbound.get("data") or b"",
                                      response=resp["response"] if resp else b"",
                                      status=resp["status"] if resp else None,
                                      outcome=(info or {}).get("outcome"), now=self.clock(),
                                      delivered_at=delivered_at)
        self.store.add_document(m["id"], d["id"], "receipt", "edihub:Receipt", data, self.clock(), evidence=ev)
        return data

    def list_messages(self, partner_id: str | None = None, **filters) -> list[dict]:
        rows = self.store.list_messages(partner=partner_id or filters.pop("partner", None), **filters)
        for r in rows:
            r["created_at"] = _iso(r["created_at"])
            r["updated_at"] = _iso(r["updated_at"])
        return rows

    def resend(self, message_id: str, partner_id: str | None = None) -> dict:
        m = self._get(message_id, partner_id)
        if m["state"] == S.REJECTED:
            raise HubError("message-rejected", f"message {message_id} was rejected; submit a corrected document",
                           status=409)
        ds = self.store.deliveries(message_id)
        budget = max((self.cfg.routes[d["route"]].max_attempts if d["route"] in self.cfg.routes
                      else self.cfg.delivery.max_attempts) for d in ds) if ds else 1
        try:
            ids = self.store.resend(message_id, self.clock(), budget)
        except DuplicateMessage as e:
            raise HubError("message-superseded", f"message {e.existing_id} with the same keys is accepted; "
                                                 f"resend that one", status=409) from None
        if ids:
            self.on_queued()
        return {"message_id": message_id, "requeued": ids, "state": self.store.message(message_id)["state"]}


    def cancel(self, message_id: str, partner_id: str | None = None) -> dict:
        self._get(message_id, partner_id)
        ids = self.store.cancel(message_id, self.clock())
        return {"message_id": message_id, "cancelled": ids, "state": self.store.message(message_id)["state"]}


def _clean_hints(h: dict | None) -> dict | None:
    if not h:
        return None
    out = {}
    for k, v in h.items():
        if v in (None, "", []):
            continue
        if k == "routes":
            out[k] = [v] if isinstance(v, str) else [str(x) for x in v]
        elif k in ("direction", "destination", "agency", "format"):
            out[k] = str(v).strip()
        else:
            raise HubError("hint-unknown", f"unknown routing hint {k!r} (known: routes, direction, destination, "
                                           f"agency, format)")
    return out or None


def _delivery_view(d: dict) -> dict:
    return {"id": d["id"], "route": d["route"], "target": d["target"], "endpoint": d["endpoint"],
            "state": d["state"], "attempts": d["attempts"], "max_attempts": d["max_attempts"],
            "next_attempt_at": _iso(d["next_at"]) if d["state"] in (S.QUEUED, S.FAILED) and d["next_at"] else None,
            "last_error": d["last_error"], "updated_at": _iso(d["updated_at"]),
            "attempt_log": [{"n": a["n"], "started_at": _iso(a["started_at"]), "finished_at": _iso(a["finished_at"]),
                             "outcome": a["outcome"], "status": a["status"], "error": a["error"]}
                            for a in d.get("attempt_log", [])]}


def _iso(t) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


def _loads(s):
    import json
    return json.loads(s) if s else None


def b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None
