"""Real-time subscriptions: event throughput and time to recover from a drop.

The emulator runs in a child process (its own core and event loop), so the
client in this process is what is measured. Two figures:

1. **Events per second** through one connection carrying 10 subscriptions.
   The emulator pushes events in a tight loop, either

   - ``broadcast``: ``RealtimeServer.broadcast`` writes one ready ``data``
     frame per subscription (no GraphQL work on the server side), or
   - ``engine``: mutations run by the emulator's GraphQL engine, each result
     filtered and shaped for every subscription (the real server path),

   and the client consumes them with ``async for data in
   RealtimeClient.subscribe(...)`` in 10 tasks. One event is one ``data``
   frame yielded to one consumer; the clock runs from the command to the
   server until the last consumer has its last event.
2. **Recovery after a drop**: the emulator aborts the TCP stream
   (``RealtimeServer.drop_all``); the time until every one of the 10
   subscriptions is acknowledged again on a new, freshly signed connection
   (each subscription's ``on_state`` reports ``CONNECTED``). Backoff is full
   jitter, ``U(0, base)`` for the first attempt; the cap is set to the base so
   that rounds in quick succession do not escalate.

Usage: ``.venv/bin/python benchmarks/subscriptions.py [--events N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

from _recovery import OnState, time_recoveries

from appsync_iam import (
    AppSyncIAMTransport,
    ConnectionEvent,
    ConnectionState,
    FrozenCredentials,
    RealtimeClient,
)

SUBSCRIPTION = (
    "subscription OnMessage($roomId: ID) { onMessagePosted(roomId: $roomId) "
    "{ id roomId content author createdAt } }"
)
MUTATION = (
    "mutation Post($roomId: ID!, $content: String!) { postMessage(roomId: $roomId, "
    'content: $content, author: "bench") { id roomId content author createdAt } }'
)
EVENT = {
    "onMessagePosted": {
        "id": "5f0e3c9e-2b1a-4c59-9a57-1d2f4e6a7b8c",
        "roomId": "bench",
        "content": "The quick brown fox jumps over the lazy dog, 42 times.",
        "author": "bench",
        "createdAt": "2025-01-01T00:00:00.000Z",
    }
}
SUBSCRIPTIONS = 10


# -- the emulator process ------------------------------------------------------


def _serve(pipe: Connection) -> None:
    asyncio.run(_serve_async(pipe))


async def _serve_async(pipe: Connection) -> None:
    from appsync_iam.emulator import AppSyncEmulator

    loop = asyncio.get_running_loop()
    async with AppSyncEmulator("chat", ka_interval=60.0) as emulator:
        realtime = emulator.realtime
        creds = emulator.credentials
        pipe.send((emulator.url, creds.access_key, creds.secret_key))
        while True:
            command, *args = await loop.run_in_executor(None, pipe.recv)
            started = time.perf_counter()
            if command == "broadcast":
                for _ in range(args[0]):
                    await realtime.broadcast(EVENT)
            elif command == "engine":
                principal = emulator._principals[creds.access_key]
                for n in range(args[0]):
                    await emulator._engine.execute(
                        MUTATION,
                        {"roomId": "bench", "content": f"event {n}"},
                        None,
                        principal=principal,
                    )
            elif command == "drop":
                realtime.drop_all()
            elif command == "quit":
                pipe.send(None)
                return
            pipe.send(time.perf_counter() - started)


# -- the client (this process) ---------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.received = 0
        self.target = 0
        self.done = asyncio.Event()
        self.finished_at = 0.0

    def count(self) -> None:
        self.received += 1
        if self.received == self.target:
            self.finished_at = time.perf_counter()
            self.done.set()


async def _consume(client: RealtimeClient, counter: _Counter, **kwargs: Any) -> None:
    async for _data in client.subscribe(SUBSCRIPTION, {"roomId": "bench"}, **kwargs):
        counter.count()


async def _request(pipe: Connection, *message: Any) -> Any:
    pipe.send(message)
    return await asyncio.get_running_loop().run_in_executor(None, pipe.recv)


async def throughput(
    transport: AppSyncIAMTransport,
    pipe: Connection,
    mode: str,
    events: int,
    rounds: int,
) -> tuple[list[float], list[float]]:
    """Delivered events/s per round, and this process's CPU seconds per event."""
    client = RealtimeClient(transport)
    counter = _Counter()
    acked: list[ConnectionEvent] = []
    tasks = [
        asyncio.ensure_future(_consume(client, counter, on_state=acked.append))
        for _ in range(SUBSCRIPTIONS)
    ]
    try:
        while sum(e.state is ConnectionState.CONNECTED for e in acked) < SUBSCRIPTIONS:
            await asyncio.sleep(0.01)
        assert client.connection_count == 1
        rates, cpu = [], []
        per_round = events // SUBSCRIPTIONS  # each server event reaches 10 subs
        for _ in range(rounds):
            counter.received = 0
            counter.target = per_round * SUBSCRIPTIONS
            counter.done.clear()
            started, cpu_started = time.perf_counter(), time.process_time()
            await _request(pipe, mode, per_round)
            await asyncio.wait_for(counter.done.wait(), 120)
            rates.append(counter.target / (counter.finished_at - started))
            cpu.append((time.process_time() - cpu_started) / counter.target)
        return rates, cpu
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()


async def recovery(
    transport: AppSyncIAMTransport, pipe: Connection, base: float, rounds: int
) -> list[float]:
    client = RealtimeClient(transport, backoff_base=base, backoff_cap=max(base, 1e-3))
    counter = _Counter()

    async def consume(_: int, on_state: OnState) -> None:
        await _consume(client, counter, on_state=on_state)

    try:
        return await time_recoveries(
            SUBSCRIPTIONS, consume, lambda: _request(pipe, "drop"), rounds
        )
    finally:
        await client.close()


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return (
        f"median {statistics.median(values) * 1000:.1f} ms, "
        f"p90 {p90 * 1000:.1f} ms, min {ordered[0] * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms"
    )


async def main(args: argparse.Namespace) -> None:
    context = multiprocessing.get_context("spawn")
    pipe, child_pipe = context.Pipe()
    server = context.Process(target=_serve, args=(child_pipe,), daemon=True)
    server.start()
    try:
        url, access_key, secret_key = pipe.recv()
        transport = AppSyncIAMTransport(
            url, credentials=FrozenCredentials(access_key, secret_key)
        )
        transport.open_session()
        try:
            print(f"{SUBSCRIPTIONS} subscriptions on one connection, "
                  f"{args.events} events per round, {args.rounds} rounds")  # fmt: skip
            for mode in ("broadcast", "engine"):
                rates, cpu = await throughput(
                    transport, pipe, mode, args.events, args.rounds
                )
                per_event = statistics.median(cpu)
                print(
                    f"  {mode:9}: delivered best {max(rates):,.0f} events/s, "
                    f"median {statistics.median(rates):,.0f} events/s; client CPU "
                    f"{per_event * 1e6:.1f} µs/event "
                    f"(= {1 / per_event:,.0f} events/s of one core)"
                )
            print(f"Drop → all {SUBSCRIPTIONS} subscriptions live again, "
                  f"{args.drops} drops")  # fmt: skip
            for base in (0.05, 0.0):
                times = await recovery(transport, pipe, base, args.drops)
                print(f"  backoff base {base * 1000:.0f} ms: {_ms(times)}")
        finally:
            await transport.close()
    finally:
        await _request(pipe, "quit")
        server.join(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--drops", type=int, default=30)
    asyncio.run(main(parser.parse_args()))
