"""Bad input corpus: every bad configuration, document, variable, HTTP answer and
real-time frame gives a documented error with a clear message, or a result.

Each case is one row of a table, bounded by ``asyncio.wait_for`` (never a
hang), and checked by :func:`assert_clean_error`: an ``appsync_iam`` error
type (never an internal ``TypeError``/``KeyError``/``RecursionError``), a
non-empty message, and no secret key, session token or signature in it.
Requests go to the real emulator (``chat`` sample, in a background thread) or
to tiny loopback servers that answer what AppSync never would.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import gzip
import json
import math
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from appsync_iam import (
    AppSyncClient,
    AuthorizationError,
    ConfigurationError,
    CredentialsError,
    FrozenCredentials,
    GraphQLResponseError,
    HTTPStatusError,
    ProtocolError,
    RealtimeOptions,
    RequestTimeout,
    RetryPolicy,
    SubscriptionError,
    ThrottlingError,
    TransportError,
)
from appsync_iam.emulator import AppSyncEmulator

from .chaos_helpers import (
    ACCESS_KEY,
    CREDENTIALS,
    SECRET_KEY,
    SESSION_TOKEN,
    FakeRealtime,
    RawHTTPServer,
    accept,
    assert_clean_error,
    data_frame,
    http_reply,
    started,
)

CASE_TIMEOUT = 10.0
NO_RETRY = RetryPolicy(max_attempts=1)
STANDARD = "https://abc123.appsync-api.us-east-1.amazonaws.com/graphql"
LIST_ROOMS = "query { listRooms { items { id } } }"
GET_ROOM = "query GetRoom($id: ID!) { getRoom(id: $id) { id name } }"
POST = (
    "mutation Post($room: ID!, $content: String!) {"
    " postMessage(roomId: $room, content: $content) { id content } }"
)
ON_MESSAGE = (
    "subscription OnMessage($roomId: ID) { onMessagePosted(roomId: $roomId) { id } }"
)
#: Fast, bounded real-time behaviour for the fake servers.
FAST_REALTIME: RealtimeOptions = {
    "backoff_base": 0.01,
    "backoff_cap": 0.05,
    "max_attempts": 2,
    "connect_timeout": 3.0,
    "ack_timeout": 1.0,
    "start_ack_timeout": 1.0,
    "max_start_attempts": 1,
    "linger": 0.0,
}
OK = None  # the expectation of a case that must succeed


@dataclass
class Context:
    """What a case can use: the emulator, monkeypatch, and more secrets to look for."""

    emulator: AppSyncEmulator
    monkeypatch: pytest.MonkeyPatch
    secrets: set[str] = field(default_factory=set)


Action = Callable[[Context], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    """One bad input: what to do, the error expected (None: success), its message."""

    id: str
    action: Action
    expect: type[BaseException] | None
    match: str = ""
    check: Callable[[Any], bool] | None = None


# --- actions ---------------------------------------------------------------------


def construct(url: str, **kwargs: Any) -> Action:
    """Build a client (nothing is sent)."""

    async def action(ctx: Context) -> Any:
        kwargs.setdefault("credentials", CREDENTIALS)
        return AppSyncClient(url, **kwargs)

    return action


def on_emulator(
    query: Any,
    variables: Any = None,
    *,
    credentials: Any = "emulator",
    env: dict[str, str | None] | None = None,
    **kwargs: Any,
) -> Action:
    """Run ``query`` against the emulator with ``execute_async``."""

    async def action(ctx: Context) -> Any:
        emulator = ctx.emulator
        for name, value in (env or {}).items():
            if value is None:
                ctx.monkeypatch.delenv(name, raising=False)
            else:
                ctx.monkeypatch.setenv(name, value)
        creds = emulator.credentials if credentials == "emulator" else credentials
        if env is not None:
            creds = None
        async with AppSyncClient(
            emulator.url, credentials=creds, retry=NO_RETRY, timeout=8
        ) as client:
            return await client.execute_async(query, variables, **kwargs)

    return action


def batch_emulator(query: str, rows: list[Any]) -> Action:
    """Run ``execute_many`` on the emulator; the results, in input order."""

    async def action(ctx: Context) -> Any:
        async with AppSyncClient(
            ctx.emulator.url, credentials=ctx.emulator.credentials, retry=NO_RETRY
        ) as client:
            return [result async for result in client.execute_many(query, rows)]

    return action


def one_bad_row(results: list[Any]) -> bool:
    """The unserializable row failed alone, with a clean ConfigurationError."""
    first, second = results
    assert isinstance(first.error, ConfigurationError)
    assert_clean_error(first.error)
    return bool(second.ok and second.data["getRoom"] is None)


def subscribe_emulator(query: str, variables: Any) -> Action:
    """Open a subscription on the emulator and wait for its first event."""

    async def action(ctx: Context) -> Any:
        async with AppSyncClient(
            ctx.emulator.url,
            credentials=ctx.emulator.credentials,
            realtime_options=FAST_REALTIME,
        ) as client:
            async for data in client.subscribe(query, variables):
                return data
        return None

    return action


def answer(reply: Any, *, hang: bool = False, timeout: float = 5.0) -> Action:
    """Run a query against a loopback server that answers ``reply`` (raw bytes)."""

    async def action(ctx: Context) -> Any:
        async with RawHTTPServer(reply, hang=hang) as server:
            try:
                async with AppSyncClient(
                    server.url, credentials=CREDENTIALS, retry=NO_RETRY, timeout=timeout
                ) as client:
                    return await client.execute_async("query { a }")
            finally:
                ctx.secrets.update(server.signatures())

    return action


def json_reply(
    status: int, body: Any, headers: list[tuple[str, str]] | None = None
) -> bytes:
    headers = [("Content-Type", "application/json"), *(headers or [])]
    return http_reply(status, json.dumps(body).encode(), headers=headers)


def echo_request(status: int, content_type: str) -> Callable[[bytes], bytes]:
    """A proxy page that echoes the signed request (token and signature included)."""

    def reply(raw: bytes) -> bytes:
        page = b"<html><body><pre>" + raw + b"</pre></body></html>"
        return http_reply(status, page, headers=[("Content-Type", content_type)])

    return reply


WS = web.WebSocketResponse
Handler = Callable[[WS, web.Request], Awaitable[None]]


def realtime(
    handler: Handler | None = None,
    *,
    refuse: tuple[int, str, bytes] | None = None,
) -> Action:
    """Subscribe through a fake real-time endpoint; the first event's data."""

    async def action(ctx: Context) -> Any:
        async with FakeRealtime(handler, refuse=refuse) as fake:
            try:
                async with AppSyncClient(
                    fake.url,
                    credentials=CREDENTIALS,
                    realtime_url=fake.realtime_url,
                    realtime_options=FAST_REALTIME,
                ) as client:
                    async for data in client.subscribe(ON_MESSAGE, {"roomId": "r1"}):
                        return data
            finally:
                ctx.secrets.update(fake.signatures())
                assert fake.protocols, "the client never connected"
        return "ended without an event"

    return action


