"""Routing and the hub: configuration, store, pipeline, route planning, delivery worker (see docs/hub.md).

The I/O-free parts (config, plan, pipeline, states, receipt) are importable without a server; Hub, the store and
the worker are built together by routing.runtime.build_runtime(config).
"""
