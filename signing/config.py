"""Signers from configuration (the `[signing.<id>]` tables of edihub.toml), loaded once at start-up.

    [signing.hub]
    profile = "default"                 # default profile of routes using this signer
    key = "/etc/edihub/hub.p12"         # PEM/DER key, PKCS#12, or SM2 hex key file
    cert = "/etc/edihub/hub.pem"        # when the key file holds no certificate
    password_env = "EDIHUB_HUB_KEY_PASSWORD"
    key_name = "hub-sm2"                # KeyName for key_info = "keyname" profiles

    [signing.hsm]
    url = "http://127.0.0.1:8700"       # external signer (signing service / HSM front-end)
    key_id = "hub"
    token_env = "EDIHUB_SIGNER_TOKEN"

Secrets come from the environment variables named, never from the file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import SigningError
from .profiles import SigningProfile, load_profile
from .signers import LocalSigner, RemoteSigner


@dataclass
class ConfiguredSigner:
    name: str
    signer: object
    profile: SigningProfile


def _secret(table: dict, key: str, env, where: str) -> str | None:
    var = table.get(key)
    if var is None:
        return None
    if var not in env:
        raise SigningError("config-invalid", f"{where}: environment variable {var} ({key}) is not set")
    return env[var]


def load_signers(signing_tables: dict, env=None) -> dict[str, ConfiguredSigner]:
    env = os.environ if env is None else env
    out = {}
    for name, t in signing_tables.items():
        where = f"[signing.{name}]"
        profile = load_profile(t.get("profile", "default"))
        if "url" in t:
            signer = RemoteSigner(t["url"], t.get("key_id", name), token=_secret(t, "token_env", env, where),
                                  timeout=float(t.get("timeout", 5.0)))
        elif "key" in t:
            signer = LocalSigner.from_files(t["key"], t.get("cert"), _secret(t, "password_env", env, where),
                                            key_name=t.get("key_name"))
        else:
            raise SigningError("config-invalid", f"{where}: needs `key` (local) or `url` (external signer)")
        out[name] = ConfiguredSigner(name, signer, profile)
    return out


def configured_certificates(signers: dict[str, ConfiguredSigner]) -> list[tuple[str, object]]:
    """(name, certificate) of every configured signer, for signing.devpki.expiry_of (days to expiry)."""
    return [(n, c.signer.certificate) for n, c in signers.items() if getattr(c.signer, "certificate", None)]
