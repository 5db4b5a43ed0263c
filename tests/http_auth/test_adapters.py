"""Every adapter, sync and async, against SigV4Server over loopback.

Bodies: none, bytes, file, generator (buffered, and UNSIGNED-PAYLOAD when
allowed); streaming answers; tampering rejected; unsignable requests refused
before anything is sent; redirects to another host go unsigned.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import httpx
import pytest
import requests
from aiohttp import web

from appsync_iam import (
    AiohttpSigV4Middleware,
    ConfigurationError,
    CredentialsError,
    FrozenCredentials,
    HttpxSigV4Auth,
    RequestsSigV4Auth,
    UnsignableRequestError,
)
from appsync_iam.emulator import SigV4Server

TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"
SERVICES = ["execute-api", "s3", "lambda"]
BODY = "hé, 世界 ".encode() * 300
PATH = "/prod/パス/a b?q=日本語&sym=%21%2A%27%28%29&empty=&a=2&a=1"


def _temporary(server: SigV4Server) -> FrozenCredentials:
    expires = datetime.now(timezone.utc) + timedelta(hours=1)
    return server.add_principal(
        "ASIAEXAMPLETEMP", "tempSECRETexample/Key+1", TOKEN, expires
    )


def _gen(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _agen(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _check_echo(answer: dict[str, Any], body: bytes, service: str) -> None:
    assert answer["body"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert answer["body"]["length"] == len(body)
    assert answer["service"] == service


def _sync_bodies() -> list[str]:
    return ["none", "bytes", "file", "generator", "generator-unsigned"]


def _put_sync(client: str, auth: Any, url: str, body: Any) -> Any:
    """PUT ``body`` with httpx.Client or a requests.Session signed by ``auth``
    (a file body is closed afterwards)."""
    try:
        if client == "httpx":
            with httpx.Client(auth=auth) as session:
                return session.put(url, content=body)
        with requests.Session() as session:
            session.auth = auth
            return session.put(url, data=body, timeout=10)
    finally:
        if hasattr(body, "close"):
            body.close()


def _sync_body(kind: str, tmp_path: Any, offset: bool = True) -> Any:
    if kind == "none":
        return None
    if kind == "bytes":
        return BODY
    if kind == "file":
        path = tmp_path / "body.bin"
        # requests sends a file from its position (httpx declares the whole
        # file's length, so its files must start at 0).
        path.write_bytes(b"skip" + BODY if offset else BODY)
        file = path.open("rb")
        if offset:
            file.read(4)  # sent (and hashed) from its position
        return file
    return _gen(BODY)


# --- httpx (sync) and requests -------------------------------------------------


@pytest.mark.parametrize("client", ["httpx", "requests"])
@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("kind", _sync_bodies())
def test_sync_bodies(
    sigv4_server_in_thread: SigV4Server,
    client: str,
    service: str,
    kind: str,
    tmp_path: Any,
) -> None:
    server = sigv4_server_in_thread
    cls: Any = HttpxSigV4Auth if client == "httpx" else RequestsSigV4Auth
    auth = cls(
        service,
        server.region,
        credentials=_temporary(server),
        unsigned_payload=kind == "generator-unsigned",
    )
    body = _sync_body(kind, tmp_path, offset=client == "requests")
    response = _put_sync(client, auth, server.url + PATH, body)
    assert response.status_code == 200, response.text
    _check_echo(response.json(), b"" if body is None else BODY, service)
    headers = [(n.lower(), v) for n, v in server.requests[-1].headers]
    if kind == "generator-unsigned":
        assert ("x-amz-content-sha256", "UNSIGNED-PAYLOAD") in headers
    elif service == "s3":
        sha = hashlib.sha256(b"" if body is None else BODY).hexdigest()
        assert ("x-amz-content-sha256", sha) in headers


def test_httpx_per_request_and_stream(sigv4_server_in_thread: SigV4Server) -> None:
    server = sigv4_server_in_thread
    auth = HttpxSigV4Auth("lambda", server.region, credentials=server.credentials)
    with httpx.Client() as client:
        assert client.get(server.url + "/x", auth=auth).status_code == 200
        assert client.get(server.url + "/x").status_code == 403  # unsigned
        url = server.url + "/_stream/chunked?events=5&interval=0.01"
        with client.stream("GET", url, auth=auth) as response:
            assert response.status_code == 200
            lines = [line for line in response.iter_lines() if line]
    assert len(lines) == 5


def _signed_names(server: SigV4Server) -> list[str]:
    auth = dict((n.lower(), v) for n, v in server.requests[-1].headers)
    return auth["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")


async def test_content_length_sent_not_signed(sigv4_server: SigV4Server) -> None:
    """Each adapter sends Content-Length but signs it not (one cached plan for
    every body size); bodies of several sizes are all accepted."""
    server = sigv4_server
    creds = _temporary(server)
    sizes = [0, 1, 999, len(BODY)]
    m = AiohttpSigV4Middleware("execute-api", server.region, credentials=creds)
    async with aiohttp.ClientSession(middlewares=[m]) as session:
        for size in sizes:
            async with session.post(server.url + "/p", data=BODY[:size]) as answer:
                assert answer.status == 200
                _check_echo(await answer.json(), BODY[:size], "execute-api")
            assert "content-length" not in _signed_names(server)
    auth = HttpxSigV4Auth("execute-api", server.region, credentials=creds)
    async with httpx.AsyncClient(auth=auth) as client:
        for size in sizes:
            answer = await client.post(server.url + "/p", content=BODY[:size])
            assert answer.status_code == 200
            names = _signed_names(server)
            assert "content-length" not in names and "x-amz-date" in names
            sent = dict((n.lower(), v) for n, v in server.requests[-1].headers)
            assert sent["content-length"] == str(size)


def test_content_length_not_signed_sync(sigv4_server_in_thread: SigV4Server) -> None:
    server = sigv4_server_in_thread
    creds = _temporary(server)
    auth = RequestsSigV4Auth("s3", server.region, credentials=creds)
    hx = HttpxSigV4Auth("s3", server.region, credentials=creds)
    for size in (3, 700):
        response = requests.put(
            server.url + "/b/k", data=BODY[:size], auth=auth, timeout=10
        )
        assert response.status_code == 200, response.text
        assert "content-length" not in _signed_names(server)
        assert "x-amz-content-sha256" in _signed_names(server)
        assert httpx.put(server.url + "/b/k", content=BODY[:size], auth=hx).is_success
        assert "content-length" not in _signed_names(server)


def test_httpx_headers_added_through_the_public_api_too() -> None:
    """The signature headers are appended to httpx's header list in one
    step; a headers object without that list gets them one by one."""
    from appsync_iam._httpx_auth import _append, _pairs

    signed = {"x-amz-date": "20260101T000000Z", "Authorization": "AWS4 x"}
    headers = httpx.Headers({"Host": "h"})
    _append(headers, signed)
    assert headers.multi_items() == [
        ("host", "h"),
        ("x-amz-date", "20260101T000000Z"),
        ("authorization", "AWS4 x"),
    ]
    assert headers.raw[-1] == (b"Authorization", b"AWS4 x")
    plain: Any = {}
    _append(plain, signed)
    assert plain == signed
    # Read as multi_items() reads (UTF-8 and latin-1 values, repeated names).
    for raw in (b"caf\xc3\xa9", b"caf\xe9"):
        headers = httpx.Headers([("X-A", "1"), ("X-B", raw), ("x-a", "2")])
        assert _pairs(headers) == headers.multi_items()
    # Signed twice (a retry of the same request): the stale headers go.
    request = httpx.Request("GET", "https://h.example/")
    auth = HttpxSigV4Auth(
        "lambda", "us-east-1", credentials=FrozenCredentials("AKIDEXAMPLE", "s", "T")
    )
    once = next(auth.sync_auth_flow(request))
    twice = next(auth.sync_auth_flow(once))
    names = [n for n, _ in twice.headers.multi_items()]
    assert sorted(names) == sorted(set(names))
    assert names.count("authorization") == 1


def test_requests_stream_response(sigv4_server_in_thread: SigV4Server) -> None:
    server = sigv4_server_in_thread
    auth = RequestsSigV4Auth("lambda", server.region, credentials=server.credentials)
    url = server.url + "/_stream/sse?events=4&interval=0.01"
    with requests.get(url, auth=auth, stream=True, timeout=10) as response:
        assert response.status_code == 200
        events = [line for line in response.iter_lines() if line.startswith(b"data")]
    assert len(events) == 4


def test_tampering_is_rejected_sync(sigv4_server_in_thread: SigV4Server) -> None:
    server = sigv4_server_in_thread
    auth = HttpxSigV4Auth("execute-api", server.region, credentials=server.credentials)

    def tamper(request: httpx.Request) -> None:
        request.headers["x-custom"] = "changed after signing"

    with httpx.Client(auth=auth, event_hooks={"request": [tamper]}) as client:
        response = client.get(server.url + "/p", headers={"x-custom": "signed"})
    assert response.status_code == 403
    with requests.Session() as session:
        prepared = session.prepare_request(
            requests.Request("POST", server.url + "/p", data=b"abc", auth=
                             RequestsSigV4Auth("execute-api", server.region,
                                               credentials=server.credentials))
        )  # fmt: skip
        prepared.body = b"abd"
        assert session.send(prepared, timeout=10).status_code == 403
    assert not server.requests[-1].accepted


def test_unsignable_bodies_are_refused_before_sending(
    sigv4_server_in_thread: SigV4Server,
) -> None:
    server = sigv4_server_in_thread
    creds = server.credentials
    small = HttpxSigV4Auth("s3", server.region, credentials=creds, max_buffer=100)
    with httpx.Client(auth=small) as client:
        with pytest.raises(UnsignableRequestError, match="max_buffer=100"):
            client.put(server.url + "/k", content=_gen(BODY))
    with pytest.raises(UnsignableRequestError, match="max_buffer=100"):
        requests.put(
            server.url + "/k",
            data=_gen(BODY),
            auth=RequestsSigV4Auth(
                "s3", server.region, credentials=creds, max_buffer=100
            ),
            timeout=10,
        )

    class Pipe(io.RawIOBase):  # readable, not seekable: a one-shot stream
        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            return 0

    auth = RequestsSigV4Auth("s3", server.region, credentials=creds, max_buffer=100)
    with pytest.raises(UnsignableRequestError, match="cannot sign"):
        requests.put(server.url + "/k", data=Pipe(), auth=auth, timeout=10)
    assert server.requests == []


def test_no_region_and_no_credentials(
    sigv4_server_in_thread: SigV4Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    for cls in (HttpxSigV4Auth, RequestsSigV4Auth, AiohttpSigV4Middleware):
        with pytest.raises(ConfigurationError, match="AWS_REGION"):
            cls("execute-api", credentials=FrozenCredentials("AKIDEXAMPLE", "x"))
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert "eu-west-3" in repr(
        HttpxSigV4Auth("es", credentials=FrozenCredentials("A", "s"))
    )

    async def broken() -> FrozenCredentials:
        raise RuntimeError("metadata service down")

    server = sigv4_server_in_thread
    auth = RequestsSigV4Auth("execute-api", credentials=broken)
    with pytest.raises(CredentialsError, match="metadata service down"):
        requests.get(server.url + "/p", auth=auth, timeout=10)
    with pytest.raises(CredentialsError):
        httpx.get(
            server.url + "/p", auth=HttpxSigV4Auth("execute-api", credentials=broken)
        )
    assert server.requests == []


def test_reprs_hold_no_secret() -> None:
    creds = FrozenCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/SECRET", TOKEN)
    for cls in (HttpxSigV4Auth, RequestsSigV4Auth, AiohttpSigV4Middleware):
        text = repr(cls("s3", "us-east-1", credentials=creds))
        assert "SECRET" not in text and TOKEN not in text
        assert "AKIDEXAMPLE" in text


# --- redirects --------------------------------------------------------------------

_SIGNATURE = {
    "authorization",
    "x-amz-security-token",
    "x-amz-date",
    "x-amz-content-sha256",
}


@pytest.fixture
def redirect_pair() -> Iterator[tuple[SigV4Server, SigV4Server]]:
    """A server that redirects (after verifying) to another origin's server
    (``/go``: 302, ``/go307``: 307) or to itself (``/same``: 302,
    ``/same307``: 307, both to ``/elsewhere``)."""
    with SigV4Server(host="127.0.0.1").run_in_thread() as target:
        other = f"http://localhost:{target.port}/landed"

        async def redirect(request: web.Request) -> web.StreamResponse:
            if request.path == "/elsewhere":
                body = await request.read()
                return web.json_response(
                    {"landed": True, "method": request.method, "length": len(body)}
                )
            status = 307 if request.path.endswith("307") else 302
            where = "/elsewhere" if request.path.startswith("/same") else other
            return web.Response(status=status, headers={"Location": where})

        with SigV4Server(handler=redirect).run_in_thread() as origin:
            yield origin, target


def _got_signature(server: SigV4Server) -> bool:
    names = {n.lower() for n, _ in server.requests[-1].headers}
    return bool(names & _SIGNATURE)


# (path, method, body, method that lands, body length that lands)
_SAME_ORIGIN = [
    ("/same", "GET", None, "GET", 0),
    ("/same307", "POST", BODY, "POST", len(BODY)),  # 307: same method and body
    ("/same", "POST", BODY, "GET", 0),  # 302: POST turned into GET, no body
]


def _check_landed(answer: Any, method: str, length: int) -> None:
    assert answer == {"landed": True, "method": method, "length": length}


@pytest.mark.parametrize("service", ["execute-api", "s3"])
def test_requests_redirects_go_unsigned(
    redirect_pair: tuple[SigV4Server, SigV4Server], service: str
) -> None:
    origin, target = redirect_pair
    auth = _adapter(RequestsSigV4Auth, service, origin, "bytes")
    for path in ("/go", "/go307"):
        response = requests.post(origin.url + path, data=BODY, auth=auth, timeout=10)
        assert response.status_code == 403  # the target wants a signature
        assert not _got_signature(target)
    # requests has no hook before it sends a hop: a same-origin hop goes
    # unsigned too (documented), and is refused.
    response = requests.get(origin.url + "/same", auth=auth, timeout=10)
    assert response.status_code == 403
    assert not _got_signature(origin)


@pytest.mark.parametrize("service", ["execute-api", "s3"])
def test_httpx_redirects(
    redirect_pair: tuple[SigV4Server, SigV4Server], service: str
) -> None:
    origin, target = redirect_pair
    auth = _adapter(HttpxSigV4Auth, service, origin, "bytes")
    events: list[str] = []
    with httpx.Client(auth=auth, follow_redirects=True) as client:
        # Another origin: none of the signature headers, whatever the method;
        # a trace of the caller's own still sees every step.
        response = client.get(
            origin.url + "/go", extensions={"trace": lambda e, _: events.append(e)}
        )
        assert response.status_code == 403 and len(response.history) == 1
        assert not _got_signature(target)
        assert events.count("http11.send_request_headers.started") == 2
        response = client.post(origin.url + "/go307", content=BODY)
        assert response.status_code == 403
        assert not _got_signature(target)
        # The httpx request object of the hop still lists what httpx copied;
        # what was sent is what the server saw.
        for path, method, body, landed, length in _SAME_ORIGIN:
            response = client.request(method, origin.url + path, content=body)
            assert response.status_code == 200, response.text
            assert len(response.history) == 1
            _check_landed(response.json(), landed, length)
            assert origin.requests[-1].accepted
            assert origin.requests[-1].method == landed


@pytest.mark.parametrize("service", ["execute-api", "s3"])
async def test_httpx_async_redirects(
    redirect_pair: tuple[SigV4Server, SigV4Server], service: str
) -> None:
    origin, target = redirect_pair
    auth = _adapter(HttpxSigV4Auth, service, origin, "bytes")
    events: list[str] = []

    async def trace(event: str, info: Any) -> None:
        events.append(event)

    async with httpx.AsyncClient(auth=auth, follow_redirects=True) as client:
        response = await client.post(
            origin.url + "/go307", content=BODY, extensions={"trace": trace}
        )
        assert response.status_code == 403
        assert not _got_signature(target)
        assert events.count("http11.send_request_headers.started") == 2
        for path, method, body, landed, length in _SAME_ORIGIN:
            response = await client.request(method, origin.url + path, content=body)
            assert response.status_code == 200, response.text
            _check_landed(response.json(), landed, length)
            assert origin.requests[-1].accepted


@pytest.mark.parametrize("service", ["execute-api", "s3"])
async def test_aiohttp_redirects(
    redirect_pair: tuple[SigV4Server, SigV4Server], service: str
) -> None:
    origin, target = redirect_pair
    m = _adapter(AiohttpSigV4Middleware, service, origin, "bytes")
    async with aiohttp.ClientSession(middlewares=[m]) as session:
        for path in ("/go", "/go307"):
            async with session.post(origin.url + path, data=BODY) as response:
                assert response.status == 403
            assert not _got_signature(target)
        for path, method, body, landed, length in _SAME_ORIGIN:
            # Same origin: signed again for the new path (and method).
            async with session.request(method, origin.url + path, data=body) as r:
                assert r.status == 200
                _check_landed(await r.json(), landed, length)
            assert origin.requests[-1].accepted
        # A redirect not followed leaves a next request elsewhere alone: signed.
        _temporary(target)
        async with session.get(origin.url + "/go", allow_redirects=False) as response:
            assert response.status == 302
        async with session.get(f"http://localhost:{target.port}/other") as response:
            assert response.status == 200
        assert _got_signature(target)


# --- async: httpx.AsyncClient and aiohttp -------------------------------------------


def _adapter(cls: Any, service: str, server: SigV4Server, kind: str) -> Any:
    unsigned = kind.endswith("-unsigned")
    return cls(
        service,
        server.region,
        credentials=_temporary(server),
        unsigned_payload=unsigned,
    )


def _async_body(kind: str, tmp_path: Any) -> Any:
    if kind == "file":
        path = tmp_path / "b.bin"
        path.write_bytes(BODY)
        return path.open("rb")
    if kind.startswith("agen"):
        return _agen(BODY)
    return {"none": None, "bytes": BODY}[kind]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("kind", ["none", "bytes", "agen", "agen-unsigned"])
async def test_httpx_async_bodies(
    sigv4_server: SigV4Server, service: str, kind: str, tmp_path: Any
) -> None:
    server = sigv4_server
    auth = _adapter(HttpxSigV4Auth, service, server, kind)
    body = _async_body(kind, tmp_path)
    async with httpx.AsyncClient(auth=auth) as client:
        response = await client.post(server.url + PATH, content=body)
        assert response.status_code == 200, response.text
        _check_echo(response.json(), b"" if kind == "none" else BODY, service)
        url = server.url + "/_stream/sse?events=3&interval=0.01"
        async with client.stream("GET", url) as streamed:
            events = [x async for x in streamed.aiter_lines() if x.startswith("data")]
        assert len(events) == 3


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("kind", ["none", "bytes", "file", "agen", "agen-unsigned"])
async def test_aiohttp_bodies(
    sigv4_server: SigV4Server, service: str, kind: str, tmp_path: Any
) -> None:
    server = sigv4_server
    m = _adapter(AiohttpSigV4Middleware, service, server, kind)
    body = _async_body(kind, tmp_path)
    async with aiohttp.ClientSession(middlewares=[m]) as session:
        async with session.post(server.url + PATH, data=body) as response:
            assert response.status == 200, await response.text()
            _check_echo(await response.json(), b"" if kind == "none" else BODY, service)
        url = server.url + "/_stream/chunked?events=4&interval=0.01"
        async with session.get(url) as streamed:
            lines = [json.loads(x) async for x in streamed.content if x.strip()]
        assert len(lines) == 4
    if kind == "file":
        body.close()


async def test_aiohttp_per_request_and_tampering(sigv4_server: SigV4Server) -> None:
    server = sigv4_server
    m = AiohttpSigV4Middleware("es", server.region, credentials=server.credentials)

    async def tamper(request: aiohttp.ClientRequest, handler: Any) -> Any:
        request.headers["x-custom"] = "changed"
        return await handler(request)

    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/i/_search", middlewares=(m,)) as r:
            assert r.status == 200
        async with session.get(
            server.url + "/i", headers={"x-custom": "v"}, middlewares=(m, tamper)
        ) as r:
            assert r.status == 403
        big = AiohttpSigV4Middleware(
            "es", server.region, credentials=server.credentials, max_buffer=10
        )
        n = len(server.requests)
        with pytest.raises(UnsignableRequestError):
            await session.post(server.url + "/i", data=_agen(BODY), middlewares=(big,))
        assert len(server.requests) == n
