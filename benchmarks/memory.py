"""Peak memory of ``execute_many`` over 10,000 vs 100,000 items.

Run: ``.venv/bin/python benchmarks/memory.py`` (about a minute). Prints a
markdown table.

Each measurement is a fresh Python process (so peaks don't mix) that builds
one ``AppSyncClient``, sends one warm-up request, then streams a *generator*
of N variable mappings through ``execute_many(concurrency=64)``, counting the
results and dropping them. The loopback server (``benchmarks/_server.py``)
runs in its own process. Peak RSS is the child's ``ru_maxrss``; sizes are
interleaved and run twice, the table shows the larger peak of the two.
Target (architecture.md): 100k items use no more than +30 MB over 10k.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

from _server import running_server

SIZES = (10_000, 100_000)
REPEATS = 2

CHILD = textwrap.dedent(
    """
    import asyncio, resource, sys, time
    from appsync_iam import AppSyncClient, FrozenCredentials

    QUERY = "mutation P($room: ID!, $n: Int!) { post(roomId: $room, n: $n) { id } }"

    def rss_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    async def main(url, n, ordered):
        client = AppSyncClient(
            url, credentials=FrozenCredentials("AKIDEXAMPLE", "secret", "token")
        )
        async with client:
            await client.execute_async(QUERY, {"room": "warm", "n": 0})
            baseline = rss_mb()
            items = ({"room": "r", "n": i} for i in range(n))
            ok = 0
            started = time.perf_counter()
            async for result in client.execute_many(
                QUERY, items, concurrency=64, ordered=ordered
            ):
                ok += result.ok
            elapsed = time.perf_counter() - started
        assert ok == n, (ok, n)
        print(baseline, rss_mb(), elapsed)

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "ordered"))
    """
)


def measure(url: str, n: int, mode: str) -> tuple[float, float, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(n), mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout.split()
    baseline, peak, elapsed = (float(x) for x in out)
    return baseline, peak, elapsed


def main() -> None:
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    with running_server() as url:
        for _ in range(REPEATS):
            for mode in ("ordered", "unordered"):
                for n in SIZES:
                    results.setdefault((mode, n), []).append(measure(url, n, mode))
    print(
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"concurrency 64, {REPEATS} runs per row (largest peak shown)\n"
    )
    print("| mode | items | RSS after warm-up MB | peak RSS MB | growth vs 10k |")
    print("|---|---:|---:|---:|---:|")
    for mode in ("ordered", "unordered"):
        small = max(p for _, p, _ in results[(mode, SIZES[0])])
        for n in SIZES:
            runs = results[(mode, n)]
            base = max(b for b, _, _ in runs)
            peak = max(p for _, p, _ in runs)
            growth = f"{peak - small:+.1f} MB" if n != SIZES[0] else "—"
            print(f"| {mode} | {n:,} | {base:.1f} | {peak:.1f} | {growth} |")


if __name__ == "__main__":
    main()
