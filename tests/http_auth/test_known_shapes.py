"""The adapters' request-shape cache never changes a signature.

Each adapter remembers, per request shape (method, URL, headers as its
client holds them, Content-Length left out, token present or not), the
signer's plan, and signs later requests of that shape from it. These tests
sign long sequences through one long-lived adapter, with shapes repeating
and changing under it (header values, methods, bodies and their lengths,
session tokens appearing and disappearing, the clock crossing seconds and
days), and require every Authorization to equal the one a fresh adapter
computes for that request alone (whose signatures the AWS suite and the
verifying server check elsewhere); then the same through SigV4Server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import aiohttp
import httpx
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from appsync_iam import (
    AiohttpSigV4Middleware,
    CredentialSource,
    FrozenCredentials,
    HttpxSigV4Auth,
    RequestsSigV4Auth,
)
from appsync_iam.emulator import SigV4Server

T0 = 1_780_000_000  # 2026-05-28
HOST = "abc123.execute-api.eu-west-1.amazonaws.com"
URLS = [
    f"https://{HOST}/prod/items?q=%E6%9D%B1%E4%BA%AC&sort=desc",
    f"https://{HOST}/prod/items?q=%E6%9D%B1%E4%BA%AC&sort=asc",
    f"https://{HOST}:8443/prod/items",
    "http://[::1]:9000/a/b%20c/",
]
HEADER_SETS = [
    {"content-type": "application/json"},
    {"content-type": "text/plain"},
    {"content-type": "application/json", "x-amz-meta-tag": "a"},
    {"content-type": "application/json", "x-amz-meta-tag": "b", "x-extra": "1"},
]
BODIES = [b"", b"x", b'{"k":"' + b"y" * 300 + b'"}', b"z" * 301]
TOKENS = [None, "IQoJb3JpZ2luX2VjEXAMPLETOKENA", "IQoJb3JpZ2luX2VjEXAMPLETOKENB"]
EPOCHS = [T0, T0, T0 + 1, T0 + 86_400]
SERVICES = [
    ("execute-api", False),
    ("execute-api", True),  # include_content_sha256=True
    ("s3", False),  # always sends the content hash, path as sent
    ("aoss", False),
]


class _Rotating(CredentialSource):
    """Hands out ``TOKENS[which[0]]`` with ``AKIDEXAMPLE``; an expiry of now
    makes the sync bridge ask again on every request."""

    def __init__(self, which: list[int]) -> None:
        self.which = which

    async def get_frozen(self) -> FrozenCredentials:
        return FrozenCredentials(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            TOKENS[self.which[0]],
            datetime.now(timezone.utc),
        )

    async def refresh(self) -> FrozenCredentials:
        return await self.get_frozen()

    @property
    def access_key(self) -> str | None:
        return "AKIDEXAMPLE"

    @property
    def secret_key(self) -> str | None:
        return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    @property
    def token(self) -> str | None:
        return TOKENS[self.which[0]]


steps = st.lists(
    st.tuples(
        st.sampled_from(["GET", "POST", "PUT"]),
        st.integers(0, len(URLS) - 1),
        st.integers(0, len(HEADER_SETS) - 1),
        st.integers(0, len(BODIES) - 1),
        st.integers(0, len(TOKENS) - 1),
        st.integers(0, len(EPOCHS) - 1),
    ),
    min_size=2,
    max_size=12,
)


def _adapter(cls: Any, service: tuple[str, bool], state: dict[str, Any]) -> Any:
    name, include_sha = service
    return cls(
        name,
        "eu-west-1",
        credentials=_Rotating(state["token"]),
        clock=lambda: float(state["epoch"]),
        include_content_sha256=include_sha,
    )


def _httpx_sign(
    auth: HttpxSigV4Auth, method: str, url: str, headers: Any, body: bytes
) -> str:
    request = httpx.Request(method, url, headers=headers, content=body)
    return next(auth.sync_auth_flow(request)).headers["Authorization"]


def _requests_sign(
    auth: RequestsSigV4Auth, method: str, url: str, headers: Any, body: bytes
) -> str:
    prepared = requests.Request(method, url, headers=headers, data=body).prepare()
    return str(auth(prepared).headers["Authorization"])


def _run_sync(
    cls: Any, sign: Callable[..., str], service: tuple[str, bool], plan: list[Any]
) -> None:
    state: dict[str, Any] = {"token": [0], "epoch": T0}
    steady = _adapter(cls, service, state)
    for method, u, h, b, t, e in plan:
        state["token"][0], state["epoch"] = t, EPOCHS[e]
        args = (method, URLS[u], HEADER_SETS[h], BODIES[b])
        fresh = _adapter(cls, service, state)
        assert sign(steady, *args) == sign(fresh, *args), args


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: f"{s[0]}-sha{s[1]}")
@settings(max_examples=40, deadline=None)
@given(plan=steps)
def test_httpx_steady_equals_fresh(service: tuple[str, bool], plan: list[Any]) -> None:
    _run_sync(HttpxSigV4Auth, _httpx_sign, service, plan)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: f"{s[0]}-sha{s[1]}")
@settings(max_examples=40, deadline=None)
@given(plan=steps)
def test_requests_steady_equals_fresh(
    service: tuple[str, bool], plan: list[Any]
) -> None:
    _run_sync(RequestsSigV4Auth, _requests_sign, service, plan)


class _Stop(Exception):
    def __init__(self, authorization: str) -> None:
        self.authorization = authorization


async def _stop(request: aiohttp.ClientRequest) -> Any:
    raise _Stop(request.headers["Authorization"])


async def _aiohttp_sign(
    middleware: AiohttpSigV4Middleware, method: str, url: str, headers: Any, body: bytes
) -> str:
    request = aiohttp.ClientRequest(
        method, URL(url, encoded=True), headers=headers, data=body,
        loop=asyncio.get_running_loop(),
    )  # fmt: skip
    with pytest.raises(_Stop) as stopped:
        await middleware(request, _stop)  # type: ignore[arg-type]
    return stopped.value.authorization


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: f"{s[0]}-sha{s[1]}")
@settings(max_examples=40, deadline=None)
@given(plan=steps)
def test_aiohttp_and_httpx_async_steady_equal_fresh(
    service: tuple[str, bool], plan: list[Any]
) -> None:
    async def run() -> None:
        state: dict[str, Any] = {"token": [0], "epoch": T0}
        steady = _adapter(AiohttpSigV4Middleware, service, state)
        steady_httpx = _adapter(HttpxSigV4Auth, service, state)
        for method, u, h, b, t, e in plan:
            state["token"][0], state["epoch"] = t, EPOCHS[e]
            args = (method, URLS[u], HEADER_SETS[h], BODIES[b])
            fresh = _adapter(AiohttpSigV4Middleware, service, state)
            ours = await _aiohttp_sign(steady, *args)
            assert ours == await _aiohttp_sign(fresh, *args), args
            request = httpx.Request(
                method, URLS[u], headers=HEADER_SETS[h], content=BODIES[b]
            )
            signed = await steady_httpx.async_auth_flow(request).__anext__()
            fresh_httpx = _adapter(HttpxSigV4Auth, service, state)
            assert signed.headers["Authorization"] == _httpx_sign(fresh_httpx, *args)

    asyncio.run(run())


def test_a_retry_of_a_signed_request_is_signed_afresh() -> None:
    """A request that already carries signature headers (signed, then sent
    again) is signed from scratch, and its stale headers are replaced."""
    state: dict[str, Any] = {"token": [1], "epoch": T0}
    auth = _adapter(RequestsSigV4Auth, ("execute-api", False), state)
    prepared = requests.Request("POST", URLS[0], data=b"a").prepare()
    first = auth(prepared).headers["Authorization"]
    state["epoch"], state["token"][0] = T0 + 1, 2
    again = auth(prepared)
    assert again.headers["Authorization"] != first
    assert again.headers["X-Amz-Security-Token"] == TOKENS[2]
    fresh = _adapter(RequestsSigV4Auth, ("execute-api", False), state)
    retry = requests.Request("POST", URLS[0], data=b"a").prepare()
    assert again.headers["Authorization"] == fresh(retry).headers["Authorization"]
    request = httpx.Request("POST", URLS[0], content=b"a")
    hx = _adapter(HttpxSigV4Auth, ("execute-api", False), state)
    signed = next(hx.sync_auth_flow(request))
    resigned = next(hx.sync_auth_flow(signed))
    assert len(resigned.headers.get_list("authorization")) == 1
    assert resigned.headers["Authorization"] == signed.headers["Authorization"]


# --- the same through the verifying server ----------------------------------------

_REQUESTS = [  # (method, path, headers, body): shapes repeat with new bodies
    (
        "POST",
        "/prod/items?q=%E6%9D%B1%E4%BA%AC",
        {"content-type": "application/json"},
        b"{}",
    ),
    (
        "POST",
        "/prod/items?q=%E6%9D%B1%E4%BA%AC",
        {"content-type": "application/json"},
        b"[" + b"1," * 500 + b"1]",
    ),
    (
        "POST",
        "/prod/items?q=%E6%9D%B1%E4%BA%AC",
        {"content-type": "text/plain"},
        b"abc",
    ),
    (
        "GET",
        "/prod/items?q=%E6%9D%B1%E4%BA%AC",
        {"content-type": "application/json"},
        b"",
    ),
    ("PUT", "/prod/items/1", {"x-amz-meta-a": "1"}, b"one"),
    ("PUT", "/prod/items/1", {"x-amz-meta-a": "2"}, b"two!"),
    (
        "POST",
        "/prod/items?q=%E6%9D%B1%E4%BA%AC",
        {"content-type": "application/json"},
        b'{"last":1}',
    ),
]


def _accepted(server: SigV4Server, n: int) -> None:
    seen = list(server.requests)[-n:]
    assert [(r.status, r.verified is not None) for r in seen] == [(200, True)] * n


def test_repeated_shapes_accepted_sync(sigv4_server_in_thread: SigV4Server) -> None:
    server = sigv4_server_in_thread
    creds = server.credentials
    hx = HttpxSigV4Auth("execute-api", server.region, credentials=creds)
    rq = RequestsSigV4Auth("execute-api", server.region, credentials=creds)
    with httpx.Client(auth=hx) as client, requests.Session() as session:
        for method, path, headers, body in _REQUESTS:
            a = client.request(method, server.url + path, headers=headers, content=body)
            assert a.status_code == 200, a.text
            assert a.json()["body"]["length"] == len(body)
            b = session.request(
                method, server.url + path, headers=headers, data=body, auth=rq
            )
            assert b.status_code == 200, b.text
            assert b.json()["body"]["length"] == len(body)
    _accepted(server, 2 * len(_REQUESTS))


async def test_repeated_shapes_accepted_async(sigv4_server: SigV4Server) -> None:
    server = sigv4_server
    creds = server.credentials
    hx = HttpxSigV4Auth("execute-api", server.region, credentials=creds)
    mw = AiohttpSigV4Middleware("execute-api", server.region, credentials=creds)
    async with (
        httpx.AsyncClient(auth=hx) as client,
        aiohttp.ClientSession(middlewares=(mw,)) as session,
    ):
        for method, path, headers, body in _REQUESTS:
            a = await client.request(
                method, server.url + path, headers=headers, content=body
            )
            assert a.status_code == 200, a.text
            assert a.json()["body"]["length"] == len(body)
            async with session.request(
                method, server.url + path, headers=headers, data=body
            ) as b:
                assert b.status == 200, await b.text()
                assert (await b.json())["body"]["length"] == len(body)
    _accepted(server, 2 * len(_REQUESTS))
