"""The emulator's real-time endpoint, driven by botocore + a raw aiohttp WebSocket."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from appsync_iam import FrozenCredentials
from appsync_iam.emulator import AppSyncEmulator

from .rt_helpers import (
    ON_MESSAGE,
    Publish,
    connect_header,
    eventually,
    receive_json,
    start_message,
    subprotocol,
)


@asynccontextmanager
async def raw_socket(
    session: aiohttp.ClientSession,
    emulator: AppSyncEmulator,
    header: dict[str, str] | None = None,
    *,
    form: str = "subprotocol",
    init: bool = True,
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A WebSocket to the emulator authenticated with ``header`` (default: valid)."""
    if header is None:
        header = connect_header(emulator.url, emulator.credentials)
    url: Any = emulator.realtime_url
    protocols: tuple[str, ...] = ("graphql-ws", subprotocol(header))
    if form == "query":
        raw = base64.b64encode(json.dumps(header).encode()).decode()
        url = f"{emulator.realtime_url}?header={raw}&payload=e30="
        protocols = ("graphql-ws",)
    elif form == "query-escaped":
        raw = base64.b64encode(json.dumps(header).encode()).decode()
        url = f"{emulator.realtime_url}?header={quote(raw, safe='')}&payload=e30="
        protocols = ("graphql-ws",)
    ws = await session.ws_connect(url, protocols=protocols)
    try:
        if init:
            await ws.send_json({"type": "connection_init"})
        yield ws
    finally:
        await ws.close()


async def start(
    ws: aiohttp.ClientWebSocketResponse,
    emulator: AppSyncEmulator,
    ident: str,
    variables: dict[str, Any] | None = None,
    *,
    query: str = ON_MESSAGE,
    credentials: FrozenCredentials | None = None,
) -> dict[str, Any]:
    """Send a botocore-signed start; return the answer frame."""
    await ws.send_str(
        start_message(
            emulator.url, ident, query, variables, credentials or emulator.credentials
        )
    )
    return await receive_json(ws)


