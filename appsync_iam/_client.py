"""``AppSyncClient``: the facade over the signed HTTP path (:class:`SignedHTTP`).

Architecture decision 5: concurrency-safe and loop-aware. All calls on one
event loop share one aiohttp session; a call on a new loop (a Lambda handler
that runs ``asyncio.run`` per invocation) gets a new session, and the old one
is closed when its loop shuts down: ``asyncio.run`` calls
``loop.shutdown_asyncgens()``, which closes the small async generator that
keeps each session (``_keep_open``).

The facade imports neither gql nor graphql-core (a Lambda cold start does not
pay for them): query strings are checked by :mod:`._document`, and gql
requests or graphql-core documents are recognised only when their modules are
already loaded (an object cannot be a ``GraphQLRequest`` before
``gql.graphql_request`` was imported).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import sys
import threading
import time
import warnings
import weakref
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable, Mapping
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeGuard, final

from ._batch import BatchRun, Variables
from ._document import Operation, parse_operation
from ._endpoint import AppSyncEndpoint
from ._errors import ConfigurationError
from ._http import RealtimeAuth, SignedHTTP, lower_headers
from ._rate import Rate, as_limiter
from ._realtime import RealtimeOptions, StateCallback
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from gql import GraphQLRequest
    from graphql import DocumentNode

    Query: TypeAlias = str | DocumentNode | GraphQLRequest

__all__ = ["AppSyncClient"]

_OPERATION_CACHE_SIZE: Final = 512
_STOP_TIMEOUT: Final = 10.0


class _LoopState:
    """One event loop's open HTTP path and the generator that closes it."""

    __slots__ = ("http", "keeper")

    def __init__(self, http: SignedHTTP, keeper: AsyncGenerator[None, None]) -> None:
        self.http = http
        self.keeper = keeper


async def _keep_open(
    http: SignedHTTP,
    states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState],
) -> AsyncGenerator[None, None]:
    # Suspended at ``yield`` for the loop's lifetime. ``asyncio.run`` (and
    # pytest's runner) call ``shutdown_asyncgens()`` before closing the loop,
    # which runs the ``finally`` below on that loop: the session is closed
    # where it was opened. No strong reference to the loop is held here.
    try:
        yield
    finally:
        states.pop(asyncio.get_running_loop(), None)
        await http.close()


