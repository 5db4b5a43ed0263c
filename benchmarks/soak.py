"""Soak: issue 7's reliability runs, longer than CI allows.

Run: ``.venv/bin/python benchmarks/soak.py [--duration 120] [--batch 50000]``
(about 2 × duration + 3 × batch / 1,000 seconds). Prints a markdown table.

Phases, each with the checks of its CI test (``tests/reliability/``, whose
helpers this script imports, so the accounting is literally the same); the
rotation runs first, on a small heap:

1. **Fault matrix** (in-process emulator, a fresh one per run): ``--batch``
   mutations through ``execute_many`` (32 concurrent) under 5 % throttling,
   2 % reset before execution, 1 % reset after execution, 1 % HTTP 5xx and
   0-5 ms latency; once with the default ``retry_mutations=False`` (ledger:
   no mutation ran twice, executed = successes + ambiguous failures that
   ran, every injected fault accounted for), once with
   ``retry_mutations=True`` (all succeed, the duplicates are exactly the
   retried resets after execution), and ``--batch`` queries (all succeed).
2. **Credential rotation** (emulator in a child process, so the loop lag and
   the RSS are the client's alone): 32 workers of queries and mutations for
   ``--duration`` seconds, credentials expiring every 3 s, each refresh
   200 ms in a worker thread. No failure may reach the caller, every
   mutation runs exactly once; loop lag from a 10 ms sleep.
3. **Subscription chaos**: the CI chaos test
   (``tests/reliability/test_chaos.py``) for ``--duration`` seconds, run by
   pytest in a subprocess; its summary line is reported. ``--no-chaos``
   skips it.

RSS is this process's resident set at the start and end of a phase; in the
fault matrix it includes the in-process emulator and its record of every
operation it ran (which this script needs for the accounting).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import gc
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appsync_iam import (  # noqa: E402
    AppSyncClient,
    AppSyncError,
    CallableCredentials,
    RetryPolicy,
)
from appsync_iam.emulator import AppSyncEmulator  # noqa: E402
from tests.reliability.reliability_helpers import (  # noqa: E402
    FAULT_KINDS,
    GET_ROOM,
    POST,
    Batch,
    CountingSource,
    EmulatorProcess,
    LagMonitor,
    RotatingIssuer,
    executed_counts,
    inject_fault_mix,
    inputs,
    mutation_ledger,
    retried_ledger,
    run_batch,
)

SEED = 20_240_607
WORKERS = 32
PACE = 0.01


@dataclass
class Row:
    phase: str
    load: str
    faults: str
    tried: str
    lost: str
    rate: str
    lag: str
    rss: str


def rss_mb() -> float:
    """This process's resident set now, MB (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def n(value: float) -> str:
    return f"{value:,.0f}"


def injected_text(injected: Counter[str]) -> str:
    names = {
        "throttle": "throttled",
        "reset_before": "reset before",
        "reset_after": "reset after",
        "error_5xx": "5xx",
    }
    parts = [f"{names[k]} {n(injected[k])}" for k in FAULT_KINDS]
    return ", ".join(parts) + f"; latency on {n(injected['latency'])} requests"


# --- phase 1 --------------------------------------------------------------------