def handshake(*frames: str | bytes, close: bool = False) -> Handler:
    """Answer ``connection_init`` with ``frames`` instead of a proper ack."""

    async def handler(ws: WS, request: web.Request) -> None:
        await ws.receive(timeout=5)
        for frame in frames:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
        if close:
            await ws.close()

    return handler


def after_start(
    *frames: str | bytes | Callable[[str], str | bytes],
    ack: bool = True,
    connection_ack: str | None = None,
) -> Handler:
    """Ack the connection, read the ``start`` (ack it), then send ``frames``.

    A callable frame is given the subscription id.
    """

    async def handler(ws: WS, request: web.Request) -> None:
        await accept(ws, connection_ack)
        ident = await started(ws, ack=ack)
        for frame in frames:
            text = frame(ident) if callable(frame) else frame
            if isinstance(text, bytes):
                await ws.send_bytes(text)
            else:
                await ws.send_str(text)

    return handler


def error_frame(errors: Any) -> Callable[[str], str]:
    return lambda ident: json.dumps(
        {"type": "error", "id": ident, "payload": {"errors": errors}}
    )


def event(ident: str) -> str:
    return data_frame(ident, {"onMessagePosted": {"id": "good"}})


GOOD_EVENT = {"onMessagePosted": {"id": "good"}}


