"""End-to-end throughput at 64 concurrent requests against a loopback server.

Run: ``.venv/bin/python benchmarks/e2e.py`` (about a minute). Prints a
markdown table.

The server (``benchmarks/_server.py``) runs in its own process and answers
every POST with the same small AppSync-shaped JSON without verifying
anything, so the client process is the bottleneck. Rows, all in this one
process and event loop, each with its own connection pool:

- **raw aiohttp, unsigned** (the ceiling): ``json.dumps`` the payload, POST
  the bytes, ``json.loads`` the answer;
- **raw aiohttp, stricter ceiling**: a session without a cookie jar
  (``DummyCookieJar``), the body serialized once before the run (the same
  bytes every request), the answer parsed with orjson: the least any client
  of this aiohttp can do per request, unsigned;
- **raw aiohttp + SigV4Signer** (the signed floor): the same, each request
  signed with appsync_iam's public ``SigV4Signer``: what a hand-rolled
  client pays at least (no retries, no typed errors, no credential
  refresh). The issue measured "raw aiohttp with a minimal signer" at 0.79×
  of the ceiling; this row shows how much of the gap to the ceiling any
  signed client pays, and the facade rows how much ours adds to it;
- **gql Client + stock AIOHTTPTransport(auth=AppSyncIAMAuthentication)**:
  gql 4.4's IAM path, botocore credentials;
- **gql Client + AppSyncIAMTransport**;
- **AppSyncClient.execute_async**;
- **AppSyncClient.execute_many** (``concurrency=64``).

Every signed row uses the same temporary credentials (with a session
token, as on Lambda). 64 worker tasks share one client per row. Rows are
interleaved within each round (machine noise hits all alike), the table
shows medians over the rounds: req/s, the ratios computed within each round
(so that a noisy round moves all rows alike), and CPU: this process's CPU
time per request (the server process excluded).
"""

from __future__ import annotations

import asyncio
import gc
import json
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import gql
import orjson
from _server import running_server
from botocore.credentials import Credentials
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncIAMAuthentication

from appsync_iam import (
    AppSyncClient,
    AppSyncIAMTransport,
    FrozenCredentials,
    SigV4Signer,
)

REGION = "us-east-1"
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE" + "Ab3/+" * 215 + "=="
QUERY = "query GetRoom($id: ID!) { getRoom(id: $id) { id name topic } }"
VARIABLES = {"id": "room-1"}
CONCURRENCY = 64
REQUESTS = 3000  # per row per round
ROUNDS = 11
CEILING = "raw aiohttp, unsigned (ceiling)"
STRICT = "raw aiohttp, pre-serialized, orjson, no cookie jar (stricter ceiling)"
STOCK = "gql Client + stock AIOHTTPTransport(auth=IAM)"

Run = Callable[[int], Awaitable[None]]


async def workers(call: Callable[[], Awaitable[Any]], n: int) -> None:
    """``n`` calls by CONCURRENCY tasks sharing one client."""

    async def worker(count: int) -> None:
        for _ in range(count):
            await call()

    share, extra = divmod(n, CONCURRENCY)
    await asyncio.gather(*(worker(share + (i < extra)) for i in range(CONCURRENCY)))


