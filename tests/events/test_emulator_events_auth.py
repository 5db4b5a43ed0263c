"""The Events emulator rejects tampered, stale and unknown signatures on connect,
subscribe and publish (HTTP and WebSocket); faults: drops, withheld ka.

Signed with botocore here, never with this project's client.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from appsync_iam import FrozenCredentials
from appsync_iam.emulator import AppSyncEmulator

from .ev_emulator_helpers import (
    SDL,
    SUBPROTOCOL,
    compact,
    emulator,
    events_socket,
    header_protocol,
    http_host,
    publish_http,
    session,
    sign_virtual,
    tamper,
)

__all__ = ["emulator", "session"]  # fixtures


async def _connection_error(
    session: aiohttp.ClientSession, emulator: AppSyncEmulator, headers: dict[str, str]
) -> dict[str, object]:
    async with events_socket(
        session, emulator, connect_headers=headers, init=False
    ) as ws:
        frame = await ws.recv()
        assert frame["type"] == "connection_error", frame
        closed = await asyncio.wait_for(ws.ws.receive(), 5)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        errors = frame["errors"]
        assert isinstance(errors, list)
        assert errors[0].keys() == {"errorType", "message"}  # no errorCode
        return dict(errors[0])


async def test_tampered_connect_is_refused_with_the_canonical_request(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    headers = sign_virtual(http_host(emulator), b"{}", emulator.credentials)
    error = await _connection_error(session, emulator, tamper(headers))
    assert error["errorType"] == "BadRequestException"
    message = str(error["message"])
    assert "The Canonical String for this request should have been" in message
    # The canonical URI is /event: no /connect, not /event/realtime.
    assert "'POST\n/event\n\n" in message
    assert emulator.events.stats["connection_errors"] == 1
    assert emulator.events.open_connections == 0


async def test_connect_signed_on_the_wrong_path_or_body_is_refused(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    # amplify-js#14001: signing /event/connect instead of /event.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host = http_host(emulator)
    request = AWSRequest(
        method="POST",
        url=f"https://{host}/event/connect",
        data=b"{}",
        headers={"host": host},
    )
    SigV4Auth(Credentials("AKIDEXAMPLE", emulator.credentials.secret_key), "appsync",
              "us-east-1").add_auth(request)  # fmt: skip
    error = await _connection_error(session, emulator, dict(request.headers.items()))
    assert error["errorType"] == "BadRequestException"
    headers = sign_virtual(host, b'{"x":1}', emulator.credentials)
    error = await _connection_error(session, emulator, headers)
    assert error["errorType"] == "BadRequestException"


async def test_unknown_key_expired_token_wrong_host_and_no_auth(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    host = http_host(emulator)
    stranger = FrozenCredentials("AKIDUNKNOWNEXAMPLE", "unknownSecretEXAMPLEKEY")
    error = await _connection_error(
        session, emulator, sign_virtual(host, b"{}", stranger)
    )
    assert error["errorType"] == "UnauthorizedException"
    temporary = emulator.add_principal(
        "AKIDTEMPEXAMPLE",
        "temporarySecretEXAMPLEKEY",
        token="EXAMPLESESSIONTOKEN",
        expires_at=datetime.now(timezone.utc) - timedelta(seconds=1),
    )
    error = await _connection_error(
        session, emulator, sign_virtual(host, b"{}", temporary)
    )
    assert error["errorType"] == "UnauthorizedException"
    assert "expired" in str(error["message"])
    error = await _connection_error(
        session,
        emulator,
        sign_virtual("other.example.com", b"{}", emulator.credentials),
    )
    assert error["errorType"] == "UnauthorizedException"
    assert "host" in str(error["message"])
    stale = datetime.now(timezone.utc) - timedelta(minutes=6)
    error = await _connection_error(
        session, emulator, sign_virtual(host, b"{}", emulator.credentials, at=stale)
    )
    assert error["errorType"] == "BadRequestException"
    assert "Signature expired" in str(error["message"])
    # No header- subprotocol and no Authorization on the upgrade.
    async with session.ws_connect(
        emulator.events_realtime_url, protocols=(SUBPROTOCOL,)
    ) as ws:
        frame = json.loads((await ws.receive(timeout=5)).data)
        assert frame["type"] == "connection_error"
        assert frame["errors"][0]["errorType"] == "UnauthorizedException"


async def test_session_token_accepted_when_signed(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    temporary = emulator.add_principal(
        "AKIDTEMPEXAMPLE", "temporarySecretEXAMPLEKEY", token="EXAMPLESESSIONTOKEN"
    )
    async with events_socket(session, emulator, credentials=temporary) as ws:
        assert (await ws.subscribe("s", "/default/*"))["type"] == "subscribe_success"
        assert (await ws.publish("p", "/default/a", ['"t"']))["type"] == (
            "publish_success"
        )
    status, _ = await publish_http(
        session, emulator, "/default/a", ['"h"'], credentials=temporary
    )
    assert status == 200


async def test_upgrade_header_auth_android_form(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    """Android/Swift sign host (the HTTP host) and send the signed headers on the
    upgrade request instead of a header- subprotocol (events-api.md §1.3)."""
    headers = sign_virtual(
        http_host(emulator), b"{}", emulator.credentials, constants=False
    )
    async with session.ws_connect(
        emulator.events_realtime_url, protocols=(SUBPROTOCOL,), headers=headers
    ) as ws:
        assert ws.protocol == SUBPROTOCOL
        await ws.send_str('{"type":"connection_init"}')
        frame = json.loads((await ws.receive(timeout=5)).data)
        assert frame["type"] == "connection_ack"
    async with session.ws_connect(
        emulator.events_realtime_url, protocols=(SUBPROTOCOL,), headers=tamper(headers)
    ) as ws:
        frame = json.loads((await ws.receive(timeout=5)).data)
        assert frame["type"] == "connection_error"


async def test_header_subprotocol_is_never_echoed(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    headers = sign_virtual(http_host(emulator), b"{}", emulator.credentials)
    async with session.ws_connect(
        emulator.events_realtime_url, protocols=(header_protocol(headers),)
    ) as ws:
        assert ws.protocol is None
    requested = [r for r in emulator.requests if r.path_qs == "/event/realtime"]
    assert requested and requested[0].status == 101


async def test_tampered_subscribe_and_publish_are_refused(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    async with events_socket(session, emulator) as ws:
        frame = await ws.subscribe("s", "/default/*", tampered=True)
        assert frame["type"] == "subscribe_error" and frame["id"] == "s"
        assert frame["errors"][0]["errorType"] == "BadRequestException"
        assert '{"channel":"/default/*"}' not in frame["errors"][0]["message"]
        frame = await ws.publish("p", "/default/a", ['"x"'], tampered=True)
        assert frame["type"] == "publish_error" and frame["id"] == "p"
        assert frame["errors"][0]["errorType"] == "BadRequestException"
        # Signed for one channel, sent for another.
        auth = ws.authorization(compact({"channel": "/default/a"}))
        await ws.send(
            {"type": "subscribe", "id": "s2", "channel": "/default/b",
             "authorization": auth}
        )  # fmt: skip
        assert (await ws.recv())["type"] == "subscribe_error"
        # Signed for some events, sent with others.
        auth = ws.authorization(compact({"channel": "/default/a", "events": ['"1"']}))
        await ws.send(
            {"type": "publish", "id": "p2", "channel": "/default/a",
             "events": ['"2"'], "authorization": auth}
        )  # fmt: skip
        assert (await ws.recv())["type"] == "publish_error"
        # No authorization at all.
        await ws.send({"type": "subscribe", "id": "s3", "channel": "/default/a"})
        frame = await ws.recv()
        assert frame["errors"][0]["errorType"] == "UnauthorizedException"
        # The socket survives every refusal.
        assert (await ws.subscribe("ok", "/default/*"))["type"] == "subscribe_success"
    assert emulator.published == []
    assert emulator.events.stats["subscribe_errors"] == 3
    assert emulator.events.stats["publish_errors"] == 2


async def test_tampered_http_publish_is_refused(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    status, body = await publish_http(
        session, emulator, "/default/a", ['"x"'], tampered=True
    )
    assert status == 403
    assert body["errors"][0]["errorType"] == "InvalidSignatureException"
    async with session.post(emulator.events_url, data=b"{}") as response:
        assert response.status == 401
    assert emulator.published == []


async def test_ws_publish_with_non_ascii_signed_raw_utf8(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    events = ['{"msg":"héllo 🎉 <b>&"}', json.dumps("ünï")]
    async with events_socket(session, emulator) as ws:
        assert (await ws.publish("p", "/default/a", events))["type"] == (
            "publish_success"
        )
        # The same events signed with ASCII escapes do not verify.
        escaped = json.dumps(
            {"channel": "/default/a", "events": events}, separators=(",", ":")
        ).encode()
        await ws.send(
            {"type": "publish", "id": "p2", "channel": "/default/a",
             "events": events, "authorization": ws.authorization(escaped)}
        )  # fmt: skip
        assert (await ws.recv())["type"] == "publish_error"
    assert [p.payload for p in emulator.published] == events


async def test_ws_publish_throttled(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.faults.throttle_rate = 1.0
    async with events_socket(session, emulator) as ws:
        frame = await ws.publish("p", "/default/a", ['"x"'])
        assert frame["type"] == "publish_error"
        assert frame["errors"][0]["errorType"] == "LimitExceededError"
    status, _ = await publish_http(session, emulator, "/default/a", ['"x"'])
    assert status == 429
    assert emulator.faults.injected["throttle"] == 2
    assert emulator.published == []


async def test_http_reset_after_publish_records_the_events(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.faults.reset_after_rate = 1.0
    with pytest.raises(aiohttp.ClientError):
        await publish_http(session, emulator, "/default/a", ['"once"'])
    assert [p.payload for p in emulator.published] == ['"once"']


@pytest.mark.parametrize("how", ["fault", "drop_all"])
async def test_dropped_connections(
    emulator: AppSyncEmulator, session: aiohttp.ClientSession, how: str
) -> None:
    async with events_socket(session, emulator) as ws:
        await ws.subscribe("s", "/default/*")
        assert emulator.events.active_subscriptions == 1
        if how == "fault":
            emulator.faults.drop_ws_every_s = 0.1
        else:
            assert emulator.events.drop_all() == 1
        message = await asyncio.wait_for(ws.ws.receive(), 5)
        assert message.type in (
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.ERROR,
        )
    for _ in range(100):
        if emulator.events.open_connections == 0:
            break
        await asyncio.sleep(0.02)
    assert emulator.events.open_connections == 0
    assert emulator.events.stats["drops"] == 1
    assert emulator.faults.injected["drop_ws"] == 1


async def test_keep_alives_and_withheld_ka(session: aiohttp.ClientSession) -> None:
    async with AppSyncEmulator(
        SDL, ka_interval=0.1, connection_timeout_ms=400
    ) as emulator:
        async with events_socket(session, emulator) as ws:
            kinds = []
            for _ in range(2):
                message = await asyncio.wait_for(ws.ws.receive(), 2)
                kinds.append(json.loads(message.data)["type"])
            assert kinds == ["ka", "ka"]
            emulator.faults.withhold_ka = True
            await asyncio.sleep(0.15)  # let a ka already in flight arrive
            while True:
                try:
                    message = await asyncio.wait_for(ws.ws.receive(), 0.3)
                except asyncio.TimeoutError:
                    break
                assert json.loads(message.data)["type"] == "ka"
            emulator.faults.withhold_ka = False
            message = await asyncio.wait_for(ws.ws.receive(), 2)
            assert json.loads(message.data) == {"type": "ka"}
