"""The hostile corpus (manifest.toml): every case is sent over its channel (SOAP endpoint, HTTP API, CLI) and must
end in its documented refusal. After every case the hub still answers a good request correctly and nothing was
stored as accepted."""
from __future__ import annotations

import base64
import json
import socket
import threading
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from lxml import etree

import recipes
from hostilekit import BODY_LIMIT, BODY_TIMEOUT, FLOOD_TOKEN
from hubkit import OTHER_TOKEN, TOKEN

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
MANIFEST = tomllib.loads((HERE / "manifest.toml").read_text(encoding="utf-8"))
CASES = MANIFEST["case"]
HUBNS = "urn:edihub:hub:1"
ACCEPTED_GONE = {"rejected", "dead", "cancelled"}
GOOD = (CORPUS / "soap11_valid_validate.xml").read_bytes()
TOKENS = {"partner-a": TOKEN, "partner-b": OTHER_TOKEN, "partner-flood": FLOOD_TOKEN}


def test_manifest_is_complete():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(ids) >= 50
    for c in CASES:
        assert c["channel"] in ("soap", "api", "cli"), c["id"]
        assert ("file" in c) + ("recipe" in c) + ("path" in c) + (c.get("send") in ("slow",)) == 1, c["id"]
        assert c.get("send", "once") in ("once", "chunked", "chunked-open", "declared-only", "twice", "slow",
                                         "flood"), c["id"]
        if "file" in c:
            assert (CORPUS / c["file"]).is_file(), c["file"]
        if "recipe" in c:
            assert c["recipe"] in recipes.RECIPES, c["recipe"]
        assert c["expect"], c["id"]
    used = {c["file"] for c in CASES if "file" in c} | {"soap11_valid_validate.xml", "soap12_valid_validate.xml"}
    assert {p.name for p in CORPUS.iterdir()} <= used, "every corpus file is used by a case"
    for fam in ("prc", "vnaccs", "siveca", "iran"):
        assert any(fam in c["id"] for c in CASES), fam


def _body(case, ctx) -> bytes:
    if "file" in case:
        return (CORPUS / case["file"]).read_bytes()
    if "recipe" in case:
        return recipes.build(ctx, case["recipe"], case.get("args", {}))
    return b""


def _headers(case, default_ct):
    h = {"Content-Type": case.get("content_type", default_ct), **case.get("headers", {})}
    auth = case.get("auth", "partner-a")
    if auth in TOKENS:
        h["Authorization"] = f"Bearer {TOKENS[auth]}"
    elif auth == "bad-token":
        h["Authorization"] = "Bearer not-a-token-of-anyone"
    elif auth == "basic":
        h["Authorization"] = "Basic " + base64.b64encode(TOKEN.encode() + b":x").decode()
    return h


def _accepted(hub) -> set[str]:
    return {m["id"] if "id" in m else m["message_id"] for m in hub.runtime.store.list_messages(limit=10_000)
            if m["state"] not in ACCEPTED_GONE}


def _soap_fault(resp) -> tuple[str | None, str | None, list[str]]:
    """(hub code, SOAP fault code, issue codes) of a SOAP answer."""
    x = etree.fromstring(resp.content)
    code = x.findtext(f".//{{{HUBNS}}}HubFault/{{{HUBNS}}}Code")
    soap_code = x.findtext(".//faultcode") or x.findtext(".//{http://www.w3.org/2003/05/soap-envelope}Code/"
                                                         "{http://www.w3.org/2003/05/soap-envelope}Value")
    issues = [i.text for i in x.iter(f"{{{HUBNS}}}Code") if i.getparent().tag in
              (f"{{{HUBNS}}}Issue",)]
    return code, soap_code, issues


def _check_common(resp):
    text = resp.text if resp.content else ""
    assert "Traceback" not in text and "internal-error" not in text, text[:500]


def _chunks(data: bytes, size=65536):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def _post(hub, path, data, headers, send):
    url = f"{hub.url}{path}"
    if send == "chunked":
        return httpx.post(url, content=_chunks(data), headers=headers, timeout=20)
    return httpx.post(url, content=data, headers=headers, timeout=20)


