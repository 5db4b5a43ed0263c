"""IAM-signed AppSync subscriptions that survive drops, expiry and rotation.

:class:`RealtimeClient` owns the real-time WebSockets of one transport
(protocol doc §2): it signs the handshake afresh on every connection attempt
and every ``start`` at send time, multiplexes up to 100 subscriptions per
socket, watches the keep-alive budget the server announces, and on a drop,
a lapsed keep-alive or a server close reconnects with full-jitter backoff
and re-``start``\\ s every live subscription with new signatures.

Each subscription's ``on_state`` callbacks receive a :class:`ConnectionEvent`
for every state change, so a caller knows when events may have been missed.

Each subscription queues its events for its consumer, at most
``max_queued_events`` of them (1,000 by default). When a consumer falls that
far behind, the default policy (``overflow="drop_oldest"``) discards the
oldest queued event for each new one and reports the gap in band: just
before the consumer receives the first event after it, ``on_state`` gets a
``ConnectionEvent(OVERFLOW, dropped=n)``. Why drop and not wait: the reader
serves every subscription of the socket and its keep-alive watchdog, so
blocking it for one slow consumer would stall the others and lose the
connection, and AppSync keeps no backlog to pause against (delivery is at
most once; a reconnect already loses events, reported the same way). The
newest events are kept because they supersede older ones for the usual
live-update subscription. The reader does yield to the event loop after a
frame that leaves a queue half full, so that a consumer that keeps up is not
overrun by one burst (one socket read can hold thousands of small frames).
``overflow="error"`` ends the subscription with :class:`SubscriptionError`
instead (after the queued events); and
``max_queued_events=None`` removes the bound (memory then grows as long as
the consumer lags).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import random
import time
import uuid
from collections import deque
from collections.abc import (
    AsyncGenerator,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Final,
    Generic,
    Literal,
    Protocol,
    TypedDict,
    TypeVar,
)

import aiohttp
from yarl import URL

from ._credentials import CredentialSource, FrozenCredentials
from ._endpoint import AppSyncEndpoint
from ._errors import (
    ConfigurationError,
    CredentialsError,
    ProtocolError,
    SubscriptionError,
    redact,
)
from ._realtime_protocol import (
    CONNECT_BODY,
    REALTIME_HEADERS,
    SUBPROTOCOL,
    Complete,
    ConnectionAck,
    ConnectionErrorFrame,
    Data,
    Error,
    Frame,
    KeepAlive,
    StartAck,
    connection_init_frame,
    header_query,
    header_subprotocol,
    parse_frame,
    request_data,
    start_frame,
    stop_frame,
)
from ._retry import server_time_from_message

__all__ = [
    "ConnectionEvent",
    "ConnectionState",
    "RealtimeClient",
    "RealtimeOptions",
    "RealtimeTransport",
    "StateCallback",
]

log = logging.getLogger("appsync_iam.realtime")

if TYPE_CHECKING:
    # What ws_connect returns on every Python: aiohttp types it
    # ClientWebSocketResponse[Literal[True]] on 3.11+ but [bool] on 3.10.
    _WebSocket = aiohttp.ClientWebSocketResponse[bool]

#: AppSync's ``connectionTimeoutMs`` when a ``connection_ack`` omits it (§2.5).
DEFAULT_KEEP_ALIVE_MS: Final = 300_000
#: AppSync's default quota of subscriptions per connection (§1.5).
MAX_SUBSCRIPTIONS_PER_CONNECTION: Final = 100
#: Events a subscription queues for a consumer that falls behind: a few MB
#: for events of a few KB; up to 240 MB at AppSync's subscription payload
#: quota (240 KB per event), so lower it for large events.
DEFAULT_MAX_QUEUED_EVENTS: Final = 1000
#: What happens to an event arriving at a full queue (see the module docs).
OverflowPolicy = Literal["drop_oldest", "error"]
_OVERFLOW_POLICIES: Final = ("drop_oldest", "error")
# A consumer that keeps falling behind is logged about at most this often.
_OVERFLOW_LOG_EVERY: Final = 60.0
# A connection that stayed up this long resets the backoff attempt counter;
# one that drops sooner keeps backing off harder (a server killing every
# socket at once must not be hammered at the base delay).
_STABLE_AFTER: Final = 10.0
# Consecutive auth rejections of a handshake, each after a credential
# refresh, before every subscription on the connection fails.
_MAX_AUTH_FAILURES: Final = 3
_CLOSE_TIMEOUT: Final = 2.0

# errorType substrings (matched case-sensitively; AppSync may prefix them,
# e.g. com.amazonaws.deepdish.graphql.auth#UnauthorizedException).
_AUTH_TYPES: Final = (
    "UnauthorizedException",
    "BadRequestException",
    "ExpiredToken",
    "InvalidSignature",
    "IncompleteSignature",
    "SignatureDoesNotMatch",
    "UnrecognizedClient",
    "InvalidClientTokenId",
    "AccessDenied",
    "AuthFailure",
)
_THROTTLE_TYPES: Final = ("LimitExceeded", "Throttl", "TooManyRequests", "RateExceeded")
_FULL_TYPES: Final = ("MaxSubscriptionsReached",)


class ConnectionState(enum.Enum):
    """Where a subscription's connection stands.

    .. versionadded:: 0.1.0
    """

    #: Opening the first connection, or starting on an open one.
    CONNECTING = "connecting"
    #: The subscription is acknowledged: events flow from here on.
    CONNECTED = "connected"
    #: The connection was lost or an attempt failed; events may be missed
    #: until the next ``CONNECTED``.
    RECONNECTING = "reconnecting"
    #: The subscription ended (the consumer left, an error, or the client closed).
    CLOSED = "closed"
    #: The consumer fell behind its full queue: ``dropped`` events, the oldest
    #: queued, were discarded just before the event it receives next (only
    #: with ``overflow="drop_oldest"``; re-query if they matter).
    OVERFLOW = "overflow"


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """One state change reported to ``on_state`` callbacks.

    ``attempt`` is the number of consecutive failed or lost connections so
    far (0 while healthy; ``RECONNECTING`` with ``attempt=1`` marks the start
    of a gap). ``reason`` says why (redacted, never a secret), or is None.
    ``dropped`` is the number of events discarded for an ``OVERFLOW`` (else 0).

    .. versionadded:: 0.1.0
    """

    state: ConnectionState
    attempt: int = 0
    reason: str | None = None
    dropped: int = 0


#: A sync callable given each :class:`ConnectionEvent`. It runs on the event
#: loop, so it must not block; exceptions it raises are logged and ignored.
StateCallback = Callable[[ConnectionEvent], None]


class _Signer(Protocol):
    def sign(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        credentials: FrozenCredentials,
        *,
        now: float | None = ...,
        include_content_sha256: bool = ...,
    ) -> dict[str, str]: ...


class RealtimeOptions(TypedDict, total=False):
    """Keyword arguments of :class:`RealtimeClient`, for the transport and client.

    ``AppSyncClient(url, realtime_options={"backoff_base": 0.2, "linger": 0})``
    passes them to the real-time client it creates; omitted keys keep
    :class:`RealtimeClient`'s defaults.

    .. versionadded:: 0.1.0
    """

    connect_timeout: float
    ack_timeout: float
    start_ack_timeout: float
    linger: float
    backoff_base: float
    backoff_cap: float
    max_attempts: int | None
    max_start_attempts: int
    max_subscriptions_per_connection: int
    max_queued_events: int | None
    overflow: OverflowPolicy


def check_realtime_options(options: Mapping[str, Any] | None) -> RealtimeOptions:
    """A copy of ``options`` with every key checked against :class:`RealtimeOptions`."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(RealtimeOptions.__annotations__))
    if unknown:
        raise ConfigurationError(
            f"unknown realtime_options {unknown}; accepted: "
            f"{sorted(RealtimeOptions.__annotations__)}"
        )
    _check_values(options)
    checked: RealtimeOptions = {}
    checked.update(options)  # type: ignore[typeddict-item]
    return checked


