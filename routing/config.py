"""edihub.toml: read once at start-up, checked completely, turned into plain frozen objects.

Every error names the key (`routes.prc-export.endpoint: unknown endpoint 'x'`). Secrets are never in the file:
a key ending in `_env` names an environment variable that holds the secret.
See docs/hub.md for the reference of every key.
"""
from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "edihub.toml"


class ConfigError(ValueError):
    """The configuration is unusable; the message names the key."""


@dataclass(frozen=True)
class ServerCfg:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 10 * 1024 * 1024
    body_read_timeout: float = 30.0   # seconds to receive a whole request body (slow-loris defence); 0 = none
    max_depth: int = 64
    pipeline_threads: int = 4
    pipeline_processes: int = 0   # > 0: parse/validate/translate/sign in this many worker processes (routing.procpool)
    workers: int = 1              # server processes; one of them (the delivery-lock holder) delivers
    demo_endpoints: bool = False
    public_url: str = ""


@dataclass(frozen=True)
class StoreCfg:
    url: str = "sqlite:///var/edihub.db"   # or postgresql://user@host:port/db[?schema=name] (several instances)
    synchronous: str = "FULL"
    lease_seconds: float = 30.0     # PostgreSQL: a delivery claim not renewed for this long is taken over
    pool_size: int = 8              # PostgreSQL: connections per process


@dataclass(frozen=True)
class DeliveryCfg:
    enabled: bool = True          # false: this process only accepts; another process delivers
    max_attempts: int = 6
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    backoff_factor: float = 2.0
    jitter: float = 0.2
    concurrency: int = 4
    timeout: float = 10.0
    poll_interval: float = 0.5


@dataclass(frozen=True)
class HubIdentity:
    id: str = "edihub"
    signing: str = ""             # name of a [signing.<id>] section used for receipts and outbound messages
    clock_skew: float = 300.0     # accepted WS-Security timestamp skew, seconds
    operator_token_env: str = ""  # environment variable holding the operator's bearer token (all messages, resend)
    receipts: str = "on-demand"   # on-demand: built and signed when first asked for; eager: at each delivery


@dataclass(frozen=True)
class PkiCfg:
    dir: str = "var/pki"
    auto_init: bool = False


@dataclass(frozen=True)
class Partner:
    id: str
    name: str = ""
    certificates: tuple[str, ...] = ()
    token_env: str = ""
    may_send: tuple[str, ...] = ()      # message types ("prc:DecMessage"); empty = nothing
    routes: tuple[str, ...] = ()        # route ids the partner may use; empty = every route
    max_in_flight: int = 0              # requests in progress at once (soap/limits.py); 0 = no limit
    rate: float = 0.0                   # submissions per second (token bucket, per server process); 0 = no limit
    burst: int = 20                     # bucket size
    token: str | None = None            # resolved secret (never from the file)


@dataclass(frozen=True)
class Match:
    format: tuple[str, ...] = ()         # "prc:DecMessage" or a family "prc"
    direction: tuple[str, ...] = ()      # "export" / "import"
    destination: tuple[str, ...] = ()    # ISO 3166 alpha-3 (as the facts give it)
    agency: tuple[str, ...] = ()

    def matches(self, facts: dict) -> bool:
        def ok(allowed, value):
            return not allowed or (value is not None and value in allowed)
        fmt = facts.get("format") or ""
        if self.format and fmt not in self.format and fmt.split(":", 1)[0] not in self.format:
            return False
        return (ok(self.direction, facts.get("direction")) and ok(self.destination, facts.get("destination"))
                and ok(self.agency, facts.get("agency")))


@dataclass(frozen=True)
class Route:
    id: str
    match: Match
    target: str
    endpoint: str
    profile: str = ""                    # [signing.<id>] name; "" = send unsigned
    concurrency: int = 4
    max_attempts: int = 6
    translate_back: bool = False


