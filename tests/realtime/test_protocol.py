"""AppSync real-time frames: parsing, building, header-object encodings (pure)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from appsync_iam import ProtocolError
from appsync_iam._realtime_protocol import (
    Complete,
    ConnectionAck,
    ConnectionErrorFrame,
    Data,
    Error,
    Frame,
    KeepAlive,
    StartAck,
    connection_init_frame,
    decode_header_object,
    encode_frame,
    header_query,
    header_subprotocol,
    parse_frame,
    request_data,
    start_frame,
    stop_frame,
)

HEADER_OBJECT = {
    "accept": "application/json, text/javascript",
    "content-encoding": "amz-1.0",
    "content-type": "application/json; charset=UTF-8",
    "host": "example1234567890000.appsync-api.us-east-1.amazonaws.com",
    "x-amz-date": "20200401T001010Z",
    "X-Amz-Security-Token": "EXAMPLESESSIONTOKEN+/=",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200401/us-east-1/"
    "appsync/aws4_request, SignedHeaders=accept;content-encoding;content-type;"
    "host;x-amz-date;x-amz-security-token, Signature=" + "0" * 64,
}


class TestParseServerFrames:
    """Each server frame of protocol doc §2.4 parses into its typed value."""

    def test_connection_ack_with_timeout(self) -> None:
        """connection_ack carries connectionTimeoutMs."""
        frame = parse_frame(
            '{"type":"connection_ack","payload":{"connectionTimeoutMs":300000}}'
        )
        assert frame == ConnectionAck(300000)

    def test_connection_ack_without_payload(self) -> None:
        """A bare connection_ack leaves the timeout unset (client assumes 300 s)."""
        assert parse_frame('{"type":"connection_ack"}') == ConnectionAck(None)

    def test_keep_alive(self) -> None:
        """ka is a keep-alive."""
        assert parse_frame('{"type":"ka"}') == KeepAlive()

    def test_start_ack(self) -> None:
        """start_ack keeps its id (gql drops it)."""
        assert parse_frame('{"type":"start_ack","id":"s1"}') == StartAck("s1")

    def test_data(self) -> None:
        """data carries the payload's data and no errors."""
        frame = parse_frame(
            '{"type":"data","id":"s1","payload":{"data":{"onX":{"a":1}}}}'
        )
        assert frame == Data("s1", {"onX": {"a": 1}}, ())

    def test_data_with_errors(self) -> None:
        """data may carry GraphQL errors beside partial data."""
        frame = parse_frame(
            '{"type":"data","id":"s1","payload":{"data":null,'
            '"errors":[{"message":"boom","errorType":"X"}]}}'
        )
        assert frame == Data("s1", None, ({"message": "boom", "errorType": "X"},))

    def test_error_with_id_and_list(self) -> None:
        """An error with an id rejects that start."""
        frame = parse_frame(
            '{"type":"error","id":"s1","payload":{"errors":[{"errorType":'
            '"UnauthorizedException","message":"Permission denied"}]}}'
        )
        assert isinstance(frame, Error)
        assert frame.id == "s1"
        assert frame.error_types == ("UnauthorizedException",)

    def test_error_without_id_and_object(self) -> None:
        """payload.errors may be a single object (observed for LimitExceededError)."""
        frame = parse_frame(
            '{"type":"error","payload":{"errors":{"errorType":"LimitExceededError",'
            '"message":"Rate limit exceeded"}}}'
        )
        assert frame == Error(
            None,
            ({"errorType": "LimitExceededError", "message": "Rate limit exceeded"},),
        )

    def test_error_with_top_level_errors(self) -> None:
        """errors at the top level (the Events API shape) are read too."""
        frame = parse_frame('{"type":"error","id":"a","errors":[{"message":"m"}]}')
        assert frame == Error("a", ({"message": "m"},))

    def test_error_items_that_are_not_objects(self) -> None:
        """A non-object error item becomes a message-only error."""
        frame = parse_frame('{"type":"error","payload":{"errors":["oops"]}}')
        assert frame == Error(None, ({"message": "oops"},))

    def test_complete(self) -> None:
        """complete answers stop."""
        assert parse_frame('{"type":"complete","id":"s1"}') == Complete("s1")

    def test_connection_error(self) -> None:
        """connection_error keeps errorType and errorCode."""
        frame = parse_frame(
            '{"type":"connection_error","payload":{"errors":[{"errorType":'
            '"com.amazonaws.deepdish.graphql.auth#UnauthorizedException",'
            '"message":"You are not authorized to make this call.","errorCode":400}]}}'
        )
        assert isinstance(frame, ConnectionErrorFrame)
        assert frame.errors[0]["errorCode"] == 400
        assert frame.error_types == (
            "com.amazonaws.deepdish.graphql.auth#UnauthorizedException",
        )

    def test_bytes_are_accepted(self) -> None:
        """A binary frame with JSON text parses like a text frame."""
        assert parse_frame(b'{"type":"ka"}') == KeepAlive()

    def test_unknown_fields_are_ignored(self) -> None:
        """Extra fields do not break parsing."""
        assert parse_frame('{"type":"ka","extra":[1,2]}') == KeepAlive()


