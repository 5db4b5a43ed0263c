"""The Events client's pure parts: endpoint, channels, events, batches, frames, signing.

The six signing vectors are the known answers of events-api.md §1.6 (E3:
computed with Amplify JS's ``signRequest`` and with botocore's ``SigV4Auth``,
identical), recomputed here with the project's one signer.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from appsync_iam import (
    AppSyncEventsEndpoint,
    ConfigurationError,
    FailedEvent,
    FrozenCredentials,
    ProtocolError,
    PublishResult,
    SigV4Signer,
    SuccessfulEvent,
)
from appsync_iam._events import (
    MAX_EVENT_BYTES,
    batches,
    check_channel,
    encode_events,
    publish_body,
    publish_frame,
    subscribe_body,
    subscribe_frame,
)
from appsync_iam._realtime_protocol import REALTIME_HEADERS

HOST = "example1234567890000.appsync-api.us-east-1.amazonaws.com"
AT = datetime(2020, 4, 1, 0, 10, 10, tzinfo=timezone.utc)
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
PUBLISH_BODY = '{"channel":"/default/room1","events":["{\\"msg\\":\\"héllo\\"}","42"]}'

# events-api.md §1.6 known-answer vectors: (body, with token, without token).
VECTORS = [
    (
        "{}",
        "fce9783d85b213ed86fb0152224eae4e800d6964a7ccd4c20ae29270d42c693b",
        "f5e1620c9534ba965864e15ace073258161abea4ef6579bdf254a1f2eb23e45a",
    ),
    (
        '{"channel":"/default/*"}',
        "c57984748f0055c6b3316d12527405376ccbdd7ad43b0739f8a96aefe53a6ef5",
        "40e4aa2db9307c6591de39511ffe22bb8cc7aaa033d9bf5b99b48a4759864289",
    ),
    (
        PUBLISH_BODY,
        "2ecb90a8258c8c2ade1210c433fd6c2da126bedabc350d77d2ad4e24e0ec2082",
        "ecfa7cd99798fd68ee0707159abf1307f5f710ab75da4e1a93045c8c820d23db",
    ),
]


@pytest.mark.parametrize(("body", "with_token", "without_token"), VECTORS)
def test_known_answer_signatures(
    body: str, with_token: str, without_token: str
) -> None:
    signer = SigV4Signer("us-east-1")
    for token, expected in (("EXAMPLESESSIONTOKEN", with_token), (None, without_token)):
        creds = FrozenCredentials("AKIDEXAMPLE", SECRET, token)
        headers = signer.sign(
            "POST",
            f"https://{HOST}/event",
            REALTIME_HEADERS,
            body.encode(),
            creds,
            now=AT,
            include_content_sha256=False,
        )
        found = re.search(r"Signature=([0-9a-f]{64})", headers["Authorization"])
        assert found and found.group(1) == expected
        assert headers["host"] == HOST


def test_bodies_match_the_vectors() -> None:
    # What the client signs is byte for byte the body of the vectors.
    assert subscribe_body("/default/*") == b'{"channel":"/default/*"}'
    events = encode_events([{"msg": "héllo"}, 42])
    assert publish_body("/default/room1", events) == PUBLISH_BODY
    assert PUBLISH_BODY.encode() == publish_body("/default/room1", events).encode()


def test_frames() -> None:
    auth = {"host": HOST, "Authorization": "AWS4-HMAC-SHA256 ..."}
    sub = json.loads(subscribe_frame("id-1", "/default/*", auth))
    assert sub == {
        "type": "subscribe",
        "id": "id-1",
        "channel": "/default/*",
        "authorization": auth,
    }
    pub = json.loads(publish_frame("id-2", "/default/a", ['"x"', "1"], auth))
    assert pub["type"] == "publish" and pub["events"] == ['"x"', "1"]
    assert pub["channel"] == "/default/a" and pub["authorization"] == auth


# -- endpoint -----------------------------------------------------------------


def test_standard_endpoint() -> None:
    ep = AppSyncEventsEndpoint.from_url(
        "https://abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com/event"
    )
    assert ep.region == "eu-west-1" and ep.kind == "standard"
    assert ep.realtime_url == (
        "wss://abcdefghijklmnopqrstuvwxyz.appsync-realtime-api.eu-west-1"
        ".amazonaws.com/event/realtime"
    )
    assert ep.host == "abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com"
    cn = AppSyncEventsEndpoint.from_url(
        "https://abc.appsync-api.cn-north-1.amazonaws.com.cn/event/"
    )
    assert cn.http_url.endswith(".amazonaws.com.cn/event")
    assert cn.region == "cn-north-1"


def test_custom_and_loopback_endpoints() -> None:
    ep = AppSyncEventsEndpoint.from_url(
        "https://api.example.com/event", region="us-west-2"
    )
    assert ep.realtime_url == "wss://api.example.com/event/realtime"
    assert ep.kind == "custom" and ep.host == "api.example.com"
    local = AppSyncEventsEndpoint.from_url("http://127.0.0.1:8080/event")
    assert local.realtime_url == "ws://127.0.0.1:8080/event/realtime"
    assert local.host == "127.0.0.1:8080" and local.region == "us-east-1"
    given = AppSyncEventsEndpoint.from_url(
        "https://api.example.com/event",
        region="us-east-1",
        realtime_url="wss://rt.example.com/event/realtime",
    )
    assert given.realtime_url == "wss://rt.example.com/event/realtime"


@pytest.mark.parametrize(
    ("url", "kwargs", "message"),
    [
        ("https://api.example.com/event", {}, "custom domain"),
        ("https://abc.appsync-api.us-east-1.amazonaws.com/graphql", {}, "GraphQL"),
        (
            "https://abc.appsync-api.us-east-1.amazonaws.com",
            {},
            "does not end in /event",
        ),
        (
            "wss://abc.appsync-realtime-api.us-east-1.amazonaws.com/event/realtime",
            {},
            "scheme",
        ),
        (
            "https://abc.appsync-api.us-east-1.amazonaws.com/event/realtime",
            {},
            "real-time",
        ),
        (
            "https://abc.appsync-realtime-api.us-east-1.amazonaws.com/event",
            {},
            "real-time",
        ),
        ("http://api.example.com/event", {"region": "us-east-1"}, "plain http"),
        (
            "https://abc.appsync-api.us-east-1.amazonaws.com/event",
            {"region": "eu-west-1"},
            "contradicts",
        ),
        ("https://api.example.com/event", {"region": "mars-1"}, "not an AWS region"),
        ("", {}, "empty"),
        ("api.example.com/event", {}, "no scheme"),
        (
            "http://127.0.0.1/event",
            {"realtime_url": "ws://example.com/event/realtime"},
            "plain ws",
        ),
    ],
)
def test_bad_endpoints(url: str, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AppSyncEventsEndpoint.from_url(url, **kwargs)


# -- channels -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("/default/room1", "/default/room1"),
        ("default/room1", "/default/room1"),
        ("/default/room1/", "/default/room1"),
        ("/a/b/c/d/e", "/a/b/c/d/e"),
        ("/Default/Room-1", "/Default/Room-1"),
        ("/" + "x" * 50, "/" + "x" * 50),
    ],
)
def test_good_channels(channel: str, expected: str) -> None:
    assert check_channel(channel) == expected


def test_wildcards() -> None:
    assert check_channel("/default/*", wildcard=True) == "/default/*"
    assert check_channel("default/a/b/c/d/*", wildcard=True) == "/default/a/b/c/d/*"
    assert check_channel("/default/room", wildcard=True) == "/default/room"
    with pytest.raises(ConfigurationError, match="subscriptions only"):
        check_channel("/default/*")
    with pytest.raises(ConfigurationError, match="last segment"):
        check_channel("/default/*/a", wildcard=True)
    with pytest.raises(ConfigurationError, match="last segment"):
        check_channel("/default/ro*", wildcard=True)
    with pytest.raises(ConfigurationError, match="no segments"):
        check_channel("/*", wildcard=True)


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ("", "no segments"),
        ("/", "no segments"),
        ("/a/b/c/d/e/f", "6 segments"),
        ("/default//room", "segment 2 is empty"),
        ("/default/" + "x" * 51, "51 characters"),
        ("/default/-room", "starts or ends with '-'"),
        ("/default/room-", "starts or ends with '-'"),
        ("/default/room_1", "'_'"),
        ("/default/héllo", "'é'"),
        ("/default/a b", "' '"),
        (42, "not int"),
    ],
)
def test_bad_channels(channel: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_channel(channel)


# -- events and batches ---------------------------------------------------------


def test_encode_events() -> None:
    assert encode_events([{"a": 1}, "two", 3, None, [1]]) == [
        '{"a":1}',
        '"two"',
        "3",
        "null",
        "[1]",
    ]
    assert encode_events(("ü",)) == ['"ü"']  # raw UTF-8, as AWS's clients send
    assert encode_events(["\ud800"]) == ['"\\ud800"']  # lone surrogate: escaped
    assert len(encode_events(["x" * (MAX_EVENT_BYTES - 2)])[0]) == MAX_EVENT_BYTES


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "empty"),
        ({"a": 1}, "list"),
        ("text", "list"),
        ([float("nan")], "event 0 cannot be sent as JSON"),
        ([1, {1, 2}], "event 1 cannot be sent as JSON"),
        (["x" * MAX_EVENT_BYTES], "240"),
    ],
)
def test_bad_events(events: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        encode_events(events)


def test_batches() -> None:
    events = [str(i) for i in range(12)]
    assert batches(events) == [
        (0, ["0", "1", "2", "3", "4"]),
        (5, ["5", "6", "7", "8", "9"]),
        (10, ["10", "11"]),
    ]
    assert batches(["a"]) == [(0, ["a"])]


def test_publish_result() -> None:
    answer = {
        "successful": [{"identifier": "i0", "index": 0}],
        "failed": [{"identifier": "i1", "index": 1, "code": 400, "message": "no"}],
    }
    result = PublishResult.from_answer(answer, offset=5, count=2)
    assert result.successful == (SuccessfulEvent("i0", 5),)
    assert result.failed == (FailedEvent("i1", 6, 400, "no"),)
    assert not result.ok and len(result) == 2
    merged = PublishResult.merge(
        [
            result,
            PublishResult.from_answer(
                {"successful": [{"identifier": "a", "index": 0}], "failed": []}
            ),
        ]
    )
    assert [e.index for e in merged.successful] == [0, 5]
    with pytest.raises(ProtocolError, match="lists 1 events, 2 were sent"):
        PublishResult.from_answer({"successful": [{"index": 0}], "failed": []}, count=2)
    with pytest.raises(ProtocolError):
        PublishResult.from_answer({"successful": [{"no-index": 0}]})
    with pytest.raises(ProtocolError):
        PublishResult.from_answer([])
