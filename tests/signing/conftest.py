"""Fixtures of the signing tests: one development PKI per session (generated with `init_dev_pki`, never
committed), signers loaded once, and a PRC-style declaration to sign."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from signing import LocalSigner, TrustStore
from signing.devpki import init_dev_pki
from signing.keys import Sm2PublicKey
from translator import parse

from sign_helpers import NOW, ROOT, declaration_bytes  # noqa: E402


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    init_dev_pki(d, NOW)
    return d


@pytest.fixture(scope="session")
def trust(pki) -> TrustStore:
    return TrustStore.from_dir(pki / "trust")


@pytest.fixture(scope="session")
def signers(pki) -> dict:
    s = {name: LocalSigner.from_files(pki / f"{name}.key", pki / f"{name}.pem")
         for name in ("hub", "hub-ec", "partner-a", "partner-a-next", "partner-b", "expired", "revoked", "untrusted")}
    s["sm2"] = LocalSigner.from_files(pki / "sm2.key", key_name="hub-sm2")
    return s


@pytest.fixture(scope="session")
def sm2_keys(pki) -> dict:
    return {"hub-sm2": Sm2PublicKey.from_text((pki / "sm2.pub").read_text())}


@pytest.fixture
def decl():
    """A fresh parsed declaration (signing works in place)."""
    return parse(declaration_bytes())


@pytest.fixture(scope="session")
def xmlsec1():
    path = shutil.which("xmlsec1")
    if path is None:
        subprocess.run(["bash", str(ROOT / "tools" / "system-test-deps.sh")], check=False)
        path = shutil.which("xmlsec1")
    if path is None:
        pytest.skip("xmlsec1 is not installed and tools/system-test-deps.sh could not install it")
    return path
