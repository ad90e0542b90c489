"""`edihub show` and `edihub submit-dir` (console/cli_ops.py) against a served hub."""
from __future__ import annotations

import argparse
import io
import shutil

from consolekit import OPERATOR_TOKEN, SAMPLES, TOKEN

from console import cli_ops


def run(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    cli_ops.register(sub)
    args = ap.parse_args(argv)
    return args.func(args)


def test_submit_dir_with_wait_and_summary(served, tmp_path, capsys):
    d = tmp_path / "batch"
    d.mkdir()
    shutil.copy(SAMPLES / "prc" / "import_1_line.xml", d / "a_import.xml")
    shutil.copy(SAMPLES / "vnaccs" / "ida_haiphong_valves_1line.xml", d / "b_vnaccs.xml")
    # another declaration number than a_import.xml, or it could be taken for a duplicate of it (parallel submits)
    (d / "c_invalid.xml").write_bytes((SAMPLES / "prc" / "invalid" / "prc-gross-lt-net.xml").read_bytes()
                                      .replace(b"224820241000654321", b"224820241000999999"))
    (d / "d_broken.xml").write_bytes(b"<DecMessage><unclosed></DecMessage>")
    (d / "notes.txt").write_text("not submitted")
    rc = run(["submit-dir", str(d), "--wait", "--url", served.url, "--token", TOKEN, "--timeout", "30"])
    out = capsys.readouterr().out
    assert rc == 1                                            # two files were rejected
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.endswith(".xml") or ".xml " in ln}
    assert "accepted" in lines["a_import.xml"] and "acknowledged" in lines["a_import.xml"]
    assert "accepted" in lines["b_vnaccs.xml"]
    assert "rejected" in lines["c_invalid.xml"] and "prc-gross-lt-net" in lines["c_invalid.xml"]
    assert "rejected" in lines["d_broken.xml"]
    assert "notes.txt" not in out
    assert "4 file(s):" in out and "2 rejected" in out

    # the same folder again: the accepted ones are duplicates now; only good files -> exit 0
    for f in ("c_invalid.xml", "d_broken.xml"):
        (d / f).unlink()
    rc = run(["submit-dir", str(d), "--url", served.url, "--token", TOKEN])
    out = capsys.readouterr().out
    assert rc == 0 and out.count("duplicate") == 2


def test_submit_dir_usage_errors(served, tmp_path, capsys):
    assert run(["submit-dir", str(tmp_path / "missing"), "--url", served.url, "--token", TOKEN]) == 2
    (tmp_path / "empty").mkdir()
    assert run(["submit-dir", str(tmp_path / "empty"), "--url", served.url, "--token", TOKEN]) == 2
    (tmp_path / "one").mkdir()
    shutil.copy(SAMPLES / "prc" / "import_1_line.xml", tmp_path / "one" / "x.xml")
    assert run(["submit-dir", str(tmp_path / "one"), "--url", "http://127.0.0.1:9", "--token", TOKEN]) == 2
    assert "hub unreachable" in capsys.readouterr().err


def test_show_prints_journey_and_attempts(served, sim, capsys):
    sim("prc", mode="fail")
    mid = served.submit((SAMPLES / "prc" / "import_1_line.xml").read_bytes())["message_id"]
    served.wait_state(mid, "dead")
    rc = run(["show", mid, "--url", served.url, "--token", OPERATOR_TOKEN])
    out = capsys.readouterr().out
    assert rc == 1                                            # dead
    assert f"message   {mid}   state dead" in out
    j = out[out.index("journey"):out.index("delivery ")]
    assert "prc-pass" in j and "sending -> failed" in j and "failed -> dead" in j and " ms" in j
    assert "attempts 2/2" in out and "HTTP 500" in out
    assert run(["show", "MNOSUCH", "--url", served.url, "--token", OPERATOR_TOKEN]) == 1


def test_progress_bar_draws_on_a_terminal_only():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    s = Tty()
    p = cli_ops.Progress(2, "submit", s)
    p.step("accepted")
    p.step("rejected")
    p.close()
    assert "[" + "#" * 30 + "] 2/2" in s.getvalue() and "accepted 1  rejected 1" in s.getvalue()
    q = io.StringIO()
    p = cli_ops.Progress(2, "submit", q)
    p.step("accepted")
    p.close()
    assert q.getvalue() == ""


def test_journey_durations():
    hist = [{"at": "2026-01-01T00:00:00.000Z", "delivery": None, "from": None, "to": "received", "detail": ""},
            {"at": "2026-01-01T00:00:00.250Z", "delivery": None, "from": "received", "to": "queued", "detail": ""},
            {"at": "2026-01-01T00:00:03.250Z", "delivery": None, "from": "queued", "to": "delivered", "detail": ""}]
    import datetime as dt
    rows = cli_ops.journey(hist, dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.timezone.utc))
    assert [r[3] for r in rows] == ["250 ms", "3.0 s", ""]
