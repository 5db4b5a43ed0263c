"""SigV4A through every adapter, sync and async, against SigV4Server.

SigV4Server verifies SigV4A independently of the signer (the emulator's
pure-int P-256 check over botocore's canonical request). The server here
stands for eu-west-1: a region set must include it (``*``, a list, ``eu-*``).

- bytes / file / generator bodies (buffered, and UNSIGNED-PAYLOAD when
  allowed), for a generic service and for S3 (content hash always sent);
- session tokens, credential rotation, tampering rejected, a region set
  that leaves the server's region out rejected;
- presign_url / presign_url_async with SigV4A;
- bad algorithm / region / region_set arguments fail at construction,
  before anything is sent; without ``cryptography``, the extra is named.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx
import pytest
import requests
from yarl import URL

from appsync_iam import (
    AiohttpSigV4Middleware,
    CallableCredentials,
    ConfigurationError,
    FrozenCredentials,
    HttpxSigV4Auth,
    RequestsSigV4Auth,
    SigV4ASigner,
    presign_url,
    presign_url_async,
)
from appsync_iam._signer import canonical_uri
from appsync_iam.emulator import SigV4Server
from tests.http_auth.test_adapters import (
    BODY,
    PATH,
    _async_body,
    _check_echo,
    _put_sync,
    _sync_bodies,
    _sync_body,
    _temporary,
)

from .sigv4a_helpers import S3_PATHS

REGION = "eu-west-1"
SERVICES = ["execute-api", "s3"]
REGION_SETS: list[Any] = ["*", ["us-east-1", REGION], "us-east-1,eu-*"]
ADAPTERS = [HttpxSigV4Auth, RequestsSigV4Auth, AiohttpSigV4Middleware]


@pytest.fixture
def sigv4_server_options() -> Mapping[str, Any]:
    return {"region": REGION}


def _sigv4a(cls: Any, service: str, server: SigV4Server, **kwargs: Any) -> Any:
    return cls(
        service,
        algorithm="SigV4A",
        credentials=kwargs.pop("credentials", None) or _temporary(server),
        **kwargs,
    )


def _check_sigv4a(server: SigV4Server, answer: dict[str, Any], region_set: str) -> None:
    assert answer["auth"] == "header"
    assert answer["region"] == region_set
    assert "x-amz-region-set" in answer["signedHeaders"]
    assert "x-amz-security-token" in answer["signedHeaders"]
    verified = server.requests[-1].verified
    assert verified is not None and verified.principal.token is not None


# --- sync: httpx.Client and requests --------------------------------------------


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
    region_set = REGION_SETS[len(kind) % len(REGION_SETS)]
    auth = _sigv4a(
        cls,
        service,
        server,
        region_set=region_set,
        unsigned_payload=kind == "generator-unsigned",
    )
    body = _sync_body(kind, tmp_path, offset=client == "requests")
    response = _put_sync(client, auth, server.url + PATH, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    _check_echo(answer, b"" if body is None else BODY, service)
    _check_sigv4a(server, answer, auth._core.signer.region_set)
    sha = server.requests[-1].verified.payload_hash  # type: ignore[union-attr]
    if kind == "generator-unsigned":
        assert sha == "UNSIGNED-PAYLOAD"
    if service == "s3":
        assert "x-amz-content-sha256" in answer["signedHeaders"]


# --- async: httpx.AsyncClient and aiohttp -----------------------------------------


@pytest.mark.parametrize("client", ["httpx", "aiohttp"])
@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("kind", ["none", "bytes", "file", "agen", "agen-unsigned"])
async def test_async_bodies(
    sigv4_server: SigV4Server, client: str, service: str, kind: str, tmp_path: Any
) -> None:
    server = sigv4_server
    if client == "httpx" and kind == "file":
        pytest.skip("httpx.AsyncClient takes no sync file (httpx's own rule)")
    cls: Any = HttpxSigV4Auth if client == "httpx" else AiohttpSigV4Middleware
    region_set = REGION_SETS[len(kind) % len(REGION_SETS)]
    auth = _sigv4a(
        cls,
        service,
        server,
        region_set=region_set,
        unsigned_payload=kind.endswith("-unsigned"),
    )
    body = _async_body(kind, tmp_path)
    if client == "httpx":
        async with httpx.AsyncClient(auth=auth) as session:
            response = await session.post(server.url + PATH, content=body)
            status, answer = response.status_code, response.json()
    else:
        async with aiohttp.ClientSession(middlewares=[auth]) as aio:
            async with aio.post(server.url + PATH, data=body) as answered:
                status, answer = answered.status, await answered.json()
    if kind == "file":
        body.close()
    assert status == 200, answer
    _check_echo(answer, b"" if kind == "none" else BODY, service)
    _check_sigv4a(server, answer, auth._core.signer.region_set)


async def test_rotating_credentials_and_streamed_answer(
    sigv4_server: SigV4Server,
) -> None:
    """Each request signs with the source's current key pair (two principals)."""
    server = sigv4_server
    pairs = [
        server.add_principal("AKIDSIGV4AONE", "first/secret+1", "TOKEN1"),
        server.add_principal("AKIDSIGV4ATWO", "second/secret+2", "TOKEN2"),
    ]
    turns = itertools.cycle(pairs)

    async def fetch() -> FrozenCredentials:
        return next(turns)

    source = CallableCredentials(fetch, ttl=0)
    m = AiohttpSigV4Middleware("lambda", algorithm="SigV4A", credentials=source)
    auth = HttpxSigV4Auth("lambda", algorithm="sigv4a", credentials=source)
    async with aiohttp.ClientSession(middlewares=[m]) as session:
        for _ in range(2):
            async with session.get(server.url + "/who") as response:
                assert response.status == 200
    async with httpx.AsyncClient(auth=auth) as client:
        url = server.url + "/_stream/sse?events=3&interval=0.01"
        async with client.stream("GET", url) as streamed:
            assert streamed.status_code == 200
            events = [x async for x in streamed.aiter_lines() if x.startswith("data")]
    assert len(events) == 3
    principals = [r.verified.principal.access_key for r in server.requests]  # type: ignore[union-attr]
    assert principals[:2] == ["AKIDSIGV4AONE", "AKIDSIGV4ATWO"]


