"""A lean HTTP/1.1 keep-alive client for the signed POSTs of :class:`SignedHTTP`.

Why not ``aiohttp.ClientSession.post`` for these: measured in
``benchmarks/e2e.py`` on this project's 2-core machine, one ``post`` + ``read``
through a ClientSession costs ~100 µs of CPU (request and response objects,
header multidicts, timers, payload registry, cookie and redirect handling,
several task wake-ups), four to five times what the SigV4 signature costs. An
AppSync POST needs none of that: one request line, the signed headers, a body
of known length, and an answer with ``Content-Length`` (or chunked). This pool
does exactly that over ``asyncio`` protocols, ~30 µs a request.

aiohttp stays for everything else: the real-time WebSockets, and every
request when the caller asks for aiohttp features (``client_session_args``:
proxies, trace configs, custom connectors or SSL; per-request aiohttp
arguments from gql's ``extra_args``), which then go through a ClientSession
as before.

What it implements, and what it does not:

- HTTP/1.1 (and 1.0 answers), keep-alive with an idle timeout (15 s, as
  aiohttp), at most ``limit`` requests in flight (callers wait their turn;
  the wait counts towards the timeout), TLS with the system's trust store
  (``ssl.create_default_context()``, as aiohttp), ``Content-Length``,
  ``Transfer-Encoding: chunked`` and read-until-close bodies, 1xx interim
  answers skipped, ``Content-Encoding: gzip``/``deflate`` decoded (none is
  asked for: no ``Accept-Encoding`` is sent).
- No proxies, no redirects (the signed path never follows one), no
  pipelining (one request per connection at a time), no HTTP/2.
- Failures are this library's errors, with ``sent`` telling whether the
  request may have reached the server (the retry policy's input): a
  connect error or a timeout before anything was written is ``sent=False``;
  anything after the first byte was written is ``sent=True``.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections import deque
from collections.abc import Mapping
from typing import Final, NamedTuple

import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from ._errors import (
    ConfigurationError,
    RequestTimeout,
    TransportError,
    excerpt,
    redact,
)

__all__ = ["H1Pool", "H1Response"]

_KEEPALIVE: Final = 15.0  # seconds an idle connection is kept (aiohttp's default)
_MAX_HEAD: Final = 64 * 1024  # bytes of status line + headers we accept
_SMALL: Final = 64 * 1024  # bodies up to this are sent in one write with the head
_SKIPPED: Final = frozenset({"content-length", "transfer-encoding", "connection"})


class H1Response(NamedTuple):
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class _Broken(Exception):
    """The answer cannot be parsed (the connection is not reused)."""


def _parse_head(head: bytes) -> tuple[int, bool, list[tuple[str, str]]]:
    """(status, HTTP/1.1?, headers) of a status line and header block."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    version = parts[0]
    if len(parts) < 2 or not version.startswith(b"HTTP/1.") or len(parts[1]) != 3:
        raise _Broken(f"bad status line {_shown(lines[0])}")
    try:
        status = int(parts[1])
    except ValueError:
        raise _Broken(f"bad status line {_shown(lines[0])}") from None
    fields: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise _Broken(f"bad header line {_shown(line)}")
        fields.append((name.decode("latin-1"), value.strip().decode("latin-1")))
    return status, version == b"HTTP/1.1", fields


def _shown(raw: bytes) -> str:
    """Bytes of a bad answer for an error message: short and redacted."""
    return repr(excerpt(raw.decode("latin-1"), 60))