@dataclass(frozen=True)
class Endpoint:
    """The hub's view of an [endpoints.<id>] table. Transport keys are checked by routing.endpoints
    (EndpointConfig.from_dict, docs/endpoints.md); the hub reads the retry keys."""
    id: str
    kind: str
    url: str = ""
    path: str = ""
    timeout: float = 10.0
    max_attempts: int | None = None     # default: delivery.max_attempts
    backoff: float | None = None        # first retry delay, seconds; default: delivery.backoff_initial
    backoff_max: float | None = None    # cap of the delay; default: delivery.backoff_max
    family: str = ""
    raw: dict = field(default_factory=dict, compare=False, hash=False)

    def transport_table(self) -> dict:
        """The keys routing.endpoints knows (hub-only keys removed)."""
        t = {k: v for k, v in self.raw.items() if k not in HUB_ONLY_ENDPOINT_KEYS}
        if self.max_attempts is None:
            t.pop("max_attempts", None)
        return t


HUB_ONLY_ENDPOINT_KEYS = {"backoff_max"}


@dataclass(frozen=True)
class SigningCfg:
    id: str
    profile: str = "default"
    key: str = ""
    cert: str = ""
    password_env: str = ""


@dataclass(frozen=True)
class FactsCfg:
    """How to read routing facts out of one message type: XPaths (prefixes from the format's namespaces)."""
    format: str
    xpaths: dict = field(default_factory=dict)      # fact name -> XPath string
    values: dict = field(default_factory=dict)      # fact name -> {raw value: fact value}


@dataclass(frozen=True)
class Config:
    path: Path | None
    base: Path
    server: ServerCfg
    store: StoreCfg
    delivery: DeliveryCfg
    hub: HubIdentity
    pki: PkiCfg
    partners: dict[str, Partner]
    routes: dict[str, Route]
    endpoints: dict[str, Endpoint]
    signing: dict[str, SigningCfg]
    facts: dict[str, FactsCfg]
    demo_partner: str = ""
    demo_endpoints_port: int = 8090
    console: object = None          # console.config.ConsoleCfg of the [console] table, None without one

    def resolve(self, p: str) -> Path:
        """A path from the file, relative to the file's folder."""
        path = Path(p)
        return path if path.is_absolute() else self.base / path

    def sqlite_path(self) -> Path | None:
        url = self.store.url
        if url.startswith("sqlite:///"):
            rest = url[len("sqlite:///"):]
            return Path(rest) if rest.startswith("/") else self.resolve(rest)
        if url in ("sqlite://", "sqlite://:memory:"):
            return None
        from .store_factory import is_postgres
        if is_postgres(url):
            return None             # not a file: no SQLite delivery lock; see routing/store_factory.py
        raise ConfigError(f"store.url: unsupported store {url!r} (sqlite:///path or postgresql://user@host/db)")


_SECTIONS = {"server", "store", "delivery", "hub", "pki", "partners", "routes", "endpoints", "signing", "facts", "console",
             "demo"}


def _tuple(v, where: str) -> tuple:
    if v is None or v == ():
        return ()
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return tuple(v)
    raise ConfigError(f"{where}: expected a string or a list of strings, got {v!r}")


def _section(cls, data: dict, where: str, **extra):
    names = {f for f in cls.__dataclass_fields__} - set(extra) - {"raw"}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}")
    kwargs = dict(extra)
    for k, v in data.items():
        default = cls.__dataclass_fields__[k].default
        if isinstance(default, bool) and not isinstance(v, bool):
            raise ConfigError(f"{where}.{k}: expected true/false, got {v!r}")
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise ConfigError(f"{where}.{k}: expected a number, got {v!r}")
            if v < 0:
                raise ConfigError(f"{where}.{k}: must not be negative")
            v = type(default)(v) if isinstance(default, float) else v
        if isinstance(default, str) and not isinstance(v, str):
            raise ConfigError(f"{where}.{k}: expected a string, got {v!r}")
        kwargs[k] = v
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None