class _LoopThread:
    """A private event loop in a daemon thread, for the blocking ``execute``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self._run, name="appsync-iam-execute", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. KeyboardInterrupt: don't leave it running
            raise

    def stop(self) -> None:
        """Close what lives on the loop (its sessions), then end the thread."""
        if self.loop.is_closed():
            return
        if self.thread.is_alive():
            shutdown = asyncio.run_coroutine_threadsafe(
                self.loop.shutdown_asyncgens(), self.loop
            )
            try:
                shutdown.result(_STOP_TIMEOUT)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(_STOP_TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()


@final
class AppSyncClient:
    """An async client for one AppSync API, signed with IAM (SigV4).

    Example::

        client = AppSyncClient(
            "https://abc.appsync-api.eu-west-1.amazonaws.com/graphql")
        data = await client.execute_async(
            "mutation Post($room: ID!, $text: String!) {"
            " postMessage(roomId: $room, text: $text) { id } }",
            {"room": "r1", "text": "héllo"},
        )

    Safe to share: hundreds of concurrent calls on one client share one
    aiohttp session (``max_connections`` connections) per event loop. A
    module-level client keeps working when each call runs under a new
    ``asyncio.run`` (the Lambda handler pattern); the session of a finished
    loop is closed when that loop shuts down. ``async with client:`` or
    ``await client.close()`` closes it for good; without them the client
    opens lazily. The blocking :meth:`execute` runs on a private background
    loop, reused across calls.

    ``credentials`` is None (the default chain: environment, then botocore's),
    a :class:`FrozenCredentials`, a credential source or an async callable.
    See :class:`AppSyncIAMTransport` for the other arguments, and
    :class:`RetryPolicy` for what is retried. Errors are those of
    ``appsync_iam`` (without the gql bases the transport adds: this class
    never imports gql or graphql-core).

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "__weakref__",
        "_atexit",
        "_closed",
        "_lock",
        "_loops",
        "_operations",
        "_runner",
        "_template",
    )

    def __init__(
        self,
        url: str,
        *,
        region: str | None = None,
        credentials: object = None,
        profile: str | None = None,
        realtime_url: str | None = None,
        realtime_auth: RealtimeAuth = "subprotocol",
        timeout: float = 30,
        max_connections: int = 100,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        realtime_options: RealtimeOptions | None = None,
    ) -> None:
        self._template = SignedHTTP(
            url,
            region=region,
            credentials=credentials,
            profile=profile,
            realtime_url=realtime_url,
            realtime_auth=realtime_auth,
            timeout=timeout,
            retry=retry,
            clock=clock,
            max_connections=max_connections,
            realtime_options=realtime_options,
        )
        self._loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, _LoopState
        ] = weakref.WeakKeyDictionary()
        self._operations: dict[str, Operation] = {}
        self._closed = False
        self._lock = threading.Lock()
        self._runner: _LoopThread | None = None
        self._atexit: Callable[[], None] | None = None

    def __repr__(self) -> str:
        endpoint = self._template.endpoint
        return (
            f"appsync_iam.AppSyncClient(url={endpoint.graphql_url!r}, "
            f"region={endpoint.region!r})"
        )

    @property
    def endpoint(self) -> AppSyncEndpoint:
        """The API's URLs and region."""
        return self._template.endpoint

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of every request."""
        return self._template.retry

    @property
    def clock_offset(self) -> float:
        """Seconds added to the local clock, learned from AppSync's ``Date``."""
        return self._template.clock_offset

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    # --- queries ----------------------------------------------------------------

    async def execute_async(
        self,
        query: Query,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Run a query or mutation; return the answer's ``data``.

        ``query`` is a string (sent as written; parsed once and cached, so a
        syntax error raises :class:`ConfigurationError` before any request)
        or a parsed document: gql's ``gql(...)`` request (its variables and
        operation name are used unless given here) or a graphql-core
        ``DocumentNode``. ``headers`` are sent and signed.

        Raises :class:`GraphQLResponseError` (``.errors``, partial ``.data``),
        :class:`HTTPStatusError` subclasses, or :class:`TransportError`
        (``.sent``) once retries are exhausted.
        """
        if type(query) is not str and _is_gql_request(query):
            query, variables, operation_name = _unpack(query, variables, operation_name)
        operation, is_mutation = self._operation(query, operation_name)
        state = self._loops.get(asyncio.get_running_loop())
        if state is not None:
            http = state.http
        else:
            http = await self._open_on_this_loop()
        result = await http.request(
            operation.text,
            variables,
            operation_name=operation_name,
            is_mutation=is_mutation,
            headers=lower_headers(headers) if headers else None,
        )
        data: dict[str, Any] = result["data"]
        return data

    def execute_many(
        self,
        query: Query,
        variables_iterable: Iterable[Variables] | AsyncIterable[Variables],
        *,
        operation_name: str | None = None,
        concurrency: int = 32,
        ordered: bool = True,
        rate: Rate = None,
    ) -> BatchRun:
        """Run one operation once per variables mapping, ``concurrency`` at a time.

        Returns an async iterator of :class:`BatchResult` (``.index``,
        ``.variables``, ``.data``, ``.error``, ``.ok``). The input (sync or
        async iterable) is read lazily, never more than ``concurrency``
        items ahead of the oldest unfinished one; a failed item never stops
        the others. ``ordered=False`` yields results as they complete::

            async for r in client.execute_many(MUTATION, rows, concurrency=64):
                if not r.ok:
                    failed.append((r.index, r.error))

        ``rate`` paces the attempts (retries included): a number of requests
        per second (a :class:`TokenBucket`), ``"adaptive"`` (an
        :class:`AdaptiveRateLimiter` learning the rate from throttling, new
        for this batch), or a limiter object to share between batches.
        """
        if _is_gql_request(query):
            query, _, operation_name = _unpack(query, None, operation_name)
        operation, is_mutation = self._operation(query, operation_name)
        text = operation.text
        limiter = as_limiter(rate)

        async def call(variables: Variables) -> dict[str, Any]:
            http = await self._http()
            result = await http.request(
                text,
                variables,
                operation_name=operation_name,
                is_mutation=is_mutation,
                limiter=limiter,
            )
            data: dict[str, Any] = result["data"]
            return data

        return BatchRun(
            call, variables_iterable, concurrency=concurrency, ordered=ordered
        )

    def execute(
        self,
        query: Query,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Blocking :meth:`execute_async`, for scripts and sync Lambda handlers.

        Runs on a private event loop thread owned by the client (started on
        first use, reused so connections are kept, stopped by
        :meth:`close_sync`, :meth:`close` or at exit). Inside a running event
        loop it raises :class:`RuntimeError`: await :meth:`execute_async`.
        """
        _refuse_inside_loop("execute", "await client.execute_async(...)")
        if _is_gql_request(query):
            query, variables, operation_name = _unpack(query, variables, operation_name)
        self._operation(query, operation_name)  # syntax errors: in this thread
        runner = self._ensure_runner()
        result: dict[str, Any] = runner.run(
            self.execute_async(
                query, variables, operation_name=operation_name, headers=headers
            )
        )
        return result

    # --- subscriptions --------------------------------------------------------------

    async def subscribe(
        self,
        query: Query,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        on_state: StateCallback | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Yield each event's ``data`` of an IAM-signed real-time subscription.

        Example::

            async for data in client.subscribe(
                "subscription S($room: ID) { onMessagePosted(roomId: $room) "
                "{ content } }",
                {"room": "r1"},
                on_state=lambda event: print(event.state, event.reason),
            ):
                print(data["onMessagePosted"]["content"])

        Survives drops, the 24 h limit and credential rotation: every
        reconnection and ``start`` is signed afresh and the subscription is
        started again. ``on_state`` (a sync callable) receives a
        :class:`ConnectionEvent` per change; ``RECONNECTING`` marks a gap in
        which events may have been missed. Leaving the loop sends ``stop``.
        Raises :class:`SubscriptionError` when AppSync rejects or ends the
        subscription. See :class:`RealtimeClient`.
        """
        if type(query) is not str and _is_gql_request(query):
            query, variables, operation_name = _unpack(query, variables, operation_name)
        operation = self._subscription(query, operation_name)
        http = await self._http()
        events = http.realtime.subscribe(
            operation.text, variables, operation_name, on_state=on_state
        )
        async with contextlib.aclosing(events):
            async for data in events:
                yield data

    def _subscription(self, query: object, operation_name: str | None) -> Operation:
        operation = self._document(query)
        if operation.kind(operation_name) != "subscription":
            raise ConfigurationError(
                "subscribe runs subscriptions; use execute_async for queries "
                "and mutations (or pass operation_name=...)"
            )
        return operation

    # --- documents ----------------------------------------------------------------

    def _operation(
        self, query: object, operation_name: str | None
    ) -> tuple[Operation, bool]:
        operation = self._document(query)
        kind = operation.kind(operation_name)
        if kind is None or kind == "subscription":
            _bad_operation(operation, operation_name, kind)
        return operation, kind == "mutation"

    def _document(self, query: object) -> Operation:
        if type(query) is str:
            return self._operations.get(query) or self._parse(query)
        if _is_document(query):
            # The caller parsed it with graphql-core, so gql's printing
            # helpers cost nothing more to import.
            from ._printed import document_operation

            return document_operation(query)
        raise TypeError(
            "query must be a GraphQL string, a gql(...) request or a parsed "
            f"DocumentNode, not {type(query).__name__}"
        )

    def _parse(self, query: str) -> Operation:
        operation = parse_operation(query)  # ConfigurationError: nothing sent
        cache = self._operations
        if len(cache) >= _OPERATION_CACHE_SIZE:
            # Oldest first; execute() may race the background loop here.
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                del cache[next(iter(cache))]
        cache[query] = operation
        return operation

    # --- per-loop sessions ---------------------------------------------------

    async def _http(self) -> SignedHTTP:
        """This loop's open HTTP path (opened on first use)."""
        state = self._loops.get(asyncio.get_running_loop())
        if state is not None:
            return state.http
        return await self._open_on_this_loop()

    async def _open_on_this_loop(self) -> SignedHTTP:
        if self._closed:
            raise RuntimeError(
                "this AppSyncClient is closed; create a new one (a client used "
                "across asyncio.run calls must not be closed in between)"
            )
        loop = asyncio.get_running_loop()
        http = self._template.fork()
        http.open_session()
        keeper = _keep_open(http, self._loops)
        with self._lock:
            self._forget_closed_loops()
            self._loops[loop] = _LoopState(http, keeper)
        # Runs the generator up to its ``yield`` without suspending, and
        # registers it with this loop's shutdown_asyncgens().
        await keeper.__anext__()
        return http

    def _forget_closed_loops(self) -> None:
        # A loop closed without shutdown_asyncgens() cannot close its session
        # any more; drop the reference rather than keep it forever.
        for loop in [loop for loop in self._loops if loop.is_closed()]:
            del self._loops[loop]

    def _ensure_runner(self) -> _LoopThread:
        if self._closed:
            raise RuntimeError("this AppSyncClient is closed; create a new one")
        with self._lock:
            runner = self._runner
            if runner is None:
                runner = self._runner = _LoopThread()
                self._atexit = _close_at_exit(weakref.ref(self))
                atexit.register(self._atexit)
            return runner

    # --- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> AppSyncClient:
        await self._http()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __enter__(self) -> AppSyncClient:
        _refuse_inside_loop("with client:", "async with client:")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close_sync()

    async def close(self) -> None:
        """Close every session and the background loop; the client is done.

        Calling it again does nothing.
        """
        self._closed = True
        current = asyncio.get_running_loop()
        runner = self._take_runner()
        for loop, state in self._take_states():
            if loop is current:
                await state.keeper.aclose()
            elif loop.is_running() and (runner is None or loop is not runner.loop):
                future = asyncio.run_coroutine_threadsafe(state.keeper.aclose(), loop)
                await asyncio.wrap_future(future)
        if runner is not None:
            await current.run_in_executor(None, runner.stop)

    def close_sync(self) -> None:
        """:meth:`close` for sync code (after :meth:`execute`)."""
        _refuse_inside_loop("close_sync", "await client.close()")
        self._closed = True
        runner = self._take_runner()
        for loop, state in self._take_states():
            if loop.is_running() and (runner is None or loop is not runner.loop):
                future = asyncio.run_coroutine_threadsafe(state.keeper.aclose(), loop)
                future.result(_STOP_TIMEOUT)
        if runner is not None:
            runner.stop()

    def _take_states(self) -> list[tuple[asyncio.AbstractEventLoop, _LoopState]]:
        with self._lock:
            states = list(self._loops.items())
            self._loops.clear()
        return [(loop, state) for loop, state in states if not loop.is_closed()]

    def _take_runner(self) -> _LoopThread | None:
        with self._lock:
            runner, self._runner = self._runner, None
            if self._atexit is not None:
                atexit.unregister(self._atexit)
                self._atexit = None
        return runner

    def __del__(self) -> None:
        # Sessions on event loops need nothing here: dropping ``_loops`` drops
        # their keepers, and the loop's async-generator finalizer closes each
        # session on its own loop. The background thread is ours to stop.
        runner = getattr(self, "_runner", None)
        if runner is not None and not runner.loop.is_closed():
            runner.loop.call_soon_threadsafe(_stop_soon, runner.loop)
            warnings.warn(
                f"unclosed {self!r}: call client.close_sync() (or `await "
                "client.close()`) after using client.execute()",
                ResourceWarning,
                stacklevel=2,
            )


def _unpack(
    request: GraphQLRequest,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
) -> tuple[DocumentNode, Mapping[str, Any] | None, str | None]:
    """A gql request's document; its variables and name unless given."""
    if variables is None:
        variables = request.variable_values
    return request.document, variables, operation_name or request.operation_name


def _stop_soon(loop: asyncio.AbstractEventLoop) -> None:
    async def stop() -> None:
        await loop.shutdown_asyncgens()
        loop.stop()

    loop.create_task(stop())


def _close_at_exit(ref: weakref.ref[AppSyncClient]) -> Callable[[], None]:
    def close() -> None:
        client = ref()
        if client is not None and not client.closed:
            client.close_sync()

    return close


def _refuse_inside_loop(what: str, instead: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"AppSyncClient.{what} blocks, so it cannot run inside a running "
        f"event loop; use `{instead}` instead"
    )


def _bad_operation(
    operation: Operation, operation_name: str | None, kind: str | None
) -> None:
    if kind == "subscription":
        raise ConfigurationError(
            "execute_async runs queries and mutations; subscriptions are "
            "started with client.subscribe(...)"
        )
    if not operation.kinds:
        raise ConfigurationError("the document holds no query or mutation")
    if operation_name is not None:
        names = sorted(str(name) for name in operation.kinds)
        raise ConfigurationError(
            f"operation {operation_name!r} is not in the document (it has "
            f"{', '.join(names)})"
        )
    raise ConfigurationError(
        "the document holds several operations; pass operation_name=..."
    )


def _is_gql_request(query: object) -> TypeGuard[GraphQLRequest]:
    # Not imported here: if gql's module is not loaded, nothing is an instance.
    module = sys.modules.get("gql.graphql_request")
    return module is not None and isinstance(query, module.GraphQLRequest)


def _is_document(query: object) -> TypeGuard[DocumentNode]:
    module = sys.modules.get("graphql.language.ast")
    return module is not None and isinstance(query, module.DocumentNode)