def delivers(expected: Any) -> Callable[[Any], bool]:
    return lambda result: bool(result == expected)


def echo_header_object(ws: WS, request: web.Request) -> Awaitable[None]:
    """A connection_error that echoes the client's signed header object."""
    protocol = request.headers.get("Sec-WebSocket-Protocol", "")
    encoded = next(p.strip() for p in protocol.split(",") if "header-" in p)
    text = encoded.strip()[len("header-") :]
    header = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()

    async def run() -> None:
        await ws.receive(timeout=5)
        await ws.send_str(
            json.dumps(
                {
                    "type": "connection_error",
                    "payload": {
                        "errors": [
                            {"errorType": "BadRequestException", "message": header}
                        ]
                    },
                }
            )
        )
        await ws.close()

    return run()


def _deep(depth: int) -> list[Any]:
    root: list[Any] = []
    current = root
    for _ in range(depth):
        child: list[Any] = []
        current.append(child)
        current = child
    return root


def _circular() -> dict[str, Any]:
    value: dict[str, Any] = {}
    value["self"] = value
    return value


class _Opaque:
    def __repr__(self) -> str:
        return f"<opaque {SECRET_KEY}>"  # must never be echoed


def _sync_provider() -> FrozenCredentials:
    return CREDENTIALS


async def _no_secret() -> FrozenCredentials:
    return FrozenCredentials(ACCESS_KEY, "")


async def _not_credentials() -> object:
    return {"access_key": ACCESS_KEY}


async def _unknown_principal() -> FrozenCredentials:
    return FrozenCredentials("AKIDNOBODYKNOWS", SECRET_KEY, SESSION_TOKEN)


HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
HTML_403 = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">'
    b"<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE>"
    b"</HEAD><BODY><H1>403 ERROR</H1>Request blocked. Generated by cloudfront"
    b"</BODY></HTML>"
)
HTML = [("Content-Type", "text/html")]
TEXT = [("Content-Type", "text/plain")]
BIG = 20 * 1024 * 1024
RETRY_LATER = [("Retry-After", "99999999999")]


# --- the corpus ----------------------------------------------------------------------

CONFIGURATION = [
    Case("url-empty", construct(""), ConfigurationError, "empty"),
    Case("url-no-scheme", construct("not a url"), ConfigurationError, "scheme"),
    Case(
        "url-ftp",
        construct(STANDARD.replace("https", "ftp")),
        ConfigurationError,
        "scheme",
    ),
    Case("url-no-host", construct("https:///graphql"), ConfigurationError, "host"),
    Case(
        "url-no-path",
        construct("https://api.example.com", region="us-east-1"),
        ConfigurationError,
        "path",
    ),
    Case(
        "url-plain-http-to-aws",
        construct(STANDARD.replace("https", "http")),
        ConfigurationError,
        "https",
    ),
    Case(
        "url-realtime-host",
        construct(STANDARD.replace("appsync-api", "appsync-realtime-api")),
        ConfigurationError,
        "real-time",
    ),
    Case(
        "url-with-userinfo",
        construct("https://user:pw@api.example.com/graphql", region="us-east-1"),
        ConfigurationError,
        "credentials",
    ),
    Case(
        "url-with-query",
        construct("https://api.example.com/graphql?key=1", region="us-east-1"),
        ConfigurationError,
        "query string",
    ),
    Case(
        "region-missing-custom-domain",
        construct("https://api.example.com/graphql"),
        ConfigurationError,
        "region",
    ),
    Case(
        "region-invalid",
        construct("https://api.example.com/graphql", region="moon-base-1 "),
        ConfigurationError,
        "region",
    ),
    Case(
        "region-contradicts-url",
        construct(STANDARD, region="eu-west-1"),
        ConfigurationError,
        "contradicts",
    ),
    Case(
        "realtime-url-http",
        construct(STANDARD, realtime_url="http://x.example.com/graphql"),
        ConfigurationError,
        "scheme",
    ),
    Case(
        "realtime-url-plain-ws-remote",
        construct(STANDARD, realtime_url="ws://evil.example.com/graphql/realtime"),
        ConfigurationError,
        "wss",
    ),
    Case("timeout-zero", construct(STANDARD, timeout=0), ConfigurationError, "timeout"),
    Case(
        "timeout-infinite",
        construct(STANDARD, timeout=math.inf),
        ConfigurationError,
        "timeout",
    ),
    Case(
        "timeout-nan",
        construct(STANDARD, timeout=math.nan),
        ConfigurationError,
        "timeout",
    ),
    Case(
        "max-connections-zero",
        construct(STANDARD, max_connections=0),
        ConfigurationError,
        "max_connections",
    ),
    Case(
        "realtime-auth-unknown",
        construct(STANDARD, realtime_auth="cookie"),
        ConfigurationError,
        "realtime_auth",
    ),
    Case("retry-not-policy", construct(STANDARD, retry=3), ConfigurationError, "retry"),
    Case(
        "realtime-options-timeout-not-a-number",
        construct(STANDARD, realtime_options={"ack_timeout": "soon"}),
        ConfigurationError,
        "ack_timeout",
    ),
    Case(
        "realtime-options-timeout-zero",
        construct(STANDARD, realtime_options={"connect_timeout": 0}),
        ConfigurationError,
        "connect_timeout",
    ),
    Case(
        "realtime-options-negative-backoff",
        construct(STANDARD, realtime_options={"backoff_base": -1}),
        ConfigurationError,
        "backoff_base",
    ),
    Case(
        "realtime-options-max-attempts-zero",
        construct(STANDARD, realtime_options={"max_attempts": 0}),
        ConfigurationError,
        "max_attempts",
    ),
    Case(
        "realtime-options-unknown",
        construct(STANDARD, realtime_options={"backof_base": 1}),
        ConfigurationError,
        "unknown realtime_options",
    ),
]