class TestMalformedFrames:
    """Anything that is not AppSync's protocol raises ProtocolError, never crashes."""

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "not json",
            "[]",
            '"ka"',
            "{}",
            '{"type":1}',
            '{"type":"nope"}',
            '{"type":"start_ack"}',
            '{"type":"data","payload":{}}',
            '{"type":"complete","id":""}',
            '{"type":"data","id":"a","payload":"x"}',
            '{"type":"connection_ack","payload":{"connectionTimeoutMs":"x"}}',
            '{"type":"connection_ack","payload":{"connectionTimeoutMs":-5}}',
            '{"type":"connection_ack","payload":{"connectionTimeoutMs":true}}',
            '{"type":"error","id":7}',
            "[" * 100_000,
            b"\xff\xfe",
        ],
    )
    def test_rejected(self, text: str | bytes) -> None:
        """The frame is rejected with a ProtocolError."""
        with pytest.raises(ProtocolError):
            parse_frame(text)

    def test_error_message_is_redacted_and_short(self) -> None:
        """The error excerpt never echoes a session token and stays short."""
        text = '{"type":"weird","x":"X-Amz-Security-Token: SECRETTOKEN' + "y" * 500
        with pytest.raises(ProtocolError) as info:
            parse_frame(text)
        assert "SECRETTOKEN" not in str(info.value)
        assert len(str(info.value)) < 300

    @given(st.text())
    @example('{"type":"data","id":"1","payload":{"errors":5}}')
    @example('{"type":"error","payload":{"errors":null}}')
    @example('{"type":"connection_ack","payload":{"connectionTimeoutMs":1e400}}')
    @example('{"type":"connection_ack","payload":{"connectionTimeoutMs":NaN}}')
    def test_never_crashes_on_text(self, text: str) -> None:
        """Arbitrary text yields a frame or a ProtocolError, nothing else."""
        try:
            frame = parse_frame(text)
        except ProtocolError:
            return
        assert frame is not None

    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "type",
                            "id",
                            "payload",
                            "errors",
                            "data",
                            "connectionTimeoutMs",
                        ]
                    )
                    | st.text(max_size=5),
                    children,
                    max_size=5,
                )
            ),
            max_leaves=20,
        ),
        st.sampled_from(
            [
                "connection_ack",
                "ka",
                "start_ack",
                "data",
                "error",
                "complete",
                "connection_error",
            ]
        ),
    )
    def test_never_crashes_on_frame_like_json(self, body: Any, kind: str) -> None:
        """JSON objects with a real type and random fields never crash the parser."""
        message = dict(body) if isinstance(body, dict) else {"payload": body}
        message["type"] = kind
        try:
            parse_frame(json.dumps(message))
        except ProtocolError:
            pass


