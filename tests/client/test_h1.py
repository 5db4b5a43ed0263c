"""The lean HTTP/1.1 path of the signed POSTs (appsync_iam/_h1.py).

Against scripted HTTP servers on 127.0.0.1 (raw asyncio servers answering
exact bytes, for the edge cases of HTTP/1.1 no emulator produces) and the
emulator (the aiohttp path, chosen by ``client_session_args``). Every case
goes through the public ``AppSyncClient``.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from appsync_iam import (
    AppSyncClient,
    ConfigurationError,
    FrozenCredentials,
    ProtocolError,
    RequestTimeout,
    RetryPolicy,
    TransportError,
)
from appsync_iam.emulator import AppSyncEmulator

CREDS = FrozenCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
QUERY = "query { getRoom(id: 1) { id } }"
MUTATION = "mutation { postMessage(roomId: 1, content: 2) { id } }"
OK = b'{"data":{"getRoom":{"id":"1"}}}'
ONCE = RetryPolicy(max_attempts=1)
POST_MESSAGE = 'mutation { postMessage(roomId: "r", content: "c") { id } }'


def answer(body: bytes = OK, *, status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + extra
        + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )  # fmt: skip


Reply = Callable[[bytes], Awaitable[bytes | None]]


class Scripted:
    """An HTTP server answering each request with ``reply(request bytes)``.

    None from ``reply``: close the connection without answering.
    """

    def __init__(self, reply: Reply, *, close_after: bool = False) -> None:
        self.reply = reply
        self.close_after = close_after  # close each connection after one answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.base_events.Server | None = None
        self.url = ""

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                out = await self.reply(request)
                if out is None:
                    break
                writer.write(out)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> str:
        self.server = await asyncio.start_server(
            self._handle, "127.0.0.1", 0, ssl=ssl_context
        )
        port = self.server.sockets[0].getsockname()[1]
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{port}/graphql"
        return self.url

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


def fixed(data: bytes) -> Reply:
    async def reply(_: bytes) -> bytes:
        return data

    return reply


async def serve(reply: Reply, *, close_after: bool = False) -> Scripted:
    server = Scripted(reply, close_after=close_after)
    await server.start()
    return server


def client_for(url: str, **kwargs: Any) -> AppSyncClient:
    kwargs.setdefault("retry", ONCE)
    kwargs.setdefault("timeout", 5.0)
    return AppSyncClient(url, region="us-east-1", credentials=CREDS, **kwargs)


@pytest.fixture
async def ok_server() -> AsyncIterator[Scripted]:
    server = await serve(fixed(answer()))
    yield server
    await server.stop()


class TestWire:
    async def test_request_bytes(self, ok_server: Scripted) -> None:
        """One request line, the signed headers, content-length, the body
        exactly as signed; no Accept-Encoding (answers are not compressed)."""
        async with client_for(ok_server.url) as client:
            data = await client.execute_async(QUERY, headers={"x-trace": "a b"})
        assert data == {"getRoom": {"id": "1"}}
        request = ok_server.requests[0]
        head, _, body = request.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        assert lines[0] == b"POST /graphql HTTP/1.1"
        names = [line.split(b":", 1)[0].lower() for line in lines[1:]]
        assert names.count(b"host") == 1
        assert b"authorization" in names and b"x-amz-date" in names
        assert b"x-trace: a b" in lines
        assert b"accept-encoding" not in names
        assert f"content-length: {len(body)}".encode() in lines
        assert body == b'{"query":"query { getRoom(id: 1) { id } }"}'

    async def test_keep_alive_reuses_one_connection(self, ok_server: Scripted) -> None:
        async with client_for(ok_server.url) as client:
            for _ in range(20):
                await client.execute_async(QUERY)
        assert ok_server.connections == 1 and len(ok_server.requests) == 20

    async def test_concurrency_capped_by_max_connections(self) -> None:
        in_flight, peak = 0, 0

        async def slow(_: bytes) -> bytes:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.02)
            in_flight -= 1
            return answer()

        server = await serve(slow)
        try:
            async with client_for(server.url, max_connections=3) as client:
                await asyncio.gather(*(client.execute_async(QUERY) for _ in range(12)))
        finally:
            await server.stop()
        assert peak == 3 and server.connections == 3

    async def test_header_with_line_break_is_refused_before_sending(
        self, ok_server: Scripted
    ) -> None:
        async with client_for(ok_server.url) as client:
            with pytest.raises((ConfigurationError, ValueError)):
                await client.execute_async(
                    QUERY, headers={"x-evil": "a\r\nx-injected: 1"}
                )
        assert ok_server.requests == []


class TestAnswers:
    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\n" + OK[:5] + b"\r\n" + hex(len(OK) - 5)[2:].encode()
                + b";ext=1\r\n" + OK[5:] + b"\r\n0\r\nx-trailer: 1\r\n\r\n",
                id="chunked-with-trailer",
            ),
            pytest.param(
                b"HTTP/1.1 100 Continue\r\n\r\n" + answer(), id="interim-100"
            ),
            pytest.param(
                answer(gzip.compress(OK), extra=b"Content-Encoding: gzip\r\n"),
                id="gzip",
            ),
            pytest.param(answer(extra=b"Connection: close\r\n"), id="connection-close"),
            pytest.param(
                answer().replace(b"HTTP/1.1", b"HTTP/1.0", 1), id="http-1.0"
            ),
        ],
    )  # fmt: skip
    async def test_answer_forms(self, raw: bytes) -> None:
        server = await serve(fixed(raw))
        try:
            async with client_for(server.url) as client:
                for _ in range(3):
                    assert await client.execute_async(QUERY) == {"getRoom": {"id": "1"}}
        finally:
            await server.stop()
        closes = b"Connection: close" in raw or raw.startswith(b"HTTP/1.0")
        assert server.connections == (3 if closes else 1)

    async def test_body_until_close(self) -> None:
        """No Content-Length, not chunked: the body ends when the server
        closes (and that connection is not reused)."""
        server = await serve(fixed(b"HTTP/1.1 200 OK\r\n\r\n" + OK), close_after=True)
        try:
            async with client_for(server.url) as client:
                for _ in range(2):
                    assert await client.execute_async(QUERY) == {"getRoom": {"id": "1"}}
        finally:
            await server.stop()
        assert server.connections == 2

    async def test_http_error_status_is_typed(self) -> None:
        body = b'{"errors":[{"errorType":"UnauthorizedException","message":"no"}]}'
        server = await serve(fixed(answer(body, status=b"401 Unauthorized")))
        try:
            async with client_for(server.url) as client:
                with pytest.raises(Exception) as caught:
                    await client.execute_async(QUERY)
        finally:
            await server.stop()
        assert getattr(caught.value, "status", None) == 401

    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param(b"SMTP ready\r\n\r\n", id="not-http"),
            pytest.param(b"HTTP/1.1 2000 OK\r\n\r\n", id="bad-status"),
            pytest.param(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                id="conflicting-lengths",
            ),
            pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", id="neg"),
            pytest.param(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                id="bad-chunk",
            ),
            pytest.param(
                b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", id="huge-head"
            ),
        ],
    )
    async def test_malformed_answers_are_transport_errors(self, raw: bytes) -> None:
        server = await serve(fixed(raw))
        try:
            async with client_for(server.url) as client:
                with pytest.raises(TransportError) as caught:
                    await client.execute_async(QUERY)
        finally:
            await server.stop()
        assert caught.value.sent is True
        assert "bad HTTP answer" in str(caught.value)

    async def test_not_json_is_a_protocol_error(self) -> None:
        server = await serve(fixed(answer(b"<html>")))
        try:
            async with client_for(server.url) as client:
                with pytest.raises(ProtocolError):
                    await client.execute_async(QUERY)
        finally:
            await server.stop()


class TestFailures:
    async def test_closed_before_answering_is_ambiguous(self) -> None:
        async def hang_up(_: bytes) -> None:
            return None

        server = await serve(hang_up)
        try:
            async with client_for(server.url) as client:
                with pytest.raises(TransportError) as caught:
                    await client.execute_async(MUTATION)
        finally:
            await server.stop()
        assert caught.value.sent is True and len(server.requests) == 1

    async def test_query_retried_after_a_hang_up(self) -> None:
        calls = 0

        async def first_hangs_up(_: bytes) -> bytes | None:
            nonlocal calls
            calls += 1
            return None if calls == 1 else answer()

        server = await serve(first_hangs_up)
        fast = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
        try:
            async with client_for(server.url, retry=fast) as client:
                assert await client.execute_async(QUERY) == {"getRoom": {"id": "1"}}
        finally:
            await server.stop()
        assert calls == 2 and server.connections == 2

    async def test_server_closing_an_idle_connection_is_not_an_error(
        self,
    ) -> None:
        """A keep-alive answer, then the server closes the idle connection:
        the next request opens a new one (a mutation, so nothing is retried)."""
        server = await serve(fixed(answer()), close_after=True)
        try:
            async with client_for(server.url) as client:
                for _ in range(3):
                    await client.execute_async(MUTATION)
                    await asyncio.sleep(0.05)  # the close reaches the client
        finally:
            await server.stop()
        assert server.connections == 3 and len(server.requests) == 3

    async def test_refused_connection_is_not_sent(self) -> None:
        server = await serve(fixed(answer()))
        url = server.url
        await server.stop()
        assert server.server is not None
        await server.server.wait_closed()
        async with client_for(url) as client:
            with pytest.raises(TransportError) as caught:
                await client.execute_async(MUTATION)
        assert caught.value.sent is False and "cannot connect" in str(caught.value)

    async def test_no_answer_times_out_as_sent(self) -> None:
        async def never(_: bytes) -> bytes:
            await asyncio.sleep(30)
            return answer()

        server = await serve(never)
        try:
            async with client_for(server.url, timeout=0.2) as client:
                with pytest.raises(RequestTimeout) as caught:
                    await client.execute_async(MUTATION)
        finally:
            await server.stop()
        assert caught.value.sent is True

    async def test_waiting_for_a_connection_times_out_as_not_sent(self) -> None:
        async def slow(_: bytes) -> bytes:
            await asyncio.sleep(0.5)
            return answer()

        server = await serve(slow)
        try:
            async with client_for(server.url, timeout=0.2, max_connections=1) as c:
                results = await asyncio.gather(
                    c.execute_async(MUTATION),
                    c.execute_async(MUTATION),
                    return_exceptions=True,
                )
        finally:
            await server.stop()
        assert all(isinstance(r, RequestTimeout) for r in results)
        sent = sorted(bool(getattr(r, "sent", None)) for r in results)
        assert sent == [False, True]  # the one that waited for a slot never ran
        assert len(server.requests) == 1

    async def test_cancelled_request_does_not_poison_the_pool(self) -> None:
        async def slow_then_fast(request: bytes) -> bytes:
            if b"slow" in request:
                await asyncio.sleep(0.3)
            return answer()

        server = await serve(slow_then_fast)
        try:
            async with client_for(server.url, max_connections=1) as client:
                task = asyncio.ensure_future(
                    client.execute_async(QUERY, headers={"x-mode": "slow"})
                )
                await asyncio.sleep(0.05)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                # the slow answer must not be read as this one's
                assert await client.execute_async(QUERY) == {"getRoom": {"id": "1"}}
        finally:
            await server.stop()
        assert server.connections == 2


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    crypto = pytest.importorskip("cryptography", reason="cryptography (test extra)")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class TestTLS:
    async def test_https_with_the_system_trust_store(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SSL_CERT_FILE (OpenSSL's own variable) is the trust store's seam."""
        cert, key = _self_signed(tmp_path)
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cert, key)
        server = Scripted(fixed(answer()))
        url = await server.start(server_ctx)
        try:
            async with client_for(url) as client:  # not trusted: refused
                with pytest.raises(TransportError) as caught:
                    await client.execute_async(MUTATION)
            assert caught.value.sent is False
            assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
            monkeypatch.setenv("SSL_CERT_FILE", str(cert))
            async with client_for(url) as client:
                for _ in range(3):
                    assert await client.execute_async(QUERY) == {"getRoom": {"id": "1"}}
        finally:
            await server.stop()
        assert server.connections == 1 and len(server.requests) == 3


