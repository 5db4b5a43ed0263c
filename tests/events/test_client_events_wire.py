"""Wire test: what AppSyncEventsClient sends, against AWS's documented examples.

A recording loopback server stands in for AppSync and answers with the
documented frames; the client signs for the documented HTTP host at the
documented time (``clock=`` and ``realtime_url=`` are public seams), so every
WebSocket signature it puts on the wire must be one of the six known answers
of events-api.md §1.6 (computed there with Amplify JS's ``signRequest`` and
with botocore, identical). The HTTP publish goes to the loopback URL and its
signature is recomputed here with botocore from the request as received.

Sources, quoted below where they are used:

- DOC_WS: "Understanding the Event API WebSocket protocol",
  https://docs.aws.amazon.com/appsync/latest/eventapi/event-api-websocket-protocol.html
- DOC_HTTP: "Publish events via HTTP",
  https://docs.aws.amazon.com/appsync/latest/eventapi/publish-http.html
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from appsync_iam import (
    AppSyncEventsClient,
    AppSyncEventsEndpoint,
    FrozenCredentials,
    PublishError,
    SubscriptionError,
)

DOC_WS = (
    "https://docs.aws.amazon.com/appsync/latest/eventapi/"
    "event-api-websocket-protocol.html"
)
DOC_HTTP = "https://docs.aws.amazon.com/appsync/latest/eventapi/publish-http.html"

# DOC_WS, "AWS AppSync Events HTTP endpoint" / "real-time endpoint":
#   https://example1234567890000.appsync-api.us-east-1.amazonaws.com/event
#   wss://example1234567890000.appsync-realtime-api.us-east-1.amazonaws.com/event/realtime
HTTP_URL = "https://example1234567890000.appsync-api.us-east-1.amazonaws.com/event"
HOST = "example1234567890000.appsync-api.us-east-1.amazonaws.com"
# DOC_WS, "Authorization header example": "x-amz-date": "20200401T001010Z".
AT = datetime(2020, 4, 1, 0, 10, 10, tzinfo=timezone.utc)
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "EXAMPLESESSIONTOKEN"

# events-api.md §1.6 known answers (with the token): connect over "{}",
# subscribe over {"channel":"/default/*"}, publish over
# {"channel":"/default/room1","events":["{\"msg\":\"héllo\"}","42"]}.
CONNECT_SIG = "fce9783d85b213ed86fb0152224eae4e800d6964a7ccd4c20ae29270d42c693b"
SUBSCRIBE_SIG = "c57984748f0055c6b3316d12527405376ccbdd7ad43b0739f8a96aefe53a6ef5"
PUBLISH_SIG = "2ecb90a8258c8c2ade1210c433fd6c2da126bedabc350d77d2ad4e24e0ec2082"

# DOC_WS, "AWS Identity and Access Management (IAM) subprotocol format",
# "Authorization header example" (token shortened here):
#   {
#     "accept": "application/json, text/javascript",
#     "content-encoding": "amz-1.0",
#     "content-type": "application/json; charset=UTF-8",
#     "host": "example1234567890000.appsync-api.us-east-1.amazonaws.com",
#     "x-amz-date": "20200401T001010Z",
#     "X-Amz-Security-Token": "AgEXAMPLEZ2luX2VjEAoaDmFwLXNvdXRoZWFEXAMPLE...",
#     "Authorization": "AWS4-HMAC-SHA256 Credential=XXXXXXXXXXXXXXXXXXX/20200401/
#       us-east-1/appsync/aws4_request, SignedHeaders=accept;content-encoding;
#       content-type;host;x-amz-date;x-amz-security-token, Signature=83EXAMPLE..."
#   }
DOC_HEADER_OBJECT = {
    "accept": "application/json, text/javascript",
    "content-encoding": "amz-1.0",
    "content-type": "application/json; charset=UTF-8",
    "host": HOST,
    "x-amz-date": "20200401T001010Z",
    "X-Amz-Security-Token": TOKEN,
    "Authorization": (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200401/us-east-1/appsync/"
        "aws4_request, SignedHeaders=accept;content-encoding;content-type;host;"
        "x-amz-date;x-amz-security-token, Signature={signature}"
    ),
}
# DOC_WS, "WebSocket API message properties": "id" ... /^[a-zA-Z0-9-_+]{1,128}$/
DOC_ID = re.compile(r"^[a-zA-Z0-9-_+]{1,128}$")
# DOC_WS, "Connection init message": { "type": "connection_init" }
DOC_CONNECTION_INIT = {"type": "connection_init"}
# DOC_WS, "Connection acknowledge message".
DOC_CONNECTION_ACK = {"type": "connection_ack", "connectionTimeoutMs": 300000}
# DOC_WS, "Subscribe message" (API-key authorization in the doc; IAM here).
DOC_SUBSCRIBE_KEYS = ["type", "id", "channel", "authorization"]
DOC_ERROR_CHANNEL = "/namespaceA/subB/subC"  # the doc's example channel
# DOC_WS, "In case of an error, AWS AppSync sends a subscribe_error response."
DOC_SUBSCRIBE_ERROR = {
    "type": "subscribe_error",
    "id": "ee849ef0-cf23-4cb8-9fcb-152ae4fd1e69",
    "errors": [
        {
            "errorType": "SubscriptionProcessingError",
            "message": "There was an error processing the operation",
        }
    ],
}
# DOC_WS, "Data message": {"type": "data", "id": ..., "event": ["\"my event content\""]}
DOC_DATA_EVENT = ['"my event content"']
# DOC_WS, "Publish message": keys type, id, channel, events, authorization.
DOC_PUBLISH_KEYS = ["type", "id", "channel", "events", "authorization"]
# DOC_WS, "Publish success message".
DOC_PUBLISH_SUCCESS = {
    "id": "ee849ef0-cf23-4cb8-9fcb-152ae4fd1e69",
    "type": "publish_success",
    "successful": [{"identifier": "221b6b3f-46fd-4ac1-a327-bd2623b7402e", "index": 0}],
    "failed": [],
}
# DOC_WS, "If an error occurs, an error message is sent back to the client."
DOC_PUBLISH_ERROR = {
    "id": "ee849ef0-cf23-4cb8-9fcb-152ae4fd1e69",
    "type": "publish_error",
    "errors": [{"errorType": "An error type", "message": "A message"}],
}
# DOC_HTTP, "Publish example":
#   "body": {"channel": "default/channel",
#            "events": ["{\"event_1\":\"data_1\"}", "{\"event_2\":\"data_2\"}"]}
DOC_HTTP_BODY = {
    "channel": "default/channel",
    "events": ['{"event_1":"data_1"}', '{"event_2":"data_2"}'],
}


class Recorder:
    """A loopback stand-in for AppSync answering with DOC_WS's frames."""

    def __init__(self) -> None:
        self.protocols: list[str] = []
        self.frames: list[dict[str, Any]] = []
        self.http: list[tuple[str, dict[str, str], bytes]] = []
        self.port = 0

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        self.protocols = [p.strip() for p in offered.split(",")]
        ws = web.WebSocketResponse(protocols=("aws-appsync-event-ws",))
        await ws.prepare(request)
        subscriptions: list[str] = []
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            self.frames.append(frame)
            kind, ident = frame["type"], frame.get("id")
            if kind == "connection_init":
                await ws.send_json(DOC_CONNECTION_ACK)
            elif kind == "subscribe" and frame["channel"] == DOC_ERROR_CHANNEL:
                await ws.send_json({**DOC_SUBSCRIBE_ERROR, "id": ident})
            elif kind == "subscribe":
                subscriptions.append(ident)
                await ws.send_json({"type": "subscribe_success", "id": ident})
            elif kind == "publish" and frame["channel"] == DOC_ERROR_CHANNEL:
                await ws.send_json({**DOC_PUBLISH_ERROR, "id": ident})
            elif kind == "publish":
                success = json.loads(json.dumps(DOC_PUBLISH_SUCCESS))
                success["id"] = ident
                success["successful"] += [
                    {"identifier": f"id-{i}", "index": i}
                    for i in range(1, len(frame["events"]))
                ]
                await ws.send_json(success)
                for sub in subscriptions:
                    # The doc's array form, then the string form AWS sends.
                    await ws.send_json(
                        {"type": "data", "id": sub, "event": DOC_DATA_EVENT}
                    )
                    for event in frame["events"]:
                        await ws.send_json({"type": "data", "id": sub, "event": event})
            elif kind == "unsubscribe":
                subscriptions.remove(ident)
                await ws.send_json({"type": "unsubscribe_success", "id": ident})
        return ws

    async def publish(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.http.append((request.method, dict(request.headers), body))
        count = len(json.loads(body)["events"])
        return web.json_response(
            {
                "successful": [
                    {"identifier": f"h-{i}", "index": i} for i in range(count)
                ],
                "failed": [],
            }
        )


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    app = web.Application()
    app.router.add_get("/event/realtime", rec.websocket)
    app.router.add_post("/event", rec.publish)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield rec
    finally:
        await runner.cleanup()


def _credentials() -> FrozenCredentials:
    return FrozenCredentials("AKIDEXAMPLE", SECRET, TOKEN)


def _header_object(subprotocol: str) -> dict[str, str]:
    encoded = subprotocol.removeprefix("header-")
    # DOC_WS: Base64URL, '+' -> '-', '/' -> '_', padding '=' removed.
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    value: dict[str, str] = json.loads(
        base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    )
    return value


def _as_doc(authorization: dict[str, str], signature: str) -> None:
    """``authorization`` is DOC_WS's IAM header object, key case aside, with
    the known-answer ``signature``."""
    got = {k.lower(): v for k, v in authorization.items()}
    want = {k.lower(): v for k, v in DOC_HEADER_OBJECT.items()}
    want["authorization"] = want["authorization"].format(signature=signature)
    assert got == want


async def test_websocket_frames_and_signatures_are_the_documented_ones(
    recorder: Recorder,
) -> None:
    endpoint = AppSyncEventsEndpoint.from_url(
        HTTP_URL, realtime_url=f"ws://127.0.0.1:{recorder.port}/event/realtime"
    )
    assert endpoint.host == HOST and endpoint.region == "us-east-1"
    async with AppSyncEventsClient(
        endpoint, credentials=_credentials(), clock=AT.timestamp
    ) as client:
        received: list[Any] = []

        async def consume() -> None:
            async for event in client.subscribe_channel("/default/*"):
                received.append(event)
                if len(received) == 3:
                    return

        consumer = asyncio.create_task(consume())
        while not any(f["type"] == "subscribe" for f in recorder.frames):
            await asyncio.sleep(0.01)
        result = await client.publish(
            "/default/room1", [{"msg": "héllo"}, 42], via="websocket"
        )
        await asyncio.wait_for(consumer, 5)
        with pytest.raises(PublishError) as refused:
            await client.publish(DOC_ERROR_CHANNEL, [{"msg": "x"}], via="websocket")
        with pytest.raises(SubscriptionError) as denied:
            async for _ in client.subscribe_channel(DOC_ERROR_CHANNEL):
                pass

    # Handshake: DOC_WS "You must specify aws-appsync-event-ws as one of the
    # subprotocols"; the header object goes as header-<base64url>.
    assert recorder.protocols[0] == "aws-appsync-event-ws"
    assert len(recorder.protocols) == 2
    assert recorder.protocols[1].startswith("header-")
    _as_doc(_header_object(recorder.protocols[1]), CONNECT_SIG)

    frames = recorder.frames
    assert frames[0] == DOC_CONNECTION_INIT
    subscribe = frames[1]
    assert list(subscribe) == DOC_SUBSCRIBE_KEYS
    assert subscribe["type"] == "subscribe" and subscribe["channel"] == "/default/*"
    assert DOC_ID.match(subscribe["id"])
    _as_doc(subscribe["authorization"], SUBSCRIBE_SIG)

    publish = frames[2]
    assert list(publish) == DOC_PUBLISH_KEYS
    assert publish["channel"] == "/default/room1"
    # DOC_WS: "Each specified event ... must be a stringified valid JSON value."
    assert publish["events"] == ['{"msg":"héllo"}', "42"]
    assert DOC_ID.match(publish["id"]) and publish["id"] != subscribe["id"]
    _as_doc(publish["authorization"], PUBLISH_SIG)

    # The documented answers, typed.
    assert [(e.identifier, e.index) for e in result.successful] == [
        ("221b6b3f-46fd-4ac1-a327-bd2623b7402e", 0),
        ("id-1", 1),
    ]
    assert result.ok and result.failed == ()
    assert received == ["my event content", {"msg": "héllo"}, 42]
    assert refused.value.error_type == "An error type"
    assert denied.value.errors[0]["errorType"] == "SubscriptionProcessingError"

    # DOC_WS "Unsubscribe message": {"type": "unsubscribe", "id": <the subscription>}.
    assert {"type": "unsubscribe", "id": subscribe["id"]} in frames


async def test_http_publish_is_the_documented_request_signed_as_botocore_signs(
    recorder: Recorder,
) -> None:
    url = f"http://127.0.0.1:{recorder.port}/event"
    async with AppSyncEventsClient(
        url, credentials=_credentials(), clock=AT.timestamp
    ) as client:
        result = await client.publish(
            "default/channel", [{"event_1": "data_1"}, {"event_2": "data_2"}]
        )
    assert [e.identifier for e in result.successful] == ["h-0", "h-1"]
    [(method, headers, body)] = recorder.http
    assert method == "POST"
    # DOC_HTTP's body, with the channel normalised to its leading-slash form
    # (both match DOC_WS's channel pattern /^\/?[A-Za-z0-9].../).
    assert json.loads(body) == {**DOC_HTTP_BODY, "channel": "/default/channel"}
    assert headers["Content-Type"].startswith("application/json")  # DOC_HTTP

    # Recompute the signature with botocore over what arrived.
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower["authorization"]
    signed = re.search(r"SignedHeaders=([^,]+)", auth)
    assert signed is not None
    names = signed.group(1).split(";")
    assert {"host", "x-amz-date", "x-amz-security-token"} <= set(names)
    request = AWSRequest(
        method="POST", url=url, data=body, headers={n: lower[n] for n in names}
    )
    request.context["timestamp"] = lower["x-amz-date"]
    assert lower["x-amz-date"] == "20200401T001010Z"
    signer = SigV4Auth(
        Credentials("AKIDEXAMPLE", SECRET, TOKEN), "appsync", "us-east-1"
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    assert auth == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200401/us-east-1/appsync/"
        f"aws4_request, SignedHeaders={signed.group(1)}, Signature={expected}"
    )