async def fault_run(kind: str, size: int) -> Row:
    """One fault-matrix run on a fresh in-process emulator."""
    rss_before = rss_mb()
    tag, query, key, fixed = {
        "default": ("m", POST, "content", {"room": "soak"}),
        "opt-in": ("o", POST, "content", {"room": "soak"}),
        "queries": ("q", GET_ROOM, "id", {}),
    }[kind]
    policy = RetryPolicy(max_attempts=8, retry_mutations=kind == "opt-in")
    batch = Batch(tag, size, bytearray(size))
    async with AppSyncEmulator("chat") as emulator:
        inject_fault_mix(emulator, SEED)
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=policy
        ) as client:
            async with LagMonitor() as lag:
                await run_batch(
                    client, query, inputs(batch, key, **fixed), batch, key,
                    ordered=False,
                )  # fmt: skip
        injected = Counter(emulator.faults.injected)
        field_name = "getRoom" if kind == "queries" else "postMessage"
        executed = executed_counts(emulator, batch, field_name, key)
        rss_after = rss_mb()
    if kind == "default":
        problems = mutation_ledger(batch, executed, injected)
        ran_ambiguous = len(batch.ambiguous & set(executed))
        verdict = (
            f"each input reported once; 0 ran twice; executed "
            f"{n(len(executed))} = {n(len(batch.ok))} ok + {n(ran_ambiguous)} "
            f"ambiguous that ran; {n(len(batch.ambiguous))} reported ambiguous"
        )
        phase = "fault matrix: mutations, `retry_mutations=False`"
    else:
        problems = retried_ledger(batch, executed, injected)
        if batch.ok != set(range(size)):
            problems.append(f"{size - len(batch.ok)} failed")
        extra = sum(executed.values()) - len(executed)
        verdict = f"all {n(len(batch.ok))} ok; each input reported once"
        if kind == "opt-in":
            verdict += (
                f"; {n(extra)} duplicate executions = {n(injected['reset_after'])}"
                " retried resets after execution (the opt-in's trade-off)"
            )
            phase = "fault matrix: mutations, `retry_mutations=True`"
        else:
            phase = "fault matrix: queries"
    if problems:
        verdict = "**NO**: " + "; ".join(problems)
    return Row(
        phase=phase,
        load=f"{n(size)} via `execute_many`, 32 concurrent, {batch.wall:.0f} s",
        faults=injected_text(injected),
        tried=f"{n(size)} inputs, {n(injected['latency'])} requests",
        lost=verdict,
        rate=f"{batch.throughput:,.0f}/s",
        lag=f"{lag.max_lag * 1000:.0f} ms (emulator on the same loop)",
        rss=f"{rss_before:.0f} → {rss_after:.0f} MB",
    )


# --- phase 2 --------------------------------------------------------------------


async def rotation_run(seconds: float) -> Row:
    """Credentials expiring every 3 s under 32 workers, emulator in a child."""
    rss_before = rss_mb()
    with EmulatorProcess("chat", seed=SEED) as server:
        issuer = RotatingIssuer(server.add_principal, lifetime=3.0, delay=0.2)
        source = CountingSource(CallableCredentials(issuer))
        queries = 0
        mutations: list[str] = []
        failures: Counter[str] = Counter()
        deadline = time.monotonic() + seconds

        async def worker(w: int) -> None:
            nonlocal queries
            i = 0
            while time.monotonic() < deadline:
                ident = f"w{w}-{i}"
                try:
                    if i % 2:
                        await client.execute_async(
                            POST, {"room": "rot", "content": ident}
                        )
                        mutations.append(ident)
                    else:
                        await client.execute_async(GET_ROOM, {"id": ident})
                        queries += 1
                except AppSyncError as exc:
                    failures[type(exc).__name__] += 1
                i += 1
                await asyncio.sleep(PACE)

        started = time.perf_counter()
        async with AppSyncClient(server.url, credentials=source) as client:
            async with LagMonitor() as lag:
                await asyncio.gather(*(worker(w) for w in range(WORKERS)))
        wall = time.perf_counter() - started
        rss_after = rss_mb()
        ran = Counter(
            str(arguments["content"])
            for _, field_name, arguments, _ in server.executed()
            if field_name == "postMessage"
        )
    requests = queries + len(mutations)
    exact = ran == Counter(mutations)
    lost = (
        f"0 failures reached the caller; {n(len(mutations))} mutations each ran "
        f"exactly once; {source.forced} tokens rejected"
    )
    if failures or not exact:
        lost = f"**NO**: failures {dict(failures)}, mutations exact: {exact}"
    return Row(
        phase="credential rotation (3 s credentials, 200 ms refresh off the loop)",
        load=f"{WORKERS} workers × {seconds:.0f} s, queries and mutations",
        faults=f"{len(issuer.issued)} credential refreshes",
        tried=f"{n(requests)} requests ({n(len(mutations))} mutations)",
        lost=lost,
        rate=f"{requests / wall:,.0f}/s",
        lag=(
            f"{lag.max_lag * 1000:.0f} ms; "
            f"{lag.max_lag_during(issuer.windows) * 1000:.0f} ms during refreshes"
        ),
        rss=f"{rss_before:.0f} → {rss_after:.0f} MB (client only)",
    )


