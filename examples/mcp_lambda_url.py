"""An MCP client calling an MCP server on an IAM-protected Lambda function URL
(streamable HTTP: POST answered with SSE, a GET SSE stream, ``mcp-session-id``),
every request SigV4-signed for service ``lambda`` by ``HttpxSigV4Auth``.

Run offline as is: it starts a small FastMCP server on 127.0.0.1 behind a
local verifying server (``SigV4Server(service="lambda", upstream=...)``), the
way a Lambda URL sits in front of your function. Against AWS, set
``MCP_URL=https://<url-id>.lambda-url.<region>.on.aws/mcp`` and ``AWS_REGION``.

Needs ``pip install "mcp>=1.10,<2"``: mcp 2.x moved to ``httpx2`` (its
``streamable_http_client`` takes an ``httpx2.AsyncClient``, which an
``httpx.Auth`` does not plug into).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from appsync_iam import HttpxSigV4Auth


async def list_tools(url: str, region: str | None, credentials: Any) -> list[str]:
    auth = HttpxSigV4Auth("lambda", region, credentials=credentials)
    # mcp >= 1.2x: the client takes an httpx.AsyncClient; the older
    # streamablehttp_client(url, auth=auth) does the same, with a
    # DeprecationWarning. MCP holds SSE streams open: a long read timeout.
    http = httpx.AsyncClient(auth=auth, timeout=httpx.Timeout(30, read=300))
    async with http, streamable_http_client(url, http_client=http) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            answer = await session.call_tool("add", {"a": 2, "b": 40})
            print("add(2, 40) =", answer.content[0].text)  # type: ignore[union-attr]
            return [tool.name for tool in tools.tools]


@contextlib.contextmanager
def local_mcp_server() -> Iterator[str]:
    """A FastMCP streamable-HTTP app served by uvicorn on a free loopback port."""
    import uvicorn
    from mcp.server.fastmcp import FastMCP

    # The demo server's own logs (e.g. its SSE writer noting the client left)
    # stay quiet: only the client's side is shown.
    mcp = FastMCP("demo", log_level="CRITICAL")

    @mcp.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @mcp.tool()
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(mcp.streamable_http_app(), host="127.0.0.1", port=port,
                       log_level="warning")
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the MCP server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def main() -> None:
    if "MCP_URL" in os.environ:
        names = asyncio.run(list_tools(os.environ["MCP_URL"], None, None))
    else:
        from appsync_iam.emulator import SigV4Server

        with (
            local_mcp_server() as app_url,
            SigV4Server(
                service="lambda", upstream=app_url
            ).run_in_thread() as lambda_url,
        ):
            names = asyncio.run(
                list_tools(
                    lambda_url.url + "/mcp", lambda_url.region, lambda_url.credentials
                )
            )
            verified = sum(r.accepted for r in lambda_url.requests)
            print(f"requests verified by the Lambda URL stand-in: {verified}")
    print("tools:", ", ".join(sorted(names)))


if __name__ == "__main__":
    main()
