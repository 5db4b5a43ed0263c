"""Fuzzing, time-bounded: the verifier, the frame parser, the real-time server.

Adds to what ``tests/emulator/test_emulator_tamper.py`` (one changed byte over
HTTP) and ``tests/realtime/test_protocol.py`` (text and frame-like JSON into
``parse_frame``) already cover:

- :class:`SigV4Verifier` fed arbitrary ``Authorization`` strings, structured
  ones with random parts, and arbitrary header sets and bodies: only
  :class:`SignatureRejected` comes out, and nothing is ever accepted; a
  request botocore signed, changed structurally (a signed header dropped or
  repeated, another principal's key, a moved date, method, path, query...),
  is always rejected;
- ``parse_frame`` on arbitrary bytes and on the error shapes the client then
  classifies;
- the emulator's real-time server, over a real socket, fed arbitrary text and
  binary frames and signed ``start`` messages with arbitrary GraphQL: it
  answers with frames or closes the socket, never crashes, and keeps
  serving other connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import string
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realtime.rt_helpers import (
    ON_MESSAGE,
    POST_MESSAGE,
    connect_header,
    signed_post,
    start_message,
    subprotocol,
)

from appsync_iam import ProtocolError
from appsync_iam._realtime import _is_auth, _summary
from appsync_iam._realtime_protocol import (
    ConnectionErrorFrame,
    Data,
    Error,
    decode_header_object,
    parse_frame,
)
from appsync_iam.emulator import (
    AppSyncEmulator,
    Principal,
    SignatureRejected,
    SigV4Verifier,
)

NOW = datetime(2024, 6, 7, 12, 0, 0, tzinfo=timezone.utc)
AMZ_DATE = NOW.strftime("%Y%m%dT%H%M%SZ")
REGION = "us-east-1"
HOST = "abc123.appsync-api.us-east-1.amazonaws.com"
URL = f"https://{HOST}/graphql"
BODY = b'{"query":"query { listRooms { items { id } } }"}'
ALICE = Principal("AKIDALICEEXAMPLE", "aliceSecretKeyEXAMPLE/0123456789abcdef")
BOB = Principal(
    "AKIDBOBEXAMPLE", "bobSecretKeyEXAMPLE/0123456789abcdef", token="BOBTOKEN+/="
)
PRINCIPALS = {p.access_key: p for p in (ALICE, BOB)}
REJECTION_STATUSES = {400, 401, 403}


def fuzz(examples: int) -> settings:
    """Time-bounded hypothesis settings: ``examples`` examples, no deadline."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def verifier() -> SigV4Verifier:
    return SigV4Verifier(PRINCIPALS, REGION, now=lambda: NOW)