# --- phase 3 --------------------------------------------------------------------


def chaos_run(seconds: float) -> Row:
    """The CI chaos test, ``seconds`` long, in a pytest subprocess."""
    env = {
        **os.environ,
        "APPSYNC_CHAOS_SECONDS": str(seconds),
        "APPSYNC_IAM_AUDIT": "0",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
         "tests/reliability/test_chaos.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    match = re.search(r"subscription chaos: (\{.*\})", done.stdout)
    summary: dict[str, Any] = ast.literal_eval(match.group(1)) if match else {}
    passed = done.returncode == 0 and bool(summary)
    if not passed:
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        return Row("subscription chaos", f"{seconds:.0f} s", "-", "-",
                   "**NO**: " + " / ".join(tail), "-", "-", "-")  # fmt: skip
    rounds = ", ".join(f"{k} {v}" for k, v in summary.get("rounds", {}).items())
    events = summary.get("events_total", 0)
    return Row(
        phase="subscription chaos (`test_chaos.py`, 5 subscriptions, one client)",
        load=f"{summary['seconds']:.0f} s, a mutation every 25 ms",
        faults=(
            f"rounds: {rounds}; {summary.get('drops_injected', 0)} sockets "
            f"dropped at age; ka withheld {summary.get('withheld_ka_seconds')} s"
        ),
        tried=(
            f"{n(summary.get('mutations_posted', 0))} mutations, {n(events)} "
            f"events; {summary.get('emulator_reconnects_seen')} reconnections"
        ),
        lost=(
            f"{summary.get('lost_while_connected')} of "
            f"{n(summary.get('events_due_while_connected', 0))} lost while "
            f"connected; every gap reported; max recovery "
            f"{summary.get('max_recovery_s')} s"
        ),
        rate=f"{events / summary['seconds']:,.0f} events/s",
        lag="-",
        rss=f"(subprocess, {wall:.0f} s)",
    )


# --- main ---------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    head = (
        "| phase | load held | faults injected | inputs tried | nothing lost "
        "| throughput | max loop lag | RSS |\n|---|---|---|---|---|---:|---|---|"
    )
    lines = [
        f"| {r.phase} | {r.load} | {r.faults} | {r.tried} | {r.lost} | {r.rate} "
        f"| {r.lag} | {r.rss} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


async def phases(args: argparse.Namespace) -> list[Row]:
    # Rotation first: its loop lag and RSS are the client's alone, before the
    # in-process emulator of the fault matrix has grown the heap (its record
    # of every operation), which would lengthen every full GC pass.
    print(f"… credential rotation: {args.duration:.0f} s", file=sys.stderr)
    rows = [await rotation_run(args.duration)]
    for kind in ("default", "opt-in", "queries"):
        print(f"… fault matrix, {kind}: {args.batch:,} items", file=sys.stderr)
        gc.collect()
        rows.append(await fault_run(kind, args.batch))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--no-chaos", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = asyncio.run(phases(args))
    if not args.no_chaos:
        print(f"… subscription chaos: {args.duration:.0f} s", file=sys.stderr)
        rows.append(chaos_run(args.duration))
    print(
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} cores; soak of {time.perf_counter() - started:.0f} s; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    print()
    print(table(rows))
    return 1 if any(row.lost.startswith("**NO**") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