class Rows:
    """Each row's client, opened once; ``runs`` maps a label to a runner."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runs: dict[str, Run] = {}
        self._closers: list[Callable[[], Awaitable[Any]]] = []

    async def open(self) -> None:
        await self._raw()
        await self._strict()
        await self._raw_signed()
        await self._gql_stock()
        await self._gql_ours()
        await self._facade()

    async def close(self) -> None:
        for close in reversed(self._closers):
            await close()

    async def _raw(self) -> None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        self._closers.append(session.close)
        payload = {"query": QUERY, "variables": VARIABLES}
        headers = {"content-type": "application/json"}

        async def call() -> Any:
            body = json.dumps(payload).encode()
            async with session.post(self.url, data=body, headers=headers) as resp:
                return json.loads(await resp.read())["data"]

        self.runs[CEILING] = lambda n: workers(call, n)

    async def _strict(self) -> None:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._closers.append(session.close)
        body = json.dumps({"query": QUERY, "variables": VARIABLES}).encode()
        headers = {"content-type": "application/json"}
        loads = orjson.loads

        async def call() -> Any:
            async with session.post(self.url, data=body, headers=headers) as resp:
                return loads(await resp.read())["data"]

        self.runs[STRICT] = lambda n: workers(call, n)

    async def _raw_signed(self) -> None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        self._closers.append(session.close)
        signer = SigV4Signer(REGION)
        credentials = FrozenCredentials(AKID, SECRET, TOKEN)
        payload = {"query": QUERY, "variables": VARIABLES}
        headers = {"content-type": "application/json"}

        async def call() -> Any:
            body = json.dumps(payload).encode()
            signed = signer.sign(
                "POST",
                self.url,
                headers,
                body,
                credentials,
                include_content_sha256=False,
            )
            async with session.post(self.url, data=body, headers=signed) as resp:
                return json.loads(await resp.read())["data"]

        self.runs["raw aiohttp + SigV4Signer (signed floor)"] = lambda n: workers(
            call, n
        )

    async def _gql_stock(self) -> None:
        host = self.url.split("/")[2]
        auth = AppSyncIAMAuthentication(
            host=host,
            region_name=REGION,
            credentials=Credentials(AKID, SECRET, TOKEN),
        )
        await self._gql(
            "gql Client + stock AIOHTTPTransport(auth=IAM)",
            AIOHTTPTransport(url=self.url, auth=auth),
        )

    async def _gql_ours(self) -> None:
        transport = AppSyncIAMTransport(
            self.url, region=REGION, credentials=FrozenCredentials(AKID, SECRET, TOKEN)
        )
        await self._gql("gql Client + AppSyncIAMTransport", transport)

    async def _gql(self, label: str, transport: Any) -> None:
        client = Client(transport=transport)
        session = await client.connect_async()
        self._closers.append(client.close_async)
        request = GraphQLRequest(QUERY, variable_values=VARIABLES)

        async def call() -> Any:
            return await session.execute(request)

        self.runs[label] = lambda n: workers(call, n)

    async def _facade(self) -> None:
        client = AppSyncClient(
            self.url, region=REGION, credentials=FrozenCredentials(AKID, SECRET, TOKEN)
        )
        await client.__aenter__()
        self._closers.append(client.close)

        async def call() -> Any:
            return await client.execute_async(QUERY, VARIABLES)

        async def many(n: int) -> None:
            items = (VARIABLES for _ in range(n))
            async for result in client.execute_many(
                QUERY, items, concurrency=CONCURRENCY
            ):
                if result.error is not None:
                    raise result.error

        self.runs["AppSyncClient.execute_async"] = lambda n: workers(call, n)
        self.runs["AppSyncClient.execute_many"] = many


async def measure(run: Run, n: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for n requests."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    await run(n)
    return time.perf_counter() - wall, time.process_time() - cpu


async def bench(url: str) -> dict[str, list[tuple[float, float]]]:
    rows = Rows(url)
    await rows.open()
    try:
        samples: dict[str, list[tuple[float, float]]] = {k: [] for k in rows.runs}
        for run in rows.runs.values():  # warm up: connections, caches
            await run(CONCURRENCY * 4)
        for round_ in range(ROUNDS):
            labels = list(rows.runs)
            if round_ % 2:
                labels.reverse()
            for label in labels:
                samples[label].append(await measure(rows.runs[label], REQUESTS))
        return samples
    finally:
        await rows.close()


def table(samples: dict[str, list[tuple[float, float]]]) -> str:
    rate = {
        k: statistics.median(REQUESTS / w for w, _ in v) for k, v in samples.items()
    }
    cpu = {
        k: statistics.median(c / REQUESTS * 1000 * 1000 for _, c in v)
        for k, v in samples.items()
    }

    # Ratios per round (rows of one round share its noise), then the median.
    def ratio(label: str, anchor: str) -> float:
        return statistics.median(
            w_anchor / w
            for (w, _), (w_anchor, _) in zip(
                samples[label], samples[anchor], strict=True
            )
        )

    lines = [
        "| client | req/s (median) | × ceiling | × stricter ceiling "
        "| × gql stock IAM | CPU µs / req | CPU × ceiling's |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label in samples:
        lines.append(
            f"| {label} | {rate[label]:,.0f} | {ratio(label, CEILING):.2f}× | "
            f"{ratio(label, STRICT):.2f}× | {ratio(label, STOCK):.2f}× | "
            f"{cpu[label]:.0f} | {cpu[label] / cpu[CEILING]:.2f}× |"
        )
    return "\n".join(lines)


def main() -> None:
    with running_server() as url:
        samples = asyncio.run(bench(url))
    print(
        f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}, "
        f"gql {gql.__version__}, {platform.machine()}, "
        f"{CONCURRENCY} concurrent, {REQUESTS} requests x {ROUNDS} rounds per row\n"
    )
    print(table(samples))


if __name__ == "__main__":
    main()