class TestHandshake:
    """Both auth forms are verified with botocore; bad ones get connection_error."""

    @pytest.mark.parametrize("form", ["subprotocol", "query", "query-escaped"])
    async def test_botocore_signed_handshake_is_acked(
        self,
        emulator: AppSyncEmulator,
        session: aiohttp.ClientSession,
        form: str,
    ) -> None:
        """connection_init is answered with connection_ack and connectionTimeoutMs."""
        async with raw_socket(session, emulator, form=form) as ws:
            ack = await receive_json(ws)
            assert ack == {
                "type": "connection_ack",
                "payload": {"connectionTimeoutMs": 2000},
            }
            assert ws.protocol == "graphql-ws"
        assert emulator.realtime.stats["connections"] == 1

    async def test_header_subprotocol_is_never_echoed(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """The handshake answer names graphql-ws only, never the header- token."""
        header = connect_header(emulator.url, emulator.credentials)
        async with session.get(
            emulator.realtime_url,
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
                "Sec-WebSocket-Protocol": f"graphql-ws, {subprotocol(header)}",
            },
        ) as response:
            assert response.status == 101
            assert response.headers["Sec-WebSocket-Protocol"] == "graphql-ws"

    async def test_session_token_principal(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """A temporary principal's token is signed in and accepted."""
        temp = emulator.add_principal("AKIDTEMP", "tempsecret", token="TOKEN+/=")
        async with raw_socket(
            session, emulator, connect_header(emulator.url, temp)
        ) as ws:
            assert (await receive_json(ws))["type"] == "connection_ack"

    @pytest.mark.parametrize(
        ("case", "error_type", "code", "text"),
        [
            ("wrong-secret", "BadRequestException", 400, "signature we calculated"),
            ("unknown-key", "UnauthorizedException", 401, "security token"),
            ("stale", "BadRequestException", 400, "Signature expired"),
            ("wrong-host", "UnauthorizedException", 401, "host"),
            ("wrong-path", "BadRequestException", 400, "signature we calculated"),
            ("expired-token", "UnauthorizedException", 401, "expired"),
        ],
    )
    async def test_bad_connect_signature_gets_connection_error(
        self,
        emulator: AppSyncEmulator,
        session: aiohttp.ClientSession,
        case: str,
        error_type: str,
        code: int,
        text: str,
    ) -> None:
        """A bad connect signature gets connection_error, then the socket closes."""
        creds = emulator.credentials
        url = emulator.url
        kwargs: dict[str, Any] = {}
        if case == "wrong-secret":
            creds = FrozenCredentials(creds.access_key, "not-the-secret")
        elif case == "unknown-key":
            creds = FrozenCredentials("AKIDUNKNOWN", "secret")
        elif case == "stale":
            kwargs["at"] = datetime.now(timezone.utc) - timedelta(minutes=6)
        elif case == "wrong-host":
            url = "https://example.appsync-api.us-east-1.amazonaws.com/graphql"
        elif case == "wrong-path":  # signs POST /graphql/other/connect
            url = emulator.url + "/other"
        elif case == "expired-token":
            creds = emulator.add_principal(
                "AKIDEXPIRED",
                "secret",
                token="tok",
                expires_at=datetime.now(timezone.utc) - timedelta(seconds=1),
            )
        header = connect_header(url, creds, **kwargs)
        async with raw_socket(session, emulator, header) as ws:
            frame = await receive_json(ws)
            assert frame["type"] == "connection_error"
            (error,) = frame["payload"]["errors"]
            assert error["errorType"] == error_type
            assert error["errorCode"] == code
            assert text in error["message"]
            closing = await ws.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert emulator.realtime.stats["connection_errors"] == 1
        assert emulator.realtime.stats["connections"] == 0

    async def test_missing_auth(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """No header object at all → UnauthorizedException."""
        ws = await session.ws_connect(emulator.realtime_url, protocols=("graphql-ws",))
        try:
            frame = await receive_json(ws)
        finally:
            await ws.close()
        assert frame["payload"]["errors"][0]["errorType"] == "UnauthorizedException"

    async def test_garbage_header(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """A header- token that is not base64 JSON → BadRequestException."""
        ws = await session.ws_connect(
            emulator.realtime_url, protocols=("graphql-ws", "header-bm90anNvbg")
        )
        try:
            frame = await receive_json(ws)
        finally:
            await ws.close()
        assert frame["type"] == "connection_error"
        assert frame["payload"]["errors"][0]["errorType"] == "BadRequestException"


class TestKeepAlive:
    """ka frames follow the ack at emulator.ka_interval unless withheld."""

    async def test_ka_frames_arrive(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """At 50 ms, several ka frames arrive within half a second."""
        async with raw_socket(session, emulator) as ws:
            assert (await receive_json(ws))["type"] == "connection_ack"
            kinds = [
                (await receive_json(ws, 1, skip_ka=False))["type"] for _ in range(4)
            ]
            assert kinds == ["ka"] * 4

    async def test_withheld_ka(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """With faults.withhold_ka no ka arrives."""
        emulator.faults.withhold_ka = True
        async with raw_socket(session, emulator) as ws:
            assert (await receive_json(ws))["type"] == "connection_ack"
            with pytest.raises(asyncio.TimeoutError):
                await receive_json(ws, 0.3, skip_ka=False)

    async def test_messages_before_init_are_ignored(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """A start before connection_init gets no answer; init still works."""
        async with raw_socket(session, emulator, init=False) as ws:
            await ws.send_str(
                start_message(emulator.url, "s1", ON_MESSAGE, {}, emulator.credentials)
            )
            await ws.send_json({"type": "connection_init"})
            assert (await receive_json(ws))["type"] == "connection_ack"
        assert emulator.realtime.stats["starts"] == 0


class TestSubscriptions:
    """start → start_ack / error; data to matching subscriptions; stop → complete."""

    async def test_mutation_reaches_matching_subscription_only(
        self,
        emulator: AppSyncEmulator,
        session: aiohttp.ClientSession,
        publish: Publish,
    ) -> None:
        """Argument filter and selection set apply; the other room hears nothing."""
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            assert await start(ws, emulator, "a", {"roomId": "r1"}) == {
                "type": "start_ack",
                "id": "a",
            }
            assert (await start(ws, emulator, "b", {"roomId": "r2"}))["id"] == "b"
            await publish("r1", "hello")
            frame = await receive_json(ws)
            assert frame["type"] == "data"
            assert frame["id"] == "a"
            message = frame["payload"]["data"]["onMessagePosted"]
            assert message["roomId"] == "r1"
            assert message["content"] == "hello"
            assert "author" not in message  # not in the subscription's selection
            with pytest.raises(asyncio.TimeoutError):
                await receive_json(ws, 0.2)

    async def test_bad_start_signature(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """A start signed with the wrong secret → error with its id."""
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            wrong = FrozenCredentials(emulator.credentials.access_key, "wrong")
            frame = await start(ws, emulator, "s1", {}, credentials=wrong)
            assert frame["type"] == "error"
            assert frame["id"] == "s1"
            assert frame["payload"]["errors"][0]["errorType"] == "BadRequestException"
            assert emulator.realtime.active_subscriptions == 0

    async def test_tampered_data_string(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """Changing one byte of data after signing is rejected."""
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            message = json.loads(
                start_message(emulator.url, "s1", ON_MESSAGE, {}, emulator.credentials)
            )
            message["payload"]["data"] = message["payload"]["data"].replace(
                "{}", '{"roomId":"x"}'
            )
            await ws.send_json(message)
            frame = await receive_json(ws)
            assert frame["type"] == "error"
            assert frame["payload"]["errors"][0]["errorType"] == "BadRequestException"

    async def test_validation_error(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """A query that fails validation → error with the GraphQL errors."""
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            frame = await start(
                ws, emulator, "s1", {}, query="subscription { nope { id } }"
            )
            assert frame["type"] == "error"
            assert frame["id"] == "s1"
            assert "Validation error" in frame["payload"]["errors"][0]["message"]

    async def test_denied_field(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """A principal denied the subscription field → Unauthorized."""
        denied = emulator.add_principal(
            "AKIDDENIED", "secret", deny=["Subscription.onMessagePosted"]
        )
        async with raw_socket(
            session, emulator, connect_header(emulator.url, denied)
        ) as ws:
            await receive_json(ws)
            frame = await start(ws, emulator, "s1", {}, credentials=denied)
            assert frame["payload"]["errors"][0]["errorType"] == "Unauthorized"

    async def test_duplicate_id(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """Reusing a live id on the same connection → error with that id."""
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            assert (await start(ws, emulator, "s1"))["type"] == "start_ack"
            frame = await start(ws, emulator, "s1")
            assert frame["type"] == "error"
            assert frame["id"] == "s1"
            assert emulator.realtime.active_subscriptions == 1

    async def test_more_than_100_subscriptions(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """The 101st start on one connection → MaxSubscriptionsReachedError."""
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            for n in range(100):
                assert (await start(ws, emulator, f"s{n}"))["type"] == "start_ack"
            frame = await start(ws, emulator, "s100")
            assert frame["type"] == "error"
            assert frame["id"] == "s100"
            (error,) = frame["payload"]["errors"]
            assert error["errorType"] == "MaxSubscriptionsReachedError"
            assert error["message"] == "Max number of 100 subscriptions reached"

    async def test_stop_then_complete(
        self,
        emulator: AppSyncEmulator,
        session: aiohttp.ClientSession,
        publish: Publish,
    ) -> None:
        """stop → complete, and no data for that id afterwards."""
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            await start(ws, emulator, "s1", {"roomId": "r1"})
            await ws.send_json({"type": "stop", "id": "s1"})
            assert await receive_json(ws) == {"type": "complete", "id": "s1"}
            await publish("r1", "after stop")
            with pytest.raises(asyncio.TimeoutError):
                await receive_json(ws, 0.2)
        assert emulator.realtime.stats["stops"] == 1

    async def test_unknown_message_type(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """An unsupported message → error without id; the socket stays usable."""
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            await ws.send_json({"type": "subscribe", "id": "x"})
            frame = await receive_json(ws)
            assert frame["type"] == "error"
            assert "id" not in frame
            await ws.send_str("not json")
            assert (await receive_json(ws))["type"] == "error"
            assert (await start(ws, emulator, "s1"))["type"] == "start_ack"


class TestFaults:
    """Injected drops, throttled starts and the optional maximum connection age."""

    async def test_throttled_start(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """throttle_starts answers a connection-level LimitExceededError."""
        emulator.realtime.throttle_starts = 1
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            frame = await start(ws, emulator, "s1")
            assert frame == {
                "type": "error",
                "payload": {
                    "errors": {
                        "errorType": "LimitExceededError",
                        "message": "Rate limit exceeded",
                    }
                },
            }
            assert (await start(ws, emulator, "s1"))["type"] == "start_ack"
        assert emulator.faults.injected["throttle_start"] == 1

    async def test_drop_ws_every(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """faults.drop_ws_every_s aborts the socket without a close frame."""
        emulator.faults.drop_ws_every_s = 0.2
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            while True:
                message = await ws.receive(timeout=5)
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
            assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        assert emulator.faults.injected["drop_ws"] == 1
        await eventually(lambda: emulator.realtime.open_connections == 0)

    async def test_max_connection_age(
        self, emulator: AppSyncEmulator, session: aiohttp.ClientSession
    ) -> None:
        """max_connection_age closes cleanly with code 1000, as AppSync at 24 h."""
        emulator.realtime.max_connection_age = 0.2
        async with raw_socket(session, emulator) as ws:
            await receive_json(ws)
            while True:
                message = await ws.receive(timeout=5)
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert message.data == 1000

    async def test_close_ends_open_sockets(
        self, session: aiohttp.ClientSession
    ) -> None:
        """Stopping the emulator closes its WebSockets (code 1001)."""
        async with AppSyncEmulator("chat") as emulator:
            ws = await session.ws_connect(
                emulator.realtime_url,
                protocols=(
                    "graphql-ws",
                    subprotocol(connect_header(emulator.url, emulator.credentials)),
                ),
            )
            await ws.send_json({"type": "connection_init"})
            await receive_json(ws)
            await emulator.close()
            message = await ws.receive(timeout=5)
            while message.type == aiohttp.WSMsgType.TEXT:  # a ka sent before
                message = await ws.receive(timeout=5)
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert message.data == 1001
            await ws.close()
