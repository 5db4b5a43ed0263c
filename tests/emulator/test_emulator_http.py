"""HTTP POST /graphql against a running emulator on a real loopback socket.

Every request is signed by botocore's SigV4Auth directly (not by this
project's client) and sent with aiohttp as the exact signed bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import aiohttp
import pytest
from emulator_helpers import (
    BUMP,
    HELLO,
    TEMP_KEY,
    TEMP_SECRET,
    TEMP_TOKEN,
    Answer,
    post,
    replace_in_authorization,
    sign,
)

from appsync_iam import FrozenCredentials
from appsync_iam.emulator import AppSyncEmulator

Session = aiohttp.ClientSession
SCOPE = "AKIDEXAMPLE/20200101/us-east-1/appsync/aws4_request"


async def send(
    emulator: AppSyncEmulator,
    session: Session,
    body: bytes = HELLO,
    credentials: FrozenCredentials | None = None,
    **sign_options: object,
) -> Answer:
    """Sign with botocore for the emulator's URL, then POST the same bytes."""
    headers = sign(
        emulator.url, body, credentials or emulator.credentials, **sign_options
    )  # type: ignore[arg-type]
    return await post(session, emulator.url, body, headers)


def assert_rejected(answer: Answer, status: int, error_type: str) -> None:
    """AppSync's error shape: status, errorType in body and header, request id."""
    assert answer.status == status, answer
    assert answer.error_type == error_type, answer
    assert set(answer.json) == {"errors"}
    assert answer.headers["x-amzn-RequestId"]
    assert answer.headers["Date"]


