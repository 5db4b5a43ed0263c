"""A consumer slower than its subscription: the event queue stays bounded.

Floods go through the emulator's real-time endpoint (``broadcast``: one
``data`` frame per event over the WebSocket) to ``AppSyncClient.subscribe``,
whose consumer reads one event every few milliseconds. Memory is the
process's resident set (``/proc/self/statm``), read between rounds of the
same flood: with a bound it stays flat; without one (``max_queued_events=
None``) it grows by about the flood's size, which shows the measurement
would see a leak.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from appsync_iam import (
    AppSyncClient,
    ConfigurationError,
    ConnectionEvent,
    ConnectionState,
    SubscriptionError,
)
from appsync_iam.emulator import AppSyncEmulator

from .rt_helpers import ON_MESSAGE, eventually

STATM = Path("/proc/self/statm")
pytestmark = pytest.mark.skipif(not STATM.exists(), reason="needs /proc (Linux)")

PAYLOAD = "x" * 4096  # per event: ~4 KB as text, twice that parsed and framed
ROUND = 3_000  # events per flood round: ~12 MB of payload
LIMIT = 100
#: Queue options refused with ConfigurationError naming the key (GraphQL and
#: Events subscriptions check them with the same code).
BAD_QUEUE_OPTIONS: list[dict[str, Any]] = [
    {"max_queued_events": 0},
    {"max_queued_events": -5},
    {"max_queued_events": 2.5},
    {"max_queued_events": True},
    {"overflow": "block"},
    {"overflow": None},
]


def rss() -> int:
    """Resident set size of this process, in bytes."""
    return int(STATM.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def release_freed_memory() -> None:
    """Hand the memory earlier tests freed back to the OS (glibc's
    ``malloc_trim``; elsewhere nothing), so that growth measured next is new
    memory and not reuse of that free heap (seen: an unbounded flood grew RSS
    by 5 MB, not 17, right after the Events flood tests freed 30 MB)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


class SlowConsumer:
    """Reads one event every ``delay`` seconds; records gaps where they fall.

    tests/events/test_client_events_backpressure.py subclasses it for Events
    channels (``_subscribe``, ``_event_id`` and ``_pause`` are its hooks).
    """

    def __init__(self, client: Any, delay: float = 0.005) -> None:
        self.ids: list[int] = []
        self.events: list[ConnectionEvent] = []
        self.gaps: list[tuple[int, int]] = []  # (items before the gap, dropped)
        self.error: SubscriptionError | None = None
        self.delay = delay
        self.iterator = self._subscribe(client)
        self.task = asyncio.ensure_future(self._run())

    def _subscribe(self, client: AppSyncClient) -> AsyncIterator[Any]:
        return client.subscribe(ON_MESSAGE, on_state=self.on_state)

    def _event_id(self, data: Any) -> int:
        return int(data["onMessagePosted"]["id"])

    async def _pause(self) -> None:
        await asyncio.sleep(self.delay)

    def on_state(self, event: ConnectionEvent) -> None:
        self.events.append(event)
        if event.state is ConnectionState.OVERFLOW:
            self.gaps.append((len(self.ids), event.dropped))

    async def _run(self) -> None:
        try:
            async for data in self.iterator:
                self.ids.append(self._event_id(data))
                await self._pause()
        except SubscriptionError as exc:
            self.error = exc

    @property
    def dropped(self) -> int:
        return sum(dropped for _, dropped in self.gaps)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def flood(
    emulator: AppSyncEmulator, start: int, count: int, pause: float = 0.0
) -> None:
    """``count`` events with ids ``start``... to every live subscription."""
    for i in range(start, start + count):
        data = {"onMessagePosted": {"id": str(i), "roomId": "r", "content": PAYLOAD}}
        assert await emulator.realtime.broadcast(data) >= 1
        if pause:
            await asyncio.sleep(pause)
        elif i % 200 == 0:
            await asyncio.sleep(0)  # let the client's reader run


@asynccontextmanager
async def consumer_for(
    emulator: AppSyncEmulator, **options: Any
) -> AsyncIterator[SlowConsumer]:
    async with AppSyncClient(
        emulator.url,
        credentials=emulator.credentials,
        realtime_options=options,  # type: ignore[arg-type]
    ) as client:
        consumer = SlowConsumer(client)
        await eventually(lambda: emulator.realtime.active_subscriptions == 1)
        await eventually(lambda: connected(consumer))
        try:
            yield consumer
        finally:
            await consumer.stop()


def connected(consumer: SlowConsumer) -> bool:
    return ConnectionState.CONNECTED in [e.state for e in consumer.events]


