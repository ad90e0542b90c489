"""Signing profiles as data (signing/profiles.toml, or another file passed in): policy objects of the signing
stage. A profile names algorithms by short name; SigningProfile holds the URIs."""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import algorithms as alg
from .errors import SigningError

PROFILES_FILE = Path(__file__).with_name("profiles.toml")


@dataclass(frozen=True)
class SigningProfile:
    name: str
    title: str
    signature_methods: tuple[str, ...]     # URIs, in order of preference
    digest_method: str                     # URI
    c14n_method: str                       # URI
    placement: str = "enveloped"
    key_info: str = "x509"
    xades: bool = False
    allow_sha1: bool = False

    def uses_sha1(self) -> bool:
        return bool(alg.SHA1_URIS & ({self.digest_method} | set(self.signature_methods)))


def _profile(name: str, d: dict, where: str) -> SigningProfile:
    def pick(table: dict, key: str):
        try:
            return table[key]
        except KeyError:
            raise SigningError("profile-invalid", f"{where}: unknown {key!r}; known: {', '.join(sorted(table))}") from None

    sigs = d.get("signature", [])
    if isinstance(sigs, str):
        sigs = [sigs]
    if not sigs:
        raise SigningError("profile-invalid", f"{where}: no signature method")
    p = SigningProfile(
        name=name, title=d.get("title", ""),
        signature_methods=tuple(pick(alg.SIGNATURE_BY_NAME, s) for s in sigs),
        digest_method=pick(alg.DIGEST_BY_NAME, d.get("digest", "sha256")),
        c14n_method=pick(alg.C14N_BY_NAME, d.get("c14n", "exc-c14n")),
        placement=d.get("placement", "enveloped"), key_info=d.get("key_info", "x509"),
        xades=bool(d.get("xades", False)), allow_sha1=bool(d.get("allow_sha1", False)),
    )
    if p.placement != "enveloped":
        raise SigningError("profile-invalid", f"{where}: placement {p.placement!r} is not supported (enveloped)")
    if p.key_info not in ("x509", "keyname"):
        raise SigningError("profile-invalid", f"{where}: key_info must be x509 or keyname")
    if p.c14n_method in (alg.C14N_10_COMMENTS, alg.EXC_C14N_COMMENTS):
        raise SigningError("profile-invalid", f"{where}: a c14n with comments is not allowed for signing")
    if p.uses_sha1() and not p.allow_sha1:
        raise SigningError("profile-invalid", f"{where}: uses SHA-1 but does not say allow_sha1 = true")
    return p


def load_profiles(path: str | Path = PROFILES_FILE) -> dict[str, SigningProfile]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SigningError("profile-invalid", f"{path}: {e}") from None
    return {name: _profile(name, d, f"{path} [profiles.{name}]") for name, d in data.get("profiles", {}).items()}


@functools.lru_cache(maxsize=1)
def default_profiles() -> dict[str, SigningProfile]:
    return load_profiles()


def load_profile(name: str | SigningProfile) -> SigningProfile:
    if isinstance(name, SigningProfile):
        return name
    profiles = default_profiles()
    try:
        return profiles[name]
    except KeyError:
        raise SigningError("profile-unknown", f"unknown signing profile {name!r}; known: {', '.join(profiles)}") from None
