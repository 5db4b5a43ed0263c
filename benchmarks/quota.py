"""A batch at AppSync's quota: execute_many with and without rate="adaptive".

Run: ``.venv/bin/python benchmarks/quota.py`` (about a minute). Prints a
markdown table.

The emulator runs in its own process (its own core) with the quota fault:
a token bucket of ``QUOTA`` requests per second (burst: a tenth of a
second's worth), answering AppSync's throttling error to any request that
finds it empty, without running it. Each row is a fresh emulator and a
batch of ``N`` ``postMessage`` mutations (``content`` = the item's index),
``concurrency=64``, the default RetryPolicy (4 attempts; a throttled
mutation is retried: AppSync did not run it). Afterwards the emulator's
record is checked: every input ran at most once, and exactly the inputs
reported ok ran.

Columns: wall time; succeeded items per second of wall time and that as a
share of the quota; attempts (requests the emulator received), and the
share of them throttled; items failed (retries exhausted).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from appsync_iam import (
    AdaptiveRateLimiter,
    AppSyncClient,
    FrozenCredentials,
    ThrottlingError,
)

QUOTA = 1000.0
N = 20_000
CONCURRENCY = 64
POST = (
    "mutation Post($room: ID!, $content: String!) {"
    " postMessage(roomId: $room, content: $content) { id } }"
)


async def _serve(quota: float) -> None:
    from appsync_iam.emulator import AppSyncEmulator, sample_schema_path

    async with AppSyncEmulator(sample_schema_path("chat")) as emulator:
        emulator.faults.quota_per_s = quota
        creds = emulator.credentials
        print(json.dumps([emulator.url, creds.access_key, creds.secret_key]))
        sys.stdout.flush()
        await asyncio.to_thread(sys.stdin.readline)  # "stats"
        ran = Counter(
            op.arguments["content"]
            for op in emulator.executed
            if op.field == "postMessage"
        )
        print(
            json.dumps(
                {
                    "ran": dict(ran),
                    # No other fault: an attempt either ran or was throttled.
                    "attempts": sum(ran.values()) + emulator.faults.injected["quota"],
                    "quota": emulator.faults.injected["quota"],
                }
            )
        )
        sys.stdout.flush()


async def _batch(url: str, creds: FrozenCredentials, rate: Any) -> dict[str, Any]:
    ok: list[int] = []
    failed: list[int] = []
    throttled_failures = 0
    async with AppSyncClient(url, region="us-east-1", credentials=creds) as client:
        items = ({"room": "q", "content": str(i)} for i in range(N))
        started = time.perf_counter()
        async for r in client.execute_many(
            POST, items, concurrency=CONCURRENCY, rate=rate
        ):
            (ok if r.ok else failed).append(r.index)
            throttled_failures += isinstance(r.error, ThrottlingError)
        wall = time.perf_counter() - started
    return {
        "wall": wall,
        "ok": ok,
        "failed": failed,
        "throttled_failures": throttled_failures,
    }


def row(label: str, rate: Any) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", str(QUOTA)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        url, akid, secret = json.loads(proc.stdout.readline())
        out = asyncio.run(_batch(url, FrozenCredentials(akid, secret), rate))
        proc.stdin.write("stats\n")
        proc.stdin.flush()
        stats = json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)
    ran: dict[str, int] = stats["ran"]
    ok = sorted(out["ok"])
    reported = ok + out["failed"]
    assert sorted(reported) == list(range(N)), "an input reported twice or never"
    assert max(ran.values(), default=1) == 1, "an input ran twice"
    assert sorted(int(k) for k in ran) == ok, "ran != reported ok"
    attempts = stats["attempts"]
    wall = out["wall"]
    done = len(ok) / wall
    return (
        f"| {label} | {wall:.2f} | {done:,.0f} | {done / QUOTA:.3f}× | "
        f"{attempts:,} | {stats['quota'] / attempts:.2%} | {len(out['failed']):,} |"
    )


def main() -> None:
    print(
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{N:,} mutations, quota {QUOTA:,.0f}/s, concurrency {CONCURRENCY}, "
        "emulator in its own process\n"
    )
    print(
        "| execute_many | wall s | ok/s | × quota | attempts | throttled "
        "| failed |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    limiter = AdaptiveRateLimiter()
    print(row('rate="adaptive"', limiter), flush=True)
    print(row("no rate (retries only)", None), flush=True)
    print(row(f"rate={QUOTA:.0f} (TokenBucket)", QUOTA), flush=True)
    print(f"\nadaptive limiter at the end: {limiter!r}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        asyncio.run(_serve(float(sys.argv[2])))
    else:
        main()
