"""An MCP streamable-HTTP server (FastMCP, uvicorn) behind SigV4Server, as on an
IAM-protected Lambda function URL; the client signs with botocore through an
httpx.Auth (so this tests the server, not this library's adapters)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Generator, Iterator
from hashlib import sha256

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from appsync_iam import FrozenCredentials
from appsync_iam.emulator import SigV4Server

mcp_client = pytest.importorskip("mcp.client.streamable_http")
fastmcp = pytest.importorskip("mcp.server.fastmcp")
uvicorn = pytest.importorskip("uvicorn")
from mcp import ClientSession  # noqa: E402


class BotocoreAuth(httpx.Auth):
    """SigV4 by botocore over the request httpx is about to send."""

    requires_request_body = True

    def __init__(self, credentials: FrozenCredentials, region: str) -> None:
        self._creds = Credentials(credentials.access_key, credentials.secret_key)
        self._region = region

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        signed = AWSRequest(
            method=request.method, url=str(request.url), data=request.content,
            headers={"x-amz-content-sha256": sha256(request.content).hexdigest()},
        )  # fmt: skip
        SigV4Auth(self._creds, "lambda", self._region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "x-amz-content-sha256"):
            request.headers[name] = signed.headers[name]
        yield request


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mcp_app_url() -> Iterator[str]:
    """A FastMCP server with two tools, on a loopback port, in a thread."""
    server = fastmcp.FastMCP("demo")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Echo text back."""
        return text

    port = _free_port()
    config = uvicorn.Config(
        server.streamable_http_app(), host="127.0.0.1", port=port, log_level="warning"
    )
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not web.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        web.should_exit = True
        thread.join(10)


async def test_mcp_lists_and_calls_tools_through_verification(mcp_app_url: str) -> None:
    async with SigV4Server(service="lambda", upstream=mcp_app_url) as server:
        auth = BotocoreAuth(server.credentials, server.region)
        # mcp >= 1.2x: streamable_http_client(url, http_client=...); the older
        # streamablehttp_client(url, auth=...) is deprecated.
        http = httpx.AsyncClient(auth=auth, timeout=httpx.Timeout(30, read=300))
        async with (
            http,
            mcp_client.streamable_http_client(
                server.url + "/mcp", http_client=http
            ) as (read, write, _),
        ):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await session.list_tools()
                assert sorted(t.name for t in tools.tools) == ["add", "echo"]
                result = await session.call_tool("echo", {"text": "東京 ✓"})
                assert result.content[0].text == "東京 ✓"  # type: ignore[union-attr]
        methods = {r.method for r in server.requests}
        assert {"POST", "DELETE"} <= methods, methods
        assert all(r.accepted for r in server.requests), server.requests
        # The MCP session id travelled both ways through the proxy.
        assert any(
            name == "mcp-session-id"
            for r in server.requests[1:]
            for name, _ in r.headers
        )

        # Unsigned: the Lambda URL's 403, and the MCP server never sees it.
        async with httpx.AsyncClient() as client:
            answer = await client.post(server.url + "/mcp", json={})
        assert answer.status_code == 403
        assert answer.headers["x-amzn-ErrorType"] == "AccessDeniedException"
