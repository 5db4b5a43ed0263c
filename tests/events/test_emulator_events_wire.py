"""Wire test: the Events emulator against AWS's documented frames and signatures.

The six known-answer vectors below are quoted from ``events-api.md`` §1.6
(shared docs), which took the signing rules from AWS's "Understanding the
Event API WebSocket protocol" page,
https://docs.aws.amazon.com/appsync/latest/eventapi/event-api-websocket-protocol.html
("Publish events via WebSocket", .../eventapi/publish-websocket.html, for
publish), and computed them with Amplify JS's ``signRequest`` and botocore
(6/6 identical). Here each is recomputed with botocore, then sent to the
emulator (its clock set to the vector's time, the upgrade's ``Host`` set to
the vector's host) and must be accepted there: connect over ``{}``,
``subscribe`` over ``{"channel":"/default/*"}``, ``publish`` over
``{"channel":"/default/room1","events":["{\\"msg\\":\\"héllo\\"}","42"]}``,
all for the virtual ``POST https://<http host>/event``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import aiohttp
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from appsync_iam.emulator import DEFAULT_SECRET_KEY, AppSyncEmulator

from .ev_emulator_helpers import (
    CONSTANTS,
    SDL,
    SUBPROTOCOL,
    compact,
    header_protocol,
    session,
)

__all__ = ["session"]  # fixture

SOURCE = (
    "https://docs.aws.amazon.com/appsync/latest/eventapi/"
    "event-api-websocket-protocol.html"
)
HOST = "example1234567890000.appsync-api.us-east-1.amazonaws.com"
AT = datetime(2020, 4, 1, 0, 10, 10, tzinfo=timezone.utc)  # 20200401T001010Z
TOKEN = "EXAMPLESESSIONTOKEN"
CONNECT = b"{}"
SUBSCRIBE = {"channel": "/default/*"}
PUBLISH = {"channel": "/default/room1", "events": ['{"msg":"héllo"}', "42"]}

# events-api.md §1.6, "Known-answer vectors" (E3):
# | request   | token EXAMPLESESSIONTOKEN | no token |
VECTORS = {
    ("connect", True):
        "fce9783d85b213ed86fb0152224eae4e800d6964a7ccd4c20ae29270d42c693b",
    ("connect", False):
        "f5e1620c9534ba965864e15ace073258161abea4ef6579bdf254a1f2eb23e45a",
    ("subscribe", True):
        "c57984748f0055c6b3316d12527405376ccbdd7ad43b0739f8a96aefe53a6ef5",
    ("subscribe", False):
        "40e4aa2db9307c6591de39511ffe22bb8cc7aaa033d9bf5b99b48a4759864289",
    ("publish", True):
        "2ecb90a8258c8c2ade1210c433fd6c2da126bedabc350d77d2ad4e24e0ec2082",
    ("publish", False):
        "ecfa7cd99798fd68ee0707159abf1307f5f710ab75da4e1a93045c8c820d23db",
}  # fmt: skip

# events-api.md §1.6: canonical request of "connect, with token".
CONNECT_CANONICAL = """POST
/event

accept:application/json, text/javascript
content-encoding:amz-1.0
content-type:application/json; charset=UTF-8
host:example1234567890000.appsync-api.us-east-1.amazonaws.com
x-amz-date:20200401T001010Z
x-amz-security-token:EXAMPLESESSIONTOKEN

accept;content-encoding;content-type;host;x-amz-date;x-amz-security-token
44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"""
SUBSCRIBE_BODY_SHA256 = (
    "42278ffe834007d0df62723c985923744655737c4c7581ac3538d3401637cd8d"
)


def _body(kind: str) -> bytes:
    return {"connect": CONNECT, "subscribe": compact(SUBSCRIBE)}.get(
        kind, compact(PUBLISH)
    )


def _botocore(kind: str, token: bool) -> tuple[dict[str, str], str]:
    """(signed headers, canonical request) from botocore at the vector's time."""
    creds = Credentials("AKIDEXAMPLE", DEFAULT_SECRET_KEY, TOKEN if token else None)
    request = AWSRequest(
        method="POST",
        url=f"https://{HOST}/event",
        data=_body(kind),
        headers={**CONSTANTS, "host": HOST},
    )
    request.context["timestamp"] = AT.strftime("%Y%m%dT%H%M%SZ")
    signer = SigV4Auth(creds, "appsync", "us-east-1")
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    return dict(request.headers.items()), canonical


def _signature(headers: dict[str, str]) -> str:
    return headers["Authorization"].rpartition("Signature=")[2]