CREDENTIAL_CASES = [
    Case(
        "credentials-wrong-type",
        construct(STANDARD, credentials=42),
        ConfigurationError,
        "credentials must be",
    ),
    Case(
        "credentials-and-profile",
        construct(STANDARD, credentials=CREDENTIALS, profile="dev"),
        ConfigurationError,
        "not both",
    ),
    Case(
        "credentials-partial-frozen",
        construct(STANDARD, credentials=FrozenCredentials(ACCESS_KEY, "")),
        CredentialsError,
        "secret key",
    ),
    Case(
        "credentials-partial-env",
        on_emulator(
            LIST_ROOMS,
            env={
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": None,
                "AWS_SESSION_TOKEN": SESSION_TOKEN,
                "AWS_PROFILE": None,
            },
        ),
        CredentialsError,
        "AWS_SECRET_ACCESS_KEY",
    ),
    Case(
        "credentials-provider-partial",
        on_emulator(LIST_ROOMS, credentials=_no_secret),
        CredentialsError,
        "secret key",
    ),
    Case(
        "credentials-provider-wrong-type",
        on_emulator(LIST_ROOMS, credentials=_not_credentials),
        CredentialsError,
        "expected FrozenCredentials",
    ),
    Case(
        "credentials-provider-sync",
        on_emulator(LIST_ROOMS, credentials=_sync_provider),
        ConfigurationError,
        "async callable",
    ),
    Case(
        "credentials-expired-static",
        on_emulator(
            LIST_ROOMS,
            credentials=FrozenCredentials(
                ACCESS_KEY,
                SECRET_KEY,
                SESSION_TOKEN,
                datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
            ),
        ),
        CredentialsError,
        "expired",
    ),
    Case(
        "credentials-unknown-key",
        on_emulator(LIST_ROOMS, credentials=_unknown_principal),
        AuthorizationError,
        "security token",
    ),
    Case(
        "credentials-wrong-secret",
        on_emulator(
            LIST_ROOMS,
            credentials=FrozenCredentials("AKIDEXAMPLE", SECRET_KEY),
        ),
        AuthorizationError,
        "signature",
    ),
]