def load_config(path: str | Path | None = None, *, env: dict | None = None, text: str | None = None,
                overrides: dict | None = None) -> Config:
    """Read and check the configuration. `text` (with `path` as the base folder) is for tests."""
    env = os.environ if env is None else env
    if text is None:
        path = Path(path or DEFAULT_CONFIG)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
        base = path.resolve().parent
    else:
        base = Path(path).resolve() if path else Path.cwd()
        path = None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path or 'config'}: {e}") from None
    for k, v in (overrides or {}).items():
        sect, _, key = k.partition(".")
        data.setdefault(sect, {})[key] = v
    unknown = set(data) - _SECTIONS
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_SECTIONS))}")

    server = _section(ServerCfg, data.get("server", {}), "server")
    if server.pipeline_processes < 0 or server.pipeline_threads < 1:
        raise ConfigError("server.pipeline_processes: must be >= 0; server.pipeline_threads: must be >= 1")
    store = _section(StoreCfg, data.get("store", {}), "store")
    if store.synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise ConfigError("store.synchronous: one of FULL, NORMAL, EXTRA")
    if store.lease_seconds <= 0 or store.pool_size < 1:
        raise ConfigError("store.lease_seconds: must be > 0; store.pool_size: must be >= 1")
    delivery = _section(DeliveryCfg, data.get("delivery", {}), "delivery")
    if delivery.max_attempts < 1:
        raise ConfigError("delivery.max_attempts: at least 1")
    hub = _section(HubIdentity, data.get("hub", {}), "hub")
    pki = _section(PkiCfg, data.get("pki", {}), "pki")

    signing = {}
    for sid, s in data.get("signing", {}).items():
        signing[sid] = _section(SigningCfg, s, f"signing.{sid}", id=sid)
    if hub.receipts not in ("on-demand", "eager"):
        raise ConfigError("hub.receipts: on-demand or eager")
    if hub.signing and hub.signing not in signing:
        raise ConfigError(f"hub.signing: unknown signing section {hub.signing!r}")

    endpoints = {}
    for eid, e in data.get("endpoints", {}).items():
        where = f"endpoints.{eid}"
        if e.get("kind") not in ("soap", "http", "directory"):
            raise ConfigError(f"{where}.kind: one of soap, http, directory (got {e.get('kind')!r})")
        if e["kind"] in ("soap", "http") and not e.get("url"):
            raise ConfigError(f"{where}.url: required for kind {e['kind']}")
        if e["kind"] == "directory" and not e.get("path"):
            raise ConfigError(f"{where}.path: required for kind directory")
        known = {k: v for k, v in e.items() if k in Endpoint.__dataclass_fields__ and k != "raw"}
        ep = Endpoint(id=eid, raw=dict(e), **known)
        if ep.kind == "directory":
            ep.raw["path"] = str(Path(ep.path) if Path(ep.path).is_absolute() else base / ep.path)
        endpoints[eid] = ep

    routes = {}
    for rid, r in data.get("routes", {}).items():
        where = f"routes.{rid}"
        r = dict(r)
        m = r.pop("match", {})
        if not isinstance(m, dict):
            raise ConfigError(f"{where}.match: expected a table")
        unknown = set(m) - set(Match.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"{where}.match: unknown key(s) {', '.join(sorted(unknown))}")
        match = Match(**{k: _tuple(v, f"{where}.match.{k}") for k, v in m.items()})
        for req in ("target", "endpoint"):
            if not r.get(req):
                raise ConfigError(f"{where}.{req}: required")
        r.setdefault("concurrency", delivery.concurrency)
        r.setdefault("max_attempts", endpoints.get(r["endpoint"]).max_attempts
                     if endpoints.get(r["endpoint"]) and endpoints[r["endpoint"]].max_attempts
                     else delivery.max_attempts)
        route = _section(Route, r, where, id=rid, match=match)
        if route.endpoint not in endpoints:
            raise ConfigError(f"{where}.endpoint: unknown endpoint {route.endpoint!r}")
        if route.profile and route.profile not in signing:
            raise ConfigError(f"{where}.profile: unknown signing section {route.profile!r}")
        if route.concurrency < 1:
            raise ConfigError(f"{where}.concurrency: at least 1")
        routes[rid] = route

    partners = {}
    demo = data.get("demo", {})
    for pid, p in data.get("partners", {}).items():
        where = f"partners.{pid}"
        p = dict(p)
        certs = _tuple(p.pop("certificates", ()), f"{where}.certificates")
        may_send = _tuple(p.pop("may_send", ()), f"{where}.may_send")
        proutes = _tuple(p.pop("routes", ()), f"{where}.routes")
        for r in proutes:
            if r not in routes:
                raise ConfigError(f"{where}.routes: unknown route {r!r}")
        partner = _section(Partner, p, where, id=pid, certificates=certs, may_send=may_send, routes=proutes)
        token = env.get(partner.token_env) if partner.token_env else None
        partners[pid] = Partner(**{**partner.__dict__, "token": token or None})
    unknown = set(demo) - {"partner", "endpoints_port"}
    if unknown:
        raise ConfigError(f"demo: unknown key(s) {', '.join(sorted(unknown))}; known: endpoints_port, partner")
    demo_partner = demo.get("partner", "")
    if demo_partner and demo_partner not in partners:
        raise ConfigError(f"demo.partner: unknown partner {demo_partner!r}")
    demo_port = demo.get("endpoints_port", 8090)
    if not isinstance(demo_port, int) or not 0 <= demo_port < 65536:
        raise ConfigError("demo.endpoints_port: a port number")

    facts = {}
    for fmt, f in data.get("facts", {}).items():
        xp = {k: v for k, v in f.items() if isinstance(v, str)}
        vals = {k: v for k, v in f.items() if isinstance(v, dict)}
        bad = [k for k, v in f.items() if not isinstance(v, (str, dict))]
        if bad:
            raise ConfigError(f"facts.{fmt}.{bad[0]}: expected an XPath string or a value table")
        facts[fmt] = FactsCfg(fmt, xp, {k[:-len('_values')] if k.endswith('_values') else k: v
                                         for k, v in vals.items()})

    console_cfg = None
    if "console" in data:
        from console.config import ConsoleConfigError, parse_console
        section = dict(data["console"])
        if demo_partner and not section.get("users"):
            section["users"] = _demo_console_user(base)
        try:
            console_cfg = parse_console(section, env=env, base=base)
        except ConsoleConfigError as e:
            raise ConfigError(str(e)) from None

    return Config(path, base, server, store, delivery, hub, pki, partners, routes, endpoints, signing, facts,
                  demo_partner, demo_port, console_cfg)