def botocore_signed(
    principal: Principal,
    *,
    body: bytes = BODY,
    method: str = "POST",
    url: str = URL,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Headers botocore signs at NOW for this request (host included)."""
    request = AWSRequest(
        method=method,
        url=url,
        data=body,
        headers={"content-type": "application/json", **(extra or {})},
    )
    request.context["timestamp"] = AMZ_DATE
    auth = SigV4Auth(
        Credentials(principal.access_key, principal.secret_key, principal.token),
        "appsync",
        REGION,
    )
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    auth._inject_signature_to_request(request, signature)
    return {"host": HOST, **dict(request.headers.items())}


def assert_rejected(
    headers: Any, *, body: bytes = BODY, method: str = "POST", path: str = "/graphql"
) -> SignatureRejected:
    """The verifier rejects this request with a well-formed SignatureRejected."""
    with pytest.raises(SignatureRejected) as info:
        verifier().verify(
            method=method, path=path, query="", headers=headers, body=body
        )
    rejection = info.value
    assert rejection.status in REJECTION_STATUSES
    assert rejection.error_type and rejection.message
    for principal in PRINCIPALS.values():
        assert principal.secret_key not in rejection.message
        assert not principal.token or principal.token not in rejection.message
    return rejection


# --- strategies ------------------------------------------------------------------

_text = st.text(max_size=60)
_token_chars = st.text(string.ascii_letters + string.digits + "/+=_-", max_size=40)
_hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)


@st.composite
def authorizations(draw: st.DrawFn) -> str:
    """``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`` with each
    part valid, missing, empty or garbage."""
    key = draw(st.sampled_from([ALICE.access_key, BOB.access_key, "AKIDNOBODY", ""]))
    date = draw(st.sampled_from([AMZ_DATE[:8], "20240608", "2024", ""]) | _token_chars)
    region = draw(st.sampled_from([REGION, "eu-west-1", ""]) | _token_chars)
    service = draw(st.sampled_from(["appsync", "s3", ""]))
    terminator = draw(st.sampled_from(["aws4_request", "aws4", ""]))
    credential = "/".join([key, date, region, service, terminator])
    credential = draw(st.sampled_from([credential, credential + "/x", key]) | _text)
    names = draw(
        st.lists(
            st.sampled_from(
                ["host", "x-amz-date", "content-type", "x-amz-security-token", "X-Y"]
            )
            | _token_chars,
            max_size=6,
        )
    )
    signature = draw(_hex64 | _text)
    parts = [
        f"Credential={credential}",
        f"SignedHeaders={';'.join(names)}",
        f"Signature={signature}",
    ]
    parts = draw(st.permutations(parts))
    parts = parts[: draw(st.integers(0, len(parts)))] + draw(
        st.lists(_text, max_size=2)
    )
    separator = draw(st.sampled_from([", ", ",", " ", ",,"]))
    algorithm = draw(st.sampled_from(["AWS4-HMAC-SHA256", "aws4-hmac-sha256", ""]))
    return f"{algorithm} {separator.join(parts)}"


_header_names = st.sampled_from(
    [
        "host",
        "Host",
        "x-amz-date",
        "X-Amz-Date",
        "content-type",
        "x-amz-security-token",
        "X-Amz-Security-Token",
        "x-amz-content-sha256",
        "authorization",
    ]
) | st.text(min_size=1, max_size=20)
_header_values = st.sampled_from(
    [HOST, AMZ_DATE, "20240607T120000", "BOBTOKEN+/=", "application/json", ""]
) | st.text(max_size=80)


@st.composite
def header_sets(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A header list (repeats allowed, as aiohttp delivers them) with an
    ``Authorization`` somewhere, structured or arbitrary."""
    headers = draw(st.lists(st.tuples(_header_names, _header_values), max_size=8))
    authorization = draw(authorizations() | st.text(max_size=200))
    headers.insert(draw(st.integers(0, len(headers))), ("Authorization", authorization))
    return headers


class _Multi:
    """A mapping whose items() yields repeated names, like aiohttp's CIMultiDict."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


# --- the verifier ----------------------------------------------------------------


class TestVerifierFuzz:
    """Arbitrary or tampered requests: only SignatureRejected, never accepted."""

    @given(authorization=authorizations() | st.text(max_size=300), body=st.binary())
    @fuzz(600)
    def test_arbitrary_authorization_is_rejected(
        self, authorization: str, body: bytes
    ) -> None:
        """Any Authorization string next to valid-looking headers is rejected."""
        headers = {
            "host": HOST,
            "x-amz-date": AMZ_DATE,
            "content-type": "application/json",
            "Authorization": authorization,
        }
        assert_rejected(headers, body=body)

    @given(
        headers=header_sets(),
        body=st.binary(max_size=200),
        method=st.sampled_from(["POST", "GET", "post", ""]) | st.text(max_size=8),
        path=st.sampled_from(["/graphql", "/graphql/connect", "", "/"]) | _text,
    )
    @fuzz(600)
    def test_arbitrary_header_sets_are_rejected(
        self, headers: list[tuple[str, str]], body: bytes, method: str, path: str
    ) -> None:
        """Any header set, method, path and body is rejected, never a crash."""
        assert_rejected(_Multi(headers), body=body, method=method, path=path)

    def test_the_untampered_request_is_accepted(self) -> None:
        """The control: botocore's signed request, and unsigned extras, pass."""
        for principal in PRINCIPALS.values():
            headers = botocore_signed(principal)
            assert (
                verifier().verify(
                    method="POST", path="/graphql", query="", headers=headers, body=BODY
                )
                == principal
            )
            headers["user-agent"] = "not signed, allowed"
            verifier().verify(
                method="POST", path="/graphql", query="", headers=headers, body=BODY
            )

    @given(data=st.data())
    @fuzz(400)
    def test_structural_tampering_is_rejected(self, data: st.DataObject) -> None:
        """A signed request changed in any signed respect is rejected."""
        principal = data.draw(st.sampled_from([ALICE, BOB]), label="principal")
        headers = botocore_signed(principal)
        body, method, path, query = BODY, "POST", "/graphql", ""
        by_lower = {name.lower(): name for name in headers}
        signed = headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
        signed_names = signed.split(";")
        tamper = data.draw(
            st.sampled_from(
                [
                    "drop-signed-header",
                    "repeat-signed-header",
                    "swap-access-key",
                    "add-token",
                    "change-token",
                    "move-date",
                    "scope",
                    "method",
                    "path",
                    "query",
                    "body-append",
                    "body-truncate",
                    "signature",
                    "value-case",
                ]
            ),
            label="tamper",
        )
        items = list(headers.items())
        if tamper == "drop-signed-header":
            name = data.draw(st.sampled_from(signed_names), label="name")
            items = [(k, v) for k, v in items if k.lower() != name]
        elif tamper == "repeat-signed-header":
            name = data.draw(st.sampled_from(signed_names), label="name")
            value = data.draw(_header_values, label="value")
            items.append((by_lower[name], value))
        elif tamper == "swap-access-key":
            other = BOB if principal is ALICE else ALICE
            items = _replace(
                items, "Authorization", principal.access_key, other.access_key
            )
            if other.token:
                items.append(("X-Amz-Security-Token", other.token))
        elif tamper == "add-token":
            if principal.token:
                items.append(("x-amz-security-token", principal.token))
            else:
                items.append(("X-Amz-Security-Token", "UNEXPECTED"))
        elif tamper == "change-token":
            items = [
                (k, v + "x" if k.lower() == "x-amz-security-token" else v)
                for k, v in items
            ]
            if principal.token is None:
                items.append(("X-Amz-Security-Token", "x"))
        elif tamper == "move-date":
            seconds = data.draw(
                st.integers(-3600, 3600).filter(lambda s: s != 0), label="seconds"
            )
            moved = (NOW + timedelta(seconds=seconds)).strftime("%Y%m%dT%H%M%SZ")
            items = [(k, moved if k.lower() == "x-amz-date" else v) for k, v in items]
        elif tamper == "scope":
            old, new = data.draw(
                st.sampled_from(
                    [
                        (f"/{REGION}/", "/eu-west-1/"),
                        ("/appsync/", "/execute-api/"),
                        (f"/{AMZ_DATE[:8]}/", "/20240606/"),
                        ("aws4_request", "aws4_reqvest"),
                    ]
                ),
                label="scope",
            )
            items = _replace(items, "Authorization", old, new)
        elif tamper == "method":
            method = data.draw(st.sampled_from(["GET", "PUT", "DELETE"]), label="m")
        elif tamper == "path":
            path = data.draw(
                st.sampled_from(["/graphql/connect", "/graphql/", "/", "/GraphQL"]),
                label="path",
            )
        elif tamper == "query":
            query = data.draw(st.sampled_from(["a=1", "header=x", "x"]), label="q")
        elif tamper == "body-append":
            body = BODY + data.draw(st.binary(min_size=1, max_size=8), label="tail")
        elif tamper == "body-truncate":
            body = BODY[: data.draw(st.integers(0, len(BODY) - 1), label="cut")]
        elif tamper == "signature":
            signature = headers["Authorization"].rsplit("Signature=", 1)[1]
            other = data.draw(_hex64.filter(lambda s: s != signature), label="sig")
            items = _replace(items, "Authorization", signature, other)
        else:
            name = data.draw(
                st.sampled_from(["content-type", "x-amz-security-token", "host"])
                .filter(lambda n: n in signed_names)
                .filter(lambda n: headers[by_lower[n]].upper() != headers[by_lower[n]]),
                label="name",
            )
            items = [(k, v.upper() if k.lower() == name else v) for k, v in items]
        with pytest.raises(SignatureRejected) as info:
            verifier().verify(
                method=method, path=path, query=query, headers=_Multi(items), body=body
            )
        assert info.value.status in REJECTION_STATUSES


def _replace(
    items: list[tuple[str, str]], name: str, old: str, new: str
) -> list[tuple[str, str]]:
    assert any(k == name and old in v for k, v in items)
    return [(k, v.replace(old, new) if k == name else v) for k, v in items]


# --- the frame parser ------------------------------------------------------------

#: Any code point, lone surrogates included: json.dumps escapes them (\\ud800),
#: which is how a hostile client gets one past a UTF-8 WebSocket frame.
_any_text = st.text(st.characters(exclude_categories=()), max_size=20)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _any_text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["errorType", "message", "errorCode", "data", "path"])
            | st.text(max_size=6),
            children,
            max_size=4,
        )
    ),
    max_leaves=15,
)


