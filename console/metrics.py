"""Prometheus metrics read from the store at scrape time (a custom Collector, no counters in the hub's code), so
the figures are right however many hub processes share the database and survive restarts.

Exposed (all prefixed `edihub_`):
  messages{state}                              gauge    messages per state
  deliveries{route,state}                      gauge    deliveries per route and state
  queue_depth{route}                           gauge    deliveries waiting or being sent (queued, failed, sending)
  dead_letters{route}                          gauge    deliveries dead now (waiting for an operator)
  dead_letter_events_total{route}              counter  times a delivery went dead (audit)
  delivery_attempts_total{route,outcome}       counter  finished attempts by outcome
  delivery_retries_total{route}                counter  attempts after the first
  delivery_latency_seconds{route}              histogram claim to recorded outcome, per attempt
  validation_failures_total{code}              counter  rejected messages per rule code (once per message)
  refusals_total{channel,code}                 counter  refused requests (authentication, authorisation, size)
  certificate_days_to_expiry{name,subject}     gauge    days left (negative: expired)
  store_up                                     gauge    1 when the store answered this scrape
"""
from __future__ import annotations

import datetime as dt
import logging

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from routing import states as S

from . import queries

log = logging.getLogger("edihub.console")


class StoreCollector:
    def __init__(self, runtime, certificates, clock):
        self.runtime = runtime
        self.certificates = certificates      # [(name, x509 certificate)], loaded at start-up
        self.clock = clock

    def describe(self):
        return []          # no describe-time store access (registration must not touch the database)

    def collect(self):
        up = GaugeMetricFamily("edihub_store_up", "1 when the store answered this scrape")
        try:
            m = queries.metric_rows(self.runtime.store)
        except Exception as e:  # noqa: BLE001 - a scrape must answer even when the store does not
            log.warning("metrics: store unreadable: %s", e)
            up.add_metric([], 0)
            yield up
            yield from self._certs()
            return
        up.add_metric([], 1)
        yield up

        g = GaugeMetricFamily("edihub_messages", "Messages per state", labels=["state"])
        have = dict(m["messages"])
        for st in S.MESSAGE_STATES:
            g.add_metric([st], have.get(st, 0))
        yield g

        routes = sorted(set(self.runtime.cfg.routes) | {r for r, _, _ in m["deliveries"]})
        g = GaugeMetricFamily("edihub_deliveries", "Deliveries per route and state", labels=["route", "state"])
        q = GaugeMetricFamily("edihub_queue_depth", "Deliveries queued, waiting for a retry or being sent",
                              labels=["route"])
        dead = GaugeMetricFamily("edihub_dead_letters", "Deliveries dead now (operator resend needed)",
                                 labels=["route"])
        per = {}
        for route, st, n in m["deliveries"]:
            per.setdefault(route, {})[st] = n
        for route in routes:
            states = per.get(route, {})
            for st in S.DELIVERY_STATES:
                g.add_metric([route, st], states.get(st, 0))
            q.add_metric([route], sum(states.get(s, 0) for s in (S.QUEUED, S.FAILED, S.SENDING)))
            dead.add_metric([route], states.get(S.DEAD, 0))
        yield g
        yield q
        yield dead

        c = CounterMetricFamily("edihub_dead_letter_events", "Times a delivery went dead", labels=["route"])
        got = dict(m["dead_events"])
        for route in routes:
            c.add_metric([route], got.get(route, 0))
        yield c

        c = CounterMetricFamily("edihub_delivery_attempts", "Finished delivery attempts by outcome",
                                labels=["route", "outcome"])
        for route, outcome, n in m["attempts"]:
            c.add_metric([route, outcome], n)
        yield c

        c = CounterMetricFamily("edihub_delivery_retries", "Delivery attempts after the first", labels=["route"])
        got = dict(m["retries"])
        for route in routes:
            c.add_metric([route], got.get(route, 0))
        yield c

        h = HistogramMetricFamily("edihub_delivery_latency_seconds",
                                  "Time from claim to recorded outcome of each delivery attempt", labels=["route"])
        for row in m["latency"]:
            route, counts, total, s = row[0], row[1:-2], row[-2], row[-1]
            buckets = [(repr(b), n or 0) for b, n in zip(queries.LATENCY_BUCKETS, counts)] + [("+Inf", total)]
            h.add_metric([route], buckets, s or 0.0)
        yield h

        c = CounterMetricFamily("edihub_validation_failures", "Rejected messages per validation rule code",
                                labels=["code"])
        for code, n in m["validation"]:
            c.add_metric([code], n)
        yield c

        c = CounterMetricFamily("edihub_refusals", "Refused requests by channel and code", labels=["channel", "code"])
        for channel, code, n in m["refusals"]:
            c.add_metric([channel, code], n)
        yield c
        yield from self._certs()

    def _certs(self):
        g = GaugeMetricFamily("edihub_certificate_days_to_expiry", "Days until the certificate expires",
                              labels=["name", "subject"])
        now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)
        for name, cert in self.certificates:
            left = (cert.not_valid_after_utc - now).total_seconds() / 86400
            g.add_metric([name, cert.subject.rfc4514_string()], round(left, 3))
        yield g


def make_registry(runtime, certificates, clock) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StoreCollector(runtime, certificates, clock))
    return reg