def _random_secret_file(f: Path, nbytes: int) -> str:
    """The secret kept in file f; made (random, mode 0600) when the file does not exist yet."""
    if f.exists():
        return f.read_text().strip()
    f.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(nbytes)
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    return secret


def demo_console_password_file(base: Path) -> Path:
    return base / "var" / "demo-console-password"


def _demo_console_user(base: Path) -> dict:
    """Development only (a [demo] configuration whose [console] has no users): an operator `demo` whose random
    password is written once to var/demo-console-password (mode 0600); only its argon2 hash is kept in memory."""
    from argon2 import PasswordHasher
    password = _random_secret_file(demo_console_password_file(base), 12)
    return {"demo": {"password_hash": PasswordHasher().hash(password), "role": "operator"}}


def demo_token_file(cfg: Config, partner_id: str) -> Path:
    return cfg.resolve("var") / f"demo-token-{partner_id}"


def ensure_demo_tokens(cfg: Config) -> Config:
    """Development only: a demo partner without its token variable set gets a random token written to
    var/demo-token-<partner> (mode 0600) so `edihub submit` can find it. Never used for other partners."""
    if not cfg.demo_partner:
        return cfg
    p = cfg.partners[cfg.demo_partner]
    if p.token:
        return cfg
    token = _random_secret_file(demo_token_file(cfg, p.id), 24)
    partners = dict(cfg.partners)
    partners[p.id] = Partner(**{**p.__dict__, "token": token})
    return Config(**{**cfg.__dict__, "partners": partners})