def _decode(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if not encoding or encoding == "identity":
        return body
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:  # raw deflate, as some servers send it
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise _Broken(f"cannot decode a {encoding} body: {exc}") from None
    raise _Broken(f"unsupported Content-Encoding {encoding!r}")


class _Connection(asyncio.Protocol):
    """One keep-alive connection: parses one answer at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._buf = bytearray()
        self._waiter: asyncio.Future[H1Response] | None = None
        self._head: tuple[int, bool, list[tuple[str, str]]] | None = None
        self._length = -1  # body bytes expected; -1: until close
        self._chunked = False
        self._chunks: list[bytes] = []

    # --- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nothing asked: a broken server
            self.close()
            return
        self._buf += data
        try:
            self._advance()
        except _Broken as exc:
            self._fail(TransportError(f"bad HTTP answer: {exc}", sent=True))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._head is not None and self._length < 0 and not self._chunked:
            self._complete(bytes(self._buf), keep=False)  # read until close
            return
        detail = redact(str(exc)) if exc is not None else ""
        self._fail(
            TransportError(
                f"ServerDisconnected: connection closed before a complete answer"
                f"{': ' + detail if detail else ''}",
                sent=True,
            )
        )

    # --- requests -----------------------------------------------------------------

    def start(
        self, waiter: asyncio.Future[H1Response], data: bytes, body: bytes
    ) -> None:
        assert self.transport is not None
        self._waiter = waiter
        self._head = None
        self._buf.clear()
        if body:
            self.transport.write(data)
            self.transport.write(body)
        else:
            self.transport.write(data)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, error: BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _complete(self, body: bytes, *, keep: bool) -> None:
        assert self._head is not None
        status, _, fields = self._head
        headers = CIMultiDict(fields)
        encoding = headers.get("Content-Encoding")
        if encoding:
            body = _decode(body, encoding)
        waiter, self._waiter = self._waiter, None
        if not keep:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(H1Response(status, CIMultiDictProxy(headers), body))

    def _advance(self) -> None:
        buf = self._buf
        while self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end > _MAX_HEAD or (end < 0 and len(buf) > _MAX_HEAD):
                raise _Broken(f"header block over {_MAX_HEAD} bytes")
            if end < 0:
                return
            head = _parse_head(bytes(buf[:end]))
            del buf[: end + 4]
            status = head[0]
            if 100 <= status < 200:  # interim answer (100 Continue, 103...)
                continue
            self._head = head
            self._chunks = []
            self._setup_body(head)
        if self._chunked:
            self._advance_chunked()
        elif self._length >= 0 and len(buf) >= self._length:
            keep = self._keep_alive() and len(buf) == self._length
            body = bytes(buf[: self._length])
            del buf[: self._length]
            self._complete(body, keep=keep)

    def _setup_body(self, head: tuple[int, bool, list[tuple[str, str]]]) -> None:
        status, _, fields = head
        self._chunked, self._length = False, -1
        length: str | None = None
        for name, value in fields:
            lower = name.lower()
            if lower == "transfer-encoding":
                if value.lower().rsplit(",", 1)[-1].strip() == "chunked":
                    self._chunked = True
            elif lower == "content-length":
                if length is not None and value != length:
                    raise _Broken("conflicting Content-Length headers")
                length = value
        if self._chunked:
            return
        if length is not None:
            if not length.isdigit():
                raise _Broken(f"bad Content-Length {length!r}")
            self._length = int(length)
        elif status in (204, 304):
            self._length = 0

    def _advance_chunked(self) -> None:
        buf = self._buf
        while True:
            if self._length < 0:  # at a chunk-size line
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > 1024:
                        raise _Broken("chunk size line too long")
                    return
                size_text = bytes(buf[:end]).split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise _Broken(f"bad chunk size {_shown(size_text)}") from None
                if size == 0:  # last chunk: trailers end with an empty line
                    trailer_end = buf.find(b"\r\n\r\n", end)
                    if buf[end : end + 4] == b"\r\n\r\n":
                        trailer_end = end
                    if trailer_end < 0:
                        return
                    del buf[: trailer_end + 4]
                    keep = self._keep_alive() and not buf
                    self._length = -1
                    self._chunked = False
                    self._complete(b"".join(self._chunks), keep=keep)
                    return
                del buf[: end + 2]
                self._length = size
            if len(buf) < self._length + 2:
                return
            if buf[self._length : self._length + 2] != b"\r\n":
                raise _Broken("chunk not followed by CRLF")
            self._chunks.append(bytes(buf[: self._length]))
            del buf[: self._length + 2]
            self._length = -1

    def _keep_alive(self) -> bool:
        assert self._head is not None
        _, http11, fields = self._head
        connection = ""
        for name, value in fields:
            if name.lower() == "connection":
                connection = value.lower()
        if "close" in connection:
            return False
        return http11 or "keep-alive" in connection


class H1Pool:
    """Keep-alive connections to one origin, for POSTs to one target path."""

    def __init__(self, url: yarl.URL, *, limit: int = 100) -> None:
        if url.scheme not in ("http", "https") or not url.raw_host:
            raise ConfigurationError(f"cannot send HTTP to {url.scheme}://")
        self._host = url.raw_host
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._tls = url.scheme == "https"
        self._ssl: ssl.SSLContext | None = None
        target = url.raw_path_qs or "/"
        self._request_line = f"POST {target} HTTP/1.1\r\n"
        host = url.raw_host if ":" not in url.raw_host else f"[{url.raw_host}]"
        default = url.port is None or url.is_default_port()
        self._host_header = host if default else f"{host}:{url.port}"
        self._limit = limit
        self._idle: list[_Connection] = []
        self._in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    def __repr__(self) -> str:
        scheme = "https" if self._tls else "http"
        return (
            f"H1Pool({scheme}://{self._host_header}, idle={len(self._idle)}, "
            f"in_use={self._in_use})"
        )

    def _encode_head(self, headers: Mapping[str, str], length: int) -> bytes:
        parts = [self._request_line]
        lines = 3  # request line, content-length, the blank line
        if "host" not in headers:
            parts.append(f"host: {self._host_header}\r\n")
            lines += 1
        for name, value in headers.items():
            if name in _SKIPPED:
                continue
            parts.append(f"{name}: {value}\r\n")
            lines += 1
        parts.append(f"content-length: {length}\r\n\r\n")
        head = "".join(parts)
        if head.count("\n") != lines or head.count("\r") != lines:
            raise ConfigurationError(
                "a header name or value contains a line break (CR or LF)"
            )
        return head.encode("utf-8")

    async def post(
        self, headers: Mapping[str, str], body: bytes, timeout: float
    ) -> H1Response:
        """POST ``body`` with ``headers``; the answer. Raises TransportError."""
        data = self._encode_head(headers, len(body))
        if len(body) <= _SMALL:
            data, body = data + body, b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        conn = await self._acquire(loop, deadline, timeout)
        waiter: asyncio.Future[H1Response] = loop.create_future()
        timer = loop.call_at(deadline, _expire, waiter, timeout)
        try:
            conn.start(waiter, data, body)
            response = await waiter
        except BaseException:
            conn.close()
            self._release(conn, reuse=False)
            raise
        finally:
            timer.cancel()
        self._release(conn, reuse=not conn.closed)
        return response

    async def _acquire(
        self, loop: asyncio.AbstractEventLoop, deadline: float, timeout: float
    ) -> _Connection:
        if self._closed:
            raise TransportError("the HTTP connection pool is closed", sent=False)
        while self._in_use >= self._limit:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            timer = loop.call_at(deadline, _expire_wait, waiter, timeout)
            try:
                await waiter
            finally:
                timer.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self._in_use += 1
        now = loop.time()
        idle = self._idle
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < _KEEPALIVE:
                return conn
            conn.close()
        try:
            return await asyncio.wait_for(self._connect(loop), deadline - now)
        except BaseException as exc:
            self._release(None, reuse=False)
            if isinstance(exc, asyncio.TimeoutError):
                raise RequestTimeout(
                    f"connect timed out (no connection within {timeout} s)",
                    sent=False,
                ) from None
            if isinstance(exc, (OSError, ssl.SSLError)):
                raise TransportError(
                    f"cannot connect to {self._host_header}: {redact(str(exc))}",
                    sent=False,
                ) from exc
            raise

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        if self._tls:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            _, conn = await loop.create_connection(
                _Connection, self._host, self._port, ssl=self._ssl
            )
        else:
            _, conn = await loop.create_connection(_Connection, self._host, self._port)
        return conn

    def _release(self, conn: _Connection | None, *, reuse: bool) -> None:
        self._in_use -= 1
        if conn is not None:
            if reuse and not self._closed:
                now = asyncio.get_running_loop().time()
                conn.idle_since = now
                idle = self._idle
                idle.append(conn)
                # The oldest idle connection first: closed by the server, or
                # idle too long since the load dropped (LIFO reuse never
                # reaches it).
                while idle[0].closed or now - idle[0].idle_since >= _KEEPALIVE:
                    idle.pop(0).close()
            else:
                conn.close()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    async def close(self) -> None:
        """Close every idle connection; the ones in use close when released."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        await asyncio.sleep(0)  # let the transports' connection_lost run


def _expire(waiter: asyncio.Future[H1Response], timeout: float) -> None:
    if not waiter.done():
        waiter.set_exception(RequestTimeout(f"no answer within {timeout} s", sent=True))


def _expire_wait(waiter: asyncio.Future[None], timeout: float) -> None:
    if not waiter.done():
        waiter.set_exception(
            RequestTimeout(
                f"no free connection within {timeout} s (all in use)", sent=False
            )
        )