def test_tampering_and_region_outside_the_set_rejected(
    sigv4_server_in_thread: SigV4Server,
) -> None:
    server = sigv4_server_in_thread
    auth = _sigv4a(HttpxSigV4Auth, "execute-api", server, region_set="*")

    def tamper(request: httpx.Request) -> None:
        request.headers["x-custom"] = "changed after signing"

    with httpx.Client(auth=auth, event_hooks={"request": [tamper]}) as client:
        assert (
            client.get(server.url + "/p", headers={"x-custom": "a"}).status_code == 403
        )
    with requests.Session() as session:
        request = requests.Request(
            "POST",
            server.url + "/p",
            data=b"abc",
            auth=_sigv4a(RequestsSigV4Auth, "s3", server),
        )
        prepared = session.prepare_request(request)
        prepared.body = b"abd"  # x-amz-content-sha256 no longer matches
        assert session.send(prepared, timeout=10).status_code == 400
        elsewhere = _sigv4a(RequestsSigV4Auth, "s3", server, region_set="us-*")
        answer = session.get(server.url + "/b/k", auth=elsewhere, timeout=10)
        assert answer.status_code == 403
        assert "SignatureDoesNotMatch" in answer.text or "region" in answer.text
    assert [r.accepted for r in server.requests] == [False, False, False]
    assert [r.reason for r in server.requests] == [
        "mismatch",
        "content_sha256",
        "scope",
    ]


# --- S3's path rule over loopback -------------------------------------------------


@pytest.mark.parametrize("path", S3_PATHS)
async def test_s3_paths_through_aiohttp(sigv4_server: SigV4Server, path: str) -> None:
    """Paths sent exactly as written (yarl ``encoded=True`` keeps ``..``, ``//``):
    the middleware signs S3's rule and SigV4Server verifies it; the generic
    rule is refused where the two differ."""
    server = sigv4_server
    creds = _temporary(server)
    m = _sigv4a(AiohttpSigV4Middleware, "s3", server, credentials=creds)
    url = URL(server.url + path, encoded=True)
    async with aiohttp.ClientSession() as session:
        async with session.put(url, data=b"x", middlewares=(m,)) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["rawPath"] == path
        generic = SigV4ASigner("s3", normalize_path=True)
        headers = generic.sign("PUT", str(url), {}, b"x", creds)
        async with session.put(url, data=b"x", headers=headers) as response:
            differs = canonical_uri(path) != canonical_uri(path, normalize=False)
            assert response.status == (403 if differs else 200)


# --- presigned URLs ------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_presign_url_sigv4a(sigv4_server_in_thread: SigV4Server, service: str) -> None:
    server = sigv4_server_in_thread
    url = presign_url(
        server.url + "/bucket/report 2026.csv?versionId=3",
        service=service,
        algorithm="SigV4A",
        region_set=["us-east-1", REGION],
        credentials=_temporary(server),
        expires=120,
    )
    assert "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256" in url
    assert "X-Amz-Region-Set=us-east-1%2Ceu-west-1" in url
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    echo = answer.json()
    assert (echo["auth"], echo["service"]) == ("query", service)
    verified = server.requests[-1].verified
    assert verified is not None and verified.expires == 120
    expected = "UNSIGNED-PAYLOAD" if service == "s3" else verified.payload_hash
    assert verified.payload_hash == expected
    tampered = url.replace("versionId=3", "versionId=4")
    assert requests.get(tampered, timeout=10).status_code == 403


