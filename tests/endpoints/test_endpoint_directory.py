"""Directory kind: atomic write, a file name derived from the message id that can never leave the folder."""
import asyncio
import os

import pytest

from routing.endpoints import EndpointConfig, deliver, deliver_sync, safe_file_name, write_atomically

DOC = '<?xml version="1.0" encoding="UTF-8"?>\n<A xmlns="urn:t">Tờ khai 报关单</A>\n'.encode()


@pytest.mark.parametrize("message_id, expected", [
    ("3f2a-77", "3f2a-77.xml"),
    ("../../etc/passwd", "_.._etc_passwd.xml"),
    ("..", "message.xml"),
    ("/abs/path", "_abs_path.xml"),
    ("a\\b\x00c", "a_b_c.xml"),
    ("", "message.xml"),
    ("报关单", "message____.xml"),
    (".hidden", "hidden.xml"),
])
def test_safe_file_name(message_id, expected):
    name = safe_file_name(message_id)
    assert name == expected
    assert "/" not in name and "\\" not in name and not name.startswith(".")


def test_long_ids_are_cut():
    assert len(safe_file_name("x" * 1000)) == 124


@pytest.mark.parametrize("message_id", ["../../escape", "/tmp/abs", "..", "sub/dir/../x", "ok-id"])
def test_deliver_writes_only_inside_the_folder(tmp_path, message_id):
    out = tmp_path / "outbox"
    cfg = EndpointConfig.from_dict("dir", {"kind": "directory", "path": str(out)})
    r = deliver_sync(cfg, DOC, message_id=message_id)
    assert r.ok and r.status is None and not r.retryable, r.error
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [out / safe_file_name(message_id)]
    assert written[0].read_bytes() == DOC             # byte for byte: a signature stays valid
    assert r.location == str(out / safe_file_name(message_id))


def test_async_deliver_and_overwrite_leaves_no_temporary_files(tmp_path):
    cfg = EndpointConfig.from_dict("dir", {"kind": "directory", "path": str(tmp_path)})
    r1 = asyncio.run(deliver(cfg, DOC, message_id="m1"))
    r2 = asyncio.run(deliver(cfg, DOC.replace(b"khai", b"KHAI"), message_id="m1"))
    assert r1.ok and r2.ok
    assert sorted(os.listdir(tmp_path)) == ["m1.xml"]
    assert b"KHAI" in (tmp_path / "m1.xml").read_bytes()


def test_write_atomically_refuses_a_name_that_leaves(tmp_path):
    with pytest.raises(ValueError):
        write_atomically(tmp_path, "../x.xml", b"<a/>")
    assert not (tmp_path.parent / "x.xml").exists()


def test_unwritable_folder_is_a_retryable_failure(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cfg = EndpointConfig.from_dict("dir", {"kind": "directory", "path": str(blocker / "out")})
    r = deliver_sync(cfg, DOC, message_id="m1")
    assert not r.ok and r.retryable
    assert "cannot write into" in r.error


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_message_id_gives_a_safe_name(message_id):
    import re
    from pathlib import PurePosixPath
    name = safe_file_name(message_id)
    assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,123}\.xml", name)
    assert PurePosixPath(name).name == name and name not in (".xml", "..xml")