class TestAiohttpPath:
    """gql's transport with ``client_session_args`` (even ``{}``) keeps
    aiohttp for the POSTs: its trace hooks see them. Without it, the lean
    path still gives gql its ``response_headers``."""

    @staticmethod
    def tracing() -> tuple[list[str], aiohttp.TraceConfig]:
        seen: list[str] = []

        async def on_start(_: Any, __: Any, params: Any) -> None:
            seen.append(str(params.url))

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(on_start)
        return seen, trace

    async def run(self, transport: Any, **execute: Any) -> Any:
        from gql import Client, gql

        async with Client(transport=transport) as session:
            return await session.execute(gql(POST_MESSAGE), **execute)

    async def test_client_session_args_send_through_aiohttp(
        self, emulator: AppSyncEmulator
    ) -> None:
        from appsync_iam import AppSyncIAMTransport

        seen, trace = self.tracing()
        transport = AppSyncIAMTransport(
            emulator.url,
            credentials=emulator.credentials,
            client_session_args={"trace_configs": [trace]},
        )
        data = await self.run(transport)
        assert data["postMessage"]["id"]
        assert seen == [emulator.url]

    async def test_default_transport_path_keeps_response_headers(
        self, emulator: AppSyncEmulator
    ) -> None:
        from appsync_iam import AppSyncIAMTransport

        transport = AppSyncIAMTransport(emulator.url, credentials=emulator.credentials)
        data = await self.run(transport)
        assert data["postMessage"]["id"]
        assert [op.field for op in emulator.executed] == ["postMessage"]
        assert transport.response_headers is not None
        assert transport.response_headers.get("Content-Type", "").startswith(
            "application/json"
        )
