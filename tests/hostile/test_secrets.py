"""Secrets never leave the hub: a hub runs with known secret values (partner and operator tokens from environment
variables, a password-protected signing key), good and bad requests are driven over SOAP and the HTTP API, and
every log record, everything written to stdout/stderr, every answer and the store file are searched for them."""
from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization

from hostilekit import hostile_config
from hubkit import ServedHub, sample

SECRETS = {
    "T_PARTNER_A": "tokA-s3cret-Partner-A-71c2e9d4",
    "T_PARTNER_B": "tokB-s3cret-Partner-B-0d83f1aa",
    "T_PARTNER_FLOOD": "tokF-s3cret-Flood-99aa77bb66",
    "T_OPERATOR": "tokO-s3cret-Operator-5e6f7a8b",
    "T_KEY_PW": "kpw-s3cret-KeyPassword-c0ffee",
}
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
HUB = "urn:edihub:hub:1"


def _encrypted_key(pki: Path, tmp: Path) -> Path:
    key = serialization.load_pem_private_key((pki / "hub.key").read_bytes(), password=None)
    out = tmp / "hub-encrypted.key"
    out.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(SECRETS["T_KEY_PW"].encode())))
    return out


def _config(tmp: Path, pki: Path, endpoints: str, key: Path) -> str:
    text = hostile_config(tmp, pki, endpoints)
    old = f'key = "{pki / "hub.key"}"'
    assert old in text
    return text.replace(old, f'key = "{key}"\npassword_env = "T_KEY_PW"')


def _runtime(tmp, pki, endpoints, env):
    import os
    from routing.config import load_config
    from routing.runtime import build_runtime
    os.environ.update(env)
    return build_runtime(load_config(tmp, text=_config(tmp, pki, endpoints, _encrypted_key(pki, tmp)), env=env))


def _soap(url, body: bytes, token: str | None):
    h = {"Content-Type": "text/xml"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{url}/soap", content=body, headers=h, timeout=10)


def _validate_env(doc: bytes) -> bytes:
    return (f'<s:Envelope xmlns:s="{S11}"><s:Body><h:ValidateRequest xmlns:h="{HUB}"><h:Payload>'
            f'{base64.b64encode(doc).decode()}</h:Payload></h:ValidateRequest></s:Body></s:Envelope>').encode()


def test_secrets_do_not_appear_in_logs_answers_or_store(tmp_path, pki, endpoints, caplog, capfd, monkeypatch):
    caplog.set_level(logging.DEBUG)
    env = dict(SECRETS)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    rt = _runtime(tmp_path, pki, endpoints, env)
    assert not [w for w in rt.warnings if w.startswith("signing.")], rt.warnings   # the key did load
    hub = ServedHub(rt)
    answers: list[str] = []
    refusals: list = []
    try:
        tok, op = SECRETS["T_PARTNER_A"], SECRETS["T_OPERATOR"]
        good = sample("vnaccs/ida_haiphong_valves_1line.xml")
        r = httpx.post(f"{hub.url}/api/messages", content=good, timeout=10,
                       headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/xml"})
        assert r.status_code == 202, r.text
        answers.append(r.text)
        mid = r.json()["message_id"]
        hub.wait_state(mid, ("acknowledged", "delivered"), token=tok)    # signed with the encrypted key
        for call in (
            lambda: httpx.get(f"{hub.url}/api/messages/{mid}", headers={"Authorization": f"Bearer {tok}"}),
            lambda: httpx.get(f"{hub.url}/api/messages/{mid}/receipt", headers={"Authorization": f"Bearer {tok}"}),
            lambda: httpx.get(f"{hub.url}/api/messages", headers={"Authorization": f"Bearer {op}"}),
            # near misses of the real tokens, in every place a token can be sent
            lambda: httpx.post(f"{hub.url}/api/messages", content=good,
                               headers={"Authorization": f"Bearer {tok}x"}),
            lambda: httpx.post(f"{hub.url}/api/messages", content=good,
                               headers={"Authorization": f"Basic {tok}"}),
            lambda: httpx.get(f"{hub.url}/api/messages", headers={"Authorization": f"Bearer {op[:-1]}"}),
            lambda: httpx.get(f"{hub.url}/api/refusals", headers={"Authorization": f"Bearer {tok}"}),
            lambda: httpx.get(f"{hub.url}/api/refusals", headers={"Authorization": f"Bearer {op}"}),
            lambda: _soap(hub.url, _validate_env(good), tok + "x"),
            lambda: _soap(hub.url, _validate_env(good), tok),
            lambda: _soap(hub.url, b"<not-xml", tok),
            lambda: _soap(hub.url, _validate_env(b"<broken"), SECRETS["T_KEY_PW"]),   # the password as a token
            lambda: httpx.get(f"{hub.url}/healthz"),
            lambda: httpx.get(f"{hub.url}/soap?wsdl"),
        ):
            resp = call()
            assert resp.status_code < 500 or "Fault" in resp.text, resp.text[:300]
            answers.append(resp.text)
            answers.append("\n".join(f"{k}: {v}" for k, v in resp.headers.items()))
        refusals = rt.store.refusals(200)
        assert any(x["code"] == "auth-failed" for x in refusals)
        answers.append(repr(refusals))
    finally:
        hub.stop()
    # a hub started with a wrong key password says so without repeating either password
    wrong = dict(env, T_KEY_PW="kpw-s3cret-WRONG-password-77")
    (tmp_path / "second").mkdir()
    rt2 = _runtime(tmp_path / "second", pki, endpoints, wrong)
    msgs = [w for w in rt2.warnings if w.startswith("signing.")]
    assert msgs, rt2.warnings
    answers.extend(rt2.warnings)
    rt2.store.close()
    out, err = capfd.readouterr()
    logs = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    store_bytes = b"".join(p.read_bytes() for p in tmp_path.rglob("hub.db*"))
    haystacks = {"answers": "\n".join(answers), "logs": logs, "stdout": out, "stderr": err}
    for name, value in [*SECRETS.items(), ("wrong key password", wrong["T_KEY_PW"])]:
        for where, text in haystacks.items():
            assert value not in text, f"secret {name} appears in {where}"
        assert value.encode() not in store_bytes, f"secret {name} is in the store"
    assert "auth-failed" in logs or refusals, "the bad requests were seen"