class TestFrameParserFuzz:
    """parse_frame never crashes; what it returns, the client can classify."""

    @given(st.binary(max_size=300))
    @fuzz(400)
    def test_arbitrary_bytes(self, raw: bytes) -> None:
        """Arbitrary bytes (a binary frame) give a frame or a ProtocolError."""
        try:
            parse_frame(raw)
        except ProtocolError as exc:
            assert str(exc)

    @given(
        kind=st.sampled_from(["error", "connection_error", "data"]),
        errors=_json,
        where=st.sampled_from(["payload", "top"]),
    )
    @fuzz(400)
    def test_error_shapes_are_classified(
        self, kind: str, errors: Any, where: str
    ) -> None:
        """Any ``errors`` value parses to error dicts the client summarises."""
        message: dict[str, Any] = {"type": kind, "id": "s1"}
        if where == "payload":
            message["payload"] = {"errors": errors}
        else:
            message["errors"] = errors
        try:
            frame = parse_frame(json.dumps(message))
        except ProtocolError:
            return
        assert isinstance(frame, (Error, ConnectionErrorFrame, Data))
        assert all(isinstance(error, dict) for error in frame.errors)
        assert isinstance(_summary(frame.errors), str)
        assert isinstance(_is_auth(frame.errors), bool)
        if not isinstance(frame, Data):
            assert all(isinstance(t, str) for t in frame.error_types)

    @given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.hex()))
    @fuzz(300)
    def test_header_object_decoding(self, text: str) -> None:
        """Any handshake header text decodes to a dict of strings or ProtocolError."""
        try:
            value = decode_header_object(text)
        except ProtocolError:
            return
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


