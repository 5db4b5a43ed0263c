"""A clock 20 minutes off (issue 7, point 3).

The client's clock seam (``AppSyncClient(..., clock=...)``) 20 minutes ahead
or behind, or the emulator's clock (``clock_offset``) 20 minutes ahead or
behind: AppSync rejects the first signature ("Signature expired" / "not yet
current"), the client learns the offset from the answer and signs again.
Queries, concurrent mutations, ``execute_many`` and a subscription all work;
no failure reaches the caller; and the mutation count is exact: a skew
rejection means AppSync did not run the mutation, so retrying it never
duplicates one.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from appsync_iam import AppSyncClient, ConnectionEvent, ConnectionState
from appsync_iam.emulator import AppSyncEmulator

from .reliability_helpers import GET_ROOM, ON_MESSAGE, POST, wait_for

SKEW = 20 * 60
CONCURRENT = 20
BATCH = 30


@pytest.fixture
async def emulator() -> AsyncIterator[AppSyncEmulator]:
    """The chat sample on 127.0.0.1."""
    async with AppSyncEmulator("chat", seed=5) as emu:
        yield emu


def skewed(seconds: float) -> Callable[[], float]:
    """A local clock ``seconds`` ahead of the real one."""
    return lambda: time.time() + seconds


def posted(emulator: AppSyncEmulator, room: str) -> Counter[str]:
    """How many times the emulator ran postMessage for each content in ``room``."""
    return Counter(
        str(op.arguments["content"])
        for op in emulator.executed
        if op.field == "postMessage" and op.arguments.get("roomId") == room
    )


async def http_load(client: AppSyncClient, room: str) -> list[str]:
    """Concurrent mutations, a batch of mutations and queries; the ids sent."""
    sent = [f"c{i}" for i in range(CONCURRENT)]
    await asyncio.gather(
        *(client.execute_async(POST, {"room": room, "content": c}) for c in sent)
    )
    batch = [f"b{i}" for i in range(BATCH)]
    async for result in client.execute_many(
        POST, ({"room": room, "content": c} for c in batch)
    ):
        assert result.ok, result.error
    for i in range(5):
        assert await client.execute_async(GET_ROOM, {"id": f"q{i}"}) == {
            "getRoom": None
        }
    return sent + batch


async def one_event(client: AppSyncClient, room: str) -> tuple[dict[str, Any], float]:
    """Subscribe, publish one message once acknowledged; the event, and the
    client's clock offset when the subscription was acknowledged."""
    states: list[ConnectionEvent] = []

    async def first() -> dict[str, Any]:
        async for data in client.subscribe(
            ON_MESSAGE, {"room": room}, on_state=states.append
        ):
            return data
        raise AssertionError("the subscription ended without an event")

    task = asyncio.ensure_future(first())
    try:
        await wait_for(
            lambda: (
                any(e.state is ConnectionState.CONNECTED for e in states) or task.done()
            )
        )
        offset = client.clock_offset
        await client.execute_async(POST, {"room": room, "content": "event"})
        return await asyncio.wait_for(task, 10), offset
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("first", ["http", "subscription"])
@pytest.mark.parametrize(
    ("where", "offset"),
    [("client", SKEW), ("client", -SKEW), ("server", SKEW), ("server", -SKEW)],
    ids=["client+20min", "client-20min", "server+20min", "server-20min"],
)
class TestClockSkew:
    """Every operation works with 20 minutes of skew either way, on either side."""

    async def test_skew_is_invisible_to_the_caller(
        self, emulator: AppSyncEmulator, where: str, offset: int, first: str
    ) -> None:
        """No failure reaches the caller and every mutation runs exactly once."""
        if where == "server":
            emulator.clock_offset = offset
            clock = time.time
            expected = offset  # server minus client
        else:
            clock = skewed(offset)
            expected = -offset
        room = f"{where}{offset}{first}"
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, clock=clock
        ) as client:
            if first == "subscription":
                event, learned = await one_event(client, room)
                # The real-time connection learned the offset on its own.
                assert abs(learned - expected) < 5
                sent = await http_load(client, room)
            else:
                sent = await http_load(client, room)
                assert abs(client.clock_offset - expected) < 5
                event, _ = await one_event(client, room)
            assert abs(client.clock_offset - expected) < 5
        assert event["onMessagePosted"]["content"] == "event"
        assert posted(emulator, room) == Counter([*sent, "event"])
