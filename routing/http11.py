"""A small keep-alive HTTP/1.1 client for the delivery worker's plain http:// endpoints.

Why: every delivery is one POST to a national endpoint, and on this path httpx/httpcore cost about 1.5 ms of
CPU per request in the hub's event loop (its pool re-checks every pooled connection, with a poll() each, on
every request, plus anyio and h11 layers). This client does the one thing the worker needs: POST bytes, read
the answer (C parser: httptools, already a dependency of the server), reuse the connection.

    pool = Http11Pool()
    status, headers, body = await pool.post(url, body, headers, timeout=10, max_bytes=MAX_RESPONSE_BYTES)
    await pool.aclose()

Errors are raised as the httpx exception types (ConnectError, ConnectTimeout, ReadTimeout, RemoteProtocolError,
ReadError), so routing.endpoints classifies them exactly as it does for httpx. https:// URLs are not handled
here; routing.endpoints sends them with the pool's httpx client (`pool.fallback()`), which verifies TLS.

A request that was written on a *reused* idle connection which the server had already closed (keep-alive
timeout) gets no answer at all; it is sent again once on a fresh connection. That is the only retry, and it is
safe: the server never read the first copy (and every delivery carries its Idempotency-Key anyway).
"""
from __future__ import annotations

import asyncio
import os
import zlib
from urllib.parse import urlsplit

import httpx
import httptools


class ResponseTooLarge(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class _Connection(asyncio.Protocol):
    __slots__ = ("transport", "parser", "fut", "headers", "chunks", "size", "max_bytes", "closed", "got_bytes",
                 "keep_alive", "headers_done")

    def __init__(self):
        self.transport = self.parser = self.fut = None
        self.closed = self.headers_done = False

    # -- asyncio.Protocol ----------------------------------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.parser is None:           # bytes nobody asked for: the connection is not reusable
            self.closed = True
            self.transport.close()
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("unexpected protocol upgrade"))
        except httptools.HttpParserError as e:
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP answer: {e}"))

    def eof_received(self):
        return False                      # close our side too

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.fut is not None and not self.fut.done():
            if self.headers_done and not any(k.lower() in (b"content-length", b"transfer-encoding")
                                             for k, _ in self.headers):
                # an answer without length or chunking is delimited by the end of the connection
                self.keep_alive = False
                self.fut.set_result(None)
                return
            if not self.fut.done():
                self.fut.set_exception(_Lost(self.got_bytes, exc))

    # -- httptools callbacks ---------------------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.max_bytes:
            self._fail(ResponseTooLarge(self.parser.get_status_code()))
            return
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.parser.get_status_code() < 200:     # an interim answer (100 Continue, 103): the real one follows
            self.headers, self.chunks, self.size, self.headers_done = [], [], 0, False
            return
        self.keep_alive = self.parser.should_keep_alive()
        if self.fut is not None and not self.fut.done():
            self.fut.set_result(None)

    # -- use ---------------------------------------------------------------------------------------------------
    def _fail(self, exc: BaseException) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        if self.fut is not None and not self.fut.done():
            self.fut.set_exception(exc)

    def _timeout(self) -> None:
        self._fail(httpx.ReadTimeout("timed out waiting for the answer"))

    async def request(self, data: bytes, timeout: float, max_bytes: int):
        loop = asyncio.get_running_loop()
        self.parser = httptools.HttpResponseParser(self)
        self.fut = loop.create_future()
        self.headers, self.chunks, self.size, self.max_bytes = [], [], 0, max_bytes
        self.got_bytes = self.keep_alive = self.headers_done = False
        timer = loop.call_later(timeout, self._timeout)
        try:
            self.transport.write(data)
            await self.fut
        finally:
            timer.cancel()
            self.fut = None
        status = self.parser.get_status_code()
        self.parser = None
        if not self.keep_alive:
            self.closed = True
            self.transport.close()
        return status, self.headers, b"".join(self.chunks)


class _Lost(Exception):
    """The connection ended before a complete answer; got_bytes: whether any answer byte had arrived."""

    def __init__(self, got_bytes: bool, exc):
        super().__init__(str(exc) if exc else "connection closed by the server")
        self.got_bytes = got_bytes