# --- the emulator's real-time server, over a real socket -------------------------

_GRAPHQL = st.sampled_from(
    [
        ON_MESSAGE,
        "subscription { onMessagePosted { id } }",
        "subscription { onMessagePosted(roomId: 1) { nope } }",
        "subscription A { onMessagePosted { id } } "
        "subscription B { onRoomCreated { id } }",
        "subscription { __typename }",
        POST_MESSAGE,
        "query { listRooms { items { id } } }",
        "fragment F on Message { id }",
        "subscription {",
        "",
    ]
) | st.text(max_size=80)
_ids = st.sampled_from(["dup", "s1", "", "\ud800"]) | _any_text
_client_types = (
    st.sampled_from(
        ["start", "stop", "connection_init", "ka", "data", "complete", "START", "error"]
    )
    | _any_text
)


@st.composite
def client_frames(draw: st.DrawFn) -> tuple[str, Any]:
    """A frame a broken or hostile client might send: (kind, content)."""
    form = draw(
        st.sampled_from(["text", "binary", "json", "start-shaped", "signed-start"])
    )
    if form == "text":
        return "text", draw(st.text(max_size=200))
    if form == "binary":
        return "binary", draw(st.binary(max_size=200))
    if form == "json":
        message = draw(
            st.dictionaries(st.sampled_from(["type", "id", "payload"]), _json)
        )
        if draw(st.booleans()):
            message["type"] = draw(_client_types)
        return "text", json.dumps(message)
    if form == "start-shaped":
        payload = {
            "data": draw(st.text(max_size=80) | _json.map(json.dumps)),
            "extensions": draw(
                st.fixed_dictionaries(
                    {"authorization": st.dictionaries(_text, _text, max_size=4) | _json}
                )
                | _json
            ),
        }
        message = {"type": "start", "id": draw(_ids | _json), "payload": payload}
        return "text", json.dumps(message)
    query = draw(_GRAPHQL)
    variables = draw(
        st.dictionaries(st.sampled_from(["roomId", "x"]), _json, max_size=2)
    )
    return "signed-start", (draw(_ids.filter(bool)), query, variables)


