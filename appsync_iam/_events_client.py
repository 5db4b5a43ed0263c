"""AppSyncEventsClient: publish to and subscribe to AppSync Events channels with IAM.

HTTP publish goes through :class:`SignedHTTP` (the GraphQL path's signer,
session, retry loop and clock-skew learning; a publish is not idempotent, so
it retries as a mutation does). Subscriptions and WebSocket publishes share
one ``aws-appsync-event-ws`` socket per client (:class:`_EventsSocket`):
connect signed at every attempt, each ``subscribe``/``publish`` signed when
sent, keep-alive from ``connectionTimeoutMs``, reconnect with full-jitter
backoff, every channel re-signed and re-subscribed, ``on_state`` gap reports
with the GraphQL subscriptions' :class:`ConnectionEvent` types. Each
subscription's events wait in the GraphQL path's :class:`EventQueue`: bounded
by ``max_queued_events`` (1,000) with the same ``overflow`` policies and
``OVERFLOW`` reports (see :mod:`._realtime`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypedDict

import aiohttp

from ._errors import (
    ConfigurationError,
    ProtocolError,
    SubscriptionError,
    TransportError,
)
from ._events import (
    CONNECT_BODY,
    EVENTS_SUBPROTOCOL,
    AppSyncEventsEndpoint,
    PublishError,
    PublishResult,
    Via,
    batches,
    check_channel,
    encode_events,
    frame_errors,
    parse_message,
    publish_body,
    publish_frame,
    subscribe_body,
    subscribe_frame,
    unsubscribe_frame,
)
from ._http import SignedHTTP
from ._realtime import (
    _THROTTLE_TYPES,
    DEFAULT_KEEP_ALIVE_MS,
    DEFAULT_MAX_QUEUED_EVENTS,
    ConnectionState,
    EventQueue,
    OverflowPolicy,
    StateCallback,
    _check_values,
    _describe,
    _has,
    _is_auth,
    _summary,
)
from ._realtime_protocol import (
    REALTIME_HEADERS,
    connection_init_frame,
    header_subprotocol,
)
from ._retry import RetryPolicy, server_time_from_message

__all__ = ["AppSyncEventsClient", "EventsRealtimeOptions"]

if TYPE_CHECKING:
    from ._realtime import _WebSocket  # aiohttp's type differs on 3.10

log = logging.getLogger("appsync_iam.events")

# A connection that stayed up this long resets the backoff attempt counter.
_STABLE_AFTER: Final = 10.0
_MAX_AUTH_FAILURES: Final = 3
_CLOSE_TIMEOUT: Final = 2.0


class EventsRealtimeOptions(TypedDict, total=False):
    """Keyword options of the Events WebSocket (``realtime_options=``).

    .. versionadded:: 0.1.0
    """

    connect_timeout: float
    ack_timeout: float
    operation_timeout: float
    backoff_base: float
    backoff_cap: float
    max_attempts: int | None
    linger: float
    max_queued_events: int | None
    overflow: OverflowPolicy


_DEFAULTS: Final[dict[str, Any]] = {
    "connect_timeout": 15.0,
    "ack_timeout": 15.0,
    # Amplify waits 15 s for subscribe_success (START_ACK_TIMEOUT).
    "operation_timeout": 15.0,
    # Amplify / tokio-appsync-events: 100 ms doubling, capped at 5 s.
    "backoff_base": 0.1,
    "backoff_cap": 5.0,
    "max_attempts": None,
    "linger": 2.0,
    # As for GraphQL subscriptions (RealtimeOptions), checked by the same code.
    "max_queued_events": DEFAULT_MAX_QUEUED_EVENTS,
    "overflow": "drop_oldest",
}
_QUEUE_OPTIONS: Final = ("max_queued_events", "overflow")


def _check_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(_DEFAULTS)
    for name, value in (options or {}).items():
        if name not in _DEFAULTS:
            raise ConfigurationError(
                f"unknown realtime_options key {name!r}; accepted: {sorted(_DEFAULTS)}"
            )
        if name in _QUEUE_OPTIONS:
            _check_values({name: value})
        elif name == "max_attempts":
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigurationError("max_attempts must be None or an integer >= 1")
        elif (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not value >= 0
            or (value == 0 and name not in ("linger", "backoff_base"))
        ):
            raise ConfigurationError(f"{name} must be a positive number of seconds")
        merged[name] = value
    return merged


def _events_answer(raw: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    try:
        answer = json.loads(raw)
    except (ValueError, RecursionError):
        answer = None
    if type(answer) is not dict or "successful" not in answer:
        raise ProtocolError(
            f"answer is not an Events publish result: {raw[:120]!r}", sent=True
        )
    return answer


class AppSyncEventsClient:
    """A client of one AppSync Events API, signed with IAM (SigV4).

    ::

        async with AppSyncEventsClient(
            "https://<dns-prefix>.appsync-api.us-east-1.amazonaws.com/event"
        ) as client:
            result = await client.publish("/default/room1", [{"text": "hi"}])
            async for event in client.subscribe_channel("/default/*"):
                ...

    ``credentials``, ``profile``, ``retry``, ``timeout``, ``clock`` and
    ``headers`` mean what they mean for :class:`AppSyncClient`; ``url`` is the
    HTTP URL ending in ``/event`` (see :class:`AppSyncEventsEndpoint`). A
    client belongs to the event loop it is first used on.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        url: str | AppSyncEventsEndpoint,
        *,
        region: str | None = None,
        credentials: object = None,
        profile: str | None = None,
        realtime_url: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 100,
        client_session_args: dict[str, Any] | None = None,
        realtime_options: EventsRealtimeOptions | None = None,
    ) -> None:
        if isinstance(url, AppSyncEventsEndpoint):
            if region is not None or realtime_url is not None:
                raise ConfigurationError(
                    "pass region and realtime_url to AppSyncEventsEndpoint.from_url, "
                    "not beside an endpoint"
                )
            endpoint = url
        else:
            endpoint = AppSyncEventsEndpoint.from_url(
                url, region=region, realtime_url=realtime_url
            )
        self._endpoint = endpoint
        self._http = SignedHTTP(
            endpoint.http_url,
            region=endpoint.region,
            realtime_url=endpoint.realtime_url,
            credentials=credentials,
            profile=profile,
            retry=retry,
            timeout=timeout,
            clock=clock,
            headers=headers,
            max_connections=max_connections,
            client_session_args=client_session_args,
        )
        self._options = _check_options(realtime_options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socket: _EventsSocket | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"AppSyncEventsClient(url={self._endpoint.http_url!r}, "
            f"region={self._endpoint.region!r})"
        )

    @property
    def endpoint(self) -> AppSyncEventsEndpoint:
        return self._endpoint

    @property
    def retry(self) -> RetryPolicy:
        return self._http.retry

    @property
    def clock_offset(self) -> float:
        """Seconds added to the local clock, learned from a skew rejection."""
        return self._http.clock_offset

    # -- publish -------------------------------------------------------------

    async def publish(
        self,
        channel: str,
        events: Sequence[Any],
        *,
        via: Via = "http",
        concurrency: int = 4,
    ) -> PublishResult:
        """Publish ``events`` (a list of JSON values) to ``channel``.

        More than 5 events are split into batches of 5 (AppSync's limit per
        request), sent ``concurrency`` at a time; the result's indices refer
        to ``events``. ``via="websocket"`` publishes over the client's shared
        socket (opened if needed) instead of HTTP.

        Per-event refusals are in :attr:`PublishResult.failed`. Everything
        else raises the library's errors: :class:`ConfigurationError` (bad
        channel or events; nothing sent), :class:`HTTPStatusError` and its
        subclasses, :class:`TransportError`, :class:`PublishError` (a
        WebSocket ``publish_error``). A publish is not idempotent: like a
        mutation, it is retried only when AppSync surely did not run it
        (``RetryPolicy.retry_mutations`` opts into more). When a batch fails,
        earlier batches may have been published.
        """
        checked = check_channel(channel)
        encoded = encode_events(events)
        if via not in ("http", "websocket"):
            raise ConfigurationError(f"via must be 'http' or 'websocket', not {via!r}")
        if (
            isinstance(concurrency, bool)
            or not isinstance(concurrency, int)
            or concurrency < 1
        ):
            raise ConfigurationError("concurrency must be an integer >= 1")
        http = await self._ready()
        send = self._publish_http if via == "http" else self._socket_for().publish
        parts = batches(encoded)
        if len(parts) == 1:
            return await send(http, checked, parts[0][1], parts[0][0])
        gate = asyncio.Semaphore(concurrency)

        async def one(offset: int, batch: list[str]) -> PublishResult:
            async with gate:
                return await send(http, checked, batch, offset)

        tasks = [asyncio.ensure_future(one(o, b)) for o, b in parts]
        try:
            return PublishResult.merge(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()

    async def _publish_http(
        self, http: SignedHTTP, channel: str, events: list[str], offset: int
    ) -> PublishResult:
        body = publish_body(channel, events).encode()
        answer = await http.post(body, _events_answer, is_mutation=True, name="publish")
        return PublishResult.from_answer(answer, offset, len(events))

    # -- subscribe -----------------------------------------------------------

    async def subscribe_channel(
        self,
        channel: str,
        *,
        on_state: StateCallback | Sequence[StateCallback] | None = None,
    ) -> AsyncGenerator[Any, None]:
        """Each event published to ``channel`` (decoded JSON), as it arrives.

        ``channel`` may end in ``/*`` (every channel below the prefix). The
        subscription survives dropped connections: the client reconnects with
        backoff and subscribes again (signed afresh); events published during
        the gap are lost, which ``on_state`` reports as ``RECONNECTING`` then
        ``CONNECTED`` (:class:`ConnectionEvent`). A ``subscribe_error`` (or a
        connection refused for good) raises :class:`SubscriptionError`.
        Leaving the loop unsubscribes.

        At most ``max_queued_events`` events (``realtime_options``, 1,000)
        wait for a consumer that falls behind, as for GraphQL subscriptions:
        with ``overflow="drop_oldest"`` the oldest are dropped and reported
        as ``OVERFLOW`` (``dropped=n``) just before the next event; with
        ``"error"`` the queued events are served, then
        :class:`SubscriptionError` ends the subscription (unsubscribed).
        """
        checked = check_channel(channel, wildcard=True)
        callbacks: tuple[StateCallback, ...]
        if on_state is None:
            callbacks = ()
        elif callable(on_state):
            callbacks = (on_state,)
        else:
            callbacks = tuple(on_state)
        await self._ready()
        socket = self._socket_for()
        sub = _Sub(
            checked,
            callbacks,
            self._options["max_queued_events"],
            self._options["overflow"],
        )
        sub.emit(ConnectionState.CONNECTING)
        socket.add(sub)
        try:
            while True:
                item = await sub.next()
                if isinstance(item, SubscriptionError):
                    raise item
                if not isinstance(item, str):  # _END
                    return
                try:
                    yield json.loads(item)
                except ValueError:
                    log.warning("Events: ignored an event that is not JSON")
        finally:
            socket.remove(sub)
            sub.emit(ConnectionState.CLOSED)

    # -- lifecycle -----------------------------------------------------------

    async def _ready(self) -> SignedHTTP:
        if self._closed:
            raise ConfigurationError("the client is closed")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            self._http.open_session()
        elif self._loop is not loop:
            raise ConfigurationError(
                "an AppSyncEventsClient belongs to the event loop it was first "
                "used on; create one client per loop"
            )
        return self._http

    def _socket_for(self) -> _EventsSocket:
        if self._socket is None:
            self._socket = _EventsSocket(self._http, self._endpoint, self._options)
        return self._socket

    async def close(self) -> None:
        """Close the socket (subscriptions end) and the HTTP session."""
        self._closed = True
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close()
        await self._http.close()

    async def __aenter__(self) -> AppSyncEventsClient:
        await self._ready()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class _Sub(EventQueue[str]):
    """One ``subscribe_channel`` iteration: its events (JSON text) queue in
    the GraphQL subscriptions' bounded :class:`EventQueue`."""

    __slots__ = ("channel", "ident", "task")
    logger = log
    quiet_after_close = True

    def __init__(
        self,
        channel: str,
        callbacks: Sequence[StateCallback],
        limit: int | None = DEFAULT_MAX_QUEUED_EVENTS,
        overflow: OverflowPolicy = "drop_oldest",
    ) -> None:
        super().__init__(callbacks, limit, overflow)
        self.channel = channel
        self.ident: str | None = None
        self.task: asyncio.Task[None] | None = None


class _Rejected(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(_summary(errors))
        self.errors = errors
        self.auth = _is_auth(errors)


class _EventsSocket:
    """The one Events WebSocket of a client, reconnected while it is needed."""

    def __init__(
        self,
        http: SignedHTTP,
        endpoint: AppSyncEventsEndpoint,
        options: Mapping[str, Any],
    ) -> None:
        self.http = http
        self.endpoint = endpoint
        self.options = options
        self.subs: list[_Sub] = []
        self.by_id: dict[str, _Sub] = {}
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.ws: _WebSocket | None = None
        self.connected: asyncio.Event = asyncio.Event()
        self.demand: asyncio.Event = asyncio.Event()
        self.publishes = 0
        self.last_use = 0.0
        self.failure: BaseException | None = None
        self.runner: asyncio.Task[None] | None = None
        self.closed = False
        self.send_lock = asyncio.Lock()
        self.crowded = False  # a queue is half full: yield after this frame
        self.rand: Callable[[], float] = random.random

    # -- demand ---------------------------------------------------------------

    def _wake(self) -> None:
        self.last_use = time.monotonic()
        self.demand.set()
        if self.runner is None or self.runner.done():
            self.failure = None
            self.runner = asyncio.get_running_loop().create_task(self._run())

    def add(self, sub: _Sub) -> None:
        self.subs.append(sub)
        self._wake()
        if self.ws is not None and self.connected.is_set():
            self._start(sub)

    def remove(self, sub: _Sub) -> None:
        sub.done = True
        if sub in self.subs:
            self.subs.remove(sub)
        if sub.task is not None:
            sub.task.cancel()
        ident, sub.ident = sub.ident, None
        if ident is not None:
            self.by_id.pop(ident, None)
            ws = self.ws
            if ws is not None and not ws.closed:
                asyncio.get_running_loop().create_task(
                    self._send_quietly(ws, unsubscribe_frame(ident))
                )
        self.last_use = time.monotonic()
        self.demand.set()

    def _needed(self) -> bool:
        if self.closed:
            return False
        if self.subs or self.publishes:
            return True
        linger: float = self.options["linger"]
        return time.monotonic() - self.last_use < linger

    # -- signing --------------------------------------------------------------

    async def _sign(self, body: bytes) -> dict[str, str]:
        """The header object of one Events signature (events-api.md §1.6)."""
        credentials = await self.http.credentials.get_frozen()
        return self.http.signer.sign(
            "POST",
            self.endpoint.http_url,
            REALTIME_HEADERS,
            body,
            credentials,
            now=self.http.now(),
            include_content_sha256=False,
        )

    def _learn_skew(self, errors: Sequence[Mapping[str, Any]]) -> bool:
        for error in errors:
            server_time = server_time_from_message(str(error.get("message", "")))
            if server_time is not None:
                self.http.learn_clock_offset(server_time - self.http.local_time())
                return True
        return False

    async def _correct(self, errors: list[dict[str, Any]]) -> None:
        """After an auth refusal: learn the clock skew, else refresh credentials."""
        if not self._learn_skew(errors):
            try:
                await self.http.credentials.refresh()
            except Exception as exc:
                log.warning("Events: credential refresh failed: %s", _describe(exc))

    # -- the connection loop --------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        auth_failures = 0
        while self._needed():
            try:
                ws, keep_alive = await self._open()
            except asyncio.CancelledError:
                raise
            except _Rejected as rejected:
                attempt += 1
                if rejected.auth:
                    auth_failures += 1
                    if auth_failures < _MAX_AUTH_FAILURES:
                        await self._correct(rejected.errors)
                        self._gap(attempt, f"connection refused: {rejected}")
                        continue
                self._fail_all(
                    SubscriptionError(
                        f"the Events API refused the connection: {rejected}",
                        errors=rejected.errors,
                        connection_lost=True,
                    )
                )
                return
            except Exception as exc:
                attempt += 1
                reason = f"connect failed: {_describe(exc)}"
                if not self._gave_up(attempt, reason):
                    self._gap(attempt, reason)
                    await self._pause(attempt)
                    continue
                return
            auth_failures = 0
            opened = time.monotonic()
            lost = await self._serve(ws, keep_alive)
            if lost is None:
                break
            reason = lost
            if time.monotonic() - opened > _STABLE_AFTER:
                attempt = 0
            attempt += 1
            log.info("Events: connection lost (%s); reconnecting", reason)
            if self._gave_up(attempt, reason):
                return
            self._gap(attempt, reason)
            await self._pause(attempt)

    def _gap(self, attempt: int, reason: str) -> None:
        for sub in self.subs:
            sub.emit(ConnectionState.RECONNECTING, attempt, reason)

    def _gave_up(self, attempt: int, reason: str) -> bool:
        limit = self.options["max_attempts"]
        if limit is not None and attempt >= limit:
            self._fail_all(
                SubscriptionError(
                    f"gave up after {attempt} attempts: {reason}", connection_lost=True
                )
            )
            return True
        return False

    def _fail_all(self, error: SubscriptionError) -> None:
        self.failure = error
        for sub in list(self.subs):
            sub.fail(error)

    async def _pause(self, attempt: int) -> None:
        ceiling = min(
            self.options["backoff_cap"],
            self.options["backoff_base"] * 2.0 ** min(attempt - 1, 30),
        )
        await asyncio.sleep(self.rand() * ceiling)

    async def _open(self) -> tuple[_WebSocket, float]:
        headers = await self._sign(CONNECT_BODY)
        session = self.http.session
        if session is None or session.closed:
            raise ConfigurationError("the client is closed")
        ws = await asyncio.wait_for(
            session.ws_connect(
                self.endpoint.realtime_url,
                protocols=(EVENTS_SUBPROTOCOL, header_subprotocol(headers)),
                autoping=True,
                timeout=aiohttp.ClientWSTimeout(
                    ws_receive=None, ws_close=_CLOSE_TIMEOUT
                ),
            ),
            self.options["connect_timeout"],
        )
        try:
            # Optional for Events ("the client can optionally send a
            # connection_init message"), harmless, and it makes the ack prompt.
            await ws.send_str(connection_init_frame())
            ack = await asyncio.wait_for(
                self._await_ack(ws), self.options["ack_timeout"]
            )
        except BaseException:
            await ws.close()
            raise
        timeout_ms = ack.get("connectionTimeoutMs")
        if timeout_ms is None and isinstance(ack.get("payload"), dict):
            timeout_ms = ack["payload"].get("connectionTimeoutMs")
        if (
            isinstance(timeout_ms, bool)
            or not isinstance(timeout_ms, (int, float))
            or timeout_ms <= 0
        ):
            timeout_ms = DEFAULT_KEEP_ALIVE_MS
        log.info(
            "Events: connected to %s (keep-alive %s ms)",
            self.endpoint.realtime_url,
            timeout_ms,
        )
        return ws, timeout_ms / 1000

    @staticmethod
    async def _await_ack(ws: _WebSocket) -> dict[str, Any]:
        while True:
            message = await ws.receive()
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                raise TransportError(
                    f"the server closed the socket (code {ws.close_code})"
                )
            frame = parse_message(message.data)
            kind = frame["type"]
            if kind == "connection_ack":
                return frame
            if kind in ("connection_error", "error"):
                raise _Rejected(frame_errors(frame))

    async def _serve(self, ws: _WebSocket, keep_alive: float) -> str | None:
        """Carry subscriptions and publishes over ``ws``.

        Returns why the connection ended, or None when it is no longer needed.
        """
        self.ws = ws
        self.connected.set()
        for sub in list(self.subs):
            self._start(sub)
        loop = asyncio.get_running_loop()
        last = loop.time()
        reason: str | None = "the connection closed"
        try:
            while True:
                if not self._needed():
                    reason = None
                    break
                wait = min(keep_alive - (loop.time() - last), 0.5)
                if wait <= 0:
                    reason = f"no keep-alive within {int(keep_alive * 1000)} ms"
                    break
                try:
                    message = await ws.receive(timeout=wait)
                except asyncio.TimeoutError:
                    continue
                if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    last = loop.time()
                    try:
                        self._dispatch(parse_message(message.data))
                    except ProtocolError as exc:
                        log.warning("Events: ignored a frame: %s", exc)
                    if self.crowded:  # as the GraphQL reader does
                        self.crowded = False
                        await asyncio.sleep(0)  # let its consumer catch up
                    continue
                if message.type == aiohttp.WSMsgType.ERROR:
                    reason = (
                        f"connection error: {_describe(ws.exception() or Exception())}"
                    )
                else:
                    reason = f"the server closed the connection (code {ws.close_code})"
                break
        except Exception as exc:
            reason = f"connection error: {_describe(exc)}"
        finally:
            self.ws = None
            self.connected.clear()
            for sub in self.subs:
                if sub.task is not None:
                    sub.task.cancel()
                sub.task = None
                sub.ident = None
            self.by_id.clear()
            lost = TransportError(
                f"the Events connection was lost before AppSync answered ({reason})",
                sent=True,
            )
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(lost)
            self.waiting.clear()
            asyncio.get_running_loop().create_task(ws.close())
        return reason

    def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        ident = frame.get("id")
        if kind == "data":
            sub = self.by_id.get(str(ident))
            event = frame.get("event")
            if sub is None:
                return
            # The websocket-protocol doc's example shows an array; every
            # client and LocalStack see one string (events-api.md §1.8).
            for item in event if isinstance(event, list) else [event]:
                if isinstance(item, str) and not sub.push(item):
                    self._overflowed(sub)
                    return
            self.crowded = self.crowded or sub.crowded
            return
        if kind == "ka":
            return
        if kind == "broadcast_error":
            log.warning(
                "Events: broadcast_error on %s: %s",
                ident,
                _summary(frame_errors(frame)),
            )
            return
        future = self.waiting.pop(str(ident), None) if ident is not None else None
        if future is not None and not future.done():
            future.set_result(frame)
        elif kind == "error":
            log.warning("Events: error frame: %s", _summary(frame_errors(frame)))

    async def _request(self, ws: _WebSocket, ident: str, text: str) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        self.waiting[ident] = future
        try:
            try:
                async with self.send_lock:
                    if ws.closed:
                        raise ConnectionResetError("the socket is closing")
                    await ws.send_str(text)
            except (aiohttp.ClientError, OSError, RuntimeError) as exc:
                # The frame never left: AppSync cannot have acted on it.
                raise TransportError(
                    "the Events connection closed before the frame was sent "
                    f"({_describe(exc)})",
                    sent=False,
                ) from exc
            return await asyncio.wait_for(future, self.options["operation_timeout"])
        finally:
            self.waiting.pop(ident, None)

    # -- subscribe ------------------------------------------------------------

    def _start(self, sub: _Sub) -> None:
        if sub.task is None and not sub.done:
            sub.task = asyncio.get_running_loop().create_task(self._subscribe(sub))

    async def _subscribe(self, sub: _Sub) -> None:
        ws = self.ws
        corrected = False
        while ws is not None and not sub.done:
            authorization = await self._sign(subscribe_body(sub.channel))
            ident = str(uuid.uuid4())
            sub.ident = ident
            self.by_id[ident] = sub
            try:
                answer = await self._request(
                    ws, ident, subscribe_frame(ident, sub.channel, authorization)
                )
            except asyncio.TimeoutError:
                self.by_id.pop(ident, None)
                sub.ident = None
                sub.emit(
                    ConnectionState.RECONNECTING, 1, "no subscribe_success in time"
                )
                continue
            except TransportError:
                return  # the connection loop reports the gap and resubscribes
            if answer["type"] == "subscribe_success":
                sub.emit(ConnectionState.CONNECTED)
                return
            errors = frame_errors(answer)
            self.by_id.pop(ident, None)
            sub.ident = None
            if _is_auth(errors) and not corrected:
                corrected = True
                await self._correct(errors)
                continue
            sub.fail(
                SubscriptionError(
                    f"subscribing to {sub.channel} failed: {_summary(errors)}",
                    errors=errors,
                )
            )
            return

    def _overflowed(self, sub: _Sub) -> None:
        """``overflow="error"``: end ``sub`` (after its queued events) and
        unsubscribe it."""
        error = sub.overflow_error()
        log.warning("Events: subscription to %s ended: %s", sub.channel, error)
        sub.fail(error)
        self.remove(sub)  # sends unsubscribe

    # -- publish --------------------------------------------------------------

    async def _connection(self) -> _WebSocket:
        self._wake()
        timeout = self.options["connect_timeout"] + self.options["ack_timeout"]
        deadline = time.monotonic() + timeout
        while True:
            ws = self.ws
            if ws is not None and not ws.closed and self.connected.is_set():
                return ws
            if self.failure is not None and (self.runner is None or self.runner.done()):
                raise TransportError(
                    f"cannot open the Events connection: {self.failure}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportError("the Events connection did not open in time")
            try:
                await asyncio.wait_for(self.connected.wait(), min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass

    async def publish(
        self, http: SignedHTTP, channel: str, events: list[str], offset: int
    ) -> PublishResult:
        """One WebSocket ``publish`` (≤ 5 events); retried only when surely not
        run (not sent, throttled, an auth correction), or when sent and lost
        with ``retry_mutations``."""
        self.publishes += 1
        try:
            attempt, corrected = 1, False
            policy = http.retry
            while True:
                ws = await self._connection()
                authorization = await self._sign(publish_body(channel, events).encode())
                ident = str(uuid.uuid4())
                try:
                    answer = await self._request(
                        ws, ident, publish_frame(ident, channel, events, authorization)
                    )
                except asyncio.TimeoutError:
                    raise TransportError(
                        "no publish_success or publish_error in time; the events "
                        "may have been published",
                        sent=True,
                    ) from None
                except TransportError as lost:
                    # Not sent: safe to send again on the next connection.
                    # Sent, then the connection went: ambiguous, as a mutation.
                    if (not lost.sent or policy.retry_mutations) and (
                        attempt < policy.max_attempts
                    ):
                        log.debug("Events: publish retried: %s", lost)
                        await asyncio.sleep(policy.backoff(attempt))
                        attempt += 1
                        continue
                    raise
                if answer["type"] == "publish_success":
                    return PublishResult.from_answer(answer, offset, len(events))
                errors = frame_errors(answer)
                if _is_auth(errors) and not corrected:
                    corrected = True
                    await self._correct(errors)
                    continue
                if _has(errors, _THROTTLE_TYPES) and attempt < policy.max_attempts:
                    await asyncio.sleep(policy.backoff(attempt))
                    attempt += 1
                    continue
                raise PublishError(
                    f"publishing to {channel} failed: {_summary(errors)}", errors=errors
                )
        finally:
            self.publishes -= 1
            self.last_use = time.monotonic()

    # -- teardown -------------------------------------------------------------

    @staticmethod
    async def _send_quietly(ws: _WebSocket, text: str) -> None:
        try:
            await ws.send_str(text)
        except Exception:  # the socket is going away anyway
            pass

    async def close(self) -> None:
        self.closed = True
        for sub in list(self.subs):
            sub.finish()
        runner = self.runner
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        ws = self.ws
        if ws is not None:
            await ws.close()
