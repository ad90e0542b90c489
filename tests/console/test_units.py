"""Pure parts of the console: XML display (escaping), configuration checks, session cookies, CSRF, login
throttling, journey durations, date filters, readiness over a runtime's parts."""
from __future__ import annotations

import html
import re
from types import SimpleNamespace

import pytest

from consolekit import ENV, SAMPLES, console_section, hashes
from console import xmlview
from console.auth import Session, Sessions
from console.config import ConsoleConfigError, parse_console
from console.health import readiness
from console.views import parse_day, timeline


def _text_of(h: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", h))


# -- XML display -----------------------------------------------------------------------------------------------
def test_highlight_escapes_markup_from_the_document():
    doc = (b'<?xml version="1.0"?><a x="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">'
           b'&lt;img src=x onerror=alert(2)&gt;<!-- <b>hi</b> --><![CDATA[<script>x</script>]]></a>')
    out, note = xmlview.render(doc)
    assert note is None
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    # once rendered, the page shows exactly the (re-indented) XML source, entity references included
    text, _ = xmlview.pretty(doc)
    assert _text_of(out) == text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text and "<!-- <b>hi</b> -->" in text


def test_pretty_reindents_a_one_line_document_and_spans_are_balanced():
    raw = (SAMPLES / "prc" / "import_1_line.xml").read_bytes()
    flat = re.sub(rb">\s+<", b"><", raw)
    text, note = xmlview.pretty(flat)
    assert note is None
    assert "\n  <" in text and text.count("\n") > 50
    out = xmlview.highlight(text)
    assert out.count("<span") == out.count("</span>")
    assert 'class="x-name">DecMessage</span>' in out or "DecMessage</span>" in out


def test_not_xml_is_shown_as_text_with_a_note():
    out, note = xmlview.render(b"<not closed <b>bold</b>")
    assert note and note.startswith("not shown as XML")
    assert "<b>" not in out and _text_of(out) == "<not closed <b>bold</b>"


def test_doctype_is_refused_by_the_hardened_parser_and_shown_as_text():
    doc = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'
    out, note = xmlview.render(doc)
    assert note and "not shown as XML" in note
    assert "root:" not in out


# -- configuration ---------------------------------------------------------------------------------------------
def test_config_is_read_with_secret_from_environment():
    cfg = parse_console(console_section(), env=ENV)
    assert set(cfg.users) == {"olga", "vic"}
    assert cfg.users["olga"].can_act and not cfg.users["vic"].can_act
    assert cfg.secret == ENV["C_CONSOLE_SECRET"].encode()
    assert cfg.cookie_secure is False and cfg.cookie_samesite == "lax"


@pytest.mark.parametrize("change, key", [
    ({"secret_env": "NOPE_NOT_SET"}, "console.secret_env"),
    ({"secret_env": ""}, "console.secret_env"),
    ({"colour": "blue"}, "console: unknown key"),
    ({"cookie_samesite": "none"}, "console.cookie_samesite"),
    ({"session_minutes": "long"}, "console.session_minutes"),
    ({"cookie_secure": "yes"}, "console.cookie_secure"),
    ({"users": {"x": {"password_hash": "plain", "role": "operator"}}}, "console.users.x.password_hash"),
    ({"users": {"x": {"password_hash": "$argon2id$v=19$abc", "role": "admin"}}}, "console.users.x.role"),
    ({"users": {"x": {"password_hash": "$argon2id$v=19$abc", "password": "p"}}}, "console.users.x: unknown"),
    ({"metrics_token_env": "NOPE_NOT_SET"}, "console.metrics_token_env"),
])
def test_config_errors_name_the_key(change, key):
    with pytest.raises(ConsoleConfigError) as e:
        parse_console(console_section(**change), env=ENV)
    assert str(e.value).startswith(key), str(e.value)


def test_short_secret_is_refused():
    with pytest.raises(ConsoleConfigError, match="shorter than 32"):
        parse_console(console_section(), env={**ENV, "C_CONSOLE_SECRET": "short"})


def test_secure_cookie_by_default():
    cfg = parse_console({k: v for k, v in console_section().items() if k != "cookie_secure"}, env=ENV)
    kw = Sessions(cfg).cookie_kwargs()
    assert kw["secure"] is True and kw["httponly"] is True and kw["samesite"] == "lax" and kw["path"] == "/console"


# -- sessions and CSRF -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sessions():
    return Sessions(parse_console(console_section(), env=ENV))


def test_cookie_round_trip_and_tampering(sessions):
    s = sessions.new("olga", 1000.0)
    v = sessions.encode(s)
    assert sessions.decode(v, 1001.0) == s
    body, mac = v.split(".")
    import base64
    import json
    d = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    d["u"] = "vic"
    forged = base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode() + "." + mac
    assert sessions.decode(forged, 1001.0) is None
    assert sessions.decode(v[:-2] + ("AA" if v[-2:] != "AA" else "BB"), 1001.0) is None
    assert sessions.decode("garbage", 1001.0) is None and sessions.decode(None, 1.0) is None
    # signed with another secret: refused
    other = Sessions(parse_console(console_section(), env={**ENV, "C_CONSOLE_SECRET": "x" * 40}))
    assert other.decode(v, 1001.0) is None


def test_cookie_expires(sessions):
    s = sessions.new("olga", 1000.0)
    assert sessions.decode(sessions.encode(s), s.expires - 1) is not None
    assert sessions.decode(sessions.encode(s), s.expires + 1) is None


def test_role_is_read_from_configuration_not_cookie(sessions):
    assert sessions.user_of(Session("x", "olga", 9e9)).role == "operator"
    assert sessions.user_of(Session("x", "somebody-removed", 9e9)) is None
    assert sessions.user_of(Session("x", None, 9e9)) is None


def test_csrf_token_is_bound_to_the_session(sessions):
    a, b = sessions.new(None, 0), sessions.new(None, 0)
    assert sessions.csrf_ok(a, sessions.csrf(a))
    assert not sessions.csrf_ok(a, sessions.csrf(b))
    assert not sessions.csrf_ok(a, "") and not sessions.csrf_ok(a, None) and not sessions.csrf_ok(None, "x")


def test_password_check_and_lockout():
    cfg = parse_console(console_section(max_login_failures=3, lockout_minutes=1), env=ENV)
    s = Sessions(cfg)
    assert s.check_password("olga", "operator-pass-1", 0).name == "olga"
    assert s.check_password("olga", "wrong", 0) is None
    assert s.check_password("nobody", "operator-pass-1", 0) is None
    for _ in range(3):
        s.check_password("vic", "wrong", 10)
    assert s.check_password("vic", "viewer-pass-22", 11) is None          # locked
    assert s.check_password("vic", "viewer-pass-22", 75).name == "vic"    # a minute later


def test_hashpw_output_verifies(capsys, monkeypatch):
    import io

    from argon2 import PasswordHasher

    from console.hashpw import main
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert main(["carol", "--role", "operator", "--stdin"]) == 0
    out = capsys.readouterr().out
    h = re.search(r'password_hash = "([^"]+)"', out).group(1)
    assert PasswordHasher().verify(h, "a-long-password")
    assert '[console.users.carol]' in out and 'role = "operator"' in out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--stdin"]) == 2
    assert hashes()["olga"].startswith("$argon2id$")


# -- journey and filters ---------------------------------------------------------------------------------------
def test_timeline_durations_per_scope():
    audit = [
        {"delivery_id": None, "from_state": None, "to_state": "received", "at": 100.0, "detail": None},
        {"delivery_id": None, "from_state": "received", "to_state": "queued", "at": 100.5, "detail": None},
        {"delivery_id": "D1", "from_state": None, "to_state": "queued", "at": 100.5, "detail": "route r"},
        {"delivery_id": "D1", "from_state": None, "to_state": "sending", "at": 101.0, "detail": "attempt 1"},
        {"delivery_id": "D1", "from_state": "sending", "to_state": "dead", "at": 103.0, "detail": "boom"},
        {"delivery_id": None, "from_state": "queued", "to_state": "dead", "at": 103.0, "detail": None},
        {"delivery_id": None, "from_state": "dead", "to_state": "dead", "at": 104.0, "detail": "console: x"},
    ]
    ev = timeline(audit, now=200.0, final_states={"dead", "delivered"})
    assert [e["duration"] for e in ev[:6]] == [0.5, 2.5, 0.5, 2.0, None, None]
    assert ev[6]["action"] and ev[6]["duration"] is None
    ev = timeline(audit[:4], now=110.0, final_states={"dead"})
    assert ev[1]["ongoing"] and ev[1]["duration"] == pytest.approx(9.5)
    assert ev[3]["ongoing"] and ev[3]["duration"] == pytest.approx(9.0)


def test_parse_day():
    assert parse_day("2026-11-23") == 1795392000
    assert parse_day("2026-11-23", end=True) == 1795392000 + 86400
    assert parse_day("2026-11-23T10:30") == 1795392000 + 10.5 * 3600
    assert parse_day("") is None
    with pytest.raises(ValueError):
        parse_day("23/11/2026")


# -- readiness -------------------------------------------------------------------------------------------------
class _Store:
    def __init__(self, fail=False):
        self.fail = fail

    def _read(self):
        import contextlib
        import sqlite3

        @contextlib.contextmanager
        def cm():
            if self.fail:
                raise sqlite3.OperationalError("unable to open database file")
            c = sqlite3.connect(":memory:")
            c.execute("CREATE TABLE messages (id TEXT)")
            yield c
        return cm()


def _rt(store_fail=False, types=1, signing=("hub",), loaded=("hub",), stopping=False):
    return SimpleNamespace(store=_Store(store_fail),
                           validator=SimpleNamespace(registry=SimpleNamespace(types={f"t{i}": 1 for i in range(types)})),
                           cfg=SimpleNamespace(signing={k: 1 for k in signing}),
                           pipeline=SimpleNamespace(signers={k: 1 for k in loaded}),
                           worker=SimpleNamespace(_loop=object(), _stopping=stopping))


def test_readiness_checks():
    ok, checks = readiness(_rt())
    assert ok and all(c["ok"] for c in checks.values())
    ok, checks = readiness(_rt(store_fail=True))
    assert not ok and not checks["store"]["ok"] and "unable to open" in checks["store"]["error"]
    ok, checks = readiness(_rt(types=0))
    assert not ok and not checks["schemas"]["ok"]
    ok, checks = readiness(_rt(loaded=()))
    assert not ok and checks["keys"]["error"].endswith("hub")
    ok, checks = readiness(_rt(stopping=True))
    assert not ok and not checks["worker"]["ok"]


def test_secret_file_is_created_once_with_private_mode(tmp_path):
    sect = {k: v for k, v in console_section().items() if k != "secret_env"}
    sect["secret_file"] = "var/console-secret"
    a = parse_console(sect, env={}, base=tmp_path)
    f = tmp_path / "var" / "console-secret"
    assert f.exists() and (f.stat().st_mode & 0o777) == 0o600
    b = parse_console(sect, env={}, base=tmp_path)
    assert a.secret == b.secret and len(a.secret) >= 32
    with pytest.raises(ConsoleConfigError, match="^console.secret_file: give secret_env or secret_file"):
        parse_console({**sect, "secret_env": "C_CONSOLE_SECRET"}, env=ENV, base=tmp_path)
    (tmp_path / "short").write_text("abc\n")
    with pytest.raises(ConsoleConfigError, match="shorter than 32"):
        parse_console({**sect, "secret_file": str(tmp_path / "short")}, env={})
