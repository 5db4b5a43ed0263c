"""SigV4Server: streamed answers, handler=, upstream= (streaming both ways), threads."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from sigv4_helpers import as_json, botocore_signed, chunks, send
from yarl import URL

from appsync_iam.emulator import VERIFICATION_KEY, SigV4Server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s


def sign(server: SigV4Server, method: str, target: str, body: bytes = b"",
         **headers: str) -> tuple[str, dict[str, str]]:  # fmt: skip
    return botocore_signed(
        method, server.url + target, server.credentials, service="lambda",
        region=server.region, body=body, headers=headers,
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["sse", "chunked"])
async def test_streamed_answer_arrives_event_by_event(
    session: aiohttp.ClientSession, kind: str
) -> None:
    async with SigV4Server() as server:
        url, headers = sign(server, "GET", f"/_stream/{kind}?events=4&interval=0.2")
        arrivals: list[float] = []
        start = time.monotonic()
        async with session.get(URL(url, encoded=True), headers=headers) as response:
            assert response.status == 200
            assert response.headers["Transfer-Encoding"] == "chunked"
            expected = "text/event-stream" if kind == "sse" else "application/x-ndjson"
            assert response.content_type == expected
            lines = []
            async for line in response.content:
                if line.strip():
                    arrivals.append(time.monotonic() - start)
                    lines.append(line.decode().strip())
        data = [json.loads(x.split("data: ", 1)[-1]) for x in lines if "{" in x]
        assert [d["seq"] for d in data] == [0, 1, 2, 3]
        if kind == "sse":
            assert lines[:3] == ["id: 0", "event: message", lines[2]]
        # Events are spread over ~0.6 s, not delivered at once at the end.
        assert arrivals[-1] - arrivals[0] >= 0.5


async def test_stream_parameters_checked(session: aiohttp.ClientSession) -> None:
    async with SigV4Server() as server:
        url, headers = sign(server, "GET", "/_stream/sse?events=99999")
        assert (await send(session, "GET", url, headers))[0] == 400
        url, headers = sign(server, "GET", "/_stream/nope")
        assert (await send(session, "GET", url, headers))[0] == 404


async def test_handler_sees_verified_request(session: aiohttp.ClientSession) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        verified = request[VERIFICATION_KEY]
        payload = await request.json()
        return web.json_response({"who": verified.principal.access_key, **payload})

    async with SigV4Server(handler=handler) as server:
        body = b'{"n": 1}'
        url, headers = sign(
            server, "POST", "/fn", body, **{"content-type": "application/json"}
        )
        status, _, answer = await send(session, "POST", url, headers, body)
        assert (status, as_json(answer)) == (200, {"who": "AKIDEXAMPLE", "n": 1})
        status, _, _ = await send(session, "POST", url, headers, b'{"n": 2}')
        assert status == 403  # the handler never sees a rejected request


async def test_upstream_proxy_streams_both_ways(session: aiohttp.ClientSession) -> None:
    """A POST answered with a slow SSE stream, through the proxy, as it comes."""
    seen: dict[str, object] = {}

    async def app_handler(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        seen.update(path=request.path_qs, length=len(body),
                    session=request.headers.get("mcp-session-id"))  # fmt: skip
        response = web.StreamResponse(headers={"mcp-session-id": "s-1"})
        response.content_type = "text/event-stream"
        await response.prepare(request)
        for i in range(3):
            await response.write(f"data: {i}\n\n".encode())
            await asyncio.sleep(0.2)
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", app_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with SigV4Server(upstream=f"http://127.0.0.1:{port}") as server:
            body = b"x" * 300_000
            url, headers = sign(server, "POST", "/mcp?a=%E3%81%82", body,
                                **{"mcp-session-id": "s-0"})  # fmt: skip
            arrivals = []
            start = time.monotonic()
            async with session.post(
                URL(url, encoded=True), headers=headers, data=chunks(body, 65536)
            ) as response:
                assert response.status == 200
                assert response.headers["mcp-session-id"] == "s-1"
                assert response.headers["x-amzn-RequestId"]
                async for line in response.content:
                    if line.startswith(b"data:"):
                        arrivals.append(time.monotonic() - start)
            assert len(arrivals) == 3 and arrivals[-1] - arrivals[0] >= 0.3
            assert seen == {
                "path": "/mcp?a=%E3%81%82",
                "length": 300_000,
                "session": "s-0",
            }
            status, _, _ = await send(session, "POST", url, headers, b"y" * 300_000)
            assert status == 403
            assert seen["length"] == 300_000  # the upstream was not called again
            assert [r.status for r in server.requests] == [200, 403]
    finally:
        await runner.cleanup()


async def test_upstream_down_is_502(session: aiohttp.ClientSession) -> None:
    async with SigV4Server(upstream="http://127.0.0.1:9") as server:
        url, headers = sign(server, "GET", "/x")
        assert (await send(session, "GET", url, headers))[0] == 502


def test_run_in_thread_from_sync_code() -> None:
    with SigV4Server(service="execute-api").run_in_thread() as server:
        url, headers = botocore_signed(
            "GET", server.url + "/prod/items?q=%E6%97%A5%E6%9C%AC", server.credentials,
            service="execute-api", region=server.region,
        )  # fmt: skip
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["query"] == [["q", "日本"]]
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(server.url + "/prod", timeout=10)
        assert caught.value.code == 403
        caught.value.close()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="not both"):
        SigV4Server(handler=lambda r: None, upstream="http://x")  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="http"):
        SigV4Server(upstream="ftp://x")
    with pytest.raises(RuntimeError, match="not running"):
        _ = SigV4Server().url


async def test_client_leaving_a_proxied_stream_is_quiet(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A client closing an endless upstream SSE stream is no server error."""

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_type = "text/event-stream"
        await response.prepare(request)
        try:
            while True:
                await response.write(b"data: tick\n\n")
                await asyncio.sleep(0.01)
        except ConnectionResetError:  # the proxy dropped us: expected
            return response

    app = web.Application()
    app.router.add_get("/sse", endless)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with SigV4Server(upstream=f"http://127.0.0.1:{port}") as server:
            url, headers = sign(server, "GET", "/sse")
            async with session.get(URL(url, encoded=True), headers=headers) as response:
                assert (await response.content.readline()) == b"data: tick\n"
            await asyncio.sleep(0.3)
            assert server.requests[-1].status == 200
    finally:
        await runner.cleanup()
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
