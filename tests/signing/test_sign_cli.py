"""`edihub sign`, `edihub verify` and `edihub pki` as a user runs them (subprocesses): exit 0 good, 1 the
signature is judged bad, 2 unreadable input or usage."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sign_helpers import ROOT, declaration_bytes


def edihub(*args, env=None):
    e = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "cli.main", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=e)


@pytest.fixture(scope="module")
def cli_pki(tmp_path_factory):
    """`edihub pki init` makes the PKI the CLI tests use (its certificates are valid around the real clock)."""
    d = tmp_path_factory.mktemp("cli") / "pki"
    p = edihub("pki", "init", d)
    assert p.returncode == 0, p.stderr
    assert "Not for production" in p.stdout
    return d


@pytest.fixture
def doc(tmp_path):
    f = tmp_path / "decl.xml"
    f.write_bytes(declaration_bytes())
    return f


def test_pki_init_layout_and_refuses_a_non_empty_folder(cli_pki):
    for name in ("trust/ca.pem", "trust/ca.crl", "ca/ca.key", "hub.key", "hub.pem", "hub.p12", "hub-ec.pem",
                 "partner-a.pem", "partner-a-next.pem", "partner-b.pem", "expired.pem", "revoked.pem",
                 "untrusted-ca.pem", "untrusted.pem", "sm2.key", "sm2.pub"):
        assert (cli_pki / name).is_file(), name
    assert oct((cli_pki / "hub.key").stat().st_mode & 0o777) == "0o600"
    p = edihub("pki", "init", cli_pki)
    assert p.returncode == 2 and "not empty" in p.stderr


def test_pki_status(cli_pki):
    p = edihub("pki", "status", cli_pki, "--json")
    assert p.returncode == 1                         # expired.pem is expired
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    by = {r["name"].rsplit("/", 1)[-1]: r for r in rows}
    assert by["expired.pem"]["status"] == "expired" and by["hub.pem"]["status"] == "ok"
    assert 363 <= by["hub.pem"]["days_left"] <= 365
    p = edihub("pki", "status", cli_pki / "hub.pem", "--warn-days", "400")
    assert p.returncode == 0 and p.stdout.startswith("WARNING")
    assert edihub("pki", "status", cli_pki / "nope.pem").returncode == 2


@pytest.mark.parametrize("profile,key,extra", [
    ("default", "hub.key", ["--cert", "hub.pem"]),
    ("prc-eport", "hub.p12", ["--password-env", "P12PW"]),
    ("xades-bes", "hub-ec.key", ["--cert", "hub-ec.pem"]),
])
def test_sign_then_verify(cli_pki, doc, tmp_path, profile, key, extra):
    out = tmp_path / "signed.xml"
    extra = [str(cli_pki / x) if x.endswith(".pem") else x for x in extra]
    p = edihub("sign", doc, "--profile", profile, "--key", cli_pki / key, *extra, "-o", out, env={"P12PW": "edihub-dev"})
    assert p.returncode == 0, p.stderr
    assert "covers /DecMessage" in p.stderr
    args = ["verify", out, "--trust", cli_pki / "trust"] + (["--profile", profile] if profile == "prc-eport" else [])
    p = edihub(*args)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "VALID signature" in p.stdout and "signer:  CN=edihub hub" in p.stdout and "covered: /DecMessage" in p.stdout
    p = edihub(*args, "--json")
    d = json.loads(p.stdout)
    assert d["valid"] and d["covered"] == "/DecMessage" and d["trusted_by"] == "trust-store"
    out.write_bytes(out.read_bytes().replace(b"<GQty>", b"<GQty>1", 1))
    p = edihub(*args)
    assert p.returncode == 1 and "INVALID signature: digest-mismatch" in p.stdout


def test_sign_sm2_and_verify_with_the_public_key(cli_pki, doc, tmp_path):
    out = tmp_path / "sm2.xml"
    p = edihub("sign", doc, "--profile", "sm2-sm3", "--key", cli_pki / "sm2.key", "--key-name", "hub-sm2", "-o", out)
    assert p.returncode == 0, p.stderr
    p = edihub("verify", out, "--sm2-key", f"hub-sm2={cli_pki / 'sm2.pub'}", "--json")
    d = json.loads(p.stdout)
    assert p.returncode == 0 and d["algorithm"] == "sm2-sm3" and d["trusted_by"] == "sm2-key"


def test_sha1_needs_the_profile_named(cli_pki, doc, tmp_path):
    out = tmp_path / "s.xml"
    assert edihub("sign", doc, "--profile", "prc-eport", "--key", cli_pki / "hub.key", "--cert",
                  cli_pki / "hub.pem", "-o", out).returncode == 0
    p = edihub("verify", out, "--trust", cli_pki / "trust")
    assert p.returncode == 1 and "algorithm-not-allowed" in p.stdout


def test_untrusted_signer_exit_1(cli_pki, doc, tmp_path):
    out = tmp_path / "u.xml"
    assert edihub("sign", doc, "--key", cli_pki / "untrusted.key", "--cert", cli_pki / "untrusted.pem",
                  "-o", out).returncode == 0
    p = edihub("verify", out, "--trust", cli_pki / "trust")
    assert p.returncode == 1 and "untrusted-certificate" in p.stdout
    p = edihub("verify", out)                       # integrity only, and it says so
    assert p.returncode == 0 and "NOT CHECKED" in p.stdout


def test_usage_and_unreadable_input_exit_2(cli_pki, doc, tmp_path):
    assert edihub("sign", doc).returncode == 2                                       # no key
    p = edihub("sign", doc, "--profile", "nope", "--key", cli_pki / "hub.key")
    assert p.returncode == 2 and "profile-unknown" in p.stderr
    p = edihub("sign", tmp_path / "missing.xml", "--key", cli_pki / "hub.key")
    assert p.returncode == 2 and "unreadable" in p.stderr
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<a><b></a>")
    p = edihub("verify", bad)
    assert p.returncode == 2 and "xml-malformed" in p.stderr
    p = edihub("verify", doc)
    assert p.returncode == 1 and "signature-missing" in p.stdout
    p = edihub("sign", doc, "--key", cli_pki / "hub.key", "--cert", cli_pki / "partner-a.pem")
    assert p.returncode == 2 and "key-certificate-mismatch" in p.stderr