def _check_soap(case, resp):
    exp = case["expect"]
    _check_common(resp)
    assert resp.status_code == exp["status"], (resp.status_code, resp.text[:800])
    assert resp.headers["content-type"].split(";")[0] in ("text/xml", "application/soap+xml")
    code, soap_code, issues = _soap_fault(resp)
    if "code" in exp and not exp.get("any_code"):
        assert code == exp["code"], (code, resp.text[:800])
    if exp.get("any_code"):
        assert code, resp.text[:800]
        assert exp["code"] in [code, *issues], (code, issues)
    if "soap_code" in exp:
        assert soap_code and soap_code.endswith(exp["soap_code"]), soap_code
    if "valid" in exp:
        x = etree.fromstring(resp.content)
        assert x.findtext(f".//{{{HUBNS}}}Validation/{{{HUBNS}}}Valid") == ("true" if exp["valid"] else "false")
    if "issue" in exp:
        assert exp["issue"] in issues, issues


def _check_api(case, resp):
    exp = case["expect"]
    _check_common(resp)
    assert resp.status_code == exp["status"], (resp.status_code, resp.text[:800])
    body = resp.json()
    err = body.get("error") or {}
    assert err.get("code") and err.get("message"), body
    issues = [i["code"] for i in err.get("issues", [])]
    if "code" in exp:
        assert err["code"] == exp["code"], body
    if "issue" in exp:
        assert exp["issue"] in issues, body
    if "issue_prefix" in exp:
        assert issues and all(i for i in issues) and any(i.startswith(exp["issue_prefix"]) for i in issues), body
    if exp["status"] == 422:
        assert body.get("state") == "rejected", body


def _cli(case, ctx, tmp_path, capsys):
    from cli.main import main
    if "path" in case:
        path = case["path"]
    else:
        p = tmp_path / f"{case['id']}.xml"
        p.write_bytes(_body(case, ctx))
        path = str(p)
    capsys.readouterr()
    exp = case["expect"]
    if "argv" in case:      # another sub-command; the code is looked for in what it prints
        argv = [x.replace("{file}", path).replace("{tmp}", str(tmp_path)) for x in case["argv"]]
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        assert code == exp["exit"], (code, out, err)
        if "code" in exp:
            assert exp["code"] in out + err, (out, err)
        return
    code = main(["validate", "--json", path])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == exp["exit"], (code, out, err)
    line = json.loads(out.strip().splitlines()[-1])
    if "code" in exp:
        assert line["errors"] and line["errors"][0]["code"] == exp["code"], line
        assert all(e["message"] for e in line["errors"])
    for s in exp.get("absent", ()):
        assert s not in out + err
    if exp["exit"] == 0:
        assert line["valid"] is True


def _slow_loris(hub) -> tuple[int, float, bool]:
    """Headers promise 5000 bytes; one byte every 0.2 s. Returns (status, seconds until answered, good request ok
    meanwhile)."""
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
    t0 = time.monotonic()
    s.sendall((f"POST /api/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
               "Content-Type: application/xml\r\nContent-Length: 5000\r\n\r\n<IDA").encode())
    stop = threading.Event()

    def trickle():
        try:
            while not stop.is_set() and time.monotonic() - t0 < 8:
                s.sendall(b" ")
                time.sleep(0.2)
        except OSError:
            pass
    th = threading.Thread(target=trickle, daemon=True)
    th.start()
    time.sleep(0.3)
    good = httpx.post(f"{hub.url}/soap", content=GOOD, headers=_headers({}, "text/xml"), timeout=10)
    good_ok = good.status_code == 200
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        elapsed = time.monotonic() - t0
        stop.set()
        th.join()
        s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, elapsed, good_ok


