"""The emulator's real-time endpoint: AppSync's GraphQL-over-WebSocket, IAM-verified.

Served at ``GET <graphql path>/realtime`` (protocol doc §2):

- subprotocol ``graphql-ws`` is echoed; the ``header-…`` subprotocol that
  carries credentials never is;
- the IAM header object comes from a ``header-<base64url>`` subprotocol or
  the ``?header=<base64>&payload=e30=`` query, and its connect signature
  (virtual ``POST <graphql path>/connect``, body ``{}``) is verified with
  botocore through the emulator's verifier; a bad one gets
  ``connection_error`` and the socket is closed;
- ``connection_init`` → ``connection_ack`` with ``connectionTimeoutMs``, then
  ``ka`` every ``emulator.ka_interval`` seconds (unless ``faults.withhold_ka``);
- ``start`` is verified over its exact ``data`` string (``POST <graphql
  path>``), handed to the GraphQL engine, and answered ``start_ack`` or
  ``error`` with the id; ``stop`` → ``complete``; at most
  :attr:`RealtimeServer.max_subscriptions` per connection;
- ``faults.drop_ws_every_s`` aborts each connection's TCP stream after that
  many seconds; :attr:`RealtimeServer.max_connection_age` (off by default)
  closes connections cleanly at an age, like AppSync's 24 hours.

This module never imports the client's code (``appsync_iam._signer``,
``appsync_iam._realtime*``): it decodes and verifies on its own.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import inspect
import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import WSMsgType, web

from ._engine import SubscriptionRejected
from ._principal import Principal
from ._verifier import SignatureRejected

__all__ = ["RealtimeServer"]

log = logging.getLogger("appsync_iam.emulator")

SUBPROTOCOL = "graphql-ws"
#: AppSync's quota: "Max number of 100 subscriptions reached" (protocol doc §1.5).
MAX_SUBSCRIPTIONS = 100
#: How often the per-connection timer wakes to notice fault changes.
_TICK = 0.05
_CONNECT_BODY = b"{}"

# A verifier rejection → what AppSync's real-time endpoint answers instead
# (protocol doc §2.4 and §2.7): signature problems are BadRequestException,
# key and token problems UnauthorizedException.
_SIGNATURE_TYPES = frozenset(
    {
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "XAmzContentSHA256Mismatch",
    }
)


def _error(error_type: str, message: str, code: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"errorType": error_type, "message": message}
    if code is not None:
        error["errorCode"] = code
    return error


def _auth_error(exc: SignatureRejected) -> dict[str, Any]:
    if exc.error_type in _SIGNATURE_TYPES:
        return _error("BadRequestException", exc.message, 400)
    return _error("UnauthorizedException", exc.message, 401)


def _frame(kind: str, ident: str | None = None, payload: Any = None) -> str:
    message: dict[str, Any] = {"type": kind}
    if ident is not None:
        message["id"] = ident
    if payload is not None:
        message["payload"] = payload
    return _dumps(message)


def _dumps(value: Any) -> str:
    """Compact JSON, UTF-8 where it can be sent as UTF-8.

    A lone surrogate (a client may send one escaped, e.g. as an id) cannot be
    encoded: such a frame is sent with ``\\u`` escapes instead.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"))
    return text


def _errors_frame(
    kind: str, errors: list[dict[str, Any]], ident: str | None = None
) -> str:
    return _frame(kind, ident, {"errors": errors})


