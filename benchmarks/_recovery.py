"""Time from a dropped real-time connection until every subscription is back.

Shared by ``subscriptions.py`` (GraphQL) and ``events.py`` (Events API).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from appsync_iam import ConnectionEvent, ConnectionState

OnState = Callable[[ConnectionEvent], None]


async def time_recoveries(
    count: int,
    consume: Callable[[int, OnState], Awaitable[None]],
    drop: Callable[[], Awaitable[object]],
    rounds: int,
) -> list[float]:
    """Seconds from each ``drop()`` until all ``count`` subscriptions (each
    consumed by ``consume(index, on_state)``) report CONNECTED again."""
    connected = {"n": 0, "at": 0.0}
    target = {"n": count}
    ready = asyncio.Event()

    def on_state(event: ConnectionEvent) -> None:
        if event.state is ConnectionState.CONNECTED:
            connected["n"] += 1
            if connected["n"] == target["n"]:
                connected["at"] = time.perf_counter()
                ready.set()

    tasks = [asyncio.ensure_future(consume(i, on_state)) for i in range(count)]
    try:
        await asyncio.wait_for(ready.wait(), 30)
        times = []
        for _ in range(rounds):
            ready.clear()
            target["n"] += count
            started = time.perf_counter()
            await drop()
            await asyncio.wait_for(ready.wait(), 30)
            times.append(connected["at"] - started)
            await asyncio.sleep(0.05)
        return times
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