class Http11Pool:
    """Keep-alive connections per (host, port); at most `max_idle` idle ones kept per host."""

    def __init__(self, max_idle: int = 32):
        self.max_idle = max_idle
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._targets: dict[str, tuple[tuple[str, int], bytes]] = {}
        self._httpx: httpx.AsyncClient | None = None
        self._limits = httpx.Limits(max_connections=max_idle, max_keepalive_connections=max_idle)

    def handles(self, url: str) -> bool:
        return url.startswith("http://")

    def fallback(self) -> httpx.AsyncClient:
        """The httpx client for what this pool does not handle (https://)."""
        if self._httpx is None:
            self._httpx = httpx.AsyncClient(limits=self._limits)
        return self._httpx

    def _target(self, url: str):
        t = self._targets.get(url)
        if t is None:
            u = urlsplit(url)
            if u.scheme != "http" or not u.hostname:
                raise httpx.UnsupportedProtocol(f"Http11Pool handles http:// URLs only, not {url!r}")
            port = u.port or 80
            host_header = u.hostname if port == 80 else f"{u.hostname}:{port}"
            if ":" in u.hostname:
                host_header = f"[{u.hostname}]" + ("" if port == 80 else f":{port}")
            path = (u.path or "/") + (f"?{u.query}" if u.query else "")
            t = ((u.hostname, port), f" {path} HTTP/1.1\r\nHost: {host_header}\r\n".encode("latin-1"))
            if len(self._targets) < 1024:
                self._targets[url] = t
        return t

    async def _connect(self, addr, timeout: float) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(_Connection, addr[0], addr[1]), timeout)
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {addr[0]}:{addr[1]} within {timeout:g}s") from None
        except OSError as e:
            why = os.strerror(e.errno) if e.errno else (e.strerror or str(e) or type(e).__name__)
            raise httpx.ConnectError(f"{why} ({addr[0]}:{addr[1]})") from None
        return conn

    async def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout: float,
                   max_bytes: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """POST and read the whole answer. Raises httpx exceptions for transport problems and ResponseTooLarge
        when the answer passes max_bytes (the connection is dropped, nothing more is read)."""
        return await self.request("POST", url, body, headers, timeout=timeout, max_bytes=max_bytes)

    async def request(self, method: str, url: str, body: bytes, headers: dict[str, str], *, timeout: float,
                      max_bytes: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        addr, start = self._target(url)
        head = [method.encode("ascii"), start]
        for k, v in headers.items():
            line = f"{k}: {v}\r\n"
            if "\r" in line[:-2] or "\n" in line[:-2]:    # header injection; httpx refuses these too
                raise httpx.LocalProtocolError(f"header {k!r}: CR or LF in a header name or value")
            head.append(line.encode("latin-1"))
        head.append(b"Content-Length: %d\r\n\r\n" % len(body))
        data = b"".join(head) + body
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        idle = self._idle.get(addr)
        while idle:
            conn = idle.pop()
            if not conn.closed and not conn.transport.is_closing():
                try:
                    return await self._finish(addr, conn, data, timeout, max_bytes)
                except _Lost as e:
                    if e.got_bytes:
                        raise httpx.RemoteProtocolError(f"server closed the connection mid-answer: {e}") from None
                    # the server had closed this idle connection: send again on a fresh one (see module doc)
                    break
        remaining = max(0.001, deadline - loop.time())
        conn = await self._connect(addr, remaining)
        try:
            return await self._finish(addr, conn, data, max(0.001, deadline - loop.time()), max_bytes)
        except _Lost as e:
            raise (httpx.RemoteProtocolError if e.got_bytes else httpx.ReadError)(
                f"server closed the connection without a complete answer: {e}") from None

    async def _finish(self, addr, conn: _Connection, data, timeout, max_bytes):
        try:
            status, headers, body = await conn.request(data, timeout, max_bytes)
        except BaseException:
            conn.closed = True
            conn.transport.close()
            raise
        for k, v in headers:
            if k.lower() == b"content-encoding" and v.strip().lower() in (b"gzip", b"deflate", b"x-gzip"):
                body = _decompress(body, v.strip().lower(), max_bytes, status)
        if not conn.closed:
            idle = self._idle.setdefault(addr, [])
            if len(idle) < self.max_idle:
                idle.append(conn)
            else:
                conn.closed = True
                conn.transport.close()
        return status, headers, body

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for c in conns:
                c.closed = True
                if c.transport is not None:
                    c.transport.close()
        self._idle.clear()
        if self._httpx is not None:
            await self._httpx.aclose()
            self._httpx = None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()


def _decompress(body: bytes, how: bytes, max_bytes: int, status: int) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS if how in (b"gzip", b"x-gzip") else zlib.MAX_WBITS)
    try:
        out = d.decompress(body, max_bytes + 1)
    except zlib.error as e:
        raise httpx.DecodingError(f"answer is not valid {how.decode()}: {e}") from None
    if len(out) > max_bytes:
        raise ResponseTooLarge(status)
    return out
