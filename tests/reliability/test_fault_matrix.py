"""Fault matrix (issue 7, point 1): 5,000 operations through ``execute_many``
against the emulator injecting 5 % throttling, 2 % reset before execution,
1 % reset after execution, 1 % HTTP 5xx and 0-5 ms of latency (seeded).

The accounting, checked against what the emulator really ran
(``emulator.executed``) and what it injected (``emulator.faults.injected``):

- A throttled attempt did not run: it is retried, for mutations too.
- A reset or a 5xx after the request was sent is *ambiguous*: the mutation
  may have run (``TransportError.sent`` is True; a 5xx is not a "did not
  run" 4xx). By default such a mutation is not retried (architecture
  decision 10), it is reported. So successes ⊆ executed ⊆ successes ∪
  ambiguous failures, and executed = successes + the ambiguous failures that
  the emulator shows it ran (exactly the injected resets after execution).
- With ``RetryPolicy(retry_mutations=True)`` every fault is retried: all
  succeed, and the only duplicates are the resets after execution that were
  retried (the trade-off of opting in).
- Queries retry on every transient failure: all succeed.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest

from appsync_iam import AppSyncClient, RetryPolicy
from appsync_iam.emulator import AppSyncEmulator

from .reliability_helpers import (
    FAULT_KINDS,
    GET_ROOM,
    POST,
    Batch,
    executed_counts,
    inject_fault_mix,
    inputs,
    mutation_ledger,
    retried_ledger,
    run_batch,
)

N = 5_000
SEED = 20_240_607
#: The default backoff, more attempts: 8 throttles in a row (p = 0.05**8)
#: or 8 faults in a row for a query (p = 0.09**8) do not happen in 5,000.
POLICY = RetryPolicy(max_attempts=8)
OPT_IN = RetryPolicy(max_attempts=8, retry_mutations=True)


@pytest.fixture
async def emulator() -> AsyncIterator[AppSyncEmulator]:
    """The chat sample on 127.0.0.1 with issue 7's fault mix, seeded."""
    async with AppSyncEmulator("chat") as emu:
        inject_fault_mix(emu, SEED)
        yield emu


def report(name: str, batch: Batch, emulator: AppSyncEmulator) -> None:
    """One line of figures (shown with ``pytest -s``)."""
    injected = {k: emulator.faults.injected[k] for k in (*FAULT_KINDS, "latency")}
    sys.stdout.write(
        f"\n[fault matrix] {name}: {batch.n} inputs in {batch.wall:.2f} s "
        f"({batch.throughput:.0f}/s); outcomes {dict(batch.kinds())}; "
        f"injected {injected}\n"
    )


class TestMutations:
    """5,000 mutations under the fault mix: none lost, none run twice."""

    @pytest.mark.timeout(120)
    async def test_default_policy_never_duplicates(
        self, emulator: AppSyncEmulator
    ) -> None:
        """Every input is reported once; no mutation runs twice; the ledger balances."""
        batch = Batch("m", N, bytearray(N))
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=POLICY
        ) as client:
            await run_batch(
                client, POST, inputs(batch, "content", room="fm"), batch, "content",
                ordered=False,
            )  # fmt: skip
        injected = emulator.faults.injected
        executed = executed_counts(emulator, batch, "postMessage", "content")
        report("mutations, retry_mutations=False", batch, emulator)
        assert mutation_ledger(batch, executed, injected) == []
        # Every kind of fault really happened, and the client reported each.
        assert all(injected[kind] > 0 for kind in FAULT_KINDS), injected
        assert len(batch.ambiguous) == (
            injected["reset_before"] + injected["reset_after"] + injected["error_5xx"]
        )
        assert batch.not_run == set()  # no throttle outlasted 8 attempts
        assert sum(executed.values()) == len(batch.ok) + injected["reset_after"]

    @pytest.mark.timeout(120)
    async def test_opt_in_retries_and_duplicates_only_reset_after(
        self, emulator: AppSyncEmulator
    ) -> None:
        """retry_mutations=True: all succeed; duplicates = retried resets-after."""
        batch = Batch("o", N, bytearray(N))
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=OPT_IN
        ) as client:
            await run_batch(
                client, POST, inputs(batch, "content", room="fo"), batch, "content"
            )
        injected = emulator.faults.injected
        executed = executed_counts(emulator, batch, "postMessage", "content")
        report("mutations, retry_mutations=True", batch, emulator)
        assert retried_ledger(batch, executed, injected) == []
        assert batch.ok == set(range(N))
        duplicated = sum(count - 1 for count in executed.values())
        assert duplicated == injected["reset_after"] > 0
        assert set(executed) == set(range(N))


class TestQueries:
    """5,000 queries under the fault mix: every one succeeds."""

    @pytest.mark.timeout(120)
    async def test_all_queries_succeed(self, emulator: AppSyncEmulator) -> None:
        """Queries retry on throttling, resets and 5xx alike; none fails."""
        batch = Batch("q", N, bytearray(N))
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=POLICY
        ) as client:
            await run_batch(client, GET_ROOM, inputs(batch, "id"), batch, "id")
        injected = emulator.faults.injected
        executed = executed_counts(emulator, batch, "getRoom", "id")
        report("queries", batch, emulator)
        assert batch.ok == set(range(N)), batch.kinds()
        assert retried_ledger(batch, executed, injected) == []
        assert all(injected[kind] > 0 for kind in FAULT_KINDS), injected
