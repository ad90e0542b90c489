"""The `[console]` table of edihub.toml, checked once at start-up.

```toml
[console]
secret_env = "EDIHUB_CONSOLE_SECRET"   # environment variable holding the session signing secret (>= 32 chars)
# secret_file = "var/console-secret"   # or: a file holding it (created with a random secret, mode 0600, if missing)
cookie_name = "edihub_console"
cookie_secure = true                   # send the session cookie over HTTPS only (false only for local tests)
cookie_samesite = "lax"                # lax | strict
session_minutes = 480                  # a session ends this long after login
cert_warn_days = 30                    # certificates closer to expiry than this are highlighted
certificates = ["var/pki/trust"]       # extra certificate files/folders shown on the certificates page
metrics_token_env = ""                 # if set: /metrics needs `Authorization: Bearer <that variable's value>`
max_login_failures = 5                 # per user name, then refused for lockout_minutes
lockout_minutes = 5

[console.users.alice]
password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."   # python -m console.hashpw
role = "operator"                      # viewer | operator
```

Secrets are never in the file: `secret_env` names the variable (or `secret_file` a file; relative paths are
relative to the configuration file's folder). Every error names the key.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("viewer", "operator")


class ConsoleConfigError(ValueError):
    """The [console] table is unusable; the message names the key."""


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    password_hash: str
    role: str

    @property
    def can_act(self) -> bool:
        return self.role == "operator"


@dataclass(frozen=True)
class ConsoleCfg:
    users: dict = field(default_factory=dict)          # name -> ConsoleUser
    secret: bytes = b""                                 # resolved from secret_env
    secret_env: str = ""
    cookie_name: str = "edihub_console"
    cookie_secure: bool = True
    cookie_samesite: str = "lax"
    session_minutes: int = 480
    cert_warn_days: int = 30
    certificates: tuple = ()
    metrics_token: str | None = None
    metrics_token_env: str = ""
    max_login_failures: int = 5
    lockout_minutes: int = 5


_KEYS = {"secret_env": str, "secret_file": str, "cookie_name": str, "cookie_secure": bool, "cookie_samesite": str,
         "session_minutes": int, "cert_warn_days": int, "certificates": list, "metrics_token_env": str,
         "max_login_failures": int, "lockout_minutes": int, "users": dict}


def parse_console(section: dict | None, *, env: dict | None = None, base: str | Path | None = None) -> ConsoleCfg:
    """Check a [console] table and resolve its secrets from `env` (default: os.environ) or the secret file
    (relative to `base`, the configuration file's folder)."""
    env = os.environ if env is None else env
    section = dict(section or {})
    unknown = set(section) - set(_KEYS)
    if unknown:
        raise ConsoleConfigError(f"console: unknown key(s) {', '.join(sorted(unknown))}; "
                                 f"known: {', '.join(sorted(_KEYS))}")
    for k, typ in _KEYS.items():
        if k in section:
            v = section[k]
            if typ is int and (isinstance(v, bool) or not isinstance(v, int)):
                raise ConsoleConfigError(f"console.{k}: expected a whole number, got {v!r}")
            if typ is not int and not isinstance(v, typ):
                raise ConsoleConfigError(f"console.{k}: expected {_TYPE_NAMES[typ]}, got {v!r}")
            if typ is int and v < 0:
                raise ConsoleConfigError(f"console.{k}: must not be negative")
    samesite = section.get("cookie_samesite", "lax").lower()
    if samesite not in ("lax", "strict"):
        raise ConsoleConfigError("console.cookie_samesite: one of lax, strict")
    name = section.get("cookie_name", "edihub_console")
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ConsoleConfigError("console.cookie_name: letters, digits, '_' and '-' only")
    if section.get("session_minutes", 480) < 1:
        raise ConsoleConfigError("console.session_minutes: at least 1")
    certs = section.get("certificates", [])
    if not all(isinstance(c, str) for c in certs):
        raise ConsoleConfigError("console.certificates: a list of file or folder paths")

    secret_env = section.get("secret_env", "")
    secret_file = section.get("secret_file", "")
    if secret_env and secret_file:
        raise ConsoleConfigError("console.secret_file: give secret_env or secret_file, not both")
    if secret_env:
        secret = env.get(secret_env)
        if not secret:
            raise ConsoleConfigError(f"console.secret_env: environment variable {secret_env} is not set")
        where = f"console.secret_env: the secret in {secret_env}"
    elif secret_file:
        secret = _secret_from_file(Path(secret_file) if Path(secret_file).is_absolute()
                                   else Path(base or Path.cwd()) / secret_file)
        where = f"console.secret_file: the secret in {secret_file}"
    else:
        raise ConsoleConfigError("console.secret_env: required (the environment variable holding the session "
                                 "signing secret; or secret_file)")
    if len(secret) < 32:
        raise ConsoleConfigError(f"{where} is shorter than 32 characters")

    metrics_env = section.get("metrics_token_env", "")
    metrics_token = None
    if metrics_env:
        metrics_token = env.get(metrics_env)
        if not metrics_token:
            raise ConsoleConfigError(f"console.metrics_token_env: environment variable {metrics_env} is not set")

    users = {}
    for uname, u in section.get("users", {}).items():
        where = f"console.users.{uname}"
        if not isinstance(u, dict):
            raise ConsoleConfigError(f"{where}: expected a table with password_hash and role")
        bad = set(u) - {"password_hash", "role"}
        if bad:
            raise ConsoleConfigError(f"{where}: unknown key(s) {', '.join(sorted(bad))}; known: password_hash, role")
        ph = u.get("password_hash")
        if not isinstance(ph, str) or not ph.startswith("$argon2"):
            raise ConsoleConfigError(f"{where}.password_hash: an argon2 hash (make one with python -m console.hashpw)")
        role = u.get("role", "viewer")
        if role not in ROLES:
            raise ConsoleConfigError(f"{where}.role: one of {', '.join(ROLES)} (got {role!r})")
        users[uname] = ConsoleUser(uname, ph, role)

    return ConsoleCfg(users=users, secret=secret.encode(), secret_env=secret_env, cookie_name=name,
                      cookie_secure=section.get("cookie_secure", True), cookie_samesite=samesite,
                      session_minutes=section.get("session_minutes", 480),
                      cert_warn_days=section.get("cert_warn_days", 30), certificates=tuple(certs),
                      metrics_token=metrics_token, metrics_token_env=metrics_env,
                      max_login_failures=section.get("max_login_failures", 5),
                      lockout_minutes=section.get("lockout_minutes", 5))


def _secret_from_file(path: Path) -> str:
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48) + "\n")
        return path.read_text(encoding="utf-8").strip()
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConsoleConfigError(f"console.secret_file: {path}: {e.strerror}") from None


_TYPE_NAMES = {str: "a string", bool: "true/false", list: "a list", dict: "a table"}
