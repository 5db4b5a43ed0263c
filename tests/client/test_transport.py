"""The signed HTTP transport against the emulator, which verifies every signature."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from appsync_iam import (
    AppSyncClient,
    AppSyncIAMTransport,
    AuthorizationError,
    CallableCredentials,
    ConfigurationError,
    CredentialsError,
    FrozenCredentials,
    GraphQLResponseError,
    HTTPStatusError,
    ProtocolError,
    RequestTimeout,
    RetryPolicy,
    ThrottlingError,
    TransportError,
)
from appsync_iam.emulator import AppSyncEmulator

from .conftest import BY_ROOM, FAST_RETRY, GET_ROOM, NO_RETRY, POST, Scripted, mutations

UNICODE = 'héllo wörld ✓ 日本語 👋🏽 \u2028 \u2029 "quoted" \\ tab\t'


def recorder() -> tuple[aiohttp.TraceConfig, list[dict[str, str]]]:
    """An aiohttp trace config recording the headers of each request sent."""
    sent: list[dict[str, str]] = []

    async def on_start(session: Any, ctx: SimpleNamespace, params: Any) -> None:
        sent.append(dict(params.headers))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    return trace, sent


class TestSignedRequests:
    async def test_mutation_and_query_with_unicode(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """Unicode variables (emoji, U+2028, quotes) are signed and round-trip."""
        posted = await client.execute_async(POST, {"room": "r1", "content": UNICODE})
        assert posted["postMessage"]["content"] == UNICODE
        listed = await client.execute_async(BY_ROOM, {"room": "r1"})
        assert listed == {"messagesByRoom": {"items": [{"content": UNICODE}]}}
        assert mutations(emulator) == 1

    async def test_custom_domain_style_url(self, emulator: AppSyncEmulator) -> None:
        """localhost (not the signing host 127.0.0.1) with an explicit region works."""
        url = f"http://localhost:{emulator.port}/graphql"
        async with AppSyncClient(
            url,
            region=emulator.region,
            realtime_url=f"ws://localhost:{emulator.port}/graphql/realtime",
            credentials=emulator.credentials,
        ) as client:
            assert client.endpoint.host == f"localhost:{emulator.port}"
            assert client.endpoint.realtime_url.startswith("ws://localhost:")
            data = await client.execute_async(POST, {"room": "c", "content": "x"})
        assert data["postMessage"]["roomId"] == "c"

    async def test_wrong_region_is_rejected(self, emulator: AppSyncEmulator) -> None:
        """A signature scoped to another region is an AuthorizationError."""
        async with AppSyncClient(
            emulator.url, region="eu-west-1", credentials=emulator.credentials
        ) as client:
            with pytest.raises(AuthorizationError) as info:
                await client.execute_async(GET_ROOM, {"id": "a"})
        assert info.value.status in (401, 403)

    async def test_session_token(self, emulator: AppSyncEmulator) -> None:
        """Temporary credentials send and sign X-Amz-Security-Token."""
        temporary = emulator.add_principal(
            "AKIDTEMPEXAMPLE", "temp-secret", token="session-token-EXAMPLE"
        )
        async with AppSyncClient(emulator.url, credentials=temporary) as client:
            data = await client.execute_async(POST, {"room": "t", "content": "tok"})
        assert data["postMessage"]["content"] == "tok"
        assert emulator.executed[-1].access_key == "AKIDTEMPEXAMPLE"

    async def test_per_call_headers_are_sent_and_signed(
        self, emulator: AppSyncEmulator
    ) -> None:
        """Extra headers of one call are sent, covered by SignedHeaders, not kept."""
        trace, sent = recorder()
        transport = AppSyncIAMTransport(
            emulator.url,
            credentials=emulator.credentials,
            client_session_args={"trace_configs": [trace]},
        )
        await transport.connect()
        try:
            await transport.request(
                "query { listRooms { items { id } } }",
                is_mutation=False,
                headers={"x-trace-tag": "abc"},
            )
            await transport.request(
                "query { listRooms { items { id } } }", is_mutation=False
            )
        finally:
            await transport.close()
        first, second = sent
        assert first["x-trace-tag"] == "abc"
        assert "x-trace-tag" in first["Authorization"].split("SignedHeaders=")[1]
        assert "x-trace-tag" not in second

    async def test_every_attempt_is_signed_afresh(
        self, emulator: AppSyncEmulator
    ) -> None:
        """A retried request carries a new x-amz-date and signature."""
        trace, sent = recorder()
        ticks = iter(range(1_700_000_000, 1_700_001_000, 7))
        emulator.clock_offset = 1_700_000_000.0 - time.time()
        emulator.faults.throttle_rate = 1.0
        transport = AppSyncIAMTransport(
            emulator.url,
            credentials=emulator.credentials,
            retry=RetryPolicy(max_attempts=2, base_delay=0.001),
            clock=lambda: float(next(ticks)),
            client_session_args={"trace_configs": [trace]},
        )
        await transport.connect()
        try:
            with pytest.raises(ThrottlingError):
                await transport.request("query { listRooms { id } }")
        finally:
            await transport.close()
        first, second = (h["x-amz-date"] for h in sent)
        assert first == "20231114T221320Z"
        assert second > first
        assert sent[0]["Authorization"] != sent[1]["Authorization"]

    async def test_body_sent_is_the_body_signed(self, scripted: Scripted) -> None:
        """Compact UTF-8 JSON body; content-type, host, date and token are signed."""
        async with AppSyncClient(
            scripted.url, credentials=FrozenCredentials("AKIDEXAMPLE", "secret", "tok")
        ) as client:
            await client.execute_async("query Q($v: String) { a(v: $v) }", {"v": "é✓"})
        body = scripted.bodies[0]
        assert (
            body
            == (
                '{"query":"query Q($v: String) { a(v: $v) }","operationName":null,'
                '"variables":{"v":"é✓"}}'
            )
            .replace(',"operationName":null', "")
            .encode()
        )
        signed = scripted.requests[0]["Authorization"].split("SignedHeaders=")[1]
        assert signed.split(",")[0] == (
            "content-type;host;x-amz-date;x-amz-security-token"
        )
        assert "x-amz-content-sha256" not in scripted.requests[0]

    async def test_redirects_are_not_followed(self, scripted: Scripted) -> None:
        """A 307 is an HTTPStatusError, not a signed request to another host."""
        scripted.replies.append((307, {"Location": "http://evil.example/"}, b""))
        async with AppSyncClient(
            scripted.url, credentials=FrozenCredentials("AKIDEXAMPLE", "secret")
        ) as client:
            with pytest.raises(HTTPStatusError) as info:
                await client.execute_async("query { a }")
        assert info.value.status == 307
        assert "not followed" in str(info.value)
        assert len(scripted.requests) == 1


class TestErrors:
    async def test_unknown_key(self, emulator: AppSyncEmulator) -> None:
        """An unknown access key is a 403 AuthorizationError with a request id."""
        creds = FrozenCredentials("AKIDUNKNOWN", "whatever")
        async with AppSyncClient(emulator.url, credentials=creds) as client:
            with pytest.raises(AuthorizationError) as info:
                await client.execute_async(GET_ROOM, {"id": "a"})
        error = info.value
        assert error.status == 403
        assert error.error_type == "UnrecognizedClientException"
        assert error.request_id
        assert error.request_id in str(error)
        # Static keys have nothing newer to refresh to: no second request.
        assert [r.status for r in emulator.requests] == [403]

    async def test_revoked_key_is_replaced_by_fresh_credentials(
        self, emulator: AppSyncEmulator
    ) -> None:
        """A key revoked while cached is refreshed once and the request retried."""
        keys = iter(["AKIDROTATED1", "AKIDROTATED2"])

        async def issue() -> FrozenCredentials:
            expires = datetime.now(timezone.utc) + timedelta(hours=1)
            return emulator.add_principal(
                next(keys), "rotated-secret", expires_at=expires
            )

        async with AppSyncClient(emulator.url, credentials=issue) as client:
            await client.execute_async(GET_ROOM, {"id": "a"})
            emulator.remove_principal("AKIDROTATED1")
            await client.execute_async(GET_ROOM, {"id": "a"})
        assert [r.status for r in emulator.requests] == [200, 403, 200]

    async def test_wrong_secret(self, emulator: AppSyncEmulator) -> None:
        """A wrong secret is InvalidSignatureException, raised at once, redacted."""
        creds = FrozenCredentials(emulator.credentials.access_key, "wrong-secret")
        async with AppSyncClient(emulator.url, credentials=creds) as client:
            with pytest.raises(AuthorizationError) as info:
                await client.execute_async(GET_ROOM, {"id": "a"})
        assert info.value.error_type == "InvalidSignatureException"
        assert "wrong-secret" not in str(info.value)

    async def test_throttling(self, emulator: AppSyncEmulator) -> None:
        """A 429 that outlasts the retries is a ThrottlingError."""
        emulator.faults.throttle_rate = 1.0
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=NO_RETRY
        ) as once:
            with pytest.raises(ThrottlingError) as info:
                await once.execute_async(GET_ROOM, {"id": "a"})
        assert info.value.status == 429
        assert info.value.error_type == "TooManyRequestsException"
        assert info.value.request_id

    async def test_server_error(self, emulator: AppSyncEmulator) -> None:
        """A 5xx that outlasts the retries is an HTTPStatusError with its type."""
        emulator.faults.error_5xx_rate = 1.0
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=NO_RETRY
        ) as once:
            with pytest.raises(HTTPStatusError) as info:
                await once.execute_async(GET_ROOM, {"id": "a"})
        assert info.value.status == 500
        assert info.value.error_type == "InternalFailure"

    async def test_malformed_request_is_not_retried(
        self, emulator: AppSyncEmulator
    ) -> None:
        """400 MalformedHttpRequestException is raised without a retry."""
        transport = AppSyncIAMTransport(
            emulator.url, credentials=emulator.credentials, retry=FAST_RETRY
        )
        await transport.connect()
        try:
            with pytest.raises(HTTPStatusError) as info:
                await transport.request("   ", is_mutation=False)
        finally:
            await transport.close()
        assert info.value.status == 400
        assert info.value.error_type == "MalformedHttpRequestException"

    async def test_graphql_errors(self, client: AppSyncClient) -> None:
        """HTTP 200 with errors is a GraphQLResponseError carrying .errors."""
        with pytest.raises(GraphQLResponseError) as info:
            await client.execute_async("query { noSuchField }")
        assert info.value.errors
        assert "noSuchField" in str(info.value)

    async def test_partial_data(self, emulator: AppSyncEmulator) -> None:
        """A denied field gives partial data and an Unauthorized error type."""
        creds = emulator.add_principal(
            "AKIDDENIED", "denied-secret", deny=["Query.getMessage"]
        )
        async with AppSyncClient(emulator.url, credentials=creds) as client:
            with pytest.raises(GraphQLResponseError) as info:
                await client.execute_async(
                    'query { getMessage(id: "m") { id } listRooms { items { id } } }'
                )
        error = info.value
        assert error.error_types == ["Unauthorized"]
        assert error.data == {"getMessage": None, "listRooms": {"items": []}}

    async def test_non_json_answer(self, scripted: Scripted) -> None:
        """An HTML 502 from a proxy is a ProtocolError with a short excerpt."""
        html = b"<html><body>" + b"Bad Gateway " * 100 + b"</body></html>"
        scripted.replies += [(502, {"Content-Type": "text/html"}, html)] * 4
        async with AppSyncClient(
            scripted.url,
            credentials=FrozenCredentials("AKIDEXAMPLE", "s"),
            retry=NO_RETRY,
        ) as client:
            with pytest.raises(ProtocolError) as info:
                await client.execute_async("query { a }")
        message = str(info.value)
        assert "502" in message and "Bad Gateway" in message
        assert len(message) < 300
        assert info.value.sent is True

    async def test_truncated_body(self, scripted: Scripted) -> None:
        """A truncated 200 answer is a ProtocolError."""
        scripted.replies.append((200, {}, b'{"data": {"a": '))
        async with AppSyncClient(
            scripted.url,
            credentials=FrozenCredentials("AKIDEXAMPLE", "s"),
            retry=NO_RETRY,
        ) as client:
            with pytest.raises(ProtocolError):
                await client.execute_async("query { a }")

    async def test_connect_failure(self, unused_tcp_port: int) -> None:
        """Nothing listening is a TransportError with sent=False, after retries."""
        url = f"http://127.0.0.1:{unused_tcp_port}/graphql"
        async with AppSyncClient(
            url,
            credentials=FrozenCredentials("AKIDEXAMPLE", "s"),
            retry=RetryPolicy(max_attempts=3, base_delay=0.001),
        ) as client:
            with pytest.raises(TransportError) as info:
                await client.execute_async(POST, {"room": "r", "content": "c"})
        assert info.value.sent is False
        assert not isinstance(info.value, ProtocolError)

    async def test_timeout(self, emulator: AppSyncEmulator) -> None:
        """No answer in time is RequestTimeout (sent=True), also a TimeoutError."""
        emulator.faults.latency_ms = (1500, 1500)
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, timeout=0.2, retry=NO_RETRY
        ) as client:
            with pytest.raises(RequestTimeout) as info:
                await client.execute_async(POST, {"room": "r", "content": "c"})
        assert isinstance(info.value, TimeoutError)
        assert info.value.sent is True

    async def test_credentials_failure(self, emulator: AppSyncEmulator) -> None:
        """A failing credential source raises CredentialsError; nothing is sent."""

        async def broken() -> FrozenCredentials:
            raise OSError("instance metadata unreachable")

        async with AppSyncClient(emulator.url, credentials=broken) as client:
            with pytest.raises(CredentialsError, match="unreachable"):
                await client.execute_async(GET_ROOM, {"id": "a"})
        assert emulator.executed == []

    async def test_syntax_error_sends_nothing(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """A query with a syntax error is a ConfigurationError before any request."""
        with pytest.raises(ConfigurationError, match="line 1"):
            await client.execute_async("mutation { postMessage(")
        assert emulator.executed == []


class TestRetries:
    async def test_throttled_mutations_all_run_once(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """Under 30 % throttling every mutation succeeds and runs exactly once."""
        emulator.faults.throttle_rate = 0.3
        results = await asyncio.gather(
            *(
                client.execute_async(POST, {"room": "t", "content": str(i)})
                for i in range(60)
            )
        )
        assert len(results) == 60
        assert emulator.faults.injected["throttle"] > 0
        assert mutations(emulator) == 60

    async def test_queries_retry_resets(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """Queries are retried after a reset by default (reading twice is safe)."""
        emulator.faults.reset_before_rate = 0.3
        for i in range(20):
            await client.execute_async(GET_ROOM, {"id": f"r{i}"})
        assert emulator.faults.injected["reset_before"] > 0

    async def test_mutations_retry_resets_before_when_opted_in(
        self, emulator: AppSyncEmulator
    ) -> None:
        """With retry_mutations=True, reset-before mutations all run exactly once.

        The client cannot tell a reset before execution from one after it,
        so this needs the opt-in; here the emulator only resets before.
        """
        emulator.faults.reset_before_rate = 0.3
        policy = RetryPolicy(max_attempts=12, base_delay=0.001, retry_mutations=True)
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=policy
        ) as client:
            for i in range(30):
                await client.execute_async(POST, {"room": "rb", "content": str(i)})
        assert emulator.faults.injected["reset_before"] > 0
        assert mutations(emulator) == 30

    async def test_reset_mutation_is_not_retried_by_default(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """A reset mutation is raised with sent=True: it may have run."""
        emulator.faults.reset_before_rate = 1.0
        with pytest.raises(TransportError) as info:
            await client.execute_async(POST, {"room": "r", "content": "c"})
        assert info.value.sent is True
        assert emulator.faults.injected["reset_before"] == 1
        assert mutations(emulator) == 0

    async def test_reset_after_execute_is_not_duplicated(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """A mutation reset after it ran is raised (sent=True), run exactly once."""
        emulator.faults.reset_after_rate = 1.0
        with pytest.raises(TransportError) as info:
            await client.execute_async(POST, {"room": "r", "content": "c"})
        assert info.value.sent is True
        assert mutations(emulator) == 1

    async def test_opt_in_can_duplicate(self, emulator: AppSyncEmulator) -> None:
        """retry_mutations=True re-sends after reset-after: only for idempotent ops."""
        emulator.faults.reset_after_rate = 1.0
        policy = RetryPolicy(max_attempts=2, base_delay=0.001, retry_mutations=True)
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=policy
        ) as client:
            with pytest.raises(TransportError):
                await client.execute_async(POST, {"room": "r", "content": "c"})
        assert mutations(emulator) == 2

    async def test_5xx_mutation_not_retried_query_retried(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """A 5xx is retried for a query, raised at once for a mutation."""
        emulator.faults.error_5xx_rate = 1.0
        with pytest.raises(HTTPStatusError):
            await client.execute_async(POST, {"room": "r", "content": "c"})
        assert emulator.faults.injected["error_5xx"] == 1
        emulator.faults.error_5xx_rate = 0.4
        for i in range(10):
            await client.execute_async(GET_ROOM, {"id": str(i)})

    async def test_retry_after_is_honoured(self, scripted: Scripted) -> None:
        """A 429 with Retry-After waits that long before the next attempt."""
        scripted.replies.append((429, {"Retry-After": "0.3"}, b'{"errors":[]}'))
        async with AppSyncClient(
            scripted.url, credentials=FrozenCredentials("AKIDEXAMPLE", "s")
        ) as client:
            started = time.monotonic()
            await client.execute_async("query { a }")
        assert time.monotonic() - started >= 0.3
        assert len(scripted.requests) == 2


class TestClockSkew:
    @pytest.mark.parametrize("offset", [20 * 60, -20 * 60])
    async def test_server_clock_offset_is_corrected(
        self,
        client: AppSyncClient,
        emulator: AppSyncEmulator,
        offset: int,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """±20 minutes of skew are learned from Date once and applied afterwards."""
        emulator.clock_offset = offset
        with caplog.at_level(logging.WARNING, logger="appsync_iam.http"):
            for i in range(3):
                await client.execute_async(POST, {"room": "s", "content": str(i)})
        assert abs(client.clock_offset - offset) < 3
        assert mutations(emulator) == 3
        assert len([r for r in caplog.records if "Clock skew" in r.message]) == 1

    async def test_local_clock_seam(self, emulator: AppSyncEmulator) -> None:
        """A local clock 20 minutes slow (the clock seam) is corrected too."""
        async with AppSyncClient(
            emulator.url,
            credentials=emulator.credentials,
            clock=lambda: time.time() - 1200,
        ) as client:
            await client.execute_async(GET_ROOM, {"id": "a"})
            assert abs(client.clock_offset - 1200) < 3


class TestExpiredToken:
    async def test_refresh_and_retry(self, emulator: AppSyncEmulator) -> None:
        """ExpiredTokenException refreshes the credentials once and succeeds."""
        far = datetime.now(timezone.utc) + timedelta(hours=1)
        first = emulator.add_principal(
            "AKIDFIRST", "s1", token="token-1", expires_at=far
        )
        issued = [first]

        async def provider() -> FrozenCredentials:
            return issued[-1]

        async with AppSyncClient(
            emulator.url, credentials=CallableCredentials(provider)
        ) as client:
            await client.execute_async(POST, {"room": "e", "content": "1"})
            # The token expires at AppSync; the provider now hands out a new one.
            past = datetime.now(timezone.utc) - timedelta(seconds=1)
            emulator.add_principal("AKIDFIRST", "s1", token="token-1", expires_at=past)
            issued.append(
                emulator.add_principal(
                    "AKIDSECOND", "s2", token="token-2", expires_at=far
                )
            )
            await client.execute_async(POST, {"room": "e", "content": "2"})
        assert [op.access_key for op in emulator.executed] == [
            "AKIDFIRST",
            "AKIDSECOND",
        ]

    async def test_expired_for_good(self, emulator: AppSyncEmulator) -> None:
        """If the refreshed token is expired too, the AuthorizationError is raised."""
        past = datetime.now(timezone.utc) - timedelta(seconds=1)
        emulator.add_principal("AKIDOLD", "s", token="t")
        stale = FrozenCredentials("AKIDOLD", "s", "t")
        emulator.add_principal("AKIDOLD", "s", token="t", expires_at=past)
        async with AppSyncClient(emulator.url, credentials=stale) as client:
            with pytest.raises(AuthorizationError) as info:
                await client.execute_async(GET_ROOM, {"id": "a"})
        assert info.value.error_type == "ExpiredTokenException"


class TestLogging:
    async def test_debug_logs_hold_no_secret(
        self, emulator: AppSyncEmulator, caplog: pytest.LogCaptureFixture
    ) -> None:
        """DEBUG logs, reprs and errors never show secrets, tokens or signatures."""
        creds = emulator.add_principal(
            "AKIDLOGEXAMPLE", "log-secret-EXAMPLE", token="log-token-EXAMPLE"
        )
        emulator.faults.throttle_rate = 0.5
        caplog.set_level(logging.DEBUG)
        client = AppSyncClient(emulator.url, credentials=creds, retry=FAST_RETRY)
        try:
            for i in range(6):
                await client.execute_async(POST, {"room": "l", "content": str(i)})
            bad = AppSyncClient(
                emulator.url,
                credentials=FrozenCredentials("AKIDLOGEXAMPLE", "nope", "log-token"),
            )
            with pytest.raises(AuthorizationError) as info:
                await bad.execute_async(GET_ROOM, {"id": "x"})
            await bad.close()
        finally:
            await client.close()
        text = "\n".join(r.getMessage() for r in caplog.records)
        text += repr(client) + str(info.value) + repr(info.value)
        for secret in ("log-secret-EXAMPLE", "log-token", "Signature=", "nope"):
            assert secret not in text
        assert any(r.name == "appsync_iam.http" for r in caplog.records)


class TestTransportSurface:
    def test_realtime_contract(self) -> None:
        """The transport exposes what the real-time connection builds on."""
        transport = AppSyncIAMTransport(
            "http://127.0.0.1:9/graphql",
            credentials=FrozenCredentials("AKIDEXAMPLE", "s"),
            clock=lambda: 1000.0,
            realtime_auth="query",
        )
        assert transport.endpoint.realtime_url == "ws://127.0.0.1:9/graphql/realtime"
        assert transport.now() == 1000.0
        assert transport.realtime_auth == "query"
        assert transport.session is None
        assert transport.signer.region == "us-east-1"
        assert "s'" not in repr(transport)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"realtime_auth": "header"},
            {"timeout": 0},
            {"max_connections": 0},
            {"retry": 3},
        ],
    )
    def test_bad_options(self, kwargs: dict[str, Any]) -> None:
        """Unusable options are a ConfigurationError at construction."""
        with pytest.raises(ConfigurationError):
            AppSyncIAMTransport("http://127.0.0.1:9/graphql", **kwargs)

    def test_custom_domain_needs_region(self) -> None:
        """A custom domain without region= is a ConfigurationError."""
        with pytest.raises(ConfigurationError, match="region"):
            AppSyncIAMTransport("https://api.example.com/graphql")

    def test_payload_is_compact_json(self) -> None:
        """The body encoder is compact, UTF-8, and survives lone surrogates."""
        from appsync_iam._http import encode_payload

        assert encode_payload({"a": "é", "b": [1, 2]}) == '{"a":"é","b":[1,2]}'.encode()
        assert json.loads(encode_payload({"s": "\ud800"})) == {"s": "\ud800"}
        with pytest.raises(ValueError):
            encode_payload({"n": float("nan")})