_POSITIVE: Final = (
    "connect_timeout",
    "ack_timeout",
    "start_ack_timeout",
    "backoff_cap",
)
_NON_NEGATIVE: Final = ("linger", "backoff_base")
_AT_LEAST_ONE: Final = ("max_start_attempts", "max_subscriptions_per_connection")
_OPTIONAL: Final = ("max_attempts", "max_queued_events")  # None, or >= 1


def _check_values(options: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigurationError` for a value RealtimeClient cannot use
    (the Events client checks ``max_queued_events`` and ``overflow`` here too)."""
    for name, value in options.items():
        if name in _POSITIVE or name in _NON_NEGATIVE:
            number = not isinstance(value, bool) and isinstance(value, (int, float))
            if not number or math.isnan(value):
                raise ConfigurationError(f"{name} must be a number of seconds")
            if value < 0 or (value == 0 and name in _POSITIVE):
                kind = "positive" if name in _POSITIVE else "zero or more"
                raise ConfigurationError(f"{name} must be {kind}, not {value!r}")
        elif name in _AT_LEAST_ONE or (name in _OPTIONAL and value is not None):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(
                    f"{name} must be an integer >= 1, not {value!r}"
                )
        elif name == "overflow" and value not in _OVERFLOW_POLICIES:
            raise ConfigurationError(
                f"overflow must be one of {', '.join(map(repr, _OVERFLOW_POLICIES))}"
                f", not {value!r}"
            )


class RealtimeTransport(Protocol):
    """What :class:`RealtimeClient` needs from a transport.

    ``AppSyncIAMTransport`` provides it; so can any object with these
    attributes. ``session`` may be None: the client then opens its own.
    """

    @property
    def endpoint(self) -> AppSyncEndpoint: ...
    @property
    def credentials(self) -> CredentialSource: ...
    @property
    def signer(self) -> _Signer: ...
    @property
    def session(self) -> aiohttp.ClientSession | None: ...
    @property
    def realtime_auth(self) -> Literal["subprotocol", "query"] | str: ...
    def now(self) -> float: ...


# -- error classification ---------------------------------------------------


def _types(errors: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(e.get("errorType") or "") for e in errors]


def _has(errors: Sequence[Mapping[str, Any]], markers: Iterable[str]) -> bool:
    markers = tuple(markers)
    return any(m in t for t in _types(errors) for m in markers)


def _is_auth(errors: Sequence[Mapping[str, Any]]) -> bool:
    if _has(errors, _AUTH_TYPES):
        return True
    for error in errors:
        if error.get("errorCode") in (401, 403) and not error.get("errorType"):
            return True
        if not error.get("errorType") and "signature" in str(error.get("message", "")):
            return True
    return False


def _summary(errors: Sequence[Mapping[str, Any]]) -> str:
    """A short, redacted text for messages, logs and state reasons."""
    parts = []
    for error in list(errors)[:3]:
        kind = error.get("errorType")
        text = str(error.get("message") or "").split("\n", 1)[0][:200]
        parts.append(f"{kind}: {text}" if kind else text or "unknown error")
    return redact("; ".join(parts) or "no error details")


def _describe(exc: BaseException) -> str:
    """Why a connection failed, without request details (they hold secrets)."""
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"handshake refused: HTTP {exc.status} {exc.message}"[:200]
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status} {exc.message}"[:200]
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    text = str(exc)
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:200]


class _HandshakeRejected(Exception):
    """``connection_error`` (or an ``error``) instead of ``connection_ack``."""

    def __init__(self, errors: Sequence[dict[str, Any]]) -> None:
        super().__init__(_summary(errors))
        self.errors = list(errors)
        self.auth = _is_auth(errors)


class _Gone(Exception):
    """The socket closed during the handshake."""


# -- one subscription ---------------------------------------------------------


_END: Final = object()
_Item = TypeVar("_Item")


class EventQueue(Generic[_Item]):
    """One subscription's events waiting for its consumer, and its state reports.

    Shared by GraphQL (:class:`_Subscription`) and Events subscriptions. Events
    wait in ``items`` (at most ``limit``; see the module docs for the overflow
    policies); ``ending`` (an error or ``_END``) is served once they are all
    taken. With ``quiet_after_close``, ``on_state`` callbacks get only
    ``OVERFLOW`` after ``CLOSED`` (before an event still queued).
    """

    __slots__ = (
        "callbacks",
        "closed",
        "done",
        "dropped",
        "ending",
        "items",
        "limit",
        "logged_at",
        "overflow",
        "total_dropped",
        "waiter",
    )

    #: Where a consumer falling behind is logged.
    logger: ClassVar[logging.Logger] = log
    #: Whether state changes after ``CLOSED`` go unreported (a GraphQL
    #: ``start_ack`` landing after the consumer left is still reported).
    quiet_after_close: ClassVar[bool] = False

    def __init__(
        self,
        callbacks: Sequence[StateCallback],
        limit: int | None = DEFAULT_MAX_QUEUED_EVENTS,
        overflow: OverflowPolicy = "drop_oldest",
    ) -> None:
        self.callbacks = tuple(callbacks)
        self.items: deque[_Item] = deque()
        self.limit = limit
        self.overflow = overflow
        self.ending: SubscriptionError | object | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.dropped = 0  # dropped since the consumer last took an event
        self.total_dropped = 0
        self.logged_at: float | None = None
        self.done = False
        self.closed = False  # CLOSED was reported

    def push(self, item: _Item) -> bool:
        """Queue an event; False when it overflows under the "error" policy."""
        if self.limit is not None and len(self.items) >= self.limit:
            if self.overflow == "error":
                return False
            self.items.popleft()
            self.dropped += 1
            self.total_dropped += 1
            now = time.monotonic()
            if self.logged_at is None or now - self.logged_at >= _OVERFLOW_LOG_EVERY:
                self.logged_at = now
                self.logger.warning(
                    "A subscription's consumer fell behind: %d events dropped so "
                    "far, the oldest of %d queued each time",
                    self.total_dropped,
                    self.limit,
                )
        self.items.append(item)
        self._wake()
        return True

    @property
    def crowded(self) -> bool:
        """Half full or more: the socket's reader should yield to the event
        loop before its next frame, so a consumer that keeps up is not
        overrun by one burst (a single socket read can hold thousands of
        small frames, all parsed and queued without the reader yielding)."""
        return self.limit is not None and 2 * len(self.items) >= self.limit

    def overflow_error(self) -> SubscriptionError:
        """The error ending a subscription whose full queue overflowed
        under ``overflow="error"``."""
        return SubscriptionError(
            f"the subscription's consumer fell behind: {self.limit} events were "
            "queued when another arrived (overflow='error')"
        )

    def _end_with(self, item: SubscriptionError | object) -> None:
        self.ending = item
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self) -> _Item | SubscriptionError | object:
        """The next event; then the error or ``_END`` that ended the queue."""
        while not self.items and self.ending is None:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        if self.dropped:
            # The dropped events came just before the oldest still queued.
            dropped, self.dropped = self.dropped, 0
            self.emit(
                ConnectionState.OVERFLOW,
                reason=f"the consumer fell behind: {dropped} events dropped",
                dropped=dropped,
            )
        if self.items:
            return self.items.popleft()
        return self.ending

    def emit(
        self,
        state: ConnectionState,
        attempt: int = 0,
        reason: str | None = None,
        dropped: int = 0,
    ) -> None:
        if (
            self.closed
            and self.quiet_after_close
            and state is not ConnectionState.OVERFLOW
        ):
            return  # an OVERFLOW still announces a gap before a queued event
        if state is ConnectionState.CLOSED:
            self.closed = True
        event = ConnectionEvent(
            state, attempt, redact(reason) if reason else None, dropped
        )
        for callback in self.callbacks:
            try:
                callback(event)
            except Exception:
                self.logger.exception("An on_state callback raised; ignored")

    def fail(self, error: SubscriptionError) -> None:
        """End with ``error``: the consumer's iterator raises it."""
        if self.done:
            return
        self.done = True
        self._end_with(error)
        self.emit(ConnectionState.CLOSED, 0, str(error))

    def finish(self) -> None:
        """End normally (the server completed it, or the client closed)."""
        if self.done:
            return
        self.done = True
        self._end_with(_END)
        self.emit(ConnectionState.CLOSED)


class _Subscription(EventQueue[Data]):
    """A consumer's GraphQL subscription; outlives the sockets that carry it."""

    __slots__ = ("ack", "conn", "data", "ident", "task")

    def __init__(
        self,
        data: str,
        callbacks: Sequence[StateCallback],
        limit: int | None = DEFAULT_MAX_QUEUED_EVENTS,
        overflow: OverflowPolicy = "drop_oldest",
    ) -> None:
        super().__init__(callbacks, limit, overflow)
        self.data = data
        self.conn: _Connection | None = None
        self.ident: str | None = None
        self.ack: asyncio.Future[Frame] | None = None
        self.task: asyncio.Task[None] | None = None


# -- one WebSocket (and its reconnections) -----------------------------------


class _Connection:
    """One logical connection: a socket, re-opened as often as needed."""

    def __init__(self, client: RealtimeClient, number: int) -> None:
        self.client = client
        self.number = number
        self.capacity = client._max_per_connection
        self.subs: set[_Subscription] = set()
        self.by_id: dict[str, _Subscription] = {}
        self.ws: _WebSocket | None = None
        self.closing = False
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._lost: asyncio.Future[str | None] | None = None
        self._last_frame = 0.0
        self._crowded = False  # a queue is half full: yield after this frame
        self._keep_alive = DEFAULT_KEEP_ALIVE_MS / 1000
        self._watchdog: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._socket_tasks: set[asyncio.Task[Any]] = set()
        self._task = self._loop.create_task(self._run())

    def has_room(self) -> bool:
        return not self.closing and len(self.subs) < self.capacity

    # -- subscriptions coming and going ---------------------------------------

    def add(self, sub: _Subscription) -> None:
        self.subs.add(sub)
        sub.conn = self
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        self._changed.set()
        if self.ws is not None:
            self._start_soon(sub)

    def remove(self, sub: _Subscription, *, stop: bool = True) -> None:
        """Detach ``sub``; send ``stop`` if the server knows its current id."""
        if sub.conn is not self:
            return
        self.subs.discard(sub)
        sub.conn = None
        if sub.task is not None and sub.task is not asyncio.current_task():
            sub.task.cancel()
        sub.task = None
        ident, sub.ident = sub.ident, None
        if ident is not None:
            self.by_id.pop(ident, None)
            if stop:
                self._stop(ident)
        self._changed.set()
        if not self.subs and self.ws is not None and self._linger is None:
            self._linger = self._loop.call_later(self.client._linger, self._idle)

    def _idle(self) -> None:
        self._linger = None
        if self.subs or self._lost is None or self._lost.done():
            return
        log.debug("Real-time connection %s idle: closing", self.number)
        self.closing = True
        self.client._forget(self)
        self._lost.set_result(None)

    # -- the supervisor ------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        auth_failures = 0
        reason: str | None = None
        refresh = False
        try:
            while self.subs:
                if failures:
                    for sub in list(self.subs):
                        sub.emit(ConnectionState.RECONNECTING, failures, reason)
                    if not await self._pause(self.client._backoff(failures)):
                        break
                    self.client._check_attempts(self, failures, reason)
                    if not self.subs:
                        break
                if refresh:
                    refresh = False
                    await self.client._refresh_credentials()
                try:
                    ws, keep_alive = await self._open()
                except _HandshakeRejected as exc:
                    failures += 1
                    reason = f"connection refused: {exc}"
                    # A skewed clock is cured by the learned offset, not by
                    # new credentials.
                    refresh = exc.auth and not self.client._learn_skew(exc.errors)
                    auth_failures = auth_failures + 1 if exc.auth else 0
                    if auth_failures >= _MAX_AUTH_FAILURES:
                        self._fail_all(exc.errors, f"connection refused: {exc}")
                    log.warning("Real-time connection refused: %s", exc)
                    continue
                except CredentialsError as exc:
                    failures += 1
                    auth_failures += 1
                    reason = f"no credentials: {exc}"
                    if auth_failures >= _MAX_AUTH_FAILURES:
                        self._fail_all([], reason)
                    continue
                except aiohttp.WSServerHandshakeError as exc:
                    # AppSync may refuse the upgrade itself with 401/403 (§2.7).
                    failures += 1
                    reason = f"connect failed: {_describe(exc)}"
                    refresh = exc.status in (401, 403)
                    auth_failures = auth_failures + 1 if refresh else 0
                    if auth_failures >= _MAX_AUTH_FAILURES:
                        self._fail_all([], reason)
                    continue
                except (
                    aiohttp.ClientError,
                    OSError,
                    asyncio.TimeoutError,
                    ProtocolError,
                    _Gone,
                ) as exc:
                    failures += 1
                    reason = f"connect failed: {_describe(exc)}"
                    log.info("Real-time connect failed: %s", reason)
                    continue
                auth_failures = 0
                started = self._loop.time()
                reason = await self._serve(ws, keep_alive)
                if reason is None:
                    break
                log.info("Real-time connection %s lost: %s", self.number, reason)
                stable = self._loop.time() - started >= _STABLE_AFTER
                failures = 1 if stable else failures + 1
        except Exception as exc:
            log.exception("Real-time connection %s failed unexpectedly", self.number)
            self._fail_all([], f"unexpected {type(exc).__name__}")
        finally:
            self.closing = True
            self.client._forget(self)
            self._fail_all([], "the connection was shut down")

    async def _pause(self, delay: float) -> bool:
        """Sleep ``delay`` s; False as soon as no subscription is left."""
        deadline = self._loop.time() + delay
        while self.subs:
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                return True
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return False

    def _fail_all(self, errors: Sequence[dict[str, Any]], reason: str) -> None:
        error = SubscriptionError(
            f"AppSync real-time connection failed for good: {reason}",
            errors=errors,
            connection_lost=True,
        )
        for sub in list(self.subs):
            self.remove(sub, stop=False)
            sub.fail(error)

    # -- one socket ----------------------------------------------------------------

    async def _open(self) -> tuple[_WebSocket, float]:
        """Sign the handshake now, connect, ``connection_init`` → ``connection_ack``."""
        transport = self.client._transport
        endpoint = transport.endpoint
        credentials = await transport.credentials.get_frozen()
        # Protocol doc §2.3: the handshake signs POST <graphql_url>/connect,
        # body {}, with the three constant headers; host is the GraphQL host.
        headers = transport.signer.sign(
            "POST",
            endpoint.connect_url,
            REALTIME_HEADERS,
            CONNECT_BODY,
            credentials,
            now=transport.now(),
            include_content_sha256=False,
        )
        url: str | URL = endpoint.realtime_url
        protocols: tuple[str, ...] = (SUBPROTOCOL, header_subprotocol(headers))
        if transport.realtime_auth == "query":
            url = URL(f"{endpoint.realtime_url}?{header_query(headers)}", encoded=True)
            protocols = (SUBPROTOCOL,)
        session = await self.client._session()
        ws = await asyncio.wait_for(
            session.ws_connect(
                url,
                protocols=protocols,
                autoping=True,
                timeout=aiohttp.ClientWSTimeout(
                    ws_receive=None, ws_close=_CLOSE_TIMEOUT
                ),
            ),
            self.client._connect_timeout,
        )
        try:
            await ws.send_str(connection_init_frame())
            ack = await asyncio.wait_for(self._await_ack(ws), self.client._ack_timeout)
        except BaseException:
            await self._close_ws(ws)
            raise
        keep_alive = ack.connection_timeout_ms or DEFAULT_KEEP_ALIVE_MS
        log.info(
            "Real-time connection %s open to %s (keep-alive %s ms)",
            self.number,
            endpoint.realtime_url,
            keep_alive,
        )
        return ws, keep_alive / 1000

    @staticmethod
    async def _await_ack(ws: _WebSocket) -> ConnectionAck:
        while True:
            message = await ws.receive()
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                raise _Gone(f"the server closed the socket (code {ws.close_code})")
            frame = parse_frame(message.data)
            if isinstance(frame, ConnectionAck):
                return frame
            if isinstance(frame, (ConnectionErrorFrame, Error)):
                raise _HandshakeRejected(frame.errors)
            # ka may arrive before the ack (§2.4); anything else is ignored.

    async def _serve(self, ws: _WebSocket, keep_alive: float) -> str | None:
        """Carry subscriptions over ``ws`` until it is lost (reason) or idle (None)."""
        self.ws = ws
        self._keep_alive = keep_alive
        self._last_frame = self._loop.time()
        lost: asyncio.Future[str | None] = self._loop.create_future()
        self._lost = lost
        self._watchdog = self._loop.call_later(keep_alive, self._check_keep_alive)
        reader = self._loop.create_task(self._read(ws, lost))
        for sub in list(self.subs):
            self._start_soon(sub)
        if not self.subs:
            self._linger = self._loop.call_later(self.client._linger, self._idle)
        try:
            return await lost
        finally:
            self.ws = None
            self._lost = None
            for handle in (self._watchdog, self._linger):
                if handle is not None:
                    handle.cancel()
            self._watchdog = self._linger = None
            reader.cancel()
            tasks = [reader, *self._socket_tasks]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._socket_tasks.clear()
            self.by_id.clear()
            for sub in self.subs:
                sub.ident = None
                sub.task = None
            # Do not wait for a close handshake the peer may never answer.
            self.client._spawn(self._close_ws(ws))

    def _check_keep_alive(self) -> None:
        """Keep-alive watchdog: any frame within the budget keeps the socket (§2.5)."""
        lost = self._lost
        if lost is None or lost.done():
            return
        due = self._last_frame + self._keep_alive
        now = self._loop.time()
        if now < due:
            self._watchdog = self._loop.call_later(due - now, self._check_keep_alive)
            return
        lost.set_result(f"no keep-alive within {int(self._keep_alive * 1000)} ms")

    async def _read(self, ws: _WebSocket, lost: asyncio.Future[str | None]) -> None:
        reason = "the connection closed"
        try:
            async for message in ws:
                if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    self._last_frame = self._loop.time()
                    try:
                        frame = parse_frame(message.data)
                    except ProtocolError as exc:
                        log.warning("Ignored a real-time frame: %s", exc)
                        continue
                    self._dispatch(frame)
                    if lost.done():
                        return
                    if self._crowded:
                        self._crowded = False
                        await asyncio.sleep(0)  # let its consumer catch up
                elif message.type == aiohttp.WSMsgType.ERROR:
                    reason = (
                        f"connection error: {_describe(ws.exception() or Exception())}"
                    )
                    break
            else:
                reason = f"the server closed the connection (code {ws.close_code})"
        except Exception as exc:  # a reset surfaces here on some platforms
            reason = f"connection error: {_describe(exc)}"
        if not lost.done():
            lost.set_result(reason)

    def _dispatch(self, frame: Frame) -> None:
        if isinstance(frame, Data):
            sub = self.by_id.get(frame.id)
            if sub is not None and not sub.push(frame):
                self._overflowed(sub)
            elif sub is not None and sub.crowded:
                self._crowded = True
        elif isinstance(frame, KeepAlive):
            pass
        elif isinstance(frame, StartAck):
            self._resolve(frame.id, frame)
        elif isinstance(frame, Error):
            self._on_error(frame)
        elif isinstance(frame, Complete):
            self._on_complete(frame.id)
        elif isinstance(frame, ConnectionErrorFrame):
            if self._lost is not None and not self._lost.done():
                self._lost.set_result(f"connection error: {_summary(frame.errors)}")

    def _resolve(self, ident: str, frame: Frame) -> bool:
        sub = self.by_id.get(ident)
        if sub is None or sub.ack is None or sub.ack.done() or sub.ident != ident:
            return False
        sub.ack.set_result(frame)
        return True

    def _on_error(self, frame: Error) -> None:
        if frame.id is not None:
            if self._resolve(frame.id, frame):
                return
            sub = self.by_id.get(frame.id)
            if sub is not None:  # the server ended a live subscription
                self.remove(sub, stop=False)
                sub.fail(_subscription_error(frame.errors, "ended by AppSync"))
            return
        if _has(frame.errors, _THROTTLE_TYPES):
            # A throttled start (§2.4): fail the starts in flight, not the socket;
            # each backs off and tries again.
            log.info("Real-time: starts throttled: %s", _summary(frame.errors))
            for sub in list(self.by_id.values()):
                if sub.ack is not None and not sub.ack.done() and sub.ident is not None:
                    sub.ack.set_result(frame)
            return
        log.warning("Real-time connection error frame: %s", _summary(frame.errors))

    def _on_complete(self, ident: str) -> None:
        sub = self.by_id.pop(ident, None)
        if sub is not None and sub.ident == ident:
            self.remove(sub, stop=False)
            sub.finish()

    # -- start / stop ---------------------------------------------------------------

    def _start_soon(self, sub: _Subscription) -> None:
        if sub.task is None or sub.task.done():
            sub.task = self._spawn(self._start(sub))

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = self._loop.create_task(coro)
        self._socket_tasks.add(task)
        task.add_done_callback(self._socket_tasks.discard)
        return task

    async def _start(self, sub: _Subscription) -> None:
        """``start`` signed now over the exact data string; retry what is retryable."""
        try:
            await self._start_until_settled(sub)
        except (CredentialsError, ValueError) as exc:  # e.g. unusable credentials
            self._end(sub, SubscriptionError(f"cannot sign the subscription: {exc}"))

    async def _start_until_settled(self, sub: _Subscription) -> None:
        throttled = timeouts = 0
        refreshed = False
        while sub.conn is self and self.ws is not None:
            frame = await self._start_once(sub)
            if isinstance(frame, StartAck):
                sub.emit(ConnectionState.CONNECTED)
                return
            if frame is None:  # no start_ack in time
                timeouts += 1
                if timeouts >= self.client._max_start_attempts:
                    self._end(
                        sub,
                        SubscriptionError(
                            "AppSync did not acknowledge the subscription in time"
                        ),
                    )
                    return
                await asyncio.sleep(self.client._backoff(timeouts))
            elif _has(frame.errors, _THROTTLE_TYPES):
                throttled += 1
                await asyncio.sleep(self.client._backoff(throttled))
            elif _has(frame.errors, _FULL_TYPES):
                self._move(sub)
                return
            elif _is_auth(frame.errors) and not refreshed:
                refreshed = True
                if not self.client._learn_skew(frame.errors):
                    await self.client._refresh_credentials()
            else:
                self._end(sub, _subscription_error(frame.errors, "rejected by AppSync"))
                return

    async def _start_once(self, sub: _Subscription) -> Error | StartAck | None:
        transport = self.client._transport
        credentials = await transport.credentials.get_frozen()
        # Protocol doc §2.3: a start signs POST <graphql_url> with the exact
        # data string as its body, freshly dated.
        authorization = transport.signer.sign(
            "POST",
            transport.endpoint.graphql_url,
            REALTIME_HEADERS,
            sub.data.encode(),
            credentials,
            now=transport.now(),
            include_content_sha256=False,
        )
        ident = str(uuid.uuid4())
        sub.ident = ident
        sub.ack = ack = self._loop.create_future()
        self.by_id[ident] = sub
        if not await self._send_quietly(start_frame(ident, sub.data, authorization)):
            await asyncio.Future()  # the reader notices the loss and cancels us
        try:
            frame = await asyncio.wait_for(ack, self.client._start_ack_timeout)
        except asyncio.TimeoutError:
            frame = None
        if isinstance(frame, StartAck):
            return frame
        self.by_id.pop(ident, None)
        sub.ident = None
        if frame is None:
            self._stop(ident)
            return None
        assert isinstance(frame, Error)
        return frame

    def _end(self, sub: _Subscription, error: SubscriptionError) -> None:
        log.info("Real-time subscription ended: %s", error)
        self.remove(sub, stop=False)
        sub.fail(error)

    def _overflowed(self, sub: _Subscription) -> None:
        """``overflow="error"``: end ``sub`` and tell AppSync to stop it."""
        error = sub.overflow_error()
        log.warning("Real-time subscription ended: %s", error)
        self.remove(sub)  # sends stop
        sub.fail(error)

    def _move(self, sub: _Subscription) -> None:
        """The server's quota is below ours: shrink ours, place ``sub`` elsewhere."""
        self.capacity = max(1, len(self.subs) - 1)
        log.info(
            "Real-time connection %s is full at %s subscriptions",
            self.number,
            self.capacity,
        )
        self.remove(sub, stop=False)
        self.client._place(sub)

    def _stop(self, ident: str) -> None:
        """Send ``stop`` in the background; it is not cancelled with the socket."""
        if self.ws is not None:
            self.client._spawn(self._send_quietly(stop_frame(ident), self.ws))

    async def _send_quietly(self, text: str, ws: _WebSocket | None = None) -> bool:
        ws = ws or self.ws
        if ws is None or ws.closed:
            return False
        try:
            await ws.send_str(text)
        except (ConnectionError, RuntimeError, aiohttp.ClientError):
            return False
        return True

    @staticmethod
    async def _close_ws(ws: _WebSocket) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), _CLOSE_TIMEOUT)

    async def aclose(self) -> None:
        self.closing = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _subscription_error(
    errors: Sequence[dict[str, Any]], what: str
) -> SubscriptionError:
    return SubscriptionError(f"subscription {what}: {_summary(errors)}", errors=errors)


# -- the public client ------------------------------------------------------------


class RealtimeClient:
    """AppSync subscriptions over IAM-signed WebSockets, for one transport.

    ``transport`` is anything with ``endpoint``, ``credentials``, ``signer``,
    ``session``, ``realtime_auth`` and ``now()`` (see
    :class:`RealtimeTransport`); ``AppSyncIAMTransport`` is one. Timeouts and
    backoff are in seconds; the backoff before reconnect attempt *n* is
    uniform in ``[0, min(backoff_cap, backoff_base * 2**(n-1))]`` (full
    jitter). Each subscription queues at most ``max_queued_events`` events
    for its consumer; ``overflow`` says what a full queue does (see the
    module docs: ``"drop_oldest"``, reported as ``OVERFLOW``, or
    ``"error"``). Example::

        realtime = RealtimeClient(transport)
        async for data in realtime.subscribe(
            "subscription OnMessage($room: ID!) { onMessage(roomId: $room) { text } }",
            {"room": "r1"},
        ):
            print(data["onMessage"]["text"])
        await realtime.close()

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        transport: RealtimeTransport,
        *,
        connect_timeout: float = 15.0,
        ack_timeout: float = 15.0,
        start_ack_timeout: float = 15.0,
        linger: float = 1.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        max_attempts: int | None = None,
        max_start_attempts: int = 3,
        max_subscriptions_per_connection: int = MAX_SUBSCRIPTIONS_PER_CONNECTION,
        max_queued_events: int | None = DEFAULT_MAX_QUEUED_EVENTS,
        overflow: OverflowPolicy = "drop_oldest",
        rand: Callable[[], float] = random.random,
    ) -> None:
        _check_values(
            {
                "connect_timeout": connect_timeout,
                "ack_timeout": ack_timeout,
                "start_ack_timeout": start_ack_timeout,
                "linger": linger,
                "backoff_base": backoff_base,
                "backoff_cap": backoff_cap,
                "max_attempts": max_attempts,
                "max_start_attempts": max_start_attempts,
                "max_subscriptions_per_connection": max_subscriptions_per_connection,
                "max_queued_events": max_queued_events,
                "overflow": overflow,
            }
        )
        self._transport = transport
        self._connect_timeout = connect_timeout
        self._ack_timeout = ack_timeout
        self._start_ack_timeout = start_ack_timeout
        self._linger = max(0.0, linger)
        self._backoff_base = max(0.0, backoff_base)
        self._backoff_cap = backoff_cap
        self._max_attempts = max_attempts
        self._max_start_attempts = max_start_attempts
        self._max_per_connection = max_subscriptions_per_connection
        self._max_queued = max_queued_events
        self._overflow: OverflowPolicy = overflow
        self._rand = rand
        self._connections: list[_Connection] = []
        self._numbers = 0
        self._own_session: aiohttp.ClientSession | None = None
        self._refreshing: asyncio.Future[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._subs: set[_Subscription] = set()
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<RealtimeClient {self._transport.endpoint.realtime_url} "
            f"connections={len(self._connections)} subscriptions={len(self._subs)}>"
        )

    @property
    def connection_count(self) -> int:
        """Logical connections open or reconnecting right now."""
        return len(self._connections)

    # -- subscribing ----------------------------------------------------------------

    async def subscribe(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        on_state: StateCallback | Iterable[StateCallback] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Yield each event's ``data`` until the consumer leaves or it fails.

        Raises :class:`~appsync_iam.SubscriptionError` when the subscription
        is rejected (validation, ``Unauthorized``, a bad ``start`` signature
        even after refreshing credentials) or ends with an error, including
        a ``data`` event that carries ``errors``. Leaving the loop (``break``,
        cancellation, ``aclose()``) sends ``stop``. ``on_state`` gets a
        :class:`ConnectionEvent` per state change: ``CONNECTING``, then
        ``CONNECTED`` once the subscription is acknowledged,
        ``RECONNECTING`` for each lost or failed connection (events may have
        been missed until the next ``CONNECTED``: re-query if that matters),
        ``OVERFLOW`` (``dropped`` events discarded because this consumer fell
        ``max_queued_events`` behind, reported just before the next event),
        ``CLOSED`` at the end.
        """
        frames = self._frames(query, variables, operation_name, on_state)
        async with contextlib.aclosing(frames):
            async for frame in frames:
                if frame.errors:
                    raise _subscription_error(frame.errors, "event carried errors")
                yield frame.data

    async def subscribe_frames(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        on_state: StateCallback | Iterable[StateCallback] | None = None,
    ) -> AsyncGenerator[Data, None]:
        """Like :meth:`subscribe`, but yield whole :class:`Data` frames
        (``data`` and ``errors``) instead of raising on event errors."""
        frames = self._frames(query, variables, operation_name, on_state)
        async with contextlib.aclosing(frames):
            async for frame in frames:
                yield frame

    async def _frames(
        self,
        query: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        on_state: StateCallback | Iterable[StateCallback] | None,
    ) -> AsyncGenerator[Data, None]:
        if self._closed:
            raise RuntimeError("RealtimeClient is closed")
        callbacks: list[StateCallback] = []
        if callable(on_state):
            callbacks.append(on_state)
        elif on_state is not None:
            callbacks.extend(on_state)
        # Serialized once: every start of this subscription signs these bytes.
        sub = _Subscription(
            request_data(query, variables, operation_name),
            callbacks,
            self._max_queued,
            self._overflow,
        )
        self._subs.add(sub)
        try:
            sub.emit(ConnectionState.CONNECTING)
            self._place(sub)
            while True:
                item = await sub.next()
                if isinstance(item, Data):
                    yield item
                elif isinstance(item, SubscriptionError):
                    raise item
                else:
                    return
        finally:
            self._subs.discard(sub)
            if sub.conn is not None:
                sub.conn.remove(sub)
            if not sub.done:
                sub.done = True
                sub.emit(ConnectionState.CLOSED)

    def _place(self, sub: _Subscription) -> None:
        for conn in self._connections:
            if conn.has_room():
                conn.add(sub)
                return
        self._numbers += 1
        conn = _Connection(self, self._numbers)
        self._connections.append(conn)
        conn.add(sub)

    def _forget(self, conn: _Connection) -> None:
        with contextlib.suppress(ValueError):
            self._connections.remove(conn)

    # -- shared helpers for connections ---------------------------------------------

    def _backoff(self, attempt: int) -> float:
        ceiling = min(
            self._backoff_cap, self._backoff_base * 2.0 ** min(attempt - 1, 30)
        )
        return self._rand() * ceiling

    def _check_attempts(
        self, conn: _Connection, failures: int, reason: str | None
    ) -> None:
        if self._max_attempts is not None and failures >= self._max_attempts:
            conn._fail_all([], f"gave up after {failures} attempts: {reason}")

    def _learn_skew(self, errors: Sequence[Mapping[str, Any]]) -> bool:
        """Adopt the server's clock from a "Signature expired" rejection.

        The offset goes to the transport (when it learns offsets, as
        ``AppSyncIAMTransport`` does), so HTTP requests benefit too.
        """
        learn = getattr(self._transport, "learn_clock_offset", None)
        if learn is None:
            return False
        for error in errors:
            server_time = server_time_from_message(str(error.get("message", "")))
            if server_time is not None:
                offset = float(getattr(self._transport, "clock_offset", 0.0))
                local = self._transport.now() - offset
                log.warning("Real-time: signature rejected for clock skew")
                learn(server_time - local)
                return True
        return False

    async def _refresh_credentials(self) -> None:
        """Force a credential refresh once, however many callers ask at once."""
        if self._refreshing is not None:
            await asyncio.shield(self._refreshing)
            return
        self._refreshing = asyncio.get_running_loop().create_future()
        try:
            log.info("Real-time: refreshing credentials after an auth rejection")
            await self._transport.credentials.refresh()
        except Exception as exc:  # the next attempt tells whether it mattered
            log.warning(
                "Real-time: credential refresh failed: %s", redact(str(exc))[:200]
            )
        finally:
            self._refreshing.set_result(None)
            self._refreshing = None

    async def _session(self) -> aiohttp.ClientSession:
        session = self._transport.session
        if session is not None and not session.closed:
            return session
        if self._own_session is None or self._own_session.closed:
            self._own_session = aiohttp.ClientSession()
        return self._own_session

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- lifecycle ---------------------------------------------------------------

    async def close(self) -> None:
        """End every subscription (its iterator raises :class:`SubscriptionError`)
        and close every connection. Idempotent."""
        self._closed = True
        error = SubscriptionError(
            "the real-time client was closed", connection_lost=True
        )
        for sub in list(self._subs):
            if sub.conn is not None:
                sub.conn.remove(sub)
            sub.fail(error)
        for conn in list(self._connections):
            await conn.aclose()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._own_session is not None:
            await self._own_session.close()
            self._own_session = None

    async def __aenter__(self) -> RealtimeClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
