"""Console sessions, passwords and CSRF tokens.

Session cookie: `base64url(json) "." base64url(HMAC-SHA256(secret, json))`, HttpOnly, SameSite, Secure (unless
configured off for local tests), Path=/console. It carries a random session id, the user name and the expiry;
the role is looked up in the configuration on every request, so removing a user or lowering a role takes effect
at once. Anonymous visitors get a session too (no user) so the login form can carry a CSRF token; logging in
issues a fresh session id (no fixation).

CSRF token = HMAC(secret, "csrf:" + session id): every POST must carry it in the form field `csrf`; a request
whose Origin header names another host is refused as well.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .config import ConsoleCfg, ConsoleUser

_HASHER = PasswordHasher()
# verified when the user name is unknown, so a wrong name costs as much time as a wrong password
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Session:
    sid: str
    user: str | None
    expires: float


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Sessions:
    def __init__(self, cfg: ConsoleCfg):
        self.cfg = cfg
        self._key = hmac.new(cfg.secret, b"edihub-console-session", hashlib.sha256).digest()
        self._csrf_key = hmac.new(cfg.secret, b"edihub-console-csrf", hashlib.sha256).digest()
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    # -- cookie ----------------------------------------------------------------------------------------------
    def encode(self, s: Session) -> str:
        body = json.dumps({"s": s.sid, "u": s.user, "e": int(s.expires)}, separators=(",", ":")).encode()
        return _b64(body) + "." + _b64(hmac.new(self._key, body, hashlib.sha256).digest())

    def decode(self, value: str | None, now: float) -> Session | None:
        if not value or "." not in value or len(value) > 1024:
            return None
        b, _, mac = value.partition(".")
        try:
            body, got = _unb64(b), _unb64(mac)
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(hmac.new(self._key, body, hashlib.sha256).digest(), got):
            return None
        try:
            d = json.loads(body)
            s = Session(str(d["s"]), d["u"] if isinstance(d["u"], str) else None, float(d["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return s if s.expires > now else None

    def new(self, user: str | None, now: float) -> Session:
        return Session(secrets.token_urlsafe(18), user, now + self.cfg.session_minutes * 60)

    def user_of(self, s: Session | None) -> ConsoleUser | None:
        if s is None or s.user is None:
            return None
        return self.cfg.users.get(s.user)

    def cookie_kwargs(self) -> dict:
        return {"key": self.cfg.cookie_name, "max_age": self.cfg.session_minutes * 60, "path": "/console",
                "httponly": True, "secure": self.cfg.cookie_secure, "samesite": self.cfg.cookie_samesite}

    # -- CSRF ------------------------------------------------------------------------------------------------
    def csrf(self, s: Session) -> str:
        return _b64(hmac.new(self._csrf_key, s.sid.encode(), hashlib.sha256).digest())

    def csrf_ok(self, s: Session | None, token: str | None) -> bool:
        return bool(s and token) and hmac.compare_digest(self.csrf(s), token)

    # -- passwords -------------------------------------------------------------------------------------------
    def locked(self, name: str, now: float) -> bool:
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if t > now - self.cfg.lockout_minutes * 60]
            self._failures[name] = recent
            return self.cfg.max_login_failures > 0 and len(recent) >= self.cfg.max_login_failures

    def check_password(self, name: str, password: str, now: float) -> ConsoleUser | None:
        """The user when the password matches; None otherwise (unknown user, wrong password, locked out)."""
        name = name[:100]
        if self.locked(name, now):
            return None
        u = self.cfg.users.get(name)
        try:
            ok = _HASHER.verify(u.password_hash if u else _DUMMY_HASH, password) and u is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok:
            with self._lock:
                self._failures.setdefault(name, []).append(now)
            return None
        with self._lock:
            self._failures.pop(name, None)
        return u
