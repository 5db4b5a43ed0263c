"""``AppSyncIAMTransport``: gql's aiohttp transport, signed with SigV4.

A thin adapter: the signed request path is :class:`~._http.SignedHTTP`
(shared with the facade, which does not import gql); this module adds gql's
transport interface, documents printed once per gql document, and gql's
exception bases on the errors that leave it.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import aiohttp
from gql.graphql_request import GraphQLRequest
from gql.transport import exceptions as gql_errors
from graphql import ExecutionResult

from ._credentials import CredentialSource, FrozenCredentials
from ._endpoint import AppSyncEndpoint
from ._errors import (
    AppSyncError,
    ConfigurationError,
    GraphQLResponseError,
    HTTPStatusError,
    ProtocolError,
    TransportError,
    restore_error,
)
from ._http import RealtimeAuth, SignedHTTP, lower_headers
from ._printed import document_operation
from ._realtime import RealtimeClient, RealtimeOptions, StateCallback
from ._retry import RetryPolicy
from ._signer import SigV4Signer


def _import_gql_aiohttp() -> type[Any]:
    # gql.transport.aiohttp imports gql's appsync_auth, which runs
    # ``try: import botocore`` for string annotations only (its real botocore
    # imports are inside functions). Keep botocore out of a Lambda cold start
    # (architecture decision 3): make that one import fail softly.
    if "gql.transport.aiohttp" in sys.modules or "botocore" in sys.modules:
        from gql.transport.aiohttp import AIOHTTPTransport
    else:
        sys.modules["botocore"] = None  # type: ignore[assignment]
        try:
            from gql.transport.aiohttp import AIOHTTPTransport
        finally:
            if sys.modules.get("botocore", False) is None:
                del sys.modules["botocore"]
    return AIOHTTPTransport


if TYPE_CHECKING:
    from gql.transport.aiohttp import AIOHTTPTransport
else:
    AIOHTTPTransport = _import_gql_aiohttp()

__all__ = ["AppSyncIAMTransport"]

_OWNED_POST_ARGS: Final = frozenset({"data", "json", "allow_redirects", "ssl"})


# --- errors: also gql's exceptions on this path ----------------------------------

_GQL_BASES: Final[tuple[tuple[type[AppSyncError], type[Exception]], ...]] = (
    (GraphQLResponseError, gql_errors.TransportQueryError),
    (HTTPStatusError, gql_errors.TransportServerError),
    (ProtocolError, gql_errors.TransportProtocolError),
    (TransportError, gql_errors.TransportError),
)
_gql_twins: dict[type[AppSyncError], type[AppSyncError]] = {}
_twinned: dict[type[AppSyncError], type[AppSyncError]] = {}  # twin -> ours


def _gql_twin(cls: type[AppSyncError]) -> type[AppSyncError] | None:
    """``cls`` with gql's matching exception as an extra base (None if none).

    Named and shown like ``cls`` (``appsync_iam.AuthorizationError``), so
    tracebacks and reprs read the same on both paths.
    """
    twin = _gql_twins.get(cls)
    if twin is None:
        base = next((gql for ours, gql in _GQL_BASES if issubclass(cls, ours)), None)
        if base is None or issubclass(cls, base):
            return None
        namespace = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "__reduce__": _reduce_twin,
        }
        twin = _gql_twins[cls] = type(cls.__name__, (cls, base), namespace)
        _twinned[twin] = cls
    return twin


def _reduce_twin(error: AppSyncError) -> tuple[Any, ...]:
    # A twin's name is its original's, so pickle could not find it by name:
    # pickle the original class and re-twin on load (which imports gql).
    return (_restore_twin, (_twinned[type(error)], error.args, dict(vars(error))))


def _restore_twin(
    cls: type[AppSyncError], args: tuple[Any, ...], state: dict[str, Any]
) -> AppSyncError:
    return restore_error(_gql_twin(cls) or cls, args, state)


@contextlib.contextmanager
def _gql_exceptions() -> Iterator[None]:
    """Errors leaving this block are also gql's exceptions (same object)."""
    try:
        yield
    except AppSyncError as error:
        twin = _gql_twin(type(error))
        if twin is not None:
            # Same layout (the twin adds only a pure-Python base): the object,
            # its traceback and cause are kept; only its class gains gql's.
            error.__class__ = twin
        raise


# --- the transport ----------------------------------------------------------------


