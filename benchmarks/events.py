"""AppSync Events API: events/s published and delivered, and recovery after a drop.

The emulator runs in a child process (its own core and event loop; it
verifies every signature with botocore), so this process holds only the
client. Figures:

1. **HTTP publish**: ``AppSyncEventsClient.publish`` of N events (batches of
   5, ``--concurrency`` requests in flight), beside an anchor in the same run:
   the same batches POSTed with plain aiohttp, each signed by botocore's
   ``SigV4Auth`` (what a hand-rolled client does). Ratio = ours / anchor.
2. **WebSocket publish**: the same events with ``via="websocket"`` over the
   client's one socket (each ``publish`` signed, ``publish_success`` awaited).
3. **Delivered to one subscriber**: the emulator fans out N events (one
   ``data`` frame each) to one ``subscribe_channel("/default/*")`` consumer;
   the clock runs from the command to the last event yielded.
4. **Recovery**: 10 channels subscribed on one socket; the emulator aborts
   it (``drop_all``); time until every channel is subscribed again on a new,
   freshly signed connection (each ``on_state`` reports ``CONNECTED``).
   Backoff base 10 ms (full jitter), the cap equal to the base.

Usage: ``.venv/bin/python benchmarks/events.py [--events N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
from _recovery import OnState, time_recoveries
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from appsync_iam import (
    AppSyncEventsClient,
    ConnectionEvent,
    ConnectionState,
    FrozenCredentials,
)

EVENT = {"text": "The quick brown fox jumps over the lazy dog, 42 times.", "n": 0}
CHANNELS = 10


# -- the emulator process ------------------------------------------------------


def _serve(pipe: Connection) -> None:
    asyncio.run(_serve_async(pipe))


async def _serve_async(pipe: Connection) -> None:
    from appsync_iam.emulator import AppSyncEmulator

    loop = asyncio.get_running_loop()
    async with AppSyncEmulator(
        "type Query { a: String }", event_namespaces=("default",), ka_interval=60.0
    ) as emulator:
        creds = emulator.credentials
        pipe.send((emulator.events_url, creds.access_key, creds.secret_key))
        payload = json.dumps(EVENT, separators=(",", ":"))
        while True:
            command, *args = await loop.run_in_executor(None, pipe.recv)
            if command == "fanout":
                for _ in range(args[0] // 5):
                    await emulator.events.fan_out(("default", "bench"), [payload] * 5)
            elif command == "drop":
                emulator.events.drop_all()
            elif command == "reset":
                emulator.published.clear()
            elif command == "count":
                pipe.send(len(emulator.published))
                continue
            elif command == "quit":
                pipe.send(None)
                return
            pipe.send(None)


async def _request(pipe: Connection, *message: Any) -> Any:
    pipe.send(message)
    return await asyncio.get_running_loop().run_in_executor(None, pipe.recv)


# -- publishing ---------------------------------------------------------------------


async def ours(
    client: AppSyncEventsClient, events: list[Any], via: Any, conc: int
) -> float:
    started = time.perf_counter()
    result = await client.publish("/default/bench", events, via=via, concurrency=conc)
    elapsed = time.perf_counter() - started
    assert result.ok and len(result) == len(events)
    return len(events) / elapsed


async def anchor(
    session: aiohttp.ClientSession,
    url: str,
    creds: Credentials,
    events: list[Any],
    conc: int,
) -> float:
    """Plain aiohttp + botocore SigV4Auth per request, same batches."""
    gate = asyncio.Semaphore(conc)
    texts = [json.dumps(e, separators=(",", ":")) for e in events]

    async def one(batch: list[str]) -> None:
        body = json.dumps({"channel": "/default/bench", "events": batch}).encode()
        request = AWSRequest(
            method="POST",
            url=url,
            data=body,
            headers={"content-type": "application/json"},
        )
        SigV4Auth(creds, "appsync", "us-east-1").add_auth(request)
        async with gate:
            async with session.post(url, data=body, headers=dict(request.headers)) as r:
                answer = await r.json()
                assert r.status == 200 and not answer["failed"], answer

    started = time.perf_counter()
    await asyncio.gather(*(one(texts[i : i + 5]) for i in range(0, len(texts), 5)))
    return len(events) / (time.perf_counter() - started)


# -- delivery and recovery ----------------------------------------------------------


async def delivery(client: AppSyncEventsClient, pipe: Connection, n: int) -> float:
    received = {"n": 0, "at": 0.0}
    done = asyncio.Event()
    states: list[ConnectionEvent] = []

    async def consume() -> None:
        async for _event in client.subscribe_channel(
            "/default/*", on_state=states.append
        ):
            received["n"] += 1
            if received["n"] == n:
                received["at"] = time.perf_counter()
                done.set()

    task = asyncio.ensure_future(consume())
    try:
        while not any(s.state is ConnectionState.CONNECTED for s in states):
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        await _request(pipe, "fanout", n)
        await asyncio.wait_for(done.wait(), 120)
        return n / (received["at"] - started)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def recovery(
    client: AppSyncEventsClient, pipe: Connection, rounds: int
) -> list[float]:
    async def consume(index: int, on_state: OnState) -> None:
        channel = f"/default/c{index}"
        async for _ in client.subscribe_channel(channel, on_state=on_state):
            pass

    return await time_recoveries(
        CHANNELS, consume, lambda: _request(pipe, "drop"), rounds
    )


# -- main -----------------------------------------------------------------------------


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f}"


async def run(events: int, rounds: int, concurrency: int) -> None:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,))
    process.start()
    try:
        url, key, secret = await asyncio.get_running_loop().run_in_executor(
            None, parent.recv
        )
        options = {"backoff_base": 0.01, "backoff_cap": 0.01}
        batch = [dict(EVENT, n=i) for i in range(events)]
        async with (
            AppSyncEventsClient(
                url,
                credentials=FrozenCredentials(key, secret),
                realtime_options=options,
            ) as client,
            aiohttp.ClientSession() as session,
        ):
            creds = Credentials(key, secret)
            await ours(client, batch[:50], "http", concurrency)  # warm up
            await ours(client, batch[:50], "websocket", concurrency)
            await anchor(session, url, creds, batch[:50], concurrency)
            rows: dict[str, list[float]] = {"http": [], "anchor": [], "ws": []}
            for _ in range(rounds):  # interleaved rounds
                rows["http"].append(await ours(client, batch, "http", concurrency))
                rows["anchor"].append(
                    await anchor(session, url, creds, batch, concurrency)
                )
                rows["ws"].append(await ours(client, batch, "websocket", concurrency))
            delivered = [
                await delivery(client, pipe=parent, n=events) for _ in range(rounds)
            ]
            recovered = await recovery(client, parent, rounds * 4)
        await _request(parent, "quit")
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    http, anc = statistics.median(rows["http"]), statistics.median(rows["anchor"])
    print(
        f"{events} events of {len(json.dumps(EVENT))} bytes, {rounds} rounds, "
        f"concurrency {concurrency}, medians (noisy 2-core machine)\n"
    )
    ws = statistics.median(rows["ws"])
    table = [
        (
            "HTTP publish, AppSyncEventsClient (batches of 5)",
            rows["http"],
            f"{http / anc:.2f}x anchor",
        ),
        ("HTTP publish, anchor: aiohttp + botocore SigV4Auth", rows["anchor"], "1.00x"),
        (
            "WebSocket publish, AppSyncEventsClient (batches of 5)",
            rows["ws"],
            f"{ws / http:.2f}x HTTP",
        ),
        ("delivered to one subscriber (`/default/*`)", delivered, "-"),
    ]
    print("| path | events/s | ratio |")
    print("|---|---:|---:|")
    for name, values, ratio in table:
        print(f"| {name} | {_fmt(values)} | {ratio} |")
    recovered_ms = sorted(t * 1000 for t in recovered)
    print(
        f"\nrecovery, {CHANNELS} channels, drop -> all subscribed again "
        f"({len(recovered)} drops): median {statistics.median(recovered_ms):.1f} ms, "
        f"max {recovered_ms[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if args.events % 5:
        parser.error("--events must be a multiple of 5")
    asyncio.run(run(args.events, args.rounds, args.concurrency))


if __name__ == "__main__":
    main()