class TestAccepted:
    async def test_botocore_signed_request_without_token(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A botocore-signed request with long-term keys runs and answers 200 JSON."""
        answer = await send(emulator, session)
        assert answer.status == 200, answer
        assert answer.json == {"data": {"hello": "hello emulator"}}
        assert answer.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert answer.headers["x-amzn-RequestId"]
        assert "x-amzn-ErrorType" not in answer.headers

    async def test_botocore_signed_request_with_session_token(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A botocore-signed request with temporary credentials and token runs."""
        creds = emulator.add_principal(TEMP_KEY, TEMP_SECRET, TEMP_TOKEN)
        answer = await send(emulator, session, credentials=creds)
        assert answer.status == 200, answer
        assert emulator.executed[-1].access_key == TEMP_KEY

    async def test_signed_content_sha256_header(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A signed x-amz-content-sha256 that is the body's real hash is accepted."""
        answer = await send(emulator, session, content_sha256=True)
        assert answer.status == 200, answer

    async def test_extra_signed_headers_and_unsigned_extras(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """Extra signed headers work; unsigned headers may be added after signing."""
        headers = sign(
            emulator.url,
            HELLO,
            emulator.credentials,
            headers={"Accept": "application/json", "x-custom": "a  b"},
        )
        headers["User-Agent"] = "unsigned/1.0"
        answer = await post(session, emulator.url, HELLO, headers)
        assert answer.status == 200, answer

    async def test_query_string_is_verified(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A signed query string is part of the canonical request and is accepted."""
        url = emulator.url + "?b=2&a=1"
        headers = sign(url, HELLO, emulator.credentials)
        assert (await post(session, url, HELLO, headers)).status == 200
        other = emulator.url + "?b=2&a=3"
        answer = await post(session, other, HELLO, headers)
        assert_rejected(answer, 403, "InvalidSignatureException")

    async def test_mutations_are_recorded(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """Each operation the engine runs appears in emulator.executed, in order."""
        for _ in range(3):
            answer = await send(emulator, session, BUMP)
            assert answer.status == 200, answer
        assert answer.json == {"data": {"bump": 6}}
        kinds = [(op.operation_type, op.field) for op in emulator.executed]
        assert kinds == [("mutation", "bump")] * 3

    async def test_principal_added_and_removed_while_running(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """add_principal applies at once; remove_principal makes the key unknown."""
        creds = emulator.add_principal("AKIDLATEEXAMPLE", "late-secret")
        assert (await send(emulator, session, credentials=creds)).status == 200
        emulator.remove_principal("AKIDLATEEXAMPLE")
        answer = await send(emulator, session, credentials=creds)
        assert_rejected(answer, 403, "UnrecognizedClientException")

    async def test_replacing_a_principal_changes_its_secret(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """add_principal with an existing key id replaces the old secret."""
        old = emulator.credentials
        new = emulator.add_principal(old.access_key, "rotated-secret")
        assert_rejected(
            await send(emulator, session, credentials=old),
            403,
            "InvalidSignatureException",
        )
        assert (await send(emulator, session, credentials=new)).status == 200

    async def test_graphql_errors_are_http_200(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A query the schema rejects is a GraphQL error in HTTP 200, as on AppSync."""
        body = json.dumps({"query": "{ nope }"}).encode()
        answer = await send(emulator, session, body)
        assert answer.status == 200, answer
        assert answer.json["errors"]


class TestAuthRejected:
    async def test_missing_authorization(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """No Authorization header: 401 UnauthorizedException."""
        answer = await post(
            session, emulator.url, HELLO, {"Content-Type": "application/json"}
        )
        assert_rejected(answer, 401, "UnauthorizedException")
        assert answer.message == "Valid authorization header not provided."

    @pytest.mark.parametrize(
        "authorization",
        [
            "Bearer abc",
            f"AWS4-HMAC-SHA1 Credential={SCOPE}",
            "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=00",
            f"AWS4-HMAC-SHA256 Credential={SCOPE}, Signature=00",
            f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host;x-amz-date",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/us-east-1/appsync/aws4_request,"
            " SignedHeaders=host;x-amz-date, Signature=00",
        ],
        ids=[
            "bearer",
            "sha1",
            "no-credential",
            "no-signedheaders",
            "no-signature",
            "short-scope",
        ],
    )
    async def test_malformed_authorization(
        self, emulator: AppSyncEmulator, session: Session, authorization: str
    ) -> None:
        """Authorization that is not complete SigV4: 403 IncompleteSignature."""
        headers = sign(emulator.url, HELLO, emulator.credentials)
        headers["Authorization"] = authorization
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 403, "IncompleteSignatureException")

    async def test_unknown_key_id(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A key id the emulator does not know: 403 UnrecognizedClientException."""
        stranger = FrozenCredentials("AKIDUNKNOWNEXAMPLE", "whatever")
        answer = await send(emulator, session, credentials=stranger)
        assert_rejected(answer, 403, "UnrecognizedClientException")
        assert (
            answer.message == "The security token included in the request is invalid."
        )

    async def test_wrong_secret_echoes_canonical_request(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """The wrong secret: 403 InvalidSignatureException echoing the expected
        canonical request and string-to-sign."""
        wrong = FrozenCredentials(emulator.credentials.access_key, "not-the-secret")
        answer = await send(emulator, session, credentials=wrong)
        assert_rejected(answer, 403, "InvalidSignatureException")
        assert answer.message.startswith(
            "The request signature we calculated does not match the signature you "
            "provided."
        )
        body_hash = hashlib.sha256(HELLO).hexdigest()
        expected = "The Canonical String for this request should have been\n"
        assert expected + "'POST\n/graphql\n\n" in answer.message
        assert f"content-type;host;x-amz-date\n{body_hash}'" in answer.message
        assert (
            "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" in answer.message
        )
        assert emulator.credentials.secret_key not in answer.text

    async def test_mismatch_echo_redacts_session_token(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """The canonical string echoed for a bad signature never holds the token."""
        emulator.add_principal(TEMP_KEY, TEMP_SECRET, TEMP_TOKEN)
        wrong = FrozenCredentials(TEMP_KEY, "not-the-secret", TEMP_TOKEN)
        answer = await send(emulator, session, credentials=wrong)
        assert_rejected(answer, 403, "InvalidSignatureException")
        assert "x-amz-security-token:<redacted>" in answer.message
        assert TEMP_TOKEN not in answer.text
        assert TEMP_TOKEN.split("+")[0] not in answer.text

    async def test_tampered_body(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A body one byte off the signed one: 403 InvalidSignatureException."""
        headers = sign(emulator.url, HELLO, emulator.credentials)
        tampered = HELLO.replace(b"emulator", b"emulatos")
        answer = await post(session, emulator.url, tampered, headers)
        assert_rejected(answer, 403, "InvalidSignatureException")
        assert emulator.executed == []


class TestDateAndScope:
    async def test_missing_amz_date(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """x-amz-date absent from the request: 403 IncompleteSignatureException."""
        headers = sign(emulator.url, HELLO, emulator.credentials)
        del headers["X-Amz-Date"]
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 403, "IncompleteSignatureException")

    @pytest.mark.parametrize(
        "value", ["yesterday", "20201301T000000Z", "2020-01-01T00:00:00Z"]
    )
    async def test_unparseable_amz_date(
        self, emulator: AppSyncEmulator, session: Session, value: str
    ) -> None:
        """An x-amz-date not in ISO-8601 basic format: 403 IncompleteSignature."""
        headers = sign(emulator.url, HELLO, emulator.credentials)
        headers["X-Amz-Date"] = value
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 403, "IncompleteSignatureException")

    async def test_signature_expired(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """Signed over 5 minutes ago: 403 InvalidSignature "Signature expired"."""
        at = datetime.now(timezone.utc) - timedelta(minutes=6)
        answer = await send(emulator, session, at=at)
        assert_rejected(answer, 403, "InvalidSignatureException")
        stamp = at.strftime("%Y%m%dT%H%M%SZ")
        assert answer.message.startswith(
            f"Signature expired: {stamp} is now earlier than "
        )
        assert answer.message.endswith(" - 5 min.)")

    async def test_signature_not_yet_current(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """Signed more than 5 minutes ahead: 403 "Signature not yet current"."""
        at = datetime.now(timezone.utc) + timedelta(minutes=6)
        answer = await send(emulator, session, at=at)
        assert_rejected(answer, 403, "InvalidSignatureException")
        assert answer.message.startswith("Signature not yet current: ")
        assert answer.message.endswith(" + 5 min.)")

    async def test_within_five_minutes_is_accepted(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A signature 4 minutes old or 4 minutes ahead is still accepted."""
        for minutes in (-4, 4):
            at = datetime.now(timezone.utc) + timedelta(minutes=minutes)
            answer = await send(emulator, session, at=at)
            assert answer.status == 200, answer

    async def test_wrong_region(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A scope for another region: 403 InvalidSignatureException naming ours."""
        answer = await send(emulator, session, region="eu-west-1")
        assert_rejected(answer, 403, "InvalidSignatureException")
        assert "Credential should be scoped to a valid region" in answer.message
        assert "'us-east-1'" in answer.message

    async def test_wrong_service(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A credential scope for another service: 403 InvalidSignatureException."""
        answer = await send(emulator, session, service="execute-api")
        assert_rejected(answer, 403, "InvalidSignatureException")
        assert (
            answer.message
            == "Credential should be scoped to correct service: 'appsync'."
        )

    async def test_scope_date_differs_from_amz_date(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A scope date that is not x-amz-date's date: 403 InvalidSignatureException."""
        headers = sign(emulator.url, HELLO, emulator.credentials)
        today = headers["X-Amz-Date"][:8]
        headers = replace_in_authorization(headers, f"/{today}/", "/19990101/")
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 403, "InvalidSignatureException")
        assert answer.message.startswith("Date in Credential scope does not match")

    async def test_wrong_terminator(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A scope not ending in aws4_request: 403 InvalidSignatureException."""
        headers = sign(emulator.url, HELLO, emulator.credentials)
        headers = replace_in_authorization(headers, "/aws4_request", "/aws5_request")
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 403, "InvalidSignatureException")


class TestSignedHeaders:
    @pytest.mark.parametrize("dropped", ["host", "x-amz-date"])
    async def test_required_header_not_signed(
        self, emulator: AppSyncEmulator, session: Session, dropped: str
    ) -> None:
        """SignedHeaders without host or x-amz-date: 403 IncompleteSignature."""
        headers = sign(emulator.url, HELLO, emulator.credentials)
        signed = "content-type;host;x-amz-date"
        remaining = ";".join(h for h in signed.split(";") if h != dropped)
        headers = replace_in_authorization(headers, signed, remaining)
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 403, "IncompleteSignatureException")

    async def test_signed_header_absent(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A header in SignedHeaders but not sent: 403 IncompleteSignature."""
        headers = sign(
            emulator.url, HELLO, emulator.credentials, headers={"X-Trace": "1"}
        )
        del headers["X-Trace"]
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 403, "IncompleteSignatureException")
        assert answer.message == (
            "'x-trace' is named as a SignedHeader, but it does not exist in the "
            "HTTP request."
        )

    async def test_signed_header_value_changed(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A signed header sent with another value: 403 InvalidSignatureException."""
        headers = sign(emulator.url, HELLO, emulator.credentials)
        headers["Content-Type"] = "application/json; charset=UTF-8"
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 403, "InvalidSignatureException")


class TestSessionToken:
    async def test_token_missing(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A temporary key's request without its token: 403 UnrecognizedClient."""
        creds = emulator.add_principal(TEMP_KEY, TEMP_SECRET, TEMP_TOKEN)
        without = FrozenCredentials(creds.access_key, creds.secret_key)
        answer = await send(emulator, session, credentials=without)
        assert_rejected(answer, 403, "UnrecognizedClientException")

    async def test_token_different(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A temporary key's request with another token: 403 UnrecognizedClient."""
        emulator.add_principal(TEMP_KEY, TEMP_SECRET, TEMP_TOKEN)
        other = FrozenCredentials(TEMP_KEY, TEMP_SECRET, "AnotherSessionTokenEXAMPLE")
        answer = await send(emulator, session, credentials=other)
        assert_rejected(answer, 403, "UnrecognizedClientException")
        assert "AnotherSessionTokenEXAMPLE" not in answer.text

    async def test_token_sent_for_long_term_keys(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A token sent with keys that have none: 403 UnrecognizedClientException."""
        creds = FrozenCredentials(
            emulator.credentials.access_key,
            emulator.credentials.secret_key,
            "StrayTokenEXAMPLE",
        )
        answer = await send(emulator, session, credentials=creds)
        assert_rejected(answer, 403, "UnrecognizedClientException")

    async def test_token_not_signed(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """The right token sent but not signed: 403 IncompleteSignatureException."""
        creds = emulator.add_principal(TEMP_KEY, TEMP_SECRET, TEMP_TOKEN)
        headers = sign(emulator.url, HELLO, FrozenCredentials(TEMP_KEY, TEMP_SECRET))
        headers["X-Amz-Security-Token"] = creds.token or ""
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 403, "IncompleteSignatureException")
        assert TEMP_TOKEN not in answer.text

    async def test_token_expired(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A token past its expiry: 403 ExpiredTokenException."""
        expired = datetime.now(timezone.utc) - timedelta(seconds=1)
        creds = emulator.add_principal(
            TEMP_KEY, TEMP_SECRET, TEMP_TOKEN, expires_at=expired
        )
        answer = await send(emulator, session, credentials=creds)
        assert_rejected(answer, 403, "ExpiredTokenException")
        assert answer.message == "The security token included in the request is expired"


class TestBody:
    async def test_content_sha256_mismatch(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A signed x-amz-content-sha256 that is not the body's hash: 400
        XAmzContentSHA256Mismatch (AppSync's answer is unknown: open question 5)."""
        headers = sign(
            emulator.url,
            HELLO,
            emulator.credentials,
            headers={"X-Amz-Content-SHA256": hashlib.sha256(b"other").hexdigest()},
        )
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 400, "XAmzContentSHA256Mismatch")

    async def test_unsigned_payload_marker_rejected(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """x-amz-content-sha256: UNSIGNED-PAYLOAD is rejected too (S3-only option)."""
        headers = sign(
            emulator.url,
            HELLO,
            emulator.credentials,
            headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
        )
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 400, "XAmzContentSHA256Mismatch")

    async def test_empty_body(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """A correctly signed empty body: 400 MalformedHttpRequestException."""
        answer = await send(emulator, session, b"")
        assert_rejected(answer, 400, "MalformedHttpRequestException")
        assert answer.message == "Request body is empty."

    @pytest.mark.parametrize(
        "body",
        [
            b"meow",
            b"{}",
            b"[]",
            b'{"variables": {}}',
            b'{"query": 1}',
            b"\xff\xfe",
            b"null",
        ],
    )
    async def test_not_a_graphql_request(
        self, emulator: AppSyncEmulator, session: Session, body: bytes
    ) -> None:
        """A signed body that is no GraphQL request: 400 MalformedHttpRequest."""
        answer = await send(emulator, session, body)
        assert_rejected(answer, 400, "MalformedHttpRequestException")
        assert answer.message == "Unable to parse GraphQL query."
        assert emulator.executed == []

    async def test_several_operations_without_name(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """Two operations and no operationName: 400 BadRequestException."""
        query = "query A { hello } query B { hello }"
        answer = await send(emulator, session, json.dumps({"query": query}).encode())
        assert_rejected(answer, 400, "BadRequestException")
        assert answer.message == "Missing operation name."


class TestRoutes:
    async def test_other_method(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """GET /graphql: 405 with a JSON error body."""
        async with session.get(emulator.url) as response:
            assert response.status == 405
            assert response.headers["x-amzn-ErrorType"] == "MethodNotAllowedException"
            assert (await response.json())["errors"][0]["errorType"]

    async def test_other_path(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """POST to a path that is not /graphql: 404 with a JSON error body."""
        url = emulator.url.replace("/graphql", "/nope")
        async with session.post(url, data=HELLO) as response:
            assert response.status == 404
            assert (await response.json())["errors"][0][
                "errorType"
            ] == "NotFoundException"


class TestClock:
    async def test_clock_offset_rejects_then_accepts(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """Signed now: rejected at clock_offset +10 min, accepted again at 0."""
        headers = sign(emulator.url, HELLO, emulator.credentials)
        emulator.clock_offset = 600
        answer = await post(session, emulator.url, HELLO, headers)
        assert_rejected(answer, 403, "InvalidSignatureException")
        assert answer.message.startswith("Signature expired")
        emulator.clock_offset = 0
        assert (await post(session, emulator.url, HELLO, headers)).status == 200

    async def test_date_header_follows_the_emulator_clock(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """The Date header is the emulator's clock, so clients can correct skew."""
        emulator.clock_offset = -3600
        answer = await send(emulator, session)
        served = parsedate_to_datetime(answer.headers["Date"])
        expected = datetime.now(timezone.utc) - timedelta(hours=1)
        assert abs((served - expected).total_seconds()) < 5
        emulator.clock_offset = 0

    async def test_now_includes_offset(self, emulator: AppSyncEmulator) -> None:
        """emulator.now() is aware UTC and shifted by clock_offset."""
        emulator.clock_offset = 120.0
        delta = emulator.now() - datetime.now(timezone.utc)
        assert emulator.now().tzinfo is timezone.utc
        assert 119 < delta.total_seconds() < 121


class TestLifecycle:
    async def test_urls_and_attributes(self, emulator: AppSyncEmulator) -> None:
        """url, realtime_url, region and default credentials are as documented."""
        assert emulator.url == f"http://127.0.0.1:{emulator.port}/graphql"
        assert (
            emulator.realtime_url == f"ws://127.0.0.1:{emulator.port}/graphql/realtime"
        )
        assert emulator.region == "us-east-1"
        assert emulator.credentials.access_key == "AKIDEXAMPLE"
        assert emulator.credentials.token is None
        assert "wJalrXUtnFEMI" not in repr(emulator.credentials)
        assert repr(emulator).startswith("<AppSyncEmulator http://127.0.0.1:")

    async def test_not_running_has_no_url(self) -> None:
        """Before start and after close url raises RuntimeError; close is idempotent."""
        from emulator_helpers import TINY_SDL

        emulator = AppSyncEmulator(TINY_SDL)
        with pytest.raises(RuntimeError):
            _ = emulator.url
        async with emulator:
            assert emulator.port > 0
            with pytest.raises(RuntimeError):
                await emulator.start()
        with pytest.raises(RuntimeError):
            _ = emulator.url
        await emulator.close()

    async def test_custom_region(self, session: Session) -> None:
        """An emulator for another region verifies scopes for that region."""
        from emulator_helpers import TINY_SDL, tiny_resolvers

        async with AppSyncEmulator(
            TINY_SDL, resolvers=tiny_resolvers(), region="eu-central-1"
        ) as emulator:
            assert (await send(emulator, session, region="eu-central-1")).status == 200
            answer = await send(emulator, session)
            assert_rejected(answer, 403, "InvalidSignatureException")


class TestNoSecretsLogged:
    async def test_debug_logs_hold_no_secret(
        self,
        emulator: AppSyncEmulator,
        session: Session,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """At DEBUG, accepted and rejected requests log no secret key, token or
        signature."""
        caplog.set_level(logging.DEBUG, logger="appsync_iam")
        creds = emulator.add_principal(TEMP_KEY, TEMP_SECRET, TEMP_TOKEN)
        signatures = []
        for credentials in (
            creds,
            FrozenCredentials(TEMP_KEY, "not-the-secret", TEMP_TOKEN),
            FrozenCredentials(TEMP_KEY, TEMP_SECRET, "AnotherSessionTokenEXAMPLE"),
        ):
            headers = sign(emulator.url, HELLO, credentials)
            signatures.append(headers["Authorization"].rpartition("=")[2])
            await post(session, emulator.url, HELLO, headers)
        assert "Rejected POST /graphql: 403 InvalidSignatureException" in caplog.text
        for secret in (TEMP_SECRET, TEMP_TOKEN, "AnotherSessionToken", *signatures):
            assert secret not in caplog.text
        assert repr(emulator).count("EXAMPLEKEY") == 0
