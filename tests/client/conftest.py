"""Fixtures of the client tests: a real emulator on 127.0.0.1 and clients for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from appsync_iam import AppSyncClient, RetryPolicy
from appsync_iam.emulator import AppSyncEmulator

#: Retries fast enough for tests, generous enough to ride out injected faults.
FAST_RETRY = RetryPolicy(
    max_attempts=12, base_delay=0.001, max_delay=0.01, total_timeout=20
)
NO_RETRY = RetryPolicy(max_attempts=1)

POST = (
    "mutation Post($room: ID!, $content: String!) {"
    " postMessage(roomId: $room, content: $content) { id roomId content } }"
)
BY_ROOM = (
    "query ByRoom($room: ID!) { messagesByRoom(roomId: $room) { items { content } } }"
)
GET_ROOM = "query GetRoom($id: ID!) { getRoom(id: $id) { id name } }"


class InFlight:
    """A resolver that counts how many requests the server runs at once."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.now = 0
        self.peak = 0
        self.calls = 0

    async def __call__(self, parent: Any, info: Any, **args: Any) -> dict[str, Any]:
        self.now += 1
        self.calls += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.now -= 1
        if args["id"].startswith("missing"):
            return None  # type: ignore[return-value]
        return {"id": args["id"], "name": f"room {args['id']}"}


@pytest.fixture
def in_flight() -> InFlight:
    """The getRoom resolver's concurrency meter."""
    return InFlight()


@pytest.fixture
async def emulator(in_flight: InFlight) -> AsyncIterator[AppSyncEmulator]:
    """The chat sample on 127.0.0.1 (free port), getRoom slowed by ``in_flight``."""
    resolvers = {"Query.getRoom": in_flight}
    async with AppSyncEmulator("chat", resolvers=resolvers, seed=7) as emu:
        yield emu


@pytest.fixture
async def client(emulator: AppSyncEmulator) -> AsyncIterator[AppSyncClient]:
    """A client of the emulator with fast retries, closed after the test."""
    async with AppSyncClient(
        emulator.url, credentials=emulator.credentials, retry=FAST_RETRY, timeout=10
    ) as c:
        yield c


def mutations(emulator: AppSyncEmulator) -> int:
    """How many mutations the emulator actually ran."""
    return sum(1 for op in emulator.executed if op.operation_type == "mutation")


Reply = tuple[int, dict[str, str], bytes]


class Scripted:
    """A loopback HTTP server answering a script of raw replies, in order.

    For answers AppSync's emulator never gives (a proxy's HTML, a redirect,
    Retry-After): still a real socket, no patching. Records request headers.
    """

    def __init__(self) -> None:
        self.replies: list[Reply | Callable[[], Reply]] = []
        self.requests: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        self.bodies.append(await request.read())
        reply = self.replies.pop(0) if self.replies else (200, {}, b'{"data":{}}')
        if callable(reply):
            reply = reply()
        status, headers, body = reply
        return web.Response(status=status, headers=headers, body=body)


@pytest.fixture
async def scripted() -> AsyncIterator[Scripted]:
    """A :class:`Scripted` server on 127.0.0.1."""
    server = Scripted()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/graphql"
    try:
        yield server
    finally:
        await runner.cleanup()