DOCUMENTS = [
    Case("query-empty", on_emulator(""), ConfigurationError, "not valid GraphQL"),
    Case("query-blank", on_emulator(" \n\t"), ConfigurationError, "not valid GraphQL"),
    Case("query-unclosed", on_emulator("query {"), ConfigurationError, "line 1"),
    Case(
        "query-garbage",
        on_emulator("SELECT * FROM rooms"),
        ConfigurationError,
        "not valid GraphQL",
    ),
    Case(
        "query-json-instead",
        on_emulator('{"query": "{ listRooms { items { id } } }"}'),
        ConfigurationError,
        "not valid GraphQL",
    ),
    Case(
        "subscription-via-execute",
        on_emulator("subscription { onMessagePosted { id } }"),
        ConfigurationError,
        "subscribe",
    ),
    Case(
        "two-named-operations-no-name",
        on_emulator(
            "query A { listRooms { nextToken } } query B { listRooms { nextToken } }"
        ),
        ConfigurationError,
        "operation_name",
    ),
    Case(
        "two-anonymous-operations",
        on_emulator("{ listRooms { nextToken } } { listRooms { nextToken } }"),
        HTTPStatusError,
        "operation name",
    ),
    Case(
        "operation-name-absent",
        on_emulator(GET_ROOM, {"id": "1"}, operation_name="Nope"),
        ConfigurationError,
        "'Nope'",
    ),
    Case(
        "fragment-only",
        on_emulator("fragment F on Room { id }"),
        ConfigurationError,
        "no operation to run",
    ),
    Case(
        "unknown-field",
        on_emulator("query { noSuchField }"),
        GraphQLResponseError,
        "noSuchField",
    ),
    Case(
        "missing-required-variable",
        on_emulator(GET_ROOM),
        GraphQLResponseError,
        "id",
    ),
    Case(
        "variable-of-wrong-type",
        on_emulator(GET_ROOM, {"id": {"nested": True}}),
        GraphQLResponseError,
        "id",
    ),
]