_ids = st.text(min_size=1, max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
_errors = st.lists(
    st.dictionaries(st.text(max_size=10), _json, max_size=3), max_size=3
).map(tuple)
_frames: st.SearchStrategy[Frame] = st.one_of(
    st.builds(ConnectionAck, st.none() | st.integers(1, 10**9)),
    st.just(KeepAlive()),
    st.builds(StartAck, _ids),
    st.builds(Data, _ids, _json, _errors),
    st.builds(Error, st.none() | _ids, _errors),
    st.builds(Complete, _ids),
    st.builds(ConnectionErrorFrame, _errors),
)


class TestRoundTrip:
    """Frames survive encode → parse; header objects survive encode → decode."""

    @given(_frames)
    @example(Data("1", {"m": "\u2028 é ☃"}, ()))
    def test_frame_round_trip(self, frame: Frame) -> None:
        """parse_frame(encode_frame(f)) == f for every server frame."""
        assert parse_frame(encode_frame(frame)) == frame

    @given(st.dictionaries(st.text(), st.text(), max_size=8))
    @example(HEADER_OBJECT)
    def test_subprotocol_round_trip(self, header: dict[str, str]) -> None:
        """The header- subprotocol decodes back to the same object."""
        assert decode_header_object(header_subprotocol(header)) == header

    @given(st.dictionaries(st.text(), st.text(), max_size=8))
    @example(HEADER_OBJECT)
    def test_query_round_trip(self, header: dict[str, str]) -> None:
        """The header= query parameter decodes back to the same object."""
        query = parse_qs(header_query(header))
        assert query["payload"] == ["e30="]
        assert decode_header_object(query["header"][0]) == header


class TestClientFrames:
    """The frames the client sends have the shapes AppSync expects (§2.4)."""

    def test_connection_init(self) -> None:
        """connection_init has no payload."""
        assert json.loads(connection_init_frame()) == {"type": "connection_init"}

    def test_start_carries_data_string_and_authorization(self) -> None:
        """start puts the exact data string and the header object in the payload."""
        data = request_data("subscription { onX { a } }", {"r": "1"}, "S")
        frame = json.loads(start_frame("id-1", data, HEADER_OBJECT))
        assert frame["type"] == "start"
        assert frame["id"] == "id-1"
        assert frame["payload"]["data"] == data
        assert frame["payload"]["extensions"]["authorization"] == HEADER_OBJECT

    def test_request_data_is_compact(self) -> None:
        """The data string is compact JSON with query, variables, operationName."""
        data = request_data("subscription { onX { a } }")
        assert data == '{"query":"subscription { onX { a } }","variables":{}}'
        with_name = json.loads(request_data("q", {"a": 1}, "Op"))
        assert with_name == {"query": "q", "variables": {"a": 1}, "operationName": "Op"}

    def test_request_data_keeps_non_ascii(self) -> None:
        """Non-ASCII stays raw UTF-8, as AWS's JS clients send it."""
        assert "é" in request_data("q", {"t": "é"})

    def test_stop(self) -> None:
        """stop names the id."""
        assert json.loads(stop_frame("id-1")) == {"type": "stop", "id": "id-1"}


class TestHeaderEncodings:
    """Handshake auth forms of protocol doc §2.2."""

    def test_subprotocol_is_unpadded_base64url(self) -> None:
        """header- + base64url with no padding and only token characters."""
        value = header_subprotocol(HEADER_OBJECT)
        assert value.startswith("header-")
        body = value.removeprefix("header-")
        assert "=" not in body and "+" not in body and "/" not in body
        decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        assert json.loads(decoded) == HEADER_OBJECT

    def test_query_has_standard_base64_and_empty_payload(self) -> None:
        """header= carries standard base64 (escaped) and payload is e30=."""
        query = header_query(HEADER_OBJECT)
        assert query.endswith("&payload=e30=")
        raw = parse_qs(query)["header"][0]
        assert json.loads(base64.b64decode(raw)) == HEADER_OBJECT

    def test_decode_accepts_raw_query_form(self) -> None:
        """The query value AWS's examples send unescaped decodes too."""
        raw = base64.b64encode(json.dumps({"host": "h"}).encode()).decode()
        assert decode_header_object(raw) == {"host": "h"}

    @pytest.mark.parametrize("text", ["header-!!!", "header-e30", "header-WzFd", ""])
    def test_decode_rejects_garbage(self, text: str) -> None:
        """Anything but a base64 JSON object of strings is a ProtocolError."""
        if text == "header-e30":  # "{}" is a valid (empty) object
            assert decode_header_object(text) == {}
            return
        with pytest.raises(ProtocolError):
            decode_header_object(text)
