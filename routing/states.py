"""Message and delivery states, and how a message's state follows from its deliveries."""
from __future__ import annotations

RECEIVED, VALIDATED, TRANSLATED, SIGNED, QUEUED = "received", "validated", "translated", "signed", "queued"
DELIVERED, ACKNOWLEDGED = "delivered", "acknowledged"
REJECTED, FAILED, DEAD, CANCELLED = "rejected", "failed", "dead", "cancelled"
SENDING = "sending"   # delivery only: claimed by the worker, the attempt is under way (or in doubt after a crash)

MESSAGE_STATES = (RECEIVED, VALIDATED, TRANSLATED, SIGNED, QUEUED, DELIVERED, ACKNOWLEDGED,
                  REJECTED, FAILED, DEAD, CANCELLED)
DELIVERY_STATES = (QUEUED, SENDING, DELIVERED, ACKNOWLEDGED, REJECTED, FAILED, DEAD, CANCELLED)
# delivery `rejected`: the authority answered and refused the document (final; the sender must correct it)

# A message in one of these states is no longer "accepted": a resubmission is processed anew.
INACTIVE = frozenset({REJECTED, DEAD, CANCELLED})
# Delivery states that need no more work.
DELIVERY_FINAL = frozenset({DELIVERED, ACKNOWLEDGED, REJECTED, DEAD, CANCELLED})
DUE = (QUEUED, FAILED)
# Message states nothing more will change (message_state gives one of these once every delivery is final).
MESSAGE_FINAL = DELIVERY_FINAL


def message_state(delivery_states: list[str]) -> str:
    """The state a message shows, from the states of its deliveries (fan-out)."""
    if not delivery_states:
        return QUEUED
    s = set(delivery_states)
    if s <= DELIVERY_FINAL:
        if DEAD in s:
            return DEAD
        if REJECTED in s:
            return REJECTED
        if s == {CANCELLED}:
            return CANCELLED
        if s - {CANCELLED} == {ACKNOWLEDGED}:
            return ACKNOWLEDGED
        return DELIVERED
    if FAILED in s or DEAD in s:
        return FAILED
    return QUEUED