async def test_presign_url_async_sigv4a(sigv4_server: SigV4Server) -> None:
    server = sigv4_server
    url = await presign_url_async(
        server.url + "/socket",
        service="execute-api",
        algorithm="SigV4A",
        credentials=_temporary(server),
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["region"] == "*"


# --- arguments ------------------------------------------------------------------------

CREDS = FrozenCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

BAD_ARGUMENTS: list[Any] = [
    ({"algorithm": "SigV5"}, "algorithm must be 'SigV4'"),
    ({"algorithm": None}, "algorithm must be 'SigV4'"),
    ({"algorithm": "AWS4-ECDSA-P256-SHA256"}, "algorithm must be 'SigV4'"),
    ({"algorithm": "SigV4A", "region": "us-east-1"}, "not region="),
    ({"algorithm": "SigV4A", "region_set": ""}, "region_set must be"),
    ({"algorithm": "SigV4A", "region_set": []}, "region_set must be"),
    ({"algorithm": "SigV4A", "region_set": ["us-east-1", ""]}, "region_set must be"),
    ({"algorithm": "SigV4A", "region_set": "us east"}, "region_set must be"),
    ({"algorithm": "SigV4A", "region_set": 5}, "region_set must be"),
    ({"algorithm": "SigV4A", "region_set": [1, 2]}, "region_set must be"),
    ({"algorithm": "SigV4A", "region_set": b"us-east-1"}, "region_set must be"),
    ({"region": "us-east-1", "region_set": "*"}, "region_set= is for"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_ARGUMENTS)
def test_bad_arguments_fail_at_construction(
    sigv4_server_in_thread: SigV4Server, kwargs: dict[str, Any], message: str
) -> None:
    for cls in ADAPTERS:
        with pytest.raises(ConfigurationError, match=message):
            cls("s3", credentials=CREDS, **kwargs)
    with pytest.raises(ConfigurationError, match=message):
        presign_url(
            sigv4_server_in_thread.url + "/k", service="s3", credentials=CREDS, **kwargs
        )
    assert sigv4_server_in_thread.requests == []


def test_sigv4a_needs_no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """SigV4A ignores AWS_REGION; region_set defaults to '*'; the repr says so."""
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    for cls in ADAPTERS:
        text = repr(cls("s3", algorithm="SigV4A", credentials=CREDS))
        assert "algorithm='SigV4A', region_set='*'" in text
        assert CREDS.secret_key not in text
    with pytest.raises(ConfigurationError, match="AWS_REGION"):
        HttpxSigV4Auth("s3", credentials=CREDS)  # SigV4 still needs one


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )


def test_without_cryptography_the_extra_is_named_at_construction() -> None:
    result = _run(
        "import sys; sys.modules['cryptography'] = None\n"
        "import httpx, appsync_iam as a\n"
        "c = a.FrozenCredentials('AKIDEXAMPLE', 'k')\n"
        "for cls in (a.HttpxSigV4Auth, a.RequestsSigV4Auth,"
        " a.AiohttpSigV4Middleware):\n"
        "    try:\n"
        "        cls('s3', algorithm='SigV4A', credentials=c)\n"
        "    except a.ConfigurationError as e:\n"
        "        print(e)\n"
        "try:\n"
        "    a.presign_url('https://h/k', service='s3', algorithm='SigV4A',"
        " credentials=c)\n"
        "except a.ConfigurationError as e:\n"
        "    print(e)\n"
        "auth = a.HttpxSigV4Auth('s3', 'us-east-1', credentials=c)\n"
        "signed = next(auth.sync_auth_flow(httpx.Request('GET', 'https://h/k')))\n"
        "print(signed.headers['authorization'].split()[0])\n"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        lines[:4]
        == [
            "SigV4A needs the 'cryptography' package: pip install 'appsync_iam[sigv4a]'"
        ]
        * 4
    )
    assert lines[4] == "AWS4-HMAC-SHA256"  # SigV4 works without it


def test_sigv4_adapters_never_import_cryptography() -> None:
    result = _run(
        "import sys, httpx, requests, appsync_iam as a\n"
        "c = a.FrozenCredentials('AKIDEXAMPLE', 'k')\n"
        "auth = a.HttpxSigV4Auth('s3', 'us-east-1', credentials=c)\n"
        "next(auth.sync_auth_flow(httpx.Request('PUT', 'https://h/k', content=b'x')))\n"
        "r = requests.Request('PUT', 'https://h/k', data=b'x').prepare()\n"
        "a.RequestsSigV4Auth('s3', 'us-east-1', credentials=c)(r)\n"
        "a.AiohttpSigV4Middleware('s3', 'us-east-1', credentials=c)\n"
        "a.presign_url('https://h/k', service='s3', region='us-east-1',"
        " credentials=c)\n"
        "assert 'cryptography' not in sys.modules, 'imported'\n"
        "assert 'appsync_iam._sigv4a' not in sys.modules, 'sigv4a imported'\n"
        "a.HttpxSigV4Auth('s3', algorithm='SigV4A', credentials=c)\n"
        "assert 'cryptography' in sys.modules\n"
    )
    assert result.returncode == 0, result.stderr
