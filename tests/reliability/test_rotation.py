"""Credential rotation under load (issue 7, point 2).

An async credential source over the emulator's principals issues temporary
credentials that expire every 3 seconds; each issue takes 200 ms in a worker
thread (a slow STS call). 32 workers send queries and mutations for 30 s.
No authorization failure reaches the caller, every mutation runs exactly
once, and an event-loop lag monitor (a 10 ms sleep, overshoot recorded) sees
no stall over 50 ms while a refresh is in flight: the refresh is off the loop.
The emulator runs in a child process, so the lag measured is the client's
own, as against the real AppSync.

Old principals stay valid until their own expiry, as AWS keeps issued
session credentials valid until they expire; the client refreshes in the
last half of their life, so it never signs with a token about to expire.
A second case has the server expire each token long before the expiry the
credentials announce (as a server clock ahead of ours would): AppSync
answers ``ExpiredTokenException``, the client refreshes once and retries
(the mutation did not run), and still nothing reaches the caller.

Revoking the old key the moment a new one is issued (not what AWS does with
session credentials): requests signed with it just before are rejected with
``UnrecognizedClientException`` before they run; the client refreshes once
and re-signs with the new key, so nothing reaches the caller either
(``test_old_key_revoked_at_rotation``).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from appsync_iam import AppSyncClient, AppSyncError, CallableCredentials
from appsync_iam.emulator import AppSyncEmulator

from .reliability_helpers import (
    GET_ROOM,
    POST,
    CountingSource,
    EmulatorProcess,
    LagMonitor,
    RotatingIssuer,
)

WORKERS = 32
#: Each worker pauses this long between requests: steady load (1,500-2,000
#: requests/s here) that leaves the loop room, so lag means a stall.
PACE = 0.01
STALL_LIMIT = 0.05


@pytest.fixture
async def emulator() -> AsyncIterator[AppSyncEmulator]:
    """The chat sample on 127.0.0.1, in this process."""
    async with AppSyncEmulator("chat", seed=3) as emu:
        yield emu


@pytest.fixture
def server() -> Iterator[EmulatorProcess]:
    """The chat sample on 127.0.0.1 in a child process: the lag is the client's."""
    with EmulatorProcess("chat", seed=3) as process:
        yield process


@dataclass
class Load:
    """What the workers did."""

    queries: int = 0
    mutations: list[str] = field(default_factory=list)  # ids that succeeded
    failures: list[AppSyncError] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return self.queries + len(self.mutations)


