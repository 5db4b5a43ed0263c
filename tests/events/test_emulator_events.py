"""The Events emulator: HTTP and WebSocket publish, subscribe, fan-out, errors.

Every request is signed with botocore here (never with this project's client).
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from appsync_iam.emulator import AppSyncEmulator

from .ev_emulator_helpers import (
    SUBPROTOCOL,
    emulator,
    events_socket,
    publish_http,
    session,
)

__all__ = ["emulator", "session"]  # fixtures


async def test_urls(emulator: AppSyncEmulator) -> None:
    assert emulator.events_url == f"http://127.0.0.1:{emulator.port}/event"
    assert emulator.events_realtime_url == (
        f"ws://127.0.0.1:{emulator.port}/event/realtime"
    )
    assert emulator.events.namespaces == {"default", "chat"}


async def test_http_publish_answers_per_event_and_records(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    status, body = await publish_http(
        session, emulator, "/default/room1", ['{"a":1}', '"two"', "3"]
    )
    assert status == 200, body
    assert body["failed"] == []
    assert [s["index"] for s in body["successful"]] == [0, 1, 2]
    ids = [s["identifier"] for s in body["successful"]]
    assert len(set(ids)) == 3
    assert [
        (p.channel, p.payload, p.via, p.identifier) for p in emulator.published
    ] == [
        ("/default/room1", '{"a":1}', "http", ids[0]),
        ("/default/room1", '"two"', "http", ids[1]),
        ("/default/room1", "3", "http", ids[2]),
    ]
    assert emulator.published[0].value == {"a": 1}
    assert emulator.published[0].access_key == "AKIDEXAMPLE"


async def test_channel_without_leading_slash_is_normalised(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    status, body = await publish_http(session, emulator, "default/channel/", ["1"])
    assert status == 200, body
    assert emulator.published[0].channel == "/default/channel"


async def test_ws_subscribe_then_http_and_ws_publish_fan_out(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    async with (
        events_socket(session, emulator) as sub,
        events_socket(session, emulator) as pub,
    ):
        assert sub.ws.protocol == SUBPROTOCOL
        assert await sub.subscribe("s1", "/default/room1") == {
            "type": "subscribe_success",
            "id": "s1",
        }
        await publish_http(session, emulator, "/default/room1", ['{"n":1}', '{"n":2}'])
        assert await sub.recv() == {"type": "data", "id": "s1", "event": '{"n":1}'}
        assert await sub.recv() == {"type": "data", "id": "s1", "event": '{"n":2}'}
        answer = await pub.publish("p1", "/default/room1", ['{"msg":"héllo <x>"}'])
        assert answer["type"] == "publish_success" and answer["id"] == "p1"
        assert answer["failed"] == []
        assert [s["index"] for s in answer["successful"]] == [0]
        frame = await sub.recv()
        assert frame == {"type": "data", "id": "s1", "event": '{"msg":"héllo <x>"}'}
        assert [p.via for p in emulator.published] == ["http", "http", "ws"]
        assert emulator.events.open_connections == 2


async def test_publish_without_connection_init_and_without_subscription(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    async with events_socket(session, emulator, init=False) as pub:
        answer = await pub.publish("p-1_+", "/chat/a", ['"x"'])
        assert answer["type"] == "publish_success", answer


async def test_wildcard_matches_every_channel_below_its_prefix(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    async with events_socket(session, emulator) as sub:
        for ident, channel in [
            ("all", "/default/*"),
            ("a", "/default/a/*"),
            ("exact", "/default/a"),
            ("other", "/chat/*"),
        ]:
            assert (await sub.subscribe(ident, channel))["type"] == "subscribe_success"
        for channel, event in [
            ("/default", '"root"'),
            ("/default/a", '"a"'),
            ("/default/a/b/c", '"abc"'),
            ("/default/A", '"A"'),
            ("/chat/x", '"chat"'),
        ]:
            status, _ = await publish_http(session, emulator, channel, [event])
            assert status == 200
        got = [await sub.recv() for _ in range(6)]
        pairs = sorted((f["id"], f["event"]) for f in got)
        assert pairs == sorted(
            [
                ("all", '"a"'),
                ("exact", '"a"'),
                ("all", '"abc"'),
                ("a", '"abc"'),
                ("all", '"A"'),
                ("other", '"chat"'),
            ]
        )
        with pytest.raises(asyncio.TimeoutError):
            await sub.recv(timeout=0.2)


async def test_unsubscribe_stops_delivery(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    async with events_socket(session, emulator) as sub:
        await sub.subscribe("s", "/default/*")
        await sub.send({"type": "unsubscribe", "id": "s"})
        assert await sub.recv() == {"type": "unsubscribe_success", "id": "s"}
        await sub.send({"type": "unsubscribe", "id": "s"})
        frame = await sub.recv()
        assert frame["type"] == "unsubscribe_error" and frame["id"] == "s"
        assert frame["errors"][0]["errorType"] == "UnknownOperationError"
        await publish_http(session, emulator, "/default/x", ['"lost"'])
        with pytest.raises(asyncio.TimeoutError):
            await sub.recv(timeout=0.2)
        assert emulator.events.active_subscriptions == 0


@pytest.mark.parametrize(
    "channel",
    [
        "",
        "/",
        "/default//a",
        "/default/-a",
        "/default/a-",
        "/default/a b",
        "/default/é",
        "/default/" + "a" * 51,
        "/default/a/b/c/d/e",
        "/default/*/a",
        "/*",
        7,
    ],
)
async def test_bad_channels_are_refused_on_every_path(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession, channel: object
) -> None:
    status, body = await publish_http(session, emulator, channel, ['"x"'])
    assert status == 400, body
    assert body["errors"][0]["errorType"] == "BadRequestException"
    async with events_socket(session, emulator) as ws:
        if isinstance(channel, str):
            frame = await ws.subscribe("s", channel)
            assert frame["type"] == "subscribe_error", frame
            assert frame["id"] == "s"
            assert frame["errors"][0]["errorType"] == "BadRequestException"
        frame = await ws.publish("p", channel, ['"x"'])
        assert frame["type"] == "publish_error", frame
        assert frame["errors"][0]["errorType"] == "InvalidInputError"
    assert emulator.published == []


async def test_longest_valid_channel_and_wildcard_publish(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    longest = "/default/" + "/".join(["a" + "-" * 48 + "b"] * 4)
    status, body = await publish_http(session, emulator, longest, ['"x"'])
    assert status == 200, body
    status, body = await publish_http(session, emulator, "/default/*", ['"x"'])
    assert status == 400
    assert "wildcards" in body["errors"][0]["message"]


async def test_unknown_namespace(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    status, body = await publish_http(session, emulator, "/nope/a", ['"x"'])
    assert status == 404
    assert body["errors"][0]["errorType"] == "ResourceNotFound"
    async with events_socket(session, emulator) as ws:
        frame = await ws.subscribe("s", "/nope/*")
        assert frame["errors"][0]["errorType"] == "ResourceNotFound"
        emulator.events.add_namespace("nope")
        assert (await ws.subscribe("s2", "/nope/*"))["type"] == "subscribe_success"
    with pytest.raises(ValueError, match="invalid namespace"):
        emulator.events.add_namespace("-bad")
    with pytest.raises(ValueError, match="invalid namespace"):
        AppSyncEmulator("type Query { a: Int }", event_namespaces=["a/b"])


@pytest.mark.parametrize(
    ("events", "fragment"),
    [
        ([], "non-empty"),
        (None, "non-empty"),
        (["1"] * 6, "Too many events: 6"),
        ([1], "index 0 must be a string"),
        (["1", "{nope"], "index 1 is not valid JSON"),
    ],
)
async def test_event_limits(
    emulator: AppSyncEmulator,
    session: aiohttp.ClientSession,
    events: object,
    fragment: str,
) -> None:
    status, body = await publish_http(session, emulator, "/default/a", events)
    assert status == 400
    assert body["errors"][0]["errorType"] == "BadRequestException"
    assert fragment in body["errors"][0]["message"]
    async with events_socket(session, emulator) as ws:
        frame = await ws.publish("p", "/default/a", events)
        assert frame["type"] == "publish_error"
        assert frame["errors"] == [
            {"errorType": "InvalidInputError", "message": body["errors"][0]["message"]}
        ]
    assert emulator.published == []


async def test_five_events_and_malformed_bodies(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    status, body = await publish_http(session, emulator, "/default/a", ["1"] * 5)
    assert status == 200 and len(body["successful"]) == 5
    for raw in (b"", b"[1]", b"{nope", b'"x"'):
        status, body = await publish_http(session, emulator, None, None, body=raw)
        assert status == 400, raw
        assert body["errors"][0]["errorType"] == "BadRequestException"


async def test_oversize_events_fail_or_drop(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    big = json.dumps("x" * (240 * 1024))  # 2 bytes over the limit
    fits = json.dumps("x" * (240 * 1024 - 2))
    status, body = await publish_http(session, emulator, "/default/a", [fits, big])
    assert status == 200
    assert [s["index"] for s in body["successful"]] == [0]
    assert body["failed"][0]["index"] == 1
    assert body["failed"][0]["code"] == 400
    assert "240 KB" in body["failed"][0]["message"]
    emulator.events.oversize = "drop"
    status, body = await publish_http(session, emulator, "/default/a", [big])
    assert [s["index"] for s in body["successful"]] == [0]
    assert len(emulator.published) == 1


async def test_injected_per_event_failures(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.faults.fail_event_indices = {1, 3}
    emulator.faults.event_failure_code = 401
    async with events_socket(session, emulator) as ws:
        await ws.subscribe("s", "/default/*")
        status, body = await publish_http(
            session, emulator, "/default/a", ['"0"', '"1"', '"2"', '"3"']
        )
        assert status == 200
        assert [s["index"] for s in body["successful"]] == [0, 2]
        assert [(f["index"], f["code"]) for f in body["failed"]] == [(1, 401), (3, 401)]
        assert all(f["identifier"] and f["message"] for f in body["failed"])
        assert [await ws.recv() for _ in range(2)] == [
            {"type": "data", "id": "s", "event": '"0"'},
            {"type": "data", "id": "s", "event": '"2"'},
        ]
        answer = await ws.publish("p", "/default/a", ['"a"', '"b"'])
        assert [s["index"] for s in answer["successful"]] == [0]
        assert [f["index"] for f in answer["failed"]] == [1]
        assert (await ws.recv())["event"] == '"a"'
    assert emulator.faults.injected["event_failure"] == 3
    assert [p.payload for p in emulator.published] == ['"0"', '"2"', '"a"']
    emulator.faults.clear()
    emulator.faults.event_failure_rate = 1.0
    status, body = await publish_http(session, emulator, "/default/a", ['"z"'])
    assert body["successful"] == [] and len(body["failed"]) == 1


async def test_subscription_ids_and_quota(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.events.max_subscriptions = 2
    async with events_socket(session, emulator) as ws:
        assert (await ws.subscribe("a", "/default/a"))["type"] == "subscribe_success"
        frame = await ws.subscribe("a", "/default/b")
        assert frame["errors"][0]["errorType"] == "DuplicatedOperationError"
        assert (await ws.subscribe("b", "/default/b"))["type"] == "subscribe_success"
        frame = await ws.subscribe("c", "/default/c")
        assert frame["errors"][0]["errorType"] == "MaxSubscriptionsReachedError"
        frame = await ws.subscribe("x" * 129, "/default/c")
        assert frame["type"] == "subscribe_error"
        assert frame["errors"][0]["errorType"] == "InvalidInputError"
        frame = await ws.subscribe("bad id", "/default/c")
        assert frame["errors"][0]["errorType"] == "InvalidInputError"


async def test_unknown_and_malformed_messages(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    async with events_socket(session, emulator) as ws:
        await ws.send({"type": "start", "id": "x"})
        frame = await ws.recv()
        assert frame["type"] == "error" and frame["id"] == "x"
        assert frame["errors"][0]["errorType"] == "UnsupportedOperation"
        await ws.ws.send_str("{nope")
        frame = await ws.recv()
        assert frame["type"] == "error"
        assert frame["errors"][0]["errorType"] == "InvalidInputError"
        # The socket is still usable.
        assert (await ws.subscribe("s", "/default/a"))["type"] == "subscribe_success"


async def test_denied_principal(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    creds = emulator.add_principal(
        "AKIDDENIEDEXAMPLE", "deniedSecretEXAMPLEKEY", deny={"EventPublish:chat"}
    )
    status, body = await publish_http(
        session, emulator, "/chat/a", ['"x"'], credentials=creds
    )
    assert status == 401
    assert body["errors"][0]["errorType"] == "UnauthorizedException"
    status, _ = await publish_http(
        session, emulator, "/default/a", ['"x"'], credentials=creds
    )
    assert status == 200
    emulator.add_principal(
        "AKIDDENIEDEXAMPLE", "deniedSecretEXAMPLEKEY", deny={"EventSubscribe"}
    )
    async with events_socket(session, emulator, credentials=creds) as ws:
        frame = await ws.subscribe("s", "/default/*")
        assert frame["errors"][0]["errorType"] == "UnauthorizedException"
    emulator.add_principal(
        "AKIDDENIEDEXAMPLE", "deniedSecretEXAMPLEKEY", deny={"EventConnect"}
    )
    async with events_socket(session, emulator, credentials=creds, init=False) as ws:
        frame = await ws.recv()
        assert frame["type"] == "connection_error"
        assert frame["errors"][0]["errorType"] == "UnauthorizedException"


async def test_get_on_event_is_not_allowed(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(emulator.events_url) as response:
        assert response.status == 405