class _Harness:
    """A fuzzed connection and a control subscription on one emulator."""

    def __init__(self, emulator: AppSyncEmulator) -> None:
        self.emulator = emulator
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.control: aiohttp.ClientWebSocketResponse | None = None
        self.probes = 0
        self.closes: Counter[int | None] = Counter()
        self.answers: Counter[str] = Counter()

    async def connect(self) -> aiohttp.ClientWebSocketResponse:
        header = connect_header(self.emulator.url, self.emulator.credentials)
        assert self.session is not None
        ws = await self.session.ws_connect(
            self.emulator.realtime_url, protocols=["graphql-ws", subprotocol(header)]
        )
        await ws.send_str('{"type":"connection_init"}')
        frame = await self._next(ws)
        assert frame["type"] == "connection_ack", frame
        return ws

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        self.control = await self.connect()
        await self.control.send_str(
            start_message(
                self.emulator.url,
                "control",
                ON_MESSAGE,
                {"roomId": "fuzz"},
                self.emulator.credentials,
            )
        )
        assert (await self._next(self.control))["type"] == "start_ack"
        self.ws = await self.connect()

    @staticmethod
    async def _next(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        while True:
            message = await ws.receive(timeout=10)
            assert message.type == aiohttp.WSMsgType.TEXT, message
            frame: dict[str, Any] = json.loads(message.data)
            if frame.get("type") != "ka":
                return frame

    async def send(self, kind: str, content: Any) -> None:
        """Send one fuzzed frame, then a probe that must come back: the server
        handled the frame and is still reading (or it closed the socket)."""
        if self.ws is None or self.ws.closed:
            self.ws = await self.connect()
        ws = self.ws
        if kind == "binary":
            await ws.send_bytes(content)
        elif kind == "signed-start":
            ident, query, variables = content
            await ws.send_str(
                start_message(
                    self.emulator.url,
                    ident,
                    query,
                    variables,
                    self.emulator.credentials,
                )
            )
        else:
            await ws.send_str(content)
        self.probes += 1
        probe = f"probe-{self.probes}"
        await ws.send_str(json.dumps({"type": "stop", "id": probe}))
        while True:
            message = await ws.receive(timeout=10)
            if message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                self.closes[ws.close_code] += 1
                assert ws.close_code != aiohttp.WSCloseCode.INTERNAL_ERROR
                return
            assert message.type == aiohttp.WSMsgType.TEXT, message
            frame = json.loads(message.data)
            assert isinstance(frame, dict) and isinstance(frame.get("type"), str)
            self.answers[frame["type"]] += 1
            if frame["type"] == "complete" and frame.get("id") == probe:
                return

    async def check_still_serving(self) -> None:
        """The control subscription gets an event; a new connection is acked."""
        assert self.control is not None and self.session is not None
        answer = await signed_post(
            self.session,
            self.emulator.url,
            POST_MESSAGE,
            {"roomId": "fuzz", "content": "after the fuzz"},
            self.emulator.credentials,
        )
        assert "errors" not in answer, answer
        frame = await self._next(self.control)
        assert frame["type"] == "data", frame
        assert (
            frame["payload"]["data"]["onMessagePosted"]["content"] == "after the fuzz"
        )
        fresh = await self.connect()
        await fresh.close()

    async def close(self) -> None:
        for ws in (self.ws, self.control):
            if ws is not None:
                await ws.close()
        if self.session is not None:
            await self.session.close()


class TestRealtimeServerFuzz:
    """Arbitrary client frames never crash the emulator's real-time endpoint."""

    def test_server_survives_arbitrary_frames(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Each fuzzed frame is answered or closes its socket; no handler crashes;
        the control subscription and new connections keep working."""
        caplog.set_level(logging.WARNING)
        emulator = AppSyncEmulator("chat", ka_interval=30, seed=11)
        loop = asyncio.new_event_loop()
        tried: Counter[str] = Counter()
        with emulator.run_in_thread():
            harness = _Harness(emulator)
            try:
                loop.run_until_complete(harness.open())

                @fuzz(600)
                @given(frame=client_frames())
                def survives(frame: tuple[str, Any]) -> None:
                    tried[frame[0]] += 1
                    loop.run_until_complete(harness.send(*frame))

                survives()
                loop.run_until_complete(harness.check_still_serving())
            finally:
                loop.run_until_complete(harness.close())
                loop.close()
        crashes = [
            f"{r.name}: {r.getMessage()}"
            for r in caplog.records
            if r.levelno >= logging.ERROR
        ]
        assert crashes == []
        assert tried["signed-start"] > 0 and tried["binary"] > 0
        print(
            f"\nreal-time fuzz: {sum(tried.values())} frames {dict(tried)}, "
            f"answers {dict(harness.answers)}, closes {dict(harness.closes)}, "
            f"starts {emulator.realtime.stats['starts']}, "
            f"start errors {emulator.realtime.stats['start_errors']}"
        )