@pytest.mark.parametrize(("kind", "token"), sorted(VECTORS))
def test_botocore_reproduces_the_known_answers(kind: str, token: bool) -> None:
    headers, canonical = _botocore(kind, token)
    assert _signature(headers) == VECTORS[kind, token]
    assert headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200401/us-east-1/appsync/"
        "aws4_request, SignedHeaders=accept;content-encoding;content-type;host;"
        "x-amz-date" + (";x-amz-security-token" if token else "") + ", Signature="
    )
    if (kind, token) == ("connect", True):
        assert canonical == CONNECT_CANONICAL
    if kind == "subscribe":
        assert hashlib.sha256(_body(kind)).hexdigest() == SUBSCRIBE_BODY_SHA256
        assert canonical.endswith(SUBSCRIBE_BODY_SHA256)


def _header_object(headers: dict[str, str]) -> dict[str, str]:
    """The doc's IAM header object: the signed headers, mixed case as in AWS's
    example (``X-Amz-Security-Token``, ``Authorization``)."""
    return {
        "accept": headers["accept"],
        "content-encoding": headers["content-encoding"],
        "content-type": headers["content-type"],
        "host": headers["host"],
        "x-amz-date": headers["X-Amz-Date"],
        **(
            {"X-Amz-Security-Token": TOKEN} if "X-Amz-Security-Token" in headers else {}
        ),
        "Authorization": headers["Authorization"],
    }


@pytest.mark.parametrize("token", [True, False], ids=["token", "no-token"])
async def test_the_emulator_accepts_the_known_answer_frames(
    session: aiohttp.ClientSession, token: bool
) -> None:
    async with AppSyncEmulator(SDL, event_namespaces=("default",)) as emulator:
        emulator.add_principal(
            "AKIDEXAMPLE", DEFAULT_SECRET_KEY, token=TOKEN if token else None
        )
        emulator.clock_offset = (AT - datetime.now(timezone.utc)).total_seconds()
        connect, _ = _botocore("connect", token)
        subscribe, _ = _botocore("subscribe", token)
        publish, _ = _botocore("publish", token)
        assert _signature(connect) == VECTORS["connect", token]
        async with session.ws_connect(
            emulator.events_realtime_url,
            protocols=(SUBPROTOCOL, header_protocol(_header_object(connect))),
            headers={"Host": HOST},
        ) as ws:
            assert ws.protocol == SUBPROTOCOL

            async def frame() -> dict[str, object]:
                while True:
                    message = await ws.receive(timeout=5)
                    assert message.type == aiohttp.WSMsgType.TEXT, message
                    value: dict[str, object] = json.loads(message.data)
                    if value["type"] != "ka":
                        return value

            # The frames as the websocket-protocol doc shows them (SOURCE).
            await ws.send_str(json.dumps({"type": "connection_init"}))
            assert await frame() == {
                "type": "connection_ack",
                "connectionTimeoutMs": 300000,
            }
            await ws.send_str(
                json.dumps(
                    {
                        "type": "subscribe",
                        "id": "ee74ac8c-bbc6-4c0b-9e1e-8a1f6b4a6b2d",
                        "channel": SUBSCRIBE["channel"],
                        "authorization": _header_object(subscribe),
                    }
                )
            )
            assert await frame() == {
                "type": "subscribe_success",
                "id": "ee74ac8c-bbc6-4c0b-9e1e-8a1f6b4a6b2d",
            }
            await ws.send_str(
                json.dumps(
                    {
                        "type": "publish",
                        "id": "a1b2c3d4-0000-4000-8000-000000000001",
                        **PUBLISH,
                        "authorization": _header_object(publish),
                    },
                    ensure_ascii=False,
                )
            )
            answer = await frame()
            assert answer["type"] == "publish_success", answer
            assert answer["id"] == "a1b2c3d4-0000-4000-8000-000000000001"
            assert answer["failed"] == []
            successful = answer["successful"]
            assert isinstance(successful, list)
            assert [(sorted(s), s["index"]) for s in successful] == [
                (["identifier", "index"], 0),
                (["identifier", "index"], 1),
            ]
            # One data frame per event, "event" a JSON string (events-api.md §1.4).
            for event in PUBLISH["events"]:
                assert await frame() == {
                    "type": "data",
                    "id": "ee74ac8c-bbc6-4c0b-9e1e-8a1f6b4a6b2d",
                    "event": event,
                }
        assert [p.payload for p in emulator.published] == PUBLISH["events"]
