"""The client commands against a served hub, routing hints, and the one-delivery-worker-per-store lock."""
from __future__ import annotations

import asyncio
import json

import pytest

from cli.main import main
from hubkit import OPERATOR, TOKEN, sample, SAMPLES


def test_submit_wait_status_messages_resend(hub, sim, capsys):
    f = str(SAMPLES / "vnaccs/ida_haiphong_valves_1line.xml")
    assert main(["submit", f, "--url", hub.url, "--token", TOKEN, "--wait", "--timeout", "15"]) == 0
    out = capsys.readouterr().out
    mid = out.split()[0]
    assert "acknowledged" in out and "vnaccs-pass" in out
    assert main(["submit", f, "--url", hub.url, "--token", TOKEN, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["duplicate"] is True and again["message_id"] == mid
    assert main(["status", mid, "--url", hub.url, "--token", TOKEN]) == 0
    assert "acknowledged" in capsys.readouterr().out
    assert main(["messages", "--url", hub.url, "--token", OPERATOR, "--json"]) == 0
    assert [m["id"] for m in json.loads(capsys.readouterr().out)["messages"]] == [mid]
    assert main(["resend", mid, "--url", hub.url, "--token", OPERATOR]) == 0
    assert "0 delivery(ies) requeued" in capsys.readouterr().out


def test_submit_invalid_exit_1_unreachable_exit_2(hub, capsys, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(sample("vnaccs/ida_haiphong_valves_1line.xml").replace(b"<CH>03CC</CH>", b"<CH>?</CH>"))
    assert main(["submit", str(bad), "--url", hub.url, "--token", TOKEN]) == 1
    assert "/IDA/CH" in capsys.readouterr().out
    assert main(["submit", str(bad), "--url", "http://127.0.0.1:9", "--token", TOKEN]) == 2
    assert main(["submit", str(tmp_path / "missing.xml"), "--url", hub.url, "--token", TOKEN]) == 2


def test_route_hint_narrows_fan_out(hub_factory, sim, tmp_path):
    routes = """
[routes.a]
match = { format = "vnaccs:IDA" }
target = "vnaccs:IDA"
endpoint = "archive"
[routes.b]
match = { format = "vnaccs:IDA" }
target = "vnaccs:IDA"
endpoint = "vnaccs"
"""
    hub = hub_factory(routes=routes, extra=f'[endpoints.archive]\nkind = "directory"\npath = "{tmp_path / "a"}"\n')
    both = hub.submit(sample("vnaccs/ida_haiphong_valves_1line.xml")).json()
    assert sorted(d["route"] for d in both["deliveries"]) == ["a", "b"]
    one = hub.submit(sample("vnaccs/ida_catlai_electronics_22lines.xml"), route="a").json()
    assert [d["route"] for d in one["deliveries"]] == ["a"]
    from translator.rules.vnaccs import make_declaration_number
    other = make_declaration_number(10, 12_345_678).encode()
    none = hub.submit(sample("vnaccs/ida_catlai_electronics_22lines.xml").replace(b"100574331800", other),
                      route="zz")
    assert none.status_code == 422 and none.json()["error"]["issues"][0]["code"] == "route-none"


def test_only_one_delivery_worker_per_store(tmp_path, pki, endpoints, sim):
    from hubkit import make_runtime
    a = make_runtime(tmp_path, pki, endpoints)
    b = make_runtime(tmp_path, pki, endpoints)           # a second process on the same store
    assert a.delivery_lock == b.delivery_lock

    async def scenario():
        ta = asyncio.create_task(a.worker.run_when_leader(a.delivery_lock))
        await asyncio.sleep(0.3)
        tb = asyncio.create_task(b.worker.run_when_leader(b.delivery_lock))
        await asyncio.sleep(0.5)
        first = (a.worker.leader, b.worker.leader)
        await a.worker.stop()
        await asyncio.wait_for(ta, 10)
        await asyncio.sleep(1.5)                          # b retries every second and takes over
        second = b.worker.leader
        await b.worker.stop()
        await asyncio.wait_for(tb, 10)
        return first, second
    first, second = asyncio.run(scenario())
    assert first == (True, False) and second is True
    a.store.close()
    b.store.close()