def _raw(hub, path, headers: dict, first: bytes, more: bytes = b"", chunked=False) -> tuple[int, bytes]:
    """Send the headers and `first` (plus `more` once), leave the body unfinished, and read the answer: a server
    that waited for the whole body would never answer. Returns (status, answer bytes)."""
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=8)
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        s.sendall(head.encode() + b"\r\n")
        for part in (first, more):
            if part:
                s.sendall((f"{len(part):x}\r\n".encode() + part + b"\r\n") if chunked else part)
        data = b""
        while True:
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0:
                length = next((int(line.split(b":", 1)[1]) for line in data[:head_end].split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                if len(data) >= head_end + 4 + length:
                    break
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return (int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0), data
    finally:
        s.close()


def _flood(case, hub, data):
    headers = _headers(case, "application/xml")
    statuses, retry = [], []
    for _ in range(12):
        r = httpx.post(f"{hub.url}/api/messages", content=data, headers=headers, timeout=10)
        _check_common(r)
        statuses.append(r.status_code)
        if r.status_code == 429:
            retry.append(r.headers.get("retry-after"))
            assert r.json()["error"]["code"] == case["expect"]["code"], r.text
    # another partner is not slowed down by the flood
    other = httpx.post(f"{hub.url}/soap", content=GOOD, headers=_headers({}, "text/xml"), timeout=10)
    assert other.status_code == 200
    # the SOAP endpoint answers the flooding partner with a fault and 429 too
    # (the bucket refills at its rate while the requests above run, so a few tries may pass before the refusal)
    for _ in range(8):
        soap = httpx.post(f"{hub.url}/soap", content=GOOD, headers=headers | {"Content-Type": "text/xml"},
                          timeout=10)
        if soap.status_code != 200:
            break
    return statuses, retry, soap


def _param(c):
    marks = [pytest.mark.xfail(reason=c["known_bug"], strict=True)] if c.get("known_bug") else []
    return pytest.param(c, id=c["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case, hostile_hub, pki, tmp_path, capsys):
    hub = hostile_hub
    ctx = recipes.Ctx(pki=pki, body_limit=BODY_LIMIT)
    before = _accepted(hub)
    ch, send = case["channel"], case.get("send", "once")
    exp = case["expect"]
    if ch == "cli":
        _cli(case, ctx, tmp_path, capsys)
    elif send == "slow":
        status, elapsed, good_ok = _slow_loris(hub)
        assert status == exp["status"], status
        assert elapsed < BODY_TIMEOUT + 3, elapsed
        assert good_ok, "a good request was not answered while a slow body was being received"
    elif send in ("chunked-open", "declared-only"):
        data = _body(case, ctx)
        path = "/soap" if ch == "soap" else "/api/messages"
        headers = _headers(case, "text/xml" if ch == "soap" else "application/xml")
        if send == "chunked-open":
            # more than the limit in chunks, then the client stops without the final chunk
            status, raw = _raw(hub, path, headers | {"Transfer-Encoding": "chunked"}, data[:BODY_LIMIT // 2],
                               data[BODY_LIMIT // 2:BODY_LIMIT + 10_000], chunked=True)
        else:
            # a Content-Length far over the limit and no body at all
            status, raw = _raw(hub, path, headers | {"Content-Length": str(1 << 40)}, b"")
        assert status == exp["status"], raw[:500]
        assert exp["code"].encode() in raw, raw[:800]
    elif send == "flood":
        statuses, retry, soap = _flood(case, hub, _body(case, ctx) or GOOD)
        assert 429 in statuses and statuses[0] != 429, statuses
        assert all(r and r.isdigit() and int(r) >= 1 for r in retry), retry
        assert set(statuses) <= {422, 429}, statuses
        assert soap.status_code == 429 and soap.headers.get("retry-after", "").isdigit()
        code, soap_code, _ = _soap_fault(soap)
        assert code in ("rate-limited", "too-many-in-flight"), soap.text
        time.sleep(1.6)   # let the bucket refill for the cases that follow
    else:
        path = "/soap" if ch == "soap" else "/api/messages"
        data = _body(case, ctx)
        headers = _headers(case, "text/xml" if ch == "soap" else "application/xml")
        if case.get("query"):
            path += "?" + "&".join(f"{k}={v}" for k, v in case["query"].items())
        if send == "twice":
            first = _post(hub, path, data, headers, "once")
            assert first.status_code == exp["first_status"], first.text[:800]
        resp = _post(hub, path, data, headers, send)
        (_check_soap if ch == "soap" else _check_api)(case, resp)
        for s in exp.get("absent", ()):
            assert s not in resp.text
    # the hub is still well: a good request is answered correctly ...
    good = httpx.post(f"{hub.url}/soap", content=GOOD, headers=_headers({}, "text/xml"), timeout=10)
    assert good.status_code == 200, good.text[:500]
    assert etree.fromstring(good.content).findtext(f".//{{{HUBNS}}}Valid") == "true"
    # ... and nothing of the case was stored as accepted
    assert _accepted(hub) == before
