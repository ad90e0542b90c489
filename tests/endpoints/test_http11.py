"""routing.http11: the delivery worker's keep-alive HTTP/1.1 client, against small raw asyncio servers that answer
the way real servers may (keep-alive, chunked, close-delimited, closing idle connections, too large, silent)."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from routing.endpoints import EndpointConfig, deliver
from routing.http11 import Http11Pool, ResponseTooLarge


async def _serve(answers):
    """A server that reads one request per answer and writes `answers[i]` (bytes, or None to stay silent, or
    "close" to close the connection without answering). Returns (url, server, seen requests)."""
    seen = []
    it = iter(answers)

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                             if line.lower().startswith(b"content-length")))
                seen.append(head + await reader.readexactly(n))
                a = next(it)
                if a is None:
                    await asyncio.sleep(5)
                    return
                if a == "close":
                    writer.close()
                    return
                writer.write(a)
                await writer.drain()
                if b"Connection: close" in a:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError, StopIteration):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}/in?x=1", server, seen


def ok(body=b"<ok/>", extra=b""):
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def run(coro):
    return asyncio.run(coro)


def test_keep_alive_reuses_one_connection_and_sends_the_headers():
    async def go():
        url, server, seen = await _serve([ok(b"<a/>"), ok(b"<b/>")])
        async with Http11Pool() as pool:
            r1 = await pool.post(url, b"<x/>", {"Idempotency-Key": "k1"}, timeout=5, max_bytes=100)
            r2 = await pool.post(url, b"<y/>", {"Idempotency-Key": "k2"}, timeout=5, max_bytes=100)
        server.close()
        return r1, r2, seen
    r1, r2, seen = run(go())
    assert (r1[0], r1[2], r2[0], r2[2]) == (200, b"<a/>", 200, b"<b/>")
    assert seen[0].startswith(b"POST /in?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Idempotency-Key: k1\r\n" in seen[0] and seen[0].endswith(b"\r\n\r\n<x/>")
    assert seen[1].endswith(b"<y/>")


def test_chunked_interim_and_close_delimited_answers():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n<a>\r\n4\r\n</a>\r\n0\r\n\r\n"
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"<after-100/>")
    close_delimited = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<whole/>"

    async def go():
        url, server, _ = await _serve([chunked, interim, close_delimited, ok(b"<again/>")])
        async with Http11Pool() as pool:
            out = [await pool.post(url, b"<x/>", {}, timeout=5, max_bytes=100) for _ in range(4)]
        server.close()
        return out
    out = run(go())
    assert [(o[0], o[2]) for o in out] == [(200, b"<a></a>"), (200, b"<after-100/>"), (200, b"<whole/>"),
                                           (200, b"<again/>")]


def test_an_idle_connection_the_server_closed_is_replaced_without_an_error():
    async def go():
        url, server, seen = await _serve([ok(b"<1/>"), "close", ok(b"<2/>")])
        async with Http11Pool() as pool:
            first = await pool.post(url, b"<x/>", {}, timeout=5, max_bytes=100)
            second = await pool.post(url, b"<y/>", {}, timeout=5, max_bytes=100)
        server.close()
        return first, second, seen
    first, second, seen = run(go())
    assert first[2] == b"<1/>" and second[2] == b"<2/>"
    assert len(seen) == 3             # the server read the second request once on the old connection, closed it


def test_too_large_timeout_and_refused():
    async def go():
        url, server, _ = await _serve([ok(b"x" * 500), None])
        async with Http11Pool() as pool:
            with pytest.raises(ResponseTooLarge) as big:
                await pool.post(url, b"<x/>", {}, timeout=5, max_bytes=100)
            with pytest.raises(httpx.ReadTimeout):
                await pool.post(url, b"<x/>", {}, timeout=0.2, max_bytes=100)
            server.close()
            await server.wait_closed()
            with pytest.raises(httpx.ConnectError):
                await pool.post(url, b"<x/>", {}, timeout=1, max_bytes=100)
        return big.value.status
    assert run(go()) == 200


def test_deliver_with_the_pool_classifies_like_httpx():
    async def go():
        url, server, _ = await _serve([b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown", None])
        cfg = EndpointConfig.from_dict("x", {"kind": "http", "url": url, "timeout": 0.3})
        async with Http11Pool() as pool:
            down = await deliver(cfg, b"<d/>", message_id="m1", client=pool)
            slow = await deliver(cfg, b"<d/>", message_id="m2", client=pool)
        server.close()
        return down, slow
    down, slow = run(go())
    assert (down.ok, down.retryable, down.status, down.error) == (False, True, 503, "HTTP 503: down")
    assert not slow.ok and slow.retryable and slow.error.startswith("timeout after 0.3s (ReadTimeout)")


def test_crlf_in_a_header_is_refused_before_anything_is_sent():
    async def go():
        url, server, seen = await _serve([ok()])
        async with Http11Pool() as pool:
            with pytest.raises(httpx.LocalProtocolError):
                await pool.post(url, b"<x/>", {"X-A": "v\r\nX-Injected: 1"}, timeout=5, max_bytes=100)
        server.close()
        await server.wait_closed()
        return seen
    assert run(go()) == []
