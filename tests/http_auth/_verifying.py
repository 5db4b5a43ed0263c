"""A tiny SigV4-verifying loopback server for the adapter tests.

Verifies with botocore (SigV4Auth, S3SigV4Auth for S3 services), over the
exact path, query, headers and body bytes received, independently of
appsync_iam._signer. Answers 200 with a JSON echo, or 403 with the reason.
``/_stream?events=N`` answers a chunked stream of N lines after verifying.
Stands in for appsync_iam.emulator.SigV4Server until that lands.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from appsync_iam import FrozenCredentials

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN"
S3 = {"s3", "s3-object-lambda", "s3-outposts", "s3express"}


class _Payload:
    def payload(self, request: AWSRequest) -> str:
        given = request.headers.get("x-amz-content-sha256")
        return given or hashlib.sha256(request.body or b"").hexdigest()


class _Auth(_Payload, SigV4Auth):
    pass


class _S3Auth(_Payload, S3SigV4Auth):
    pass


def verify(
    method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[bool, str]:
    """(accepted, reason) for one received request."""
    lower: dict[str, list[str]] = {}
    for name, value in headers:
        lower.setdefault(name.lower(), []).append(value)
    auth = lower.get("authorization", [""])[0]
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return False, "no SigV4 Authorization"
    fields = dict(
        part.strip().split("=", 1)
        for part in auth[len("AWS4-HMAC-SHA256 ") :].split(",")
    )
    akid, date, region, service, _ = fields["Credential"].split("/")
    if akid != AKID:
        return False, "unknown access key"
    given_sha = lower.get("x-amz-content-sha256", [None])[0]
    if given_sha not in (None, "UNSIGNED-PAYLOAD"):
        if given_sha != hashlib.sha256(body).hexdigest():
            return False, "x-amz-content-sha256 does not match the body"
    if service in S3 and given_sha is None:
        return False, "S3 requires x-amz-content-sha256"
    signed = fields["SignedHeaders"].split(";")
    token = lower.get("x-amz-security-token", [None])[0]
    request = AWSRequest(
        method=method,
        url=f"http://{lower['host'][0]}{raw_path}",
        headers={
            name: ",".join(v.strip() for v in lower[name])
            for name in signed
            if name in lower
        },
        data=body,
    )
    request.context["timestamp"] = lower["x-amz-date"][0]
    cls = _S3Auth if service in S3 else _Auth
    signer = cls(Credentials(AKID, SECRET, token), service, region)
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected, fields["Signature"]):
        return False, "SignatureDoesNotMatch"
    return True, "ok"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body_length: int
    accepted: bool
    reason: str


@dataclass
class VerifyingServer:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    credentials: FrozenCredentials = FrozenCredentials(AKID, SECRET, TOKEN)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = list(request.headers.items())
        if request.path.startswith("/_redirect"):
            target = request.query["to"]
            raise web.HTTPFound(target)
        accepted, reason = verify(request.method, request.raw_path, headers, body)
        self.requests.append(
            Received(
                request.method,
                request.raw_path,
                dict(request.headers),
                len(body),
                accepted,
                reason,
            )
        )
        if not accepted:
            return web.json_response({"error": reason}, status=403)
        if request.path.startswith("/_stream"):
            response = web.StreamResponse()
            await response.prepare(request)
            for i in range(int(request.query.get("events", "3"))):
                await response.write(f"event {i}\n".encode())
                await asyncio.sleep(0.01)
            await response.write_eof()
            return response
        return web.json_response(
            {
                "method": request.method,
                "path": request.raw_path,
                "body_length": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
        )


@contextmanager
def run_in_thread() -> Iterator[VerifyingServer]:
    server = VerifyingServer()
    loop = asyncio.new_event_loop()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        server.url = f"http://127.0.0.1:{port}"
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def now() -> datetime:
    return datetime.now()


__all__: list[Any] = ["run_in_thread", "verify", "AKID", "SECRET", "TOKEN"]
