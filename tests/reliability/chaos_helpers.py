"""Shared pieces of the chaos, bad-input and fuzz tests.

- :class:`RawHTTPServer`: a loopback TCP server that answers every HTTP
  request with scripted raw bytes (or never answers): HTML error pages,
  truncated bodies, garbage status lines, whatever no real AppSync sends;
- :class:`FakeRealtime`: a loopback aiohttp WebSocket endpoint driven by a
  per-test handler, for malformed real-time frames;
- :func:`assert_clean_error`: the error is one of ours, says something, and
  carries no secret.

The client under test only ever sees these through its URL (a public seam).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import WSMsgType, web

from appsync_iam import (
    AppSyncError,
    ConnectionEvent,
    ConnectionState,
    FrozenCredentials,
)

#: Credentials whose every part is recognisable, so a leak is easy to spot.
SECRET_KEY = "SECRETbadInputKEYdoNotLeak/0123456789abcdef"
SESSION_TOKEN = "SESSIONtokenDoNotLeak+/=0123456789ABCDEFGHIJ"
ACCESS_KEY = "AKIDBADINPUTEXAMPLE"
CREDENTIALS = FrozenCredentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)

_SIGNATURE = re.compile(r"Signature=([0-9a-f]{64})")

Reply = bytes | Callable[[bytes], bytes]


def http_reply(
    status: int,
    body: bytes = b"",
    *,
    reason: str = "Whatever",
    headers: Iterable[tuple[str, str]] = (),
    content_length: int | None = None,
) -> bytes:
    """The raw bytes of one HTTP/1.1 answer (``Connection: close``)."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    length = len(body) if content_length is None else content_length
    lines += [f"Content-Length: {length}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RawHTTPServer:
    """Answers each request on 127.0.0.1 with ``reply`` (or nothing, if ``hang``).

    ``reply`` is bytes, or a function of the raw request (headers and body)
    returning bytes. ``requests`` keeps every raw request received, so a test
    can look for the signatures the client sent.
    """

    def __init__(self, reply: Reply = b"", *, hang: bool = False) -> None:
        self.reply = reply
        self.hang = hang
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/graphql"

    def signatures(self) -> set[str]:
        """Every SigV4 signature the client sent."""
        found: set[str] = set()
        for raw in self.requests:
            found.update(_SIGNATURE.findall(raw.decode("latin-1")))
        return found

    async def __aenter__(self) -> RawHTTPServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(match[1])) if match else b""
            raw = head + body
            self.requests.append(raw)
            if self.hang:
                await reader.read()  # until the client gives up
                return
            reply = self.reply(raw) if callable(self.reply) else self.reply
            writer.write(reply)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


WSHandler = Callable[[web.WebSocketResponse, web.Request], Awaitable[None]]


class FakeRealtime:
    """A WebSocket endpoint on 127.0.0.1 at ``/graphql/realtime``.

    ``handler(ws, request)`` runs on every connection after the upgrade
    (``graphql-ws`` is accepted). With ``refuse`` set to an HTTP answer
    ``(status, content_type, body)`` the upgrade itself is refused.
    ``connections`` counts upgrades.
    """

    def __init__(
        self,
        handler: WSHandler | None = None,
        *,
        refuse: tuple[int, str, bytes] | None = None,
    ) -> None:
        self.handler = handler
        self.refuse = refuse
        self.connections = 0
        self.protocols: list[str] = []
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def url(self) -> str:
        """The GraphQL URL the transport is built with (never posted to here)."""
        return f"http://127.0.0.1:{self._port}/graphql"

    @property
    def realtime_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/graphql/realtime"

    async def __aenter__(self) -> FakeRealtime:
        app = web.Application()
        app.router.add_get("/graphql/realtime", self._upgrade)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self._port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def signatures(self) -> set[str]:
        """Every handshake signature the client sent (in its header object)."""
        found: set[str] = set()
        for value in self.protocols:
            for part in value.split(","):
                part = part.strip()
                if part.startswith("header-"):
                    text = part[len("header-") :]
                    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
                    found.update(_SIGNATURE.findall(raw.decode()))
        return found

    async def _upgrade(self, request: web.Request) -> web.StreamResponse:
        self.protocols.append(request.headers.get("Sec-WebSocket-Protocol", ""))
        if self.refuse is not None:
            status, content_type, body = self.refuse
            return web.Response(status=status, body=body, content_type=content_type)
        ws = web.WebSocketResponse(protocols=("graphql-ws",), max_msg_size=0)
        await ws.prepare(request)
        self.connections += 1
        if self.handler is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.handler(ws, request)
        if not ws.closed:
            # Hold the socket until the client leaves (never close it first).
            async for _ in ws:
                pass
        return ws


async def next_json(ws: web.WebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    """The client's next text frame, as JSON."""
    message = await ws.receive(timeout=timeout)
    assert message.type == WSMsgType.TEXT, message
    frame: dict[str, Any] = json.loads(message.data)
    return frame


async def accept(ws: web.WebSocketResponse, ack: str | None = None) -> None:
    """Read ``connection_init`` and answer ``ack`` (a proper ack by default)."""
    frame = await next_json(ws)
    assert frame["type"] == "connection_init", frame
    await ws.send_str(
        ack or '{"type":"connection_ack","payload":{"connectionTimeoutMs":300000}}'
    )


async def started(ws: web.WebSocketResponse, *, ack: bool = True) -> str:
    """Read the next ``start``; answer ``start_ack`` unless told not to; its id."""
    while True:
        frame = await next_json(ws)
        if frame["type"] == "start":
            break
    ident = str(frame["id"])
    if ack:
        await ws.send_str(json.dumps({"type": "start_ack", "id": ident}))
    return ident


def data_frame(ident: str, data: Any) -> str:
    return json.dumps({"type": "data", "id": ident, "payload": {"data": data}})


def assert_clean_error(
    error: BaseException, *, secrets: Iterable[str] = (), config: bool = False
) -> None:
    """One of our documented errors, with a message, and no secret anywhere in it.

    ``config`` also admits ``ValueError`` from a public constructor of ours.
    """
    if config:
        assert isinstance(error, (AppSyncError, ValueError)), repr(error)
    else:
        assert isinstance(error, AppSyncError), repr(error)
    assert error.__class__.__module__ == "appsync_iam", repr(error)
    text = f"{error}\n{error!r}\n{error.args!r}"
    assert str(error).strip(), f"empty message: {error!r}"
    for secret in (SECRET_KEY, SESSION_TOKEN, *secrets):
        assert secret not in text, f"secret leaked into {type(error).__name__}"
    assert "Traceback" not in text


class StateLog:
    """An ``on_state`` callback that keeps ``(loop time, event)`` pairs."""

    def __init__(self) -> None:
        self.events: list[tuple[float, ConnectionEvent]] = []

    def __call__(self, event: ConnectionEvent) -> None:
        self.events.append((asyncio.get_running_loop().time(), event))

    @property
    def states(self) -> list[ConnectionState]:
        return [event.state for _, event in self.events]

    def count(self, state: ConnectionState) -> int:
        return self.states.count(state)

    @property
    def last(self) -> ConnectionState | None:
        return self.events[-1][1].state if self.events else None

    def times(self, state: ConnectionState) -> list[float]:
        return [at for at, event in self.events if event.state is state]
