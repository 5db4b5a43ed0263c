"""SigV4Server: requests signed by botocore accepted; tampering rejected the
way the scope's service answers (S3 XML, API Gateway / Lambda URL JSON)."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from sigv4_helpers import as_json, botocore_signed, chunks, send

from appsync_iam.emulator import SigV4Server

QUERY = (
    "q=%E6%9D%B1%E4%BA%AC%20%E9%A7%85&sym=%21%2A%27%28%29%3B%3A%40%26%3D%2B%24&empty="
)


@pytest.fixture
async def server() -> AsyncIterator[SigV4Server]:
    async with SigV4Server() as srv:
        yield srv


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s


def sign(server: SigV4Server, method: str, target: str, service: str = "execute-api",
         **kwargs: object) -> tuple[str, dict[str, str]]:  # fmt: skip
    return botocore_signed(
        method, server.url + target, server.credentials, service=service,
        region=server.region, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def s3_error(body: bytes) -> dict[str, str]:
    root = ET.fromstring(body)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


class TestAccepted:
    @pytest.mark.parametrize("service", ["execute-api", "lambda", "es", "aoss", "s3"])
    @pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
    async def test_botocore_signed_echoed(
        self, server: SigV4Server, session: aiohttp.ClientSession, service: str,
        method: str,
    ) -> None:  # fmt: skip
        body = b"" if method in ("GET", "DELETE") else '{"k": "値"}'.encode()
        url, headers = sign(
            server, method, "/prod/items/a%20b/%E2%9C%93?" + QUERY, service,
            body=body, content_sha256=service == "aoss",
        )  # fmt: skip
        status, _, answer = await send(session, method, url, headers, body)
        assert status == 200, answer
        echo = as_json(answer)
        assert echo["method"] == method
        assert echo["rawPath"] == "/prod/items/a%20b/%E2%9C%93"
        assert echo["path"] == "/prod/items/a b/✓"
        assert ["q", "東京 駅"] in echo["query"] and ["empty", ""] in echo["query"]
        assert ["sym", "!*'();:@&=+$"] in echo["query"]
        assert echo["body"]["length"] == len(body)
        assert echo["body"]["sha256"] == hashlib.sha256(body).hexdigest()
        assert (echo["principal"], echo["service"]) == ("AKIDEXAMPLE", service)
        assert echo["region"] == "us-east-1" and echo["auth"] == "header"
        (record,) = server.requests
        assert record.accepted and record.status == 200
        assert record.verified is not None and record.verified.service == service

    async def test_session_token_principal(
        self, server: SigV4Server, session: aiohttp.ClientSession
    ) -> None:
        temporary = server.add_principal(
            "AKIDTEMP", "tempsecret", token="TOKEN/xyz+=",
            expires_at=datetime.now(timezone.utc) + timedelta(hours=1),
        )  # fmt: skip
        url, headers = botocore_signed(
            "GET", server.url + "/x", temporary, service="lambda", region="us-east-1"
        )
        status, _, answer = await send(session, "GET", url, headers)
        assert status == 200
        echo = as_json(answer)
        assert echo["principal"] == "AKIDTEMP"
        assert echo["headers"]["x-amz-security-token"] == "<redacted>"
        assert "TOKEN/xyz" not in answer.decode()

    async def test_chunked_request_body(
        self, server: SigV4Server, session: aiohttp.ClientSession
    ) -> None:
        body = bytes(range(256)) * 1000
        for declared in (True, False):  # hashed as it streams / buffered
            url, headers = sign(
                server, "PUT", "/bucket/key", "s3" if declared else "execute-api",
                body=body,
            )  # fmt: skip
            status, _, answer = await send(session, "PUT", url, headers, chunks(body))
            assert status == 200, answer
            assert as_json(answer)["body"]["length"] == len(body)
            assert as_json(answer)["body"]["text"] is None
        assert all(r.body_sha256 == hashlib.sha256(body).hexdigest()
                   for r in server.requests)  # fmt: skip

    async def test_scope_restricted_server(
        self, session: aiohttp.ClientSession
    ) -> None:
        async with SigV4Server(service="s3", region="eu-west-3") as server:
            assert server.region == "eu-west-3"
            url, headers = sign(server, "GET", "/b/k", "s3")
            assert (await send(session, "GET", url, headers))[0] == 200
            url, headers = botocore_signed(
                "GET", server.url + "/b/k", server.credentials, service="s3",
                region="us-east-1",
            )  # fmt: skip
            status, _, answer = await send(session, "GET", url, headers)
            assert status == 400
            error = s3_error(answer)
            assert error["Code"] == "AuthorizationHeaderMalformed"
            assert error["Region"] == "eu-west-3"


class TestRejectedApiGateway:
    """execute-api: 403 {"message": ...} with x-amzn-ErrorType."""

    async def expect(self, server: SigV4Server, session: aiohttp.ClientSession,
                     url: str, headers: dict[str, str], body: bytes, status: int,
                     error_type: str, method: str = "POST") -> str:  # fmt: skip
        got, response_headers, answer = await send(session, method, url, headers, body)
        assert got == status, answer
        assert response_headers["x-amzn-ErrorType"] == error_type
        assert response_headers["x-amzn-RequestId"]
        message: str = as_json(answer)["message"]
        assert server.requests[-1].error_code == error_type
        return message

    async def test_unsigned(
        self, server: SigV4Server, session: aiohttp.ClientSession
    ) -> None:
        message = await self.expect(
            server, session, server.url + "/prod/x", {}, b"", 403,
            "MissingAuthenticationTokenException", "GET",
        )  # fmt: skip
        assert message == "Missing Authentication Token"

    @pytest.mark.parametrize("part", ["body", "header", "query", "path", "method"])
    async def test_tampered(
        self, server: SigV4Server, session: aiohttp.ClientSession, part: str
    ) -> None:
        body = b'{"a":1}'
        url, headers = sign(
            server, "POST", "/prod/x?a=1", body=body, headers={"x-custom": "v"}
        )
        method = "POST"
        if part == "body":
            body = b'{"a":2}'
        elif part == "header":
            headers["x-custom"] = "w"
        elif part == "query":
            url = url.replace("a=1", "a=2")
        elif part == "path":
            url = url.replace("/prod/x", "/prod/y")
        else:
            method = "PUT"
        message = await self.expect(
            server,
            session,
            url,
            headers,
            body,
            403,
            "InvalidSignatureException",
            method,
        )
        assert message.startswith("The request signature we calculated does not match")
        assert server.requests[-1].reason == "mismatch"

    async def test_date_scope_token_skew(
        self, server: SigV4Server, session: aiohttp.ClientSession
    ) -> None:
        url, headers = sign(server, "GET", "/x")
        bad_date = dict(headers, **{"X-Amz-Date": "20200101T000000Z"})
        message = await self.expect(server, session, url, bad_date, b"", 403,
                                    "InvalidSignatureException", "GET")  # fmt: skip
        assert "Date in Credential scope does not match" in message
        bad_scope = dict(headers)
        bad_scope["Authorization"] = headers["Authorization"].replace(
            "/us-east-1/", "/us-west-2/"
        )
        # This server accepts any region: the scope is verified as sent.
        assert "signature we calculated" in await self.expect(
            server,
            session,
            url,
            bad_scope,
            b"",
            403,
            "InvalidSignatureException",
            "GET",
        )
        server.remove_principal("AKIDEXAMPLE")
        await self.expect(server, session, url, headers, b"", 403,
                          "UnrecognizedClientException", "GET")  # fmt: skip
        server.add_principal("AKIDEXAMPLE", server.credentials.secret_key, token="tok")
        await self.expect(server, session, url, headers, b"", 403,
                          "UnrecognizedClientException", "GET")  # fmt: skip
        server.add_principal("AKIDEXAMPLE", server.credentials.secret_key)
        server.clock_offset = 600
        message = await self.expect(server, session, url, headers, b"", 403,
                                    "InvalidSignatureException", "GET")  # fmt: skip
        assert message.startswith("Signature expired")

    async def test_expired_token(
        self, server: SigV4Server, session: aiohttp.ClientSession
    ) -> None:
        expiry = datetime.now(timezone.utc) + timedelta(seconds=60)
        temporary = server.add_principal(
            "AKIDTEMP", "s", token="tok", expires_at=expiry
        )
        url, headers = botocore_signed(
            "GET",
            server.url + "/x",
            temporary,
            service="execute-api",
            region="us-east-1",
        )
        server.clock_offset = 120
        await self.expect(server, session, url, headers, b"", 403,
                          "ExpiredTokenException", "GET")  # fmt: skip


class TestRejectedS3:
    async def test_signature_does_not_match(
        self, server: SigV4Server, session: aiohttp.ClientSession
    ) -> None:
        url, headers = sign(server, "GET", "/bucket/key", "s3")
        status, response_headers, answer = await send(
            session, "GET", url.replace("key", "kez"), headers
        )
        assert status == 403
        assert response_headers["Content-Type"].startswith("application/xml")
        error = s3_error(answer)
        assert error["Code"] == "SignatureDoesNotMatch"
        assert error["AWSAccessKeyId"] == "AKIDEXAMPLE"
        assert error["CanonicalRequest"].startswith("GET\n/bucket/kez\n")
        assert "SignatureProvided" not in error

    async def test_codes(
        self, server: SigV4Server, session: aiohttp.ClientSession
    ) -> None:
        status, _, answer = await send(session, "GET", server.url + "/b/k", {})
        # Unsigned: no scope, so the server cannot know it is S3 unless told.
        assert status == 403
        async with SigV4Server(service="s3") as s3:
            status, _, answer = await send(session, "GET", s3.url + "/b/k", {})
            assert (status, s3_error(answer)["Code"]) == (403, "AccessDenied")
            body = b"hello"
            url, headers = sign(s3, "PUT", "/b/k", "s3", body=body)
            status, _, answer = await send(session, "PUT", url, headers, b"hellO")
            assert status == 400
            error = s3_error(answer)
            assert error["Code"] == "XAmzContentSHA256Mismatch"
            assert (
                error["ClientComputedContentSHA256"] == hashlib.sha256(body).hexdigest()
            )
            # Not signed with S3's rules: x-amz-content-sha256 is missing.
            url, headers = sign(s3, "PUT", "/b/k", "execute-api", body=body)
            headers["Authorization"] = headers["Authorization"].replace(
                "/execute-api/", "/s3/"
            )
            status, _, answer = await send(session, "PUT", url, headers, body)
            assert (status, s3_error(answer)["Code"]) == (400, "InvalidRequest")
            url, headers = sign(s3, "GET", "/b/k", "s3")
            s3.clock_offset = 10 * 60  # inside S3's 15 minutes
            assert (await send(session, "GET", url, headers))[0] == 200
            s3.clock_offset = 16 * 60
            status, _, answer = await send(session, "GET", url, headers)
            error = s3_error(answer)
            assert (status, error["Code"]) == (403, "RequestTimeTooSkewed")
            assert error["MaxAllowedSkewMilliseconds"] == "900000"
            s3.clock_offset = 0
            s3.remove_principal("AKIDEXAMPLE")
            status, _, answer = await send(session, "GET", url, headers)
            assert (status, s3_error(answer)["Code"]) == (403, "InvalidAccessKeyId")


async def test_aoss_requires_content_sha256(
    server: SigV4Server, session: aiohttp.ClientSession
) -> None:
    url, headers = sign(server, "POST", "/_search", "aoss", body=b"{}")
    status, response_headers, answer = await send(session, "POST", url, headers, b"{}")
    assert status == 400
    assert response_headers["x-amzn-ErrorType"] == "InvalidRequest"
    assert "x-amz-content-sha256" in as_json(answer)["message"]


class TestLambdaUrl:
    async def test_forbidden(
        self, server: SigV4Server, session: aiohttp.ClientSession
    ) -> None:
        url, headers = sign(server, "POST", "/", "lambda", body=b"{}")
        status, response_headers, answer = await send(
            session, "POST", url, headers, b"[]"
        )
        assert status == 403
        assert response_headers["x-amzn-ErrorType"] == "AccessDeniedException"
        assert as_json(answer)["Message"].startswith("Forbidden")


class TestPresigned:
    @pytest.mark.parametrize("service", ["s3", "execute-api"])
    async def test_accepted_then_expired(
        self, server: SigV4Server, session: aiohttp.ClientSession, service: str
    ) -> None:
        temporary = server.add_principal("AKIDTEMP", "s", token="tok+/=")
        url, _ = botocore_signed(
            "GET", server.url + "/b/%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB?x=1",
            temporary, service=service, region="us-east-1", presign_expires=60,
        )  # fmt: skip
        status, _, answer = await send(session, "GET", url, {})
        assert status == 200, answer
        echo = as_json(answer)
        assert echo["auth"] == "query" and echo["principal"] == "AKIDTEMP"
        assert echo["query"] == [["x", "1"]]
        tampered = url.replace("x=1", "x=2")
        assert (await send(session, "GET", tampered, {}))[0] == 403
        server.clock_offset = 120
        status, _, answer = await send(session, "GET", url, {})
        assert status == 403
        if service == "s3":
            error = s3_error(answer)
            assert error["Code"] == "AccessDenied"
            assert error["Message"] == "Request has expired"
            assert error["X-Amz-Expires"] == "60"
        else:
            assert as_json(answer)["message"].startswith("Signature expired")
        assert server.requests[-1].reason == "presign_expired"
        assert "tok+" not in repr(server.requests)