class _Rejected(Exception):
    """A handshake or ``start`` refused with these AppSync error objects."""

    def __init__(self, *errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = list(errors)


def _b64_json(text: str) -> dict[str, str]:
    """Decode a header object in either alphabet, padded or not."""
    text = text.strip().replace(" ", "+").replace("-", "+").replace("_", "/")
    text = text.rstrip("=")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        value = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise _Rejected(
            _error("BadRequestException", "Unable to decode the header object.", 400)
        ) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _Rejected(
            _error("BadRequestException", "The header object is not valid.", 400)
        )
    return value


class _HideHeaderProtocols(logging.Filter):
    """Redact ``header-…`` subprotocols (signed header objects) from aiohttp's
    "Client protocols … don't overlap" warning, logged when a client offers
    none of the server's subprotocols."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 3 and isinstance(args[1], list):
            offered = [
                "header-<redacted>" if str(p).startswith("header-") else p
                for p in args[1]
            ]
            record.args = (args[0], offered, args[2])
        return True


logging.getLogger("aiohttp.websocket").addFilter(_HideHeaderProtocols())


def _offered_protocols(request: web.Request) -> list[str]:
    values = request.headers.getall("Sec-WebSocket-Protocol", [])
    return [p.strip() for value in values for p in value.split(",") if p.strip()]


def _header_object(request: web.Request, protocols: list[str]) -> dict[str, str]:
    """The auth header object from the ``header-`` subprotocol or the query."""
    for proto in protocols:
        if proto.startswith("header-"):
            return _b64_json(proto[len("header-") :])
    # The raw query: AWS's examples leave +, / and = unescaped, so do not let a
    # form decoder turn + into a space.
    query = request.raw_path.partition("?")[2]
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if unquote(name) == "header" and value:
            return _b64_json(unquote(value))
    raise _Rejected(
        _error("UnauthorizedException", "Valid authorization header not provided.", 401)
    )


@dataclass(eq=False)
class _Subscription:
    ident: str
    handle: Any = None
    acked: bool = False
    pending: list[Any] = field(default_factory=list)


class _Connection:
    """One accepted WebSocket and its subscriptions."""

    def __init__(
        self,
        server: RealtimeServer,
        request: web.Request,
        ws: web.WebSocketResponse,
    ) -> None:
        self.server = server
        self.request = request
        self.ws = ws
        self.opened = time.monotonic()
        self.initialized = False
        self.subscriptions: dict[str, _Subscription] = {}

    @property
    def emulator(self) -> Any:
        return self.server._emulator

    async def send(self, text: str) -> bool:
        if self.ws.closed:
            return False
        try:
            await self.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return False
        return True

    # -- the message loop ---------------------------------------------------

    async def serve(self) -> None:
        timer = asyncio.create_task(self._timer())
        try:
            async for message in self.ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self._on_message(message.data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
            await self._close_subscriptions()

    async def _on_message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except (ValueError, RecursionError):
            message = None
        if not isinstance(message, dict):
            await self.send(
                _errors_frame(
                    "error",
                    [_error("UnsupportedOperation", "Unable to parse the message.")],
                )
            )
            return
        kind = message.get("type")
        if kind == "connection_init":
            await self._on_init()
        elif not self.initialized:
            # Protocol doc §2.4: messages sent before the ack are ignored.
            log.info("Real-time: ignored %.40r before connection_init", kind)
        elif kind == "start":
            await self._on_start(message)
        elif kind == "stop":
            await self._on_stop(message)
        else:
            await self.send(
                _errors_frame(
                    "error",
                    [
                        _error(
                            "UnsupportedOperation",
                            f"Operation {str(kind)[:40]!r} is not supported.",
                        )
                    ],
                )
            )

    async def _on_init(self) -> None:
        first = not self.initialized
        self.initialized = True
        timeout = int(self.emulator.connection_timeout_ms)
        await self.send(
            _frame("connection_ack", None, {"connectionTimeoutMs": timeout})
        )
        if first and not self.emulator.faults.withhold_ka:
            await self.send(_frame("ka"))

    # -- start / stop ---------------------------------------------------------

    async def _on_start(self, message: dict[str, Any]) -> None:
        ident = message.get("id")
        if not isinstance(ident, str) or not ident:
            await self.send(
                _errors_frame(
                    "error", [_error("BadRequestException", "A start needs an id.")]
                )
            )
            return
        self.server.stats["starts"] += 1
        if self.server.start_delay > 0:
            # A slow subscription resolver: nothing else on this socket is
            # processed meanwhile.
            await asyncio.sleep(self.server.start_delay)
        if self.server.throttle_starts > 0:
            # AppSync throttles a start connection-wide: an error without id,
            # errors as an object, the socket stays open (protocol doc §2.4).
            self.server.throttle_starts -= 1
            self.emulator.faults.record("throttle_start")
            await self.send(
                _frame(
                    "error",
                    None,
                    {"errors": _error("LimitExceededError", "Rate limit exceeded")},
                )
            )
            return
        try:
            subscription = await self._start(ident, message.get("payload"))
        except _Rejected as exc:
            self.server.stats["start_errors"] += 1
            await self.send(_errors_frame("error", exc.errors, ident))
            return
        await self.send(_frame("start_ack", ident))
        subscription.acked = True
        for payload in subscription.pending:
            await self.send(_frame("data", ident, payload))
        subscription.pending.clear()

    async def _start(self, ident: str, payload: Any) -> _Subscription:
        if ident in self.subscriptions:
            raise _Rejected(
                _error(
                    "DuplicatedOperationError",
                    f"Duplicate subscription id {ident[:64]!r} on this connection.",
                )
            )
        limit = self.server.max_subscriptions
        if len(self.subscriptions) >= limit:
            raise _Rejected(
                _error(
                    "MaxSubscriptionsReachedError",
                    f"Max number of {limit} subscriptions reached",
                )
            )
        data, authorization = _start_payload(payload)
        principal = self.server._verify(
            self.request, authorization, self.server._graphql_path, data.encode()
        )
        query, variables, operation_name = _graphql_request(data)
        subscription = _Subscription(ident)
        self.subscriptions[ident] = subscription

        async def send(result: Mapping[str, Any]) -> None:
            if self.subscriptions.get(ident) is not subscription:
                return
            if not subscription.acked:
                subscription.pending.append(dict(result))
                return
            if await self.send(_frame("data", ident, dict(result))):
                self.server.stats["data"] += 1

        try:
            subscription.handle = await self.server._subscribe(
                query, variables, operation_name, principal=principal, send=send
            )
        except BaseException:
            self.subscriptions.pop(ident, None)
            raise
        return subscription

    async def _on_stop(self, message: dict[str, Any]) -> None:
        ident = message.get("id")
        if not isinstance(ident, str):
            return
        self.server.stats["stops"] += 1
        subscription = self.subscriptions.pop(ident, None)
        if subscription is not None:
            await _close_handle(subscription.handle)
        await self.send(_frame("complete", ident))

    async def _close_subscriptions(self) -> None:
        subscriptions = list(self.subscriptions.values())
        self.subscriptions.clear()
        for subscription in subscriptions:
            await _close_handle(subscription.handle)

    # -- keep-alive, injected drops, maximum age ------------------------------

    async def _timer(self) -> None:
        next_ka = time.monotonic() + self.emulator.ka_interval
        while not self.ws.closed:
            await asyncio.sleep(min(_TICK, max(0.0, next_ka - time.monotonic())))
            now = time.monotonic()
            if now >= next_ka:
                next_ka = now + self.emulator.ka_interval
                if self.initialized and not self.emulator.faults.withhold_ka:
                    await self.send(_frame("ka"))
            age = now - self.opened
            drop_every = self.emulator.faults.drop_ws_every_s
            if drop_every is not None and age >= drop_every:
                self._abort()
                return
            max_age = self.server.max_connection_age
            if max_age is not None and age >= max_age:
                log.info("Real-time: closing a connection at its maximum age")
                await self.ws.close(code=1000, message=b"Connection max age reached")
                return

    def _abort(self) -> None:
        """Drop the TCP stream without a close frame (an injected fault)."""
        self.emulator.faults.record("drop_ws")
        self.server.stats["drops"] += 1
        log.info("Fault: real-time connection dropped")
        transport = self.request.transport
        if transport is not None:
            transport.abort()


def _start_payload(payload: Any) -> tuple[str, dict[str, str]]:
    """``(data, authorization)`` of a ``start`` payload."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), str):
        raise _Rejected(
            _error("BadRequestException", "The start payload needs a data string.", 400)
        )
    extensions = payload.get("extensions")
    authorization = (
        extensions.get("authorization") if isinstance(extensions, dict) else None
    )
    if not isinstance(authorization, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in authorization.items()
    ):
        raise _Rejected(
            _error(
                "UnauthorizedException", "Valid authorization header not provided.", 401
            )
        )
    return payload["data"], authorization


def _graphql_request(data: str) -> tuple[str, dict[str, Any] | None, str | None]:
    try:
        request = json.loads(data)
    except (ValueError, RecursionError):
        request = None
    if not isinstance(request, dict):
        raise _Rejected(
            _error("MalformedHttpRequestException", "Unable to parse GraphQL query.")
        )
    query = request.get("query")
    variables = request.get("variables")
    operation_name = request.get("operationName")
    if (
        not isinstance(query, str)
        or not isinstance(variables, (dict, type(None)))
        or not isinstance(operation_name, (str, type(None)))
    ):
        raise _Rejected(
            _error("MalformedHttpRequestException", "Unable to parse GraphQL query.")
        )
    return query, variables, operation_name


async def _close_handle(handle: Any) -> None:
    if handle is None:
        return
    try:
        result = handle.close()
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("Real-time: closing a subscription failed")


class RealtimeServer:
    """Serves ``GET <graphql path>/realtime`` for one emulator (``emulator.realtime``).

    ``stats`` counts what happened, for tests and benchmarks:
    ``"connections"`` (handshakes accepted), ``"connection_errors"``,
    ``"starts"``, ``"start_errors"``, ``"stops"``, ``"data"`` (data frames
    sent) and ``"drops"`` (injected drops). :attr:`open_connections` and
    :attr:`active_subscriptions` count what is live now.
    """

    def __init__(self, emulator: Any) -> None:
        self._emulator = emulator
        self._connections: set[_Connection] = set()
        self.stats: Counter[str] = Counter()
        #: Subscriptions one connection may hold (AppSync's default quota).
        self.max_subscriptions = MAX_SUBSCRIPTIONS
        #: Seconds after which a connection is closed cleanly (AppSync: 24 h);
        #: None (the default) never closes.
        self.max_connection_age: float | None = None
        #: How many of the next ``start`` messages to throttle with a
        #: connection-level ``LimitExceededError`` (counted in
        #: ``faults.injected["throttle_start"]``).
        self.throttle_starts = 0
        #: Seconds to wait before answering each ``start`` (a slow resolver).
        self.start_delay = 0.0

    @property
    def open_connections(self) -> int:
        """WebSockets open right now."""
        return len(self._connections)

    @property
    def active_subscriptions(self) -> int:
        """Subscriptions live right now, over every connection."""
        return sum(len(c.subscriptions) for c in self._connections)

    @property
    def _graphql_path(self) -> str:
        return str(urlsplit(self._emulator.url).path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Upgrade, verify the handshake, then serve frames until either side closes."""
        protocols = _offered_protocols(request)
        # Never list header-… as a server protocol: it must not be echoed.
        ws = web.WebSocketResponse(
            protocols=(self.subprotocol,) if self.subprotocol in protocols else (),
            autoping=True,
        )
        await ws.prepare(request)
        self._emulator._record(request, 101)
        try:
            principal = self._connect(request, protocols)
        except _Rejected as exc:
            self.stats["connection_errors"] += 1
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(self._connection_error(exc.errors))
            await ws.close()
            return ws
        connection = self._connection(request, ws, principal)
        self._connections.add(connection)
        self.stats["connections"] += 1
        try:
            await connection.serve()
        finally:
            self._connections.discard(connection)
        return ws

    #: The subprotocol echoed when offered.
    subprotocol = SUBPROTOCOL

    def _connect(self, request: web.Request, protocols: list[str]) -> Principal:
        """Verify the handshake: the principal, or :class:`_Rejected`."""
        return self._verify(
            request,
            _header_object(request, protocols),
            self._graphql_path + "/connect",
            _CONNECT_BODY,
        )

    def _connection_error(self, errors: list[dict[str, Any]]) -> str:
        return _errors_frame("connection_error", errors)

    def _connection(
        self, request: web.Request, ws: web.WebSocketResponse, principal: Principal
    ) -> _Connection:
        return _Connection(self, request, ws)

    def _verify(
        self,
        request: web.Request,
        headers: dict[str, str],
        path: str,
        body: bytes,
    ) -> Principal:
        """The principal of a header object, or :class:`_Rejected`."""
        host = next((v for k, v in headers.items() if k.lower() == "host"), None)
        if host is not None and host.lower() not in self._hosts(request):
            # The header object must name the HTTP host (protocol doc §2.2).
            raise _Rejected(
                self._error_object(
                    "UnauthorizedException",
                    "The host in the authorization header does not match this API.",
                    401,
                )
            )
        try:
            principal: Principal = self._emulator._verifier.verify(
                method="POST", path=path, query="", headers=headers, body=body
            )
        except SignatureRejected as exc:
            log.info("Real-time: rejected a signature: %s", exc.error_type)
            raise _Rejected(self._auth_error(exc)) from None
        return principal

    # GraphQL real-time errors carry an errorCode; the Events endpoint
    # overrides these two (Events errors have none).
    @staticmethod
    def _error_object(error_type: str, message: str, code: int) -> dict[str, Any]:
        return _error(error_type, message, code)

    @staticmethod
    def _auth_error(exc: SignatureRejected) -> dict[str, Any]:
        return _auth_error(exc)

    def _hosts(self, request: web.Request) -> set[str]:
        return {urlsplit(self._emulator.url).netloc.lower(), request.host.lower()}

    async def _subscribe(
        self,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        *,
        principal: Principal,
        send: Any,
    ) -> Any:
        try:
            return await self._emulator._engine.subscribe(
                query, variables, operation_name, principal=principal, send=send
            )
        except SubscriptionRejected as exc:
            raise _Rejected(*exc.errors) from None

    async def broadcast(self, data: Mapping[str, Any]) -> int:
        """Send ``{"data": data}`` to every live subscription; return how many.

        A test and benchmark helper: it bypasses the engine, so neither
        argument filters nor selection sets apply.
        """
        sent = 0
        for connection in list(self._connections):
            for ident, subscription in list(connection.subscriptions.items()):
                if subscription.acked and await connection.send(
                    _frame("data", ident, {"data": data})
                ):
                    sent += 1
        self.stats["data"] += sent
        return sent

    def drop_all(self) -> int:
        """Abort every open connection's TCP stream now; return how many."""
        connections = list(self._connections)
        for connection in connections:
            connection._abort()
        return len(connections)

    async def close(self) -> None:
        """Close every open WebSocket (called when the emulator stops)."""
        for connection in list(self._connections):
            with contextlib.suppress(Exception):
                await connection.ws.close(code=1001, message=b"Server shutting down")
