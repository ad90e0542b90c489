"""Everything loaded once at start-up, from one Config: validator (schemas, code tables), store, signers,
endpoint clients' configuration, pipeline, hub, authenticator and delivery worker.

A broken configuration fails here, naming the key, before the server listens.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Callable

from .auth import Authenticator
from .config import Config, ConfigError, ensure_demo_tokens
from .hub import Hub
from .pipeline import Pipeline
from .receipt import ReceiptSigner
from .store import Store
from .store_factory import open_store
from .worker import DeliveryWorker

log = logging.getLogger("edihub")


@dataclass
class Runtime:
    cfg: Config
    store: Store
    pipeline: Pipeline
    hub: Hub
    auth: Authenticator
    worker: DeliveryWorker | None
    endpoint_cfgs: dict
    validator: object
    warnings: list
    delivery_lock: object = None        # path of the one-delivery-worker-per-store lock file (SQLite)


def ensure_pki(cfg: Config) -> str | None:
    """Development PKI: when pki.auto_init is set and the folder is empty, create it with the signing part's
    generator (signing/ or cli.pki). Returns what was done, or None."""
    if not cfg.pki.auto_init:
        return None
    d = cfg.resolve(cfg.pki.dir)
    if d.exists() and any(d.iterdir()):
        return None
    try:
        from signing.devpki import init_dev_pki
    except ImportError:
        return None
    import datetime as dt
    init_dev_pki(d, dt.datetime.now(dt.timezone.utc))
    return f"development PKI created in {d} (signing.devpki)"


def load_signers(cfg: Config) -> tuple[dict, list[str]]:
    """Every [signing.<id>] section: profile + signer loaded once. Missing signing package or key files: the
    section is skipped with a warning (routes that need it are refused at start-up by the caller)."""
    out, warnings = {}, []
    if not cfg.signing:
        return out, warnings
    try:
        import signing
    except ImportError:
        return out, ["signing package not installed: signing sections ignored"]
    for sid, s in cfg.signing.items():
        try:
            profile = signing.load_profile(s.profile)
            pw = os.environ.get(s.password_env) if s.password_env else None
            signer = signing.LocalSigner.from_files(str(cfg.resolve(s.key)), str(cfg.resolve(s.cert)), password=pw)
        except Exception as e:  # noqa: BLE001 - reported with its section name
            warnings.append(f"signing.{sid}: cannot load ({e})")
            continue
        out[sid] = (profile, signer, signing.sign)
    return out, warnings


def _translate_back(cfg: Config, store, pipeline):
    """For routes with translate_back = true: the endpoint's answer translated into the sender's format when a
    mapping exists (stored as a `back` document); silently skipped when none does."""
    def back(claimed, answer_root):
        route = cfg.routes.get(claimed.route)
        if route is None or not route.translate_back or pipeline.translate is None:
            return None
        m = store.message(claimed.message_id)
        mt = pipeline.validator.registry.detect(answer_root)
        if m is None or mt is None or not m["format"]:
            return None
        source_family = m["format"].split(":", 1)[0]
        try:
            from translator.translate import targets_for
            wanted = [t for t in targets_for(mt.id) if t.split(":", 1)[0] == source_family]
        except Exception:  # noqa: BLE001
            return None
        if not wanted:
            return None
        failures = []
        for target in wanted:            # the first of the sender's response types that can be written
            # a response type may name the canonical field that carries the sender's own declaration number
            # (formats.toml `correlation_hint`); it is filled from the correlated message's business key
            field = pipeline.validator.registry.get(target).extra.get("correlation_hint")
            hints = {field: m["business_key"]} if field and m.get("business_key") else None
            try:
                docs, report = pipeline._translate(answer_root.getroottree(), mt.id, target, time.time(), hints)
            except Exception as e:  # noqa: BLE001 - the receipt stays; only the courtesy translation is missing
                failures.append(f"{target}: {e}")
                continue
            from lxml import etree
            return target, etree.tostring(docs[0], xml_declaration=True, encoding="UTF-8"), report
        log.warning("translate-back of %s failed: %s", claimed.delivery_id, "; ".join(failures))
        return None
    return back


def build_pipeline(cfg: Config, *, validator=None, translate=None, translate_error=(), signers=None):
    """The pure processing stage from a Config: validator, signers, Pipeline. Routes whose signing section cannot
    be loaded send unsigned (with a warning) rather than failing every message. Used by build_runtime and by
    each pipeline worker process (routing.procpool). -> (cfg, pipeline, warnings, signers)"""
    warnings: list[str] = []
    if validator is None:
        from translator.validate import default_validator
        validator = default_validator()
    from translator.rules import SCREENS
    for type_id in sorted(set(SCREENS) & set(validator.registry.types) - set(validator.screens)):
        warnings.append(f"{type_id}: the C rule screen is not built for this Python / lxml, so every business "
                        f"rule runs in Python (slower); 'pip install -e .' with a C compiler builds it")
    if signers is None:
        signers, w = load_signers(cfg)
        warnings.extend(w)
    for r in cfg.routes.values():
        if r.profile and r.profile not in signers:
            warnings.append(f"routes.{r.id}: signing section {r.profile!r} is not loaded; the route sends unsigned")
    if any(r.profile and r.profile not in signers for r in cfg.routes.values()):
        from dataclasses import replace
        cfg = replace(cfg, routes={k: (replace(r, profile="") if r.profile and r.profile not in signers else r)
                                   for k, r in cfg.routes.items()})
    pipeline = Pipeline(cfg, validator, translate=translate, signers=signers, translate_error=translate_error)
    return cfg, pipeline, warnings, signers


def build_runtime(cfg: Config, *, clock: Callable[[], float] = time.time, validator=None, translate=None,
                  translate_error=(), signers=None, deliver=None, with_worker: bool = True,
                  store: Store | None = None, processes: bool = True) -> Runtime:
    """processes=False: no pipeline worker processes whatever server.pipeline_processes says (a process that
    does not accept submissions: the delivery process, the supervisor of several accepting processes)."""
    warnings: list[str] = []
    done = ensure_pki(cfg)
    if done:
        warnings.append(done)
    cfg = ensure_demo_tokens(cfg)
    injected = validator is not None or translate is not None or signers is not None
    cfg, pipeline, w, signers = build_pipeline(cfg, validator=validator, translate=translate,
                                               translate_error=translate_error, signers=signers)
    warnings.extend(w)
    validator = pipeline.validator
    endpoint_cfgs = {}
    try:
        from .endpoints import EndpointConfigError, load_endpoints
    except ImportError:
        load_endpoints = None
    if load_endpoints is not None:
        try:
            endpoint_cfgs = load_endpoints({k: e.transport_table() for k, e in cfg.endpoints.items()})
        except EndpointConfigError as e:
            raise ConfigError(f"endpoints: {e}") from None
    if store is None:
        cfg.sqlite_path()                       # an unsupported URL fails here as a ConfigError naming the key
        try:
            store = open_store(cfg.store.url, base=cfg.base, synchronous=cfg.store.synchronous,
                               lease_seconds=cfg.store.lease_seconds, pool_size=cfg.store.pool_size)
        except ValueError as e:
            raise ConfigError(str(e)) from None
    for fmt in cfg.facts:
        if fmt not in validator.registry.types:
            warnings.append(f"facts.{fmt}: format not installed; routes on it will not match")
    op = os.environ.get(cfg.hub.operator_token_env) if cfg.hub.operator_token_env else None
    auth = Authenticator(cfg, operator_token=op)
    warnings.extend(auth.missing)
    receipts = ReceiptSigner(cfg.hub.id, signers.get(cfg.hub.signing) if cfg.hub.signing else None)
    worker = None
    if with_worker and cfg.delivery.enabled:
        back = _translate_back(cfg, store, pipeline) if any(r.translate_back for r in cfg.routes.values()) else None
        worker = DeliveryWorker(cfg, store, endpoint_cfgs, clock=clock, deliver=deliver, translate_back=back,
                                receipts=receipts if cfg.hub.receipts == "eager" else None)
    procs = None
    if processes and cfg.server.pipeline_processes > 0:
        if injected:
            warnings.append("server.pipeline_processes: ignored (validator/translate/signers were passed in)")
        else:
            from .procpool import PipelineProcesses
            procs = PipelineProcesses(cfg, cfg.server.pipeline_processes, pipeline)
            procs.warm_up()
    hub = Hub(cfg, store, pipeline, clock=clock, on_queued=worker.wake if worker else None, receipts=receipts,
              procs=procs)
    for w in warnings:
        log.warning("%s", w)
    db = cfg.sqlite_path()
    lock = str(db) + ".delivery-lock" if db is not None else None
    return Runtime(cfg, store, pipeline, hub, auth, worker, endpoint_cfgs, validator, warnings, lock)