class AppSyncIAMTransport(AIOHTTPTransport):
    """gql's ``AIOHTTPTransport`` for AppSync with IAM (SigV4) signing and retries.

    Works wherever gql takes a transport::

        from gql import Client, gql
        transport = AppSyncIAMTransport(
            "https://abc.appsync-api.eu-west-1.amazonaws.com/graphql")
        async with Client(transport=transport,
                          fetch_schema_from_transport=True) as session:
            data = await session.execute(gql("query { listRooms { id } }"))

    Each request is serialized once, signed over exactly those bytes with a
    fresh credentials snapshot and timestamp, posted without following
    redirects (TLS verification stays on), and retried by ``retry``
    (:class:`RetryPolicy`). Headers passed per call
    (``extra_args={"headers": ...}``) are sent and signed.

    Results and errors under ``gql.Client``: GraphQL ``errors`` in an HTTP 200
    answer raise :class:`GraphQLResponseError` from the transport (``.errors``,
    ``.data``, ``.request_id``); HTTP errors raise :class:`HTTPStatusError`
    subclasses (``.status``, ``.error_type``, ``.request_id``), a non-JSON
    answer :class:`ProtocolError`, a failed or timed-out request
    :class:`TransportError` (``.sent``). Every error leaving this transport is
    also an instance of gql's matching exception (``TransportQueryError``,
    ``TransportServerError``, ``TransportProtocolError``, ``TransportError``),
    which is what gql's own transports raise, so ``except
    TransportQueryError`` keeps working and gql's reconnecting sessions do
    not retry GraphQL errors. (``AppSyncClient`` raises the same classes
    without the gql bases: it never imports gql.)

    The signing, sending and retrying are :class:`SignedHTTP`'s, shared with
    ``AppSyncClient``; this class adapts them to gql's transport interface.

    AppSync accepts no batched requests, so ``execute_batch`` raises, and file
    uploads are not supported.

    Args:
        url: the GraphQL URL (standard, custom domain, or a local emulator).
        region: required for a custom domain; read from a standard URL.
        credentials: None (the default chain), :class:`FrozenCredentials`, a
            credential source, or an async callable returning credentials.
        profile: an AWS profile name for the default chain.
        realtime_url: override the derived real-time URL.
        realtime_auth: ``"subprotocol"`` (default: auth in
            ``Sec-WebSocket-Protocol``) or ``"query"`` (in the URL).
        timeout: seconds per attempt (connect + answer).
        retry: a :class:`RetryPolicy` (default ``RetryPolicy()``).
        clock: epoch seconds; the seam tests substitute.
        headers: extra headers sent (and signed) with every request.
        max_connections: the connection pool's size.
        client_session_args: extra ``aiohttp.ClientSession`` arguments (the
            session has no cookie jar unless one is passed here).
        realtime_options: :class:`RealtimeOptions` for subscriptions
            (timeouts, backoff, linger).

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        url: str,
        *,
        region: str | None = None,
        credentials: object = None,
        profile: str | None = None,
        realtime_url: str | None = None,
        realtime_auth: RealtimeAuth = "subprotocol",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 100,
        client_session_args: dict[str, Any] | None = None,
        realtime_options: RealtimeOptions | None = None,
    ) -> None:
        http = SignedHTTP(
            url,
            region=region,
            credentials=credentials,
            profile=profile,
            realtime_url=realtime_url,
            realtime_auth=realtime_auth,
            timeout=timeout,
            retry=retry,
            clock=clock,
            headers=headers,
            max_connections=max_connections,
            client_session_args=client_session_args,
            realtime_options=realtime_options,
        )
        self._http = http
        super().__init__(
            http.url, ssl_close_timeout=2, client_session_args=client_session_args
        )

    def __repr__(self) -> str:
        return (
            f"AppSyncIAMTransport(url={self.endpoint.graphql_url!r}, "
            f"region={self.endpoint.region!r})"
        )

    # gql's AIOHTTPTransport keeps its session in ``self.session``; here it is
    # the SignedHTTP's, so both always agree.
    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session (None until connected)."""
        return self._http.session

    @session.setter
    def session(self, session: aiohttp.ClientSession | None) -> None:
        self._http.session = session

    @property
    def endpoint(self) -> AppSyncEndpoint:
        """The API's URLs and region."""
        return self._http.endpoint

    @property
    def credentials(self) -> CredentialSource:
        """The credential source every request is signed with."""
        return self._http.credentials

    @property
    def signer(self) -> SigV4Signer:
        """The SigV4 signer (region and service ``appsync``)."""
        return self._http.signer

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of every request."""
        return self._http.retry

    @property
    def realtime_auth(self) -> RealtimeAuth:
        """Where real-time connections carry their auth: header or query."""
        return self._http.realtime_auth

    @property
    def request_timeout(self) -> float:
        """Seconds per attempt (connect + answer)."""
        return self._http.request_timeout

    # --- what the real-time connection (and tests) build on ---------------------

    def now(self) -> float:
        """Epoch seconds to sign with: the clock plus the learned AppSync offset."""
        return self._http.now()

    @property
    def clock_offset(self) -> float:
        """Seconds added to the local clock, learned from a skew rejection."""
        return self._http.clock_offset

    def sign_request(
        self,
        body: bytes,
        credentials: FrozenCredentials,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The headers of one signed POST of ``body`` to the GraphQL URL (pure)."""
        return self._http.sign_request(body, credentials, headers)

    def learn_clock_offset(self, offset: float) -> None:
        """Sign with ``offset`` seconds added to the clock from now on."""
        self._http.learn_clock_offset(offset)

    # --- lifecycle ------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the aiohttp session (``gql.Client`` calls this)."""
        if self.session is not None:
            raise gql_errors.TransportAlreadyConnected("Transport is already connected")
        self.open_session()

    def open_session(self) -> aiohttp.ClientSession:
        """Create the session now, on the running loop (no await: no race)."""
        return self._http.open_session()

    @property
    def realtime(self) -> RealtimeClient:
        """This transport's real-time connections (created on first use).

        Closed with the transport; see :class:`RealtimeClient`.
        """
        return self._http.realtime

    async def close(self) -> None:
        """Close the real-time connections, then the HTTP session."""
        await self._http.close_realtime()
        await self._http.close_pool()
        await super().close()

    # --- gql's transport interface ------------------------------------------------

    async def execute(
        self,
        request: GraphQLRequest,
        *,
        extra_args: dict[str, Any] | None = None,
        upload_files: bool = False,
    ) -> ExecutionResult:
        """Send one signed request; raise a typed error (see the class docs)."""
        if upload_files:
            raise ConfigurationError("AppSync does not accept file uploads")
        if self.session is None:
            raise gql_errors.TransportClosed("Transport is not connected")
        operation = document_operation(request.document)
        headers: dict[str, str] | None = None
        post_args: dict[str, Any] | None = None
        if extra_args:
            post_args = dict(extra_args)
            headers = lower_headers(post_args.pop("headers", None)) or None
            owned = _OWNED_POST_ARGS.intersection(post_args)
            if owned:
                raise ConfigurationError(
                    f"extra_args may not set {sorted(owned)}: the transport owns them"
                )
        with _gql_exceptions():
            try:
                result = await self._http.request(
                    operation.text,
                    request.variable_values,
                    operation_name=request.operation_name,
                    is_mutation=operation.is_mutation(request.operation_name),
                    headers=headers,
                    extensions=request.extensions,
                    post_args=post_args,
                )
            finally:
                self.response_headers = self._http.response_headers  # type: ignore[assignment]
        return ExecutionResult(data=result["data"], extensions=result.get("extensions"))

    async def request(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        is_mutation: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST one GraphQL request (``query`` sent as written) with retries.

        The answer's JSON object; ``headers`` must have lowercase names and
        ``is_mutation`` decides what is safe to retry. Errors as in the class
        docs.
        """
        if self.session is None:
            raise gql_errors.TransportClosed("Transport is not connected")
        with _gql_exceptions():
            return await self._http.request(
                query,
                variables,
                operation_name=operation_name,
                is_mutation=is_mutation,
                headers=headers,
            )

    async def execute_batch(
        self, reqs: list[GraphQLRequest], *args: Any, **kwargs: Any
    ) -> list[ExecutionResult]:
        """AppSync accepts no batched requests: always raises."""
        raise ConfigurationError(
            "AppSync does not accept batched GraphQL requests; send them one by "
            "one (AppSyncClient.execute_many runs many concurrently)"
        )

    async def subscribe(
        self,
        request: GraphQLRequest,
        *,
        extra_args: dict[str, Any] | None = None,
        on_state: StateCallback | None = None,
    ) -> AsyncGenerator[ExecutionResult, None]:
        """An IAM-signed real-time subscription: one ``ExecutionResult`` per event.

        Signed afresh on every (re)connection and ``start``, multiplexed,
        resubscribed after drops (:class:`RealtimeClient`). Event ``errors``
        are passed on as AppSync's error objects, as gql's own WebSocket
        transports do; a rejected or failed subscription raises
        :class:`SubscriptionError`. ``on_state`` (``session.subscribe(...,
        on_state=callback)``) receives :class:`ConnectionEvent` values.
        """
        operation = document_operation(request.document)
        frames = self.realtime.subscribe_frames(
            operation.text,
            request.variable_values,
            request.operation_name,
            on_state=on_state,
        )
        with _gql_exceptions():
            async with contextlib.aclosing(frames):
                async for frame in frames:
                    errors: Any = list(frame.errors) or None
                    yield ExecutionResult(data=frame.data, errors=errors)
