"""The emulator's HTTP server: ``POST /graphql`` verified with SigV4, like AppSync.

One aiohttp application per :class:`AppSyncEmulator`:

- ``POST /graphql``: IAM verification (:mod:`._verifier`), then faults
  (:mod:`._faults`), then the GraphQL engine; AppSync's status codes, JSON
  error shape, ``x-amzn-ErrorType`` and ``x-amzn-RequestId`` (protocol doc §1.4).
- ``GET /graphql/realtime``: the real-time endpoint (:mod:`._realtime`).
- ``POST /event`` and ``GET /event/realtime``: the Events API (:mod:`._events`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from types import MappingProxyType
from typing import Any, TypeVar

from aiohttp import web

from .._credentials import FrozenCredentials
from .._errors import redact
from ._engine import (
    ExecutedOperation,
    GraphQLEngine,
    MissingOperationName,
    load_schema_text,
)
from ._events import EVENTS_PATH, EventsInputError, EventsServer, PublishedEvent
from ._faults import ERROR_5XX_TYPES, Faults
from ._principal import Principal
from ._realtime import RealtimeServer
from ._serving import LoopbackServer, weakly
from ._verifier import SignatureRejected, SigV4Verifier

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_SECRET_KEY",
    "AppSyncEmulator",
    "ReceivedRequest",
]

log = logging.getLogger("appsync_iam.emulator")

_R = TypeVar("_R")

#: The default principal: AWS's documentation example keys, public on purpose.
DEFAULT_ACCESS_KEY = "AKIDEXAMPLE"
DEFAULT_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

GRAPHQL_PATH = "/graphql"
JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
#: AppSync documents no request size limit; this only bounds memory.
MAX_BODY_BYTES = 8 * 1024 * 1024
#: How many requests :attr:`AppSyncEmulator.requests` keeps (the newest).
MAX_RECORDED_REQUESTS = 10_000


@dataclass(frozen=True, slots=True, repr=False)
class ReceivedRequest:
    """One request the emulator received, as the client sent it.

    ``path_qs`` is the raw request target (path and query string, still
    percent-encoded); ``status`` is the HTTP status answered (``101`` for an
    accepted WebSocket upgrade), or None when a fault dropped the connection.
    The repr redacts signatures and real-time header objects in ``path_qs``.

    .. versionadded:: 0.1.0
    """

    method: str
    path_qs: str
    status: int | None

    def __repr__(self) -> str:
        return (
            f"ReceivedRequest({self.method} {redact(self.path_qs)!r} -> {self.status})"
        )


class _Malformed(Exception):
    """The body is not a GraphQL request (400 MalformedHttpRequestException)."""


def _parse_graphql_body(
    body: bytes,
) -> tuple[str, Mapping[str, Any] | None, str | None]:
    """``(query, variables, operationName)`` of a request body, as AppSync reads it."""
    if not body:
        raise _Malformed("Request body is empty.")
    try:
        payload = json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        raise _Malformed("Unable to parse GraphQL query.") from None
    if not isinstance(payload, dict):
        raise _Malformed("Unable to parse GraphQL query.")
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    if (
        not isinstance(query, str)
        or not query.strip()
        or not isinstance(variables, (dict, type(None)))
        or not isinstance(operation_name, (str, type(None)))
    ):
        raise _Malformed("Unable to parse GraphQL query.")
    return query, variables, operation_name


class AppSyncEmulator(LoopbackServer):
    """A local AWS AppSync GraphQL API that really verifies IAM (SigV4) signatures.

    ``schema`` is the path of an SDL file, SDL text, or the name of a bundled
    sample (``"chat"``, ``"todos"``; see :func:`sample_schema_path`). AppSync's
    scalars and directives are predeclared. ``resolvers`` maps
    ``"Type.field"`` to graphql-core field resolvers ``(parent, info, **args)``,
    sync or async; fields without one use the in-memory default resolvers.

    Run it in the current event loop with ``async with`` (or
    :meth:`start`/:meth:`close`), or in a background thread for sync code
    with :meth:`run_in_thread`. Requests must be signed for
    :attr:`region`, service ``appsync``, by a known principal: by default
    :attr:`credentials` (``AKIDEXAMPLE``); add more with :meth:`add_principal`.

    Example::

        async with AppSyncEmulator(sample_schema_path("chat")) as emulator:
            client = AppSyncClient(emulator.url, region=emulator.region,
                                   credentials=emulator.credentials)
            ...
            assert len(emulator.executed) == 1

    ``ka_interval`` (seconds) and ``connection_timeout_ms`` set the real-time
    keep-alive (GraphQL and Events); ``seed`` seeds :attr:`faults`.

    ``event_namespaces`` are the Events API's channel namespaces, served at
    :attr:`events_url` (``POST /event``) and :attr:`events_realtime_url`;
    :attr:`published` lists the events accepted, :attr:`events` is that
    endpoint (namespaces, stats, ``drop_all()``).
    """

    def __init__(
        self,
        schema: str | os.PathLike[str],
        *,
        resolvers: Mapping[str, Callable[..., Any]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        ka_interval: float = 60.0,
        connection_timeout_ms: int = 300000,
        seed: int | None = None,
        event_namespaces: Iterable[str] = ("default",),
    ) -> None:
        super().__init__(host, port)
        self.region = region
        self.ka_interval = float(ka_interval)
        self.connection_timeout_ms = int(connection_timeout_ms)
        #: Fault injection, settable at runtime.
        self.faults = Faults()
        if seed is not None:
            self.faults.seed(seed)
        self._principals: dict[str, Principal] = {}
        self._requests: deque[ReceivedRequest] = deque(maxlen=MAX_RECORDED_REQUESTS)
        #: The default principal's credentials (no session token).
        self.credentials = self.add_principal(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
        self._verifier = SigV4Verifier(self._principals, region, now=self.now)
        self._engine = GraphQLEngine(load_schema_text(schema), resolvers)
        self._realtime = RealtimeServer(self)
        if isinstance(event_namespaces, str):
            event_namespaces = (event_namespaces,)
        self._events = EventsServer(self, event_namespaces)
        self._request_ids = random.Random()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not running"
        return f"<AppSyncEmulator {where} region={self.region!r}>"

    # -- public state -------------------------------------------------------

    @property
    def url(self) -> str:
        """The GraphQL endpoint, e.g. ``http://127.0.0.1:PORT/graphql``."""
        return f"http://{self._url_host()}:{self.port}{GRAPHQL_PATH}"

    @property
    def realtime_url(self) -> str:
        """The real-time endpoint, e.g. ``ws://127.0.0.1:PORT/graphql/realtime``."""
        return f"ws://{self._url_host()}:{self.port}{GRAPHQL_PATH}/realtime"

    @property
    def realtime(self) -> RealtimeServer:
        """The real-time endpoint: its ``stats`` counters, ``open_connections``,
        ``active_subscriptions``, ``broadcast()`` and ``drop_all()``."""
        return self._realtime

    @property
    def events_url(self) -> str:
        """The Events API HTTP endpoint, e.g. ``http://127.0.0.1:PORT/event``.

        .. versionadded:: 0.2.0
        """
        return f"http://{self._url_host()}:{self.port}{EVENTS_PATH}"

    @property
    def events_realtime_url(self) -> str:
        """The Events WebSocket, e.g. ``ws://127.0.0.1:PORT/event/realtime``.

        .. versionadded:: 0.2.0
        """
        return f"ws://{self._url_host()}:{self.port}{EVENTS_PATH}/realtime"

    @property
    def events(self) -> EventsServer:
        """The Events API endpoint: ``namespaces`` (live set),
        ``add_namespace()``, ``stats``, ``open_connections``,
        ``active_subscriptions``, ``drop_all()``, ``max_subscriptions``,
        ``oversize``.

        .. versionadded:: 0.2.0
        """
        return self._events

    @property
    def published(self) -> list[PublishedEvent]:
        """Every event the Events API accepted, in order (a live list:
        ``.clear()`` it between phases of a test).

        .. versionadded:: 0.2.0
        """
        return self._events.published

    @property
    def principals(self) -> Mapping[str, Principal]:
        """The accepted principals by access key id (read-only, live view).

        Example: ``emulator.principals["AKIDEXAMPLE"].deny``.

        .. versionadded:: 0.1.0
        """
        return MappingProxyType(self._principals)

    @property
    def requests(self) -> list[ReceivedRequest]:
        """A snapshot of the HTTP requests and WebSocket upgrades received,
        oldest first (the newest :data:`MAX_RECORDED_REQUESTS`).

        Example: ``[r.path_qs for r in emulator.requests]`` is what the client
        requested, query strings included (the secret audit scans them).

        .. versionadded:: 0.1.0
        """
        return list(self._requests)

    def _record(self, request: web.BaseRequest, status: int | None) -> None:
        self._requests.append(ReceivedRequest(request.method, request.raw_path, status))

    @property
    def executed(self) -> list[ExecutedOperation]:
        """Every operation the engine ran: ``(operation_type, field, arguments,
        access_key)`` tuples, in order. Tests count mutations with it."""
        return self._engine.executed

    def add_principal(
        self,
        access_key: str,
        secret_key: str,
        token: str | None = None,
        expires_at: datetime | None = None,
        deny: Iterable[str] = (),
    ) -> FrozenCredentials:
        """Accept another key pair (replacing one with the same key id); works
        while running. ``token`` makes it temporary: requests must carry it.
        ``expires_at`` (aware) is when the token expires. ``deny`` lists
        ``"Type.field"`` names this principal may not use."""
        if not access_key or "/" in access_key or not secret_key:
            raise ValueError("access_key and secret_key must be non-empty, no '/'")
        if expires_at is not None and expires_at.utcoffset() is None:
            raise ValueError("expires_at must be an aware datetime")
        self._principals[access_key] = Principal(
            access_key, secret_key, token, expires_at, frozenset(deny)
        )
        return FrozenCredentials(access_key, secret_key, token, expires_at)

    def remove_principal(self, access_key: str) -> None:
        """Forget a key id: its requests are then ``UnrecognizedClientException``."""
        self._principals.pop(access_key, None)

    def _new_request_id(self) -> str:
        return str(uuid.UUID(int=self._request_ids.getrandbits(128), version=4))

    # -- lifecycle ----------------------------------------------------------

    async def _on_started(self) -> None:
        log.info("AppSync emulator listening on %s (region %s)", self.url, self.region)

    async def _on_close(self) -> None:
        """Close real-time connections before the HTTP server."""
        try:
            await self._realtime.close()
        finally:
            await self._events.close()

    # -- HTTP ---------------------------------------------------------------

    def _build_app(self) -> web.Application:
        # Handlers and middlewares hold the emulator weakly (see weakly()).
        app = web.Application(
            middlewares=[weakly(self._record_requests), weakly(self._json_errors)],
            client_max_size=MAX_BODY_BYTES,
        )
        app.router.add_route("*", GRAPHQL_PATH, weakly(self._handle_graphql))
        app.router.add_get(GRAPHQL_PATH + "/realtime", weakly(self._realtime.handle))
        app.router.add_route("*", EVENTS_PATH, weakly(self._handle_event_publish))
        app.router.add_get(EVENTS_PATH + "/realtime", weakly(self._events.handle))
        return app

    @web.middleware
    async def _record_requests(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self._record(request, exc.status)
            raise
        # A WebSocket upgrade was recorded when it happened, not when it closed.
        if not isinstance(response, web.WebSocketResponse):
            dropped = isinstance(response, _Dropped)
            self._record(request, None if dropped else response.status)
        return response

    @web.middleware
    async def _json_errors(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return self._error(404, "NotFoundException", "No such endpoint.")
        except web.HTTPMethodNotAllowed:
            return self._error(
                405, "MethodNotAllowedException", f"{request.method} is not allowed."
            )
        except web.HTTPRequestEntityTooLarge:
            return self._error(
                413, "PayloadTooLargeException", "Request body is too large."
            )

    async def _handle_graphql(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        request_id = self._new_request_id()
        body = await request.read()
        path, _, query = request.raw_path.partition("?")
        try:
            principal = self._verifier.verify(
                method=request.method,
                path=path,
                query=query,
                headers=request.headers,
                body=body,
            )
        except SignatureRejected as exc:
            log.info(
                "Rejected %s %s: %s %s (request id %s)",
                request.method, path, exc.status, exc.error_type, request_id,
            )  # fmt: skip
            return self._error(exc.status, exc.error_type, exc.message, request_id)
        fault = await self._fault_before(request, request_id)
        if fault is not None:
            return fault
        try:
            query_text, variables, operation_name = _parse_graphql_body(body)
        except _Malformed as exc:
            return self._error(
                400, "MalformedHttpRequestException", str(exc), request_id
            )
        try:
            result = await self._engine.execute(
                query_text, variables, operation_name, principal=principal
            )
        except MissingOperationName as exc:
            return self._error(400, "BadRequestException", str(exc), request_id)
        except Exception:
            log.exception("The GraphQL engine failed (request id %s)", request_id)
            return self._error(
                500, "InternalFailure", "An internal failure occurred.", request_id
            )
        if self.faults.draw("reset_after", self.faults.reset_after_rate):
            log.info(
                "Fault: connection dropped after running (request id %s)", request_id
            )
            return _drop_connection(request)
        log.debug(
            "Ran a GraphQL request for %s (request id %s)",
            principal.access_key,
            request_id,
        )
        return self._json(
            200, result, request_id, {"x-amzn-appsync-TokensConsumed": "1"}
        )

    async def _handle_event_publish(self, request: web.Request) -> web.StreamResponse:
        """``POST /event``: HTTP publish (events-api.md §1.2)."""
        if request.method != "POST":
            # "Publishing is the only supported action over the endpoint."
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        request_id = self._new_request_id()
        body = await request.read()
        path, _, query = request.raw_path.partition("?")
        try:
            principal = self._verifier.verify(
                method=request.method,
                path=path,
                query=query,
                headers=request.headers,
                body=body,
            )
        except SignatureRejected as exc:
            log.info(
                "Rejected %s %s: %s %s (request id %s)",
                request.method, path, exc.status, exc.error_type, request_id,
            )  # fmt: skip
            return self._error(exc.status, exc.error_type, exc.message, request_id)
        fault = await self._fault_before(request, request_id)
        if fault is not None:
            return fault
        try:
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):  # also UnicodeDecodeError
                raise EventsInputError(
                    400, "BadRequestException", "The body is not valid JSON."
                ) from None
            segments, events = self._events.check_publish(payload)
            outcome = await self._events.publish(segments, events, principal, "http")
            # Delivered before the answer: a test sees them as soon as it has it.
            await self._events.fan_out(segments, outcome.accepted)
        except EventsInputError as exc:
            return self._error(exc.status, exc.error_type, exc.message, request_id)
        if self.faults.draw("reset_after", self.faults.reset_after_rate):
            log.info("Fault: connection dropped after publishing (request id %s)",
                     request_id)  # fmt: skip
            return _drop_connection(request)
        return self._json(200, outcome.as_json(), request_id)

    async def _fault_before(
        self, request: web.Request, request_id: str
    ) -> web.StreamResponse | None:
        """A fault answer drawn for an authenticated request, or None."""
        faults = self.faults
        delay = faults.draw_latency()
        if delay:
            await asyncio.sleep(delay)
        if not faults.take_quota() or faults.draw("throttle", faults.throttle_rate):
            log.info("Fault: throttled (request id %s)", request_id)
            return self._error(
                429, faults.throttle_error_type, "Rate exceeded", request_id
            )
        if faults.draw("error_5xx", faults.error_5xx_rate):
            status = faults.error_5xx_status
            log.info("Fault: HTTP %s (request id %s)", status, request_id)
            return self._error(
                status,
                ERROR_5XX_TYPES[status],
                "An internal failure occurred.",
                request_id,
            )
        if faults.draw("reset_before", faults.reset_before_rate):
            log.info(
                "Fault: connection dropped before running (request id %s)", request_id
            )
            return _drop_connection(request)
        return None

    def _error(
        self, status: int, error_type: str, message: str, request_id: str | None = None
    ) -> web.Response:
        body = {"errors": [{"errorType": error_type, "message": message}]}
        return self._json(
            status, body, request_id or self._new_request_id(),
            {"x-amzn-ErrorType": error_type},
        )  # fmt: skip

    def _json(
        self,
        status: int,
        payload: Any,
        request_id: str,
        extra_headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        headers = {
            "Content-Type": JSON_CONTENT_TYPE,
            "x-amzn-RequestId": request_id,
            # The emulator's clock (offset included): clients correct skew with it.
            "Date": format_datetime(self.now(), usegmt=True),
            **(extra_headers or {}),
        }
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        try:
            body = text.encode()
        except UnicodeEncodeError:  # a lone surrogate echoed back: escape it
            body = json.dumps(payload, separators=(",", ":")).encode()
        return web.Response(status=status, body=body, headers=headers)


class _Dropped(web.Response):
    """What a dropped connection "answers" (never sent)."""


def _drop_connection(request: web.Request) -> web.Response:
    """Close the TCP connection without answering (the response is never sent)."""
    if request.transport is not None:
        request.transport.abort()
    request.protocol.force_close()
    return _Dropped(status=500)
