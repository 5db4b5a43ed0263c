"""A generic SigV4-verifying HTTP server: any service, region, method and path.

:class:`SigV4Server` verifies each request with botocore (through
:class:`SigV4Verifier`, never this library's signer), answers a bad or
missing signature like the service named in the credential scope
(:mod:`._aws_errors`), and otherwise echoes what it received as JSON, streams
an answer (``/_stream/sse``, ``/_stream/chunked``), or passes the request to
a ``handler`` or an ``upstream`` server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from types import MappingProxyType
from urllib.parse import unquote

import aiohttp
from aiohttp import web

from .._credentials import FrozenCredentials
from .._errors import redact
from ._aws_errors import error_answer
from ._principal import Principal
from ._serving import LoopbackServer, weakly
from ._sigv4a import is_sigv4a, sigv4a_verification
from ._verifier import (
    SignatureRejected,
    SigV4Verifier,
    Verification,
    content_sha256_mismatch,
)

__all__ = ["VERIFICATION_KEY", "SigV4Request", "SigV4Server"]

log = logging.getLogger("appsync_iam.emulator")

#: The default principal: AWS's documentation example keys, public on purpose.
DEFAULT_ACCESS_KEY = "AKIDEXAMPLE"
DEFAULT_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#: The region to sign for when the server accepts any (``region=None``).
DEFAULT_REGION = "us-east-1"
#: Bodies are buffered (to hash them, or for a handler) up to this size;
#: echoed bodies that declare their SHA-256 are hashed as they stream, unbounded.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: The path prefix of the streaming answers (echo mode only).
STREAM_PREFIX = "/_stream/"
MAX_STREAM_EVENTS = 10_000
MAX_STREAM_INTERVAL = 10.0
MAX_RECORDED_REQUESTS = 10_000
#: Up to this many bytes of a UTF-8 body are echoed as text.
ECHO_TEXT_LIMIT = 64 * 1024

#: ``request[VERIFICATION_KEY]``: the :class:`Verification` of an accepted
#: request, for a ``handler=``.
VERIFICATION_KEY = web.RequestKey("sigv4_verification", Verification)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Hop-by-hop headers (RFC 9110 §7.6.1) and those the proxy recomputes.
_HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True, repr=False)
class SigV4Request:
    """One request :class:`SigV4Server` received, and what it answered.

    ``path_qs`` is the raw request target; ``status`` the HTTP status
    answered; ``verified`` what the signature proved (None when rejected);
    ``error_code`` the service's error code when rejected (e.g.
    ``SignatureDoesNotMatch``) and ``reason`` the neutral reason
    (:attr:`SignatureRejected.reason`). ``body_length`` / ``body_sha256``
    describe the body received (None if it was not read). ``headers`` are
    as received, with ``Authorization``'s signature and the session token
    redacted. The repr redacts signatures in ``path_qs``.
    """

    method: str
    path_qs: str
    status: int
    headers: tuple[tuple[str, str], ...]
    verified: Verification | None
    error_code: str | None
    reason: str | None
    body_length: int | None
    body_sha256: str | None

    @property
    def accepted(self) -> bool:
        return self.verified is not None

    def __repr__(self) -> str:
        outcome = self.error_code or (
            self.verified and self.verified.principal.access_key
        )
        target = redact(self.path_qs)
        return f"SigV4Request({self.method} {target!r} -> {self.status} {outcome})"


class SigV4Server(LoopbackServer):
    """A local HTTP server that verifies AWS SigV4 signatures, for any service.

    Requests are verified with botocore (``SigV4Auth``; ``S3SigV4Auth``'s
    rules for S3 services; query-string authentication for presigned URLs),
    over the exact bytes received. ``service`` / ``region``: what the
    credential scope must name; None accepts whatever it names. A rejected
    request is answered like that service (see :mod:`._aws_errors`: S3 XML,
    API Gateway / OpenSearch JSON ``{"message"}``, Lambda URL ``{"Message":
    "Forbidden..."}``, all with their status and error type).

    Accepted requests get, in this order of precedence:

    - ``upstream="http://127.0.0.1:8000"``: proxied there (method, path,
      query, headers and body), the answer streamed back as it comes (SSE
      streams included), so a local app sits behind the verification;
    - ``handler=``: an aiohttp handler ``async def h(request) -> Response``
      (``request[VERIFICATION_KEY]`` is the :class:`Verification`; the body is
      already read, ``await request.read()`` returns it);
    - otherwise a JSON echo of what was received (``method``, ``path``,
      ``rawPath``, ``query`` pairs, ``headers`` (secrets redacted),
      ``body``: ``length``, ``sha256``, ``text``; ``principal``,
      ``service``, ``region``, ``auth``, ``signedHeaders``), or a streamed
      answer like a Lambda function URL in response-streaming mode:
      ``/_stream/sse?events=N&interval=S`` (``text/event-stream``) and
      ``/_stream/chunked?events=N&interval=S`` (NDJSON, one chunk per line).

    :attr:`requests` records every request with its outcome;
    :meth:`add_principal` adds keys (temporary ones with a token and expiry);
    :attr:`clock_offset` shifts the server's clock (5 minutes of skew are
    allowed, 15 for S3; presigned URLs expire after ``X-Amz-Expires``).
    ``UNSIGNED-PAYLOAD`` is accepted (for S3 AWS documents it; for other
    services whether they accept it is not documented).
    """

    def __init__(
        self,
        *,
        service: str | None = None,
        region: str | None = None,
        access_key: str = DEFAULT_ACCESS_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        handler: Handler | None = None,
        upstream: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_size: int = MAX_BODY_BYTES,
    ) -> None:
        super().__init__(host, port)
        if handler is not None and upstream is not None:
            raise ValueError("give handler= or upstream=, not both")
        if upstream is not None and not upstream.startswith(("http://", "https://")):
            raise ValueError("upstream must be an http:// or https:// base URL")
        if max_body_size <= 0:
            raise ValueError("max_body_size must be positive")
        self.service = service
        #: The region the credential scope must name (None: any).
        self.accepted_region = region
        self.handler = handler
        self.upstream = upstream.rstrip("/") if upstream else None
        self.max_body_size = max_body_size
        self._principals: dict[str, Principal] = {}
        self._requests: deque[SigV4Request] = deque(maxlen=MAX_RECORDED_REQUESTS)
        #: The default principal's credentials (no session token).
        self.credentials = self.add_principal(access_key, secret_key)
        self._verifier = SigV4Verifier(
            self._principals, region, service=service, now=self.now,
            presigned=True, unsigned_payload=True, normalize_query=True,
        )  # fmt: skip
        self._session: aiohttp.ClientSession | None = None
        self._request_ids = random.Random()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not running"
        return (
            f"<SigV4Server {where} service={self.service!r} "
            f"region={self.accepted_region!r}>"
        )

    # -- public state -------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:PORT`` (any path is served)."""
        return f"http://{self._url_host()}:{self.port}"

    @property
    def region(self) -> str:
        """The region to sign for: the one required, else ``us-east-1``."""
        return self.accepted_region or DEFAULT_REGION

    @property
    def principals(self) -> Mapping[str, Principal]:
        """The accepted principals by access key id (read-only, live view)."""
        return MappingProxyType(self._principals)

    @property
    def requests(self) -> list[SigV4Request]:
        """A snapshot of the requests received, oldest first."""
        return list(self._requests)

    def add_principal(
        self,
        access_key: str,
        secret_key: str,
        token: str | None = None,
        expires_at: datetime | None = None,
    ) -> FrozenCredentials:
        """Accept another key pair (works while running). ``token`` makes it
        temporary: requests must carry it; ``expires_at`` (aware) is when it
        stops being accepted (``ExpiredToken`` / ``ExpiredTokenException``)."""
        if not access_key or "/" in access_key or not secret_key:
            raise ValueError("access_key and secret_key must be non-empty, no '/'")
        if expires_at is not None and expires_at.utcoffset() is None:
            raise ValueError("expires_at must be an aware datetime")
        self._principals[access_key] = Principal(
            access_key, secret_key, token, expires_at
        )
        return FrozenCredentials(access_key, secret_key, token, expires_at)

    def remove_principal(self, access_key: str) -> None:
        """Forget a key id: its requests are then rejected as unknown keys."""
        self._principals.pop(access_key, None)

    # -- lifecycle ----------------------------------------------------------

    async def _on_started(self) -> None:
        if self.upstream is not None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
                auto_decompress=False,
            )
        log.info("SigV4 server listening on %s", self.url)

    async def _on_close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_size)
        app.router.add_route("*", "/{tail:.*}", weakly(self._handle))
        return app

    # -- HTTP ---------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.UUID(int=self._request_ids.getrandbits(128), version=4))
        path, _, query = request.raw_path.partition("?")
        body: bytes | None = None
        streamed = False
        try:
            declared = request.headers.get("x-amz-content-sha256", "")
            sigv4a = is_sigv4a(request.headers, query)
            streamed = (
                self.handler is None and self.upstream is None and not sigv4a
                and len(declared) == 64 and request.can_read_body
            )  # fmt: skip
            if not streamed:
                body = await request.read()
            if sigv4a:  # region: one the signed region set must include
                assert body is not None
                verified = sigv4a_verification(
                    method=request.method, path=path, query=query,
                    headers=request.headers, body=body, principals=self._principals,
                    service=self.service, region=self.accepted_region, now=self.now(),
                )  # fmt: skip
            else:
                verified = self._verifier.verify_request(
                    method=request.method, path=path, query=query,
                    headers=request.headers, body=body,
                )  # fmt: skip
            if streamed:
                body_length, body_sha256 = await _hash_stream(request)
                if body_sha256 != declared:
                    raise content_sha256_mismatch(declared, body_sha256)
            else:
                assert body is not None
                body_length, body_sha256 = len(body), hashlib.sha256(body).hexdigest()
        except web.HTTPRequestEntityTooLarge:
            self._record(request, 413, None, None, None, None, None)
            return self._plain(413, "Request body is too large.", request_id)
        except SignatureRejected as exc:
            service = self.service or _scope_service(request, query)
            answer = error_answer(service, exc, request_id)
            log.info(
                "Rejected %s %s: %s %s (%s, request id %s)",
                request.method, path, answer.status, answer.code, exc.reason,
                request_id,
            )  # fmt: skip
            self._record(
                request, answer.status, None, answer.code, exc.reason,
                len(body) if body is not None else None,
                hashlib.sha256(body).hexdigest() if body is not None else None,
            )  # fmt: skip
            return web.Response(
                status=answer.status, body=answer.body,
                content_type=answer.content_type,
                headers={**answer.headers, **self._id_headers(request_id, service)},
            )  # fmt: skip
        request[VERIFICATION_KEY] = verified
        status = 500  # if the handler fails or the client leaves
        try:
            response = await self._answer(
                request, verified, body, body_length, body_sha256, request_id
            )
            status = response.status
        finally:
            self._record(
                request, status, verified, None, None, body_length, body_sha256
            )
        return response

    async def _answer(
        self,
        request: web.Request,
        verified: Verification,
        body: bytes | None,
        body_length: int,
        body_sha256: str,
        request_id: str,
    ) -> web.StreamResponse:
        if self.upstream is not None:
            assert body is not None
            return await self._proxy(request, body, request_id)
        if self.handler is not None:
            return await self.handler(request)
        if request.path.startswith(STREAM_PREFIX):
            return await self._stream(request, request_id)
        return self._echo(request, verified, body, body_length, body_sha256, request_id)

    def _record(
        self,
        request: web.Request,
        status: int,
        verified: Verification | None,
        error_code: str | None,
        reason: str | None,
        body_length: int | None,
        body_sha256: str | None,
    ) -> None:
        self._requests.append(
            SigV4Request(
                request.method, request.raw_path, status,
                tuple(_redacted_headers(request.headers.items())),
                verified, error_code, reason, body_length, body_sha256,
            )
        )  # fmt: skip

    def _id_headers(
        self, request_id: str, service: str | None = None
    ) -> dict[str, str]:
        headers = {
            "x-amzn-RequestId": request_id,
            "Date": format_datetime(self.now(), usegmt=True),
        }
        if service is not None and service.startswith("s3"):
            headers["x-amz-request-id"] = request_id
        return headers

    def _plain(self, status: int, message: str, request_id: str) -> web.Response:
        return web.json_response(
            {"message": message}, status=status, headers=self._id_headers(request_id)
        )

    def _echo(
        self,
        request: web.Request,
        verified: Verification,
        body: bytes | None,
        body_length: int,
        body_sha256: str,
        request_id: str,
    ) -> web.Response:
        path, _, query = request.raw_path.partition("?")
        text: str | None = None
        if body is not None and len(body) <= ECHO_TEXT_LIMIT:
            try:
                text = body.decode()
            except UnicodeDecodeError:
                text = None
        headers: dict[str, str] = {}
        for name, value in _redacted_headers(request.headers.items()):
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        echo = {
            "method": request.method,
            "path": unquote(path),
            "rawPath": path,
            "query": [
                [unquote(name), unquote(value)]
                for name, _, value in (p.partition("=") for p in query.split("&") if p)
                if not name.startswith("X-Amz-")
            ],
            "headers": headers,
            "body": {"length": body_length, "sha256": body_sha256, "text": text},
            "principal": verified.principal.access_key,
            "service": verified.service,
            "region": verified.region,
            "auth": verified.auth,
            "signedHeaders": list(verified.signed_headers),
        }
        return web.Response(
            body=json.dumps(echo, ensure_ascii=False).encode("utf-8", "replace"),
            content_type="application/json",
            headers=self._id_headers(request_id),
        )

    async def _stream(
        self, request: web.Request, request_id: str
    ) -> web.StreamResponse:
        kind = request.path[len(STREAM_PREFIX) :]
        if kind not in ("sse", "chunked"):
            return self._plain(
                404, f"Unknown stream kind {kind!r}: sse or chunked.", request_id
            )
        try:
            events = int(request.query.get("events", "3"))
            interval = float(request.query.get("interval", "0"))
        except ValueError:
            return self._plain(
                400, "events must be an integer and interval a number.", request_id
            )
        if not (
            0 <= events <= MAX_STREAM_EVENTS and 0 <= interval <= MAX_STREAM_INTERVAL
        ):
            return self._plain(
                400,
                f"events must be 0..{MAX_STREAM_EVENTS} and interval "
                f"0..{MAX_STREAM_INTERVAL} seconds.",
                request_id,
            )
        response = web.StreamResponse(headers=self._id_headers(request_id))
        # Like a function URL in RESPONSE_STREAM mode: chunked transfer encoding.
        response.content_type = (
            "text/event-stream" if kind == "sse" else "application/x-ndjson"
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        for seq in range(events):
            if seq and interval:
                await asyncio.sleep(interval)
            data = json.dumps({"seq": seq, "events": events})
            line = (
                f"id: {seq}\nevent: message\ndata: {data}\n\n"
                if kind == "sse"
                else data + "\n"
            )
            await response.write(line.encode())
        await response.write_eof()
        return response

    async def _proxy(
        self, request: web.Request, body: bytes, request_id: str
    ) -> web.StreamResponse:
        assert self._session is not None and self.upstream is not None
        headers = [
            (name, value) for name, value in request.headers.items()
            if name.lower() not in _HOP_BY_HOP
        ]  # fmt: skip
        try:
            upstream = await self._session.request(
                request.method, self.upstream + request.raw_path,
                headers=headers, data=body, allow_redirects=False,
            )  # fmt: skip
        except aiohttp.ClientError as exc:
            log.warning("Upstream %s failed: %s", self.upstream, type(exc).__name__)
            return self._plain(502, "The upstream server did not answer.", request_id)
        async with upstream:
            response = web.StreamResponse(
                status=upstream.status, reason=upstream.reason
            )
            for name, value in upstream.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    response.headers.add(name, value)
            response.headers["x-amzn-RequestId"] = request_id
            try:
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)  # as it comes: SSE events stay live
                await response.write_eof()
            except (ConnectionResetError, aiohttp.ClientConnectionResetError):
                # The client left mid-stream (e.g. closed an SSE stream): drop
                # the upstream answer too, as a proxy does.
                log.debug("Client left during a proxied answer (%s)", request_id)
        return response


async def _hash_stream(request: web.Request) -> tuple[int, str]:
    digest = hashlib.sha256()
    length = 0
    async for chunk in request.content.iter_chunked(256 * 1024):
        digest.update(chunk)
        length += len(chunk)
    return length, digest.hexdigest()


def _scope_service(request: web.Request, query: str) -> str | None:
    """The service named in the credential scope, if it can be read."""
    credential = ""
    authorization = request.headers.get("Authorization", "")
    if "Credential=" in authorization:
        credential = authorization.split("Credential=", 1)[1].split(",", 1)[0]
    else:
        for part in query.split("&"):
            name, _, value = part.partition("=")
            if name == "X-Amz-Credential":
                credential = unquote(value)
    fields = credential.strip().split("/")
    return fields[3] if len(fields) == 5 and fields[3] else None


def _redacted_headers(items: Iterable[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    for name, value in items:
        lower = name.lower()
        if lower == "x-amz-security-token":
            yield lower, "<redacted>"
        elif lower == "authorization":
            yield lower, redact(value)
        else:
            yield lower, value
