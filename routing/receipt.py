"""edihub's own receipt for one delivery: what was sent (digest), to whom, when, and what the endpoint answered.

Built as a small XML document in the hub namespace and signed with the hub's signing section when one is
configured (hub.signing), so a trader can show a third party what the hub did. Pure: the time is passed in.
"""
from __future__ import annotations

import time

from lxml import etree

from .pipeline import digest, evidence_dict

HUB_NS = "urn:edihub:hub:1"


def _t(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


def build_receipt(*, hub_id: str, message_id: str, delivery_id: str, route: str, endpoint: str, state: str,
                  payload: bytes, response: bytes, status, outcome: dict | None, now: float,
                  delivered_at: float | None = None) -> etree._Element:
    E = lambda tag, text=None, **a: _el(tag, text, **a)  # noqa: E731
    root = E("Receipt", Id=f"R-{delivery_id}")
    for tag, text in (("Hub", hub_id), ("MessageId", message_id), ("DeliveryId", delivery_id), ("Route", route),
                      ("Endpoint", endpoint), ("State", state),
                      ("DeliveredAt", _t(delivered_at if delivered_at is not None else now)), ("IssuedAt", _t(now)),
                      ("DocumentDigest", digest(payload)), ("ResponseDigest", digest(response or b"")),
                      ("ResponseStatus", "" if status is None else str(status))):
        root.append(E(tag, text))
    if outcome:
        o = E("Authority")
        for k, name in (("family", "Family"), ("accepted", "Accepted"), ("status", "Status"),
                        ("channel", "Channel"), ("correlation_id", "CorrelationId")):
            v = outcome.get(k)
            if v is not None:
                o.append(E(name, str(v).lower() if isinstance(v, bool) else str(v)))
        for ref in outcome.get("references") or ([outcome["reference"]] if outcome.get("reference") else []):
            o.append(E("Reference", str(ref)))
        root.append(o)
    return root


def _el(tag, text=None, **attrs):
    el = etree.Element(f"{{{HUB_NS}}}{tag}", nsmap={None: HUB_NS})
    for k, v in attrs.items():
        el.set(k, v)
    if text is not None:
        el.text = text
    return el


class ReceiptSigner:
    """Signs receipts with the hub's key (loaded once); without one, receipts are stored unsigned."""

    def __init__(self, hub_id: str, signer_entry=None):
        self.hub_id = hub_id
        self.entry = signer_entry          # (profile, signer, sign_fn) or None

    def make(self, **kw) -> tuple[bytes, dict | None]:
        root = build_receipt(hub_id=self.hub_id, **kw)
        if self.entry is None:
            return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), None
        profile, signer, sign_fn = self.entry
        res = sign_fn(root, profile, signer)
        return res.data, evidence_dict(res.evidence)