VARIABLES = [
    Case(
        "variables-set",
        on_emulator(GET_ROOM, {"id": {1, 2}}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "variables-object",
        on_emulator(GET_ROOM, {"id": _Opaque()}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "variables-nan",
        on_emulator(GET_ROOM, {"id": math.nan}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "variables-inf",
        on_emulator(GET_ROOM, {"id": math.inf}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "variables-minus-inf",
        on_emulator(GET_ROOM, {"id": -math.inf}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "variables-bytes",
        on_emulator(GET_ROOM, {"id": b"r1"}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "variables-datetime",
        on_emulator(GET_ROOM, {"id": datetime.datetime(2024, 1, 1)}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "variables-tuple-key",
        on_emulator(GET_ROOM, {"id": {(1, 2): "x"}}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "variables-circular",
        on_emulator(GET_ROOM, {"id": _circular()}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "variables-100k-deep",
        on_emulator(GET_ROOM, {"id": _deep(100_000)}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "variables-not-a-mapping",
        on_emulator(GET_ROOM, ["r1"]),
        HTTPStatusError,
        "Unable to parse",
    ),
    Case(
        "variables-10-mb-string",
        on_emulator(POST, {"room": "r", "content": "x" * 10_000_000}),
        HTTPStatusError,
        "too large",
    ),
    Case(
        "variables-4-mb-string",
        on_emulator(POST, {"room": "r", "content": "y" * 4_000_000}),
        OK,
        check=lambda data: len(data["postMessage"]["content"]) == 4_000_000,
    ),
    Case(
        "variables-lone-surrogate",
        on_emulator(POST, {"room": "r", "content": "a\ud800b"}),
        OK,
        check=lambda data: data["postMessage"]["content"] == "a\ud800b",
    ),
    Case(
        "batch-one-unserializable-row",
        batch_emulator(GET_ROOM, [{"id": {"a", "b"}}, {"id": "no-such-room"}]),
        OK,
        check=one_bad_row,
    ),
    Case(
        "subscribe-variables-set",
        subscribe_emulator(ON_MESSAGE, {"roomId": {"r1"}}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "subscribe-variables-nan",
        subscribe_emulator(ON_MESSAGE, {"roomId": math.nan}),
        ConfigurationError,
        "JSON",
    ),
    Case(
        "subscribe-variables-not-a-mapping",
        subscribe_emulator(ON_MESSAGE, ["r1"]),
        ConfigurationError,
        "mapping",
    ),
]

HTTP_ANSWERS = [
    Case(
        "200-html",
        answer(http_reply(200, b"<html><body>Hello</body></html>", headers=HTML)),
        ProtocolError,
        "not a GraphQL result",
    ),
    Case("200-empty", answer(http_reply(200)), ProtocolError, "not a GraphQL result"),
    Case("200-foo", answer(json_reply(200, {"foo": 1})), ProtocolError, "foo"),
    Case(
        "200-data-null",
        answer(json_reply(200, {"data": None})),
        ProtocolError,
        "not a GraphQL result",
    ),
    Case(
        "200-data-list",
        answer(json_reply(200, {"data": [1, 2]})),
        ProtocolError,
        "not a GraphQL result",
    ),
    Case("200-array", answer(json_reply(200, [])), ProtocolError, "not a GraphQL"),
    Case(
        "200-errors-string",
        answer(json_reply(200, {"errors": "boom"})),
        ProtocolError,
        "malformed 'errors'",
    ),
    Case(
        "200-errors-of-numbers",
        answer(json_reply(200, {"errors": [1, 2]})),
        ProtocolError,
        "malformed 'errors'",
    ),
    Case(
        "200-errors-empty-object",
        answer(json_reply(200, {"errors": [{}], "data": None})),
        GraphQLResponseError,
        "GraphQL error",
    ),
    Case(
        "200-truncated-json",
        answer(
            http_reply(
                200, b'{"data":{"a":', headers=[("Content-Type", "application/json")]
            )
        ),
        ProtocolError,
        "not a GraphQL result",
    ),
    Case(
        "200-invalid-utf8",
        answer(http_reply(200, b'\xff\xfe{"data":{"a":1}}')),
        ProtocolError,
        "not a GraphQL result",
    ),
    Case(
        "200-json-100k-deep",
        answer(http_reply(200, b'{"data":' + b"[" * 100_000)),
        ProtocolError,
        "not a GraphQL result",
    ),
    Case(
        "200-json-as-text-html",
        answer(http_reply(200, b'{"data":{"a":1}}', headers=HTML)),
        OK,
        check=delivers({"a": 1}),
    ),
    Case(
        "200-json-as-octet-stream",
        answer(
            http_reply(
                200,
                b'{"data":{"a":2}}',
                headers=[("Content-Type", "application/octet-stream")],
            )
        ),
        OK,
        check=delivers({"a": 2}),
    ),
    Case(
        "200-oversized-garbage",
        answer(http_reply(200, b"<" * BIG, headers=HTML), timeout=8),
        ProtocolError,
        "chars",
    ),
    Case(
        "200-oversized-json",
        answer(http_reply(200, b'{"data":{"a":"' + b"z" * BIG + b'"}}'), timeout=8),
        OK,
        check=lambda data: len(data["a"]) == BIG,
    ),
    Case(
        "502-html",
        answer(http_reply(502, HTML_502, headers=HTML)),
        ProtocolError,
        "502",
    ),
    Case(
        "503-text",
        answer(http_reply(503, b"Service Unavailable", headers=TEXT)),
        ProtocolError,
        "503",
    ),
    Case("504-empty", answer(http_reply(504)), HTTPStatusError, "504"),
    Case(
        "500-json-100k-deep",
        answer(http_reply(500, b"[" * 100_000)),
        ProtocolError,
        "500",
    ),
    Case(
        "400-json-100k-deep",
        answer(http_reply(400, b"[" * 100_000)),
        HTTPStatusError,
        "400",
    ),
    Case(
        "403-cloudfront-html",
        answer(http_reply(403, HTML_403, headers=HTML)),
        AuthorizationError,
        "403",
    ),
    Case(
        "403-echoes-signed-request",
        answer(echo_request(403, "text/html")),
        AuthorizationError,
        "403",
    ),
    Case(
        "400-echoes-signed-request-json",
        answer(echo_request(400, "application/json")),
        HTTPStatusError,
        "400",
    ),
    Case(
        "404-text",
        answer(http_reply(404, b"Not Found", headers=TEXT)),
        HTTPStatusError,
        "404",
    ),
    Case(
        "429-retry-after-forever",
        answer(json_reply(429, {"message": "slow down"}, headers=RETRY_LATER)),
        ThrottlingError,
        "429",
    ),
    Case(
        "301-redirect",
        answer(http_reply(301, headers=[("Location", "https://elsewhere.example/")])),
        HTTPStatusError,
        "redirect",
    ),
    Case(
        "truncated-body",
        answer(http_reply(200, b'{"data":', content_length=100)),
        TransportError,
        "",
    ),
    Case("closed-without-answer", answer(b""), TransportError, ""),
    Case("garbage-status-line", answer(b"HELLO WORLD\r\n\r\n"), TransportError, ""),
    Case(
        "bad-gzip",
        answer(
            http_reply(200, b"not gzip at all", headers=[("Content-Encoding", "gzip")])
        ),
        TransportError,
        "",
    ),
    Case(
        "gzip-of-html",
        answer(
            http_reply(
                200,
                gzip.compress(HTML_502),
                headers=[("Content-Encoding", "gzip"), *HTML],
            )
        ),
        ProtocolError,
        "Bad Gateway",
    ),
    Case(
        "bad-chunked",
        answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbroken\r\n"
        ),
        TransportError,
        "",
    ),
    Case("never-answers", answer(b"", hang=True, timeout=1.0), RequestTimeout, "1.0 s"),
]

REALTIME_FRAMES = [
    Case(
        "handshake-not-json",
        realtime(handshake("this is not json")),
        SubscriptionError,
        "not JSON",
    ),
    Case(
        "handshake-binary-garbage",
        realtime(handshake(b"\x00\xff\x10binary")),
        SubscriptionError,
        "not JSON",
    ),
    Case(
        "handshake-unknown-type-then-silence",
        realtime(handshake('{"type":"hello_there"}')),
        SubscriptionError,
        "gave up",
    ),
    Case(
        "handshake-missing-type",
        realtime(handshake('{"payload":{}}', close=True)),
        SubscriptionError,
        "type",
    ),
    Case(
        "handshake-ack-bad-timeout",
        realtime(
            handshake(
                '{"type":"connection_ack","payload":{"connectionTimeoutMs":"soon"}}'
            )
        ),
        SubscriptionError,
        "connectionTimeoutMs",
    ),
    Case(
        "connection-error-errors-object",
        realtime(
            handshake(
                '{"type":"connection_error","payload":{"errors":'
                '{"errorType":"LimitExceededError","message":"Rate limit exceeded"}}}'
            )
        ),
        SubscriptionError,
        "Rate limit exceeded",
    ),
    Case(
        "connection-error-errors-string",
        realtime(handshake('{"type":"connection_error","payload":{"errors":"nope"}}')),
        SubscriptionError,
        "nope",
    ),
    Case(
        "connection-error-errors-null",
        realtime(handshake('{"type":"connection_error","payload":{"errors":null}}')),
        SubscriptionError,
        "no error details",
    ),
    Case(
        "connection-error-echoes-header-object",
        realtime(echo_header_object),
        SubscriptionError,
        "BadRequestException",
    ),
    Case(
        "closed-right-after-upgrade",
        realtime(handshake(close=True)),
        SubscriptionError,
        "closed",
    ),
    Case(
        "upgrade-refused-html-502",
        realtime(refuse=(502, "text/html", HTML_502)),
        SubscriptionError,
        "502",
    ),
    Case(
        "upgrade-refused-403",
        realtime(refuse=(403, "text/html", HTML_403)),
        SubscriptionError,
        "403",
    ),
    Case(
        "connection-ack-without-payload",
        realtime(after_start(event, connection_ack='{"type":"connection_ack"}')),
        OK,
        check=delivers(GOOD_EVENT),
    ),
    Case(
        "start-error-errors-object",
        realtime(
            after_start(
                error_frame({"errorType": "Unauthorized", "message": "Not Authorized"}),
                ack=False,
            )
        ),
        SubscriptionError,
        "Not Authorized",
    ),
    Case(
        "start-error-errors-string",
        realtime(after_start(error_frame("flat refusal"), ack=False)),
        SubscriptionError,
        "flat refusal",
    ),
    Case(
        "start-error-errors-null",
        realtime(after_start(error_frame(None), ack=False)),
        SubscriptionError,
        "no error details",
    ),
    Case(
        "error-without-id-while-starting",
        realtime(
            after_start(
                '{"type":"error","payload":{"errors":[{"message":"who?"}]}}', ack=False
            )
        ),
        SubscriptionError,
        "acknowledge",
    ),
    Case(
        "start-ack-without-id",
        realtime(after_start('{"type":"start_ack"}', ack=False)),
        SubscriptionError,
        "acknowledge",
    ),
    Case(
        "event-errors-object",
        realtime(
            after_start(
                lambda ident: json.dumps(
                    {
                        "type": "data",
                        "id": ident,
                        "payload": {"data": None, "errors": {"message": "bad event"}},
                    }
                )
            )
        ),
        SubscriptionError,
        "bad event",
    ),
    Case(
        "ended-by-server",
        realtime(after_start(error_frame([{"message": "invalidated"}]))),
        SubscriptionError,
        "invalidated",
    ),
    Case(
        "complete-ends-cleanly",
        realtime(
            after_start(lambda ident: json.dumps({"type": "complete", "id": ident}))
        ),
        OK,
        check=delivers("ended without an event"),
    ),
    Case(
        "data-for-unknown-id-ignored",
        realtime(after_start(data_frame("someone-else", {"x": 1}), event)),
        OK,
        check=delivers(GOOD_EVENT),
    ),
    Case(
        "data-without-id-ignored",
        realtime(after_start('{"type":"data","payload":{"data":{}}}', event)),
        OK,
        check=delivers(GOOD_EVENT),
    ),
    Case(
        "data-payload-not-object-ignored",
        realtime(
            after_start(lambda i: f'{{"type":"data","id":"{i}","payload":7}}', event)
        ),
        OK,
        check=delivers(GOOD_EVENT),
    ),
    Case(
        "unknown-type-ignored",
        realtime(after_start('{"type":"surprise","id":"1"}', event)),
        OK,
        check=delivers(GOOD_EVENT),
    ),
    Case(
        "non-json-text-ignored",
        realtime(after_start("<html>oops</html>", "", "[1,2", event)),
        OK,
        check=delivers(GOOD_EVENT),
    ),
    Case(
        "binary-garbage-ignored",
        realtime(after_start(b"\x89PNG\r\n", event)),
        OK,
        check=delivers(GOOD_EVENT),
    ),
    Case(
        "binary-json-event",
        realtime(after_start(lambda ident: event(ident).encode())),
        OK,
        check=delivers(GOOD_EVENT),
    ),
    Case(
        "oversized-frame",
        realtime(after_start(lambda i: data_frame(i, {"x": "y" * (5 * 1024 * 1024)}))),
        SubscriptionError,
        "gave up",
    ),
]

CORPUS = (
    CONFIGURATION
    + CREDENTIAL_CASES
    + DOCUMENTS
    + VARIABLES
    + HTTP_ANSWERS
    + REALTIME_FRAMES
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[AppSyncEmulator]:
    """The chat sample in a background thread, shared by the module's cases."""
    with AppSyncEmulator("chat", seed=5).run_in_thread() as emu:
        yield emu


async def _run(case: Case, ctx: Context) -> Any:
    """The case's result or error, failing the test if it takes too long.

    Not ``wait_for``: RequestTimeout *is* a TimeoutError, which must not be
    mistaken for the case hanging.
    """
    task = asyncio.ensure_future(case.action(ctx))
    done, _ = await asyncio.wait({task}, timeout=CASE_TIMEOUT)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pytest.fail(f"{case.id}: no answer within {CASE_TIMEOUT} s (a hang)")
    return task.result()


class TestBadInput:
    """Each bad input: a documented error type, a clear message, no secret, no hang."""

    def test_corpus_is_large_and_unique(self) -> None:
        """The corpus holds at least 40 cases with distinct ids."""
        ids = [case.id for case in CORPUS]
        assert len(ids) >= 40
        assert len(set(ids)) == len(ids)

    @pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
    async def test_case(
        self,
        case: Case,
        emulator: AppSyncEmulator,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The case ends, within its bound, with its documented error (or result)."""
        ctx = Context(emulator, monkeypatch)
        if case.expect is None:
            result = await _run(case, ctx)
            if case.check is not None:
                assert case.check(result), f"{case.id}: unexpected result"
            return
        with pytest.raises(case.expect) as info:
            await _run(case, ctx)
        error = info.value
        assert_clean_error(error, secrets=ctx.secrets, config=True)
        assert case.match.lower() in str(error).lower(), str(error)