async def steady_load(client: AppSyncClient, seconds: float) -> Load:
    """``WORKERS`` workers alternating queries and mutations for ``seconds``."""
    load = Load()
    deadline = time.monotonic() + seconds

    async def worker(w: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            ident = f"w{w}-{i}"
            try:
                if i % 2:
                    await client.execute_async(POST, {"room": "rot", "content": ident})
                    load.mutations.append(ident)
                else:
                    await client.execute_async(GET_ROOM, {"id": ident})
                    load.queries += 1
            except AppSyncError as exc:
                load.failures.append(exc)
            i += 1
            await asyncio.sleep(PACE)

    await asyncio.gather(*(worker(w) for w in range(WORKERS)))
    return load


def executed_mutations(server: EmulatorProcess) -> Counter[str]:
    return Counter(
        str(arguments["content"])
        for _, field_name, arguments, _ in server.executed()
        if field_name == "postMessage"
    )


def report(name: str, load: Load, issuer: RotatingIssuer, lag: LagMonitor,
           source: CountingSource, seconds: float) -> None:  # fmt: skip
    sys.stdout.write(
        f"\n[rotation] {name}: {load.requests} requests in {seconds:.0f} s "
        f"({load.requests / seconds:.0f}/s), {len(load.failures)} failures, "
        f"{len(issuer.issued)} credentials issued, {source.forced} forced "
        f"refreshes, max loop lag {lag.max_lag * 1000:.1f} ms (during refreshes "
        f"{lag.max_lag_during(issuer.windows) * 1000:.1f} ms)\n"
    )


class TestRotation:
    """Credentials expiring every 3 s under 32 workers of steady load."""

    @pytest.mark.timeout(90)
    async def test_30s_of_rotation_under_load(self, server: EmulatorProcess) -> None:
        """No failure reaches the caller; no stall over 50 ms from a refresh."""
        seconds = 30.0
        issuer = RotatingIssuer(server.add_principal, lifetime=3.0, delay=0.2)
        source = CountingSource(CallableCredentials(issuer))
        async with AppSyncClient(server.url, credentials=source) as client:
            async with LagMonitor() as lag:
                load = await steady_load(client, seconds)
        report("AWS-like expiry", load, issuer, lag, source, seconds)
        assert load.failures == []
        # 3 s credentials, refreshed in the advisory window (the last half of
        # their life): about one issue every 1.7 s.
        assert len(issuer.issued) >= seconds / 3.0
        # Refreshed ahead of expiry: AppSync never had to reject a token.
        assert source.forced == 0
        used = {access_key for *_, access_key in server.executed()}
        assert len(used) >= len(issuer.issued) - 2
        ran = executed_mutations(server)
        assert sorted(ran) == sorted(load.mutations)  # each exactly once
        assert load.requests >= 200 * seconds  # the load was held
        assert lag.max_lag_during(issuer.windows) < STALL_LIMIT
        assert lag.max_lag < 0.15  # a 200 ms blocking refresh would show
        assert len(lag.samples) > seconds / 0.03  # the monitor kept running

    @pytest.mark.timeout(60)
    async def test_server_expires_tokens_early(self, server: EmulatorProcess) -> None:
        """Tokens rejected as expired are refreshed once and retried, unseen."""
        seconds = 10.0
        # The server expires each token after 1.5 s; the credentials claim
        # 6 s, so the client only refreshes ahead after 3 s: for ~1.5 s of
        # every cycle AppSync answers ExpiredTokenException.
        issuer = RotatingIssuer(server.add_principal, lifetime=6.0, server_lifetime=1.5)
        source = CountingSource(CallableCredentials(issuer))
        async with AppSyncClient(server.url, credentials=source) as client:
            async with LagMonitor() as lag:
                load = await steady_load(client, seconds)
        report("server expires early", load, issuer, lag, source, seconds)
        assert load.failures == []
        assert source.forced >= 2  # the expired-token path really ran
        assert len(issuer.issued) >= 3
        ran = executed_mutations(server)
        assert sorted(ran) == sorted(load.mutations)  # a rejection never ran
        assert lag.max_lag_during(issuer.windows) < STALL_LIMIT

    @pytest.mark.timeout(60)
    async def test_old_key_revoked_at_rotation(self, server: EmulatorProcess) -> None:
        """Revoking the old key when a new one is issued fails no request."""
        seconds = 5.0
        issued: list[str] = []

        def register_and_revoke(
            key: str, secret: str, token: str, expires_at: datetime
        ) -> None:
            server.add_principal(key, secret, token, expires_at)
            if issued:
                server.remove_principal(issued[-1])
            issued.append(key)

        issuer = RotatingIssuer(register_and_revoke, lifetime=3.0)
        async with AppSyncClient(
            server.url, credentials=CallableCredentials(issuer)
        ) as client:
            load = await steady_load(client, seconds)
        ran = executed_mutations(server)
        assert sorted(ran) == sorted(load.mutations)  # a rejection never ran
        assert len(issued) >= 2
        # Requests signed with the revoked key are rejected before they run
        # (UnrecognizedClientException); the client refreshes and re-signs.
        statuses = server.statuses()
        assert statuses[401] + statuses[403] > 0  # the rejections happened
        assert load.failures == []


class TestLagMonitor:
    """The monitor itself: it would see a refresh that blocked the loop."""

    async def test_a_blocking_refresh_is_seen(self, emulator: AppSyncEmulator) -> None:
        """A 200 ms refresh run on the loop shows as a lag of at least 150 ms."""

        async def blocking_issue() -> object:
            time.sleep(0.2)  # what an off-loop refresh must not do
            return emulator.credentials

        async with AppSyncClient(
            emulator.url, credentials=CallableCredentials(blocking_issue)
        ) as client:
            async with LagMonitor() as lag:
                await asyncio.sleep(0.05)
                await client.execute_async(GET_ROOM, {"id": "x"})
                await asyncio.sleep(0.05)
        assert lag.max_lag >= 0.15