class TestBoundedQueue:
    @pytest.mark.timeout(60)
    async def test_a_flood_keeps_rss_flat_and_reports_every_drop(
        self, emulator: AppSyncEmulator
    ) -> None:
        """3 rounds of 3,000 4-KB events to a consumer taking one per 5 ms:
        RSS flat after the first round; received + reported dropped == sent,
        in order, each gap reported just before the event that follows it."""
        sent = 3 * ROUND
        async with consumer_for(emulator, max_queued_events=LIMIT) as consumer:
            await flood(emulator, 0, ROUND)
            warm = rss()
            for n in (1, 2):
                await flood(emulator, n * ROUND, ROUND)
            grown = rss() - warm
            await eventually(
                lambda: len(consumer.ids) + consumer.dropped == sent, timeout=20
            )
        print(f"\n[backpressure] bounded: RSS +{grown / 2**20:.1f} MB over 2 rounds")
        # Unbounded, two rounds keep >= 24 MB of payload alone (see below).
        assert grown < 6 * 2**20, f"RSS grew {grown / 2**20:.1f} MB"
        assert consumer.dropped > sent // 2  # the consumer really fell behind
        assert consumer.ids == sorted(set(consumer.ids))  # in order, no repeat
        assert consumer.ids[-1] == sent - 1  # the newest events are kept
        for before, dropped in consumer.gaps:
            # The gap sits just before the event that follows it.
            expected = (consumer.ids[before - 1] + 1 if before else 0) + dropped
            assert consumer.ids[before] == expected
        assert consumer.error is None

    @pytest.mark.timeout(60)
    async def test_without_a_bound_rss_grows_by_the_flood(
        self, emulator: AppSyncEmulator
    ) -> None:
        """max_queued_events=None: the same rounds grow RSS by >= their payload
        (the bounded test's measurement would see a leak)."""
        release_freed_memory()
        async with consumer_for(emulator, max_queued_events=None) as consumer:
            consumer.delay = 3600.0  # takes one event, then never another
            await flood(emulator, 0, ROUND)
            warm = rss()
            for n in (1, 2):
                await flood(emulator, n * ROUND, ROUND)
            await asyncio.sleep(0.1)
            grown = rss() - warm
        print(f"\n[backpressure] unbounded: RSS +{grown / 2**20:.1f} MB")
        # Two rounds hold 24 MB of payload; RSS shows less when the allocator
        # reuses what the warm-up freed (9.3 MB seen in CI). Half a round's
        # worth still separates it from the bounded run's +0.0 MB.
        assert grown > ROUND * len(PAYLOAD) / 2
        assert consumer.dropped == 0

    @pytest.mark.timeout(30)
    async def test_error_policy_ends_the_subscription(
        self, emulator: AppSyncEmulator
    ) -> None:
        """overflow="error": the queued events, then SubscriptionError; AppSync
        is told to stop; a second subscription on the socket is unaffected."""
        async with AppSyncClient(
            emulator.url,
            credentials=emulator.credentials,
            realtime_options={"max_queued_events": 10, "overflow": "error"},
        ) as client:
            slow = SlowConsumer(client, delay=0.5)
            fast = SlowConsumer(client, delay=0)
            await eventually(lambda: emulator.realtime.active_subscriptions == 2)
            for consumer in (slow, fast):
                await eventually(lambda c=consumer: connected(c))  # type: ignore[misc]
            await flood(emulator, 0, 50, pause=0.005)  # the fast one keeps up
            await eventually(lambda: slow.error is not None, timeout=10)
            assert slow.error is not None
            assert "fell behind" in str(slow.error)
            assert not slow.error.connection_lost
            # What was queued before the overflow is delivered first, in order.
            assert slow.ids == list(range(len(slow.ids)))
            assert 10 <= len(slow.ids) <= 12
            await eventually(lambda: emulator.realtime.active_subscriptions == 1)
            await eventually(lambda: fast.ids == list(range(50)))
            assert slow.events[-1].state is ConnectionState.CLOSED
            await fast.stop()

    @pytest.mark.timeout(30)
    async def test_a_consumer_that_keeps_up_loses_nothing_to_a_burst(
        self, emulator: AppSyncEmulator
    ) -> None:
        """5,000 small events broadcast at once to a consumer doing no work,
        with a bound of 20: one socket read holds hundreds of frames, but the
        reader yields once the queue is half full, so none is dropped."""
        count = 5_000
        async with consumer_for(emulator, max_queued_events=20) as consumer:
            consumer.delay = 0
            for i in range(count):
                data = {"onMessagePosted": {"id": str(i), "roomId": "r"}}
                assert await emulator.realtime.broadcast(data) == 1
            await eventually(lambda: len(consumer.ids) == count, timeout=20)
        assert consumer.ids == list(range(count))
        assert consumer.gaps == []

    @pytest.mark.parametrize("options", BAD_QUEUE_OPTIONS)
    def test_bad_options_are_refused(self, options: dict[str, Any]) -> None:
        """A bound below 1 or an unknown policy raises ConfigurationError."""
        with pytest.raises(ConfigurationError, match=next(iter(options))):
            AppSyncClient(
                "https://example.appsync-api.us-east-1.amazonaws.com/graphql",
                realtime_options=options,  # type: ignore[arg-type]
            )
