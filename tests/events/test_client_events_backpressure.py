"""Events subscriptions whose consumer falls behind: the queue stays bounded.

The same guarantee as GraphQL subscriptions (tests/realtime/test_backpressure.py),
through the Events path: events are published over HTTP by a second
``AppSyncEventsClient`` to the emulator, which verifies each request's
signature and fans every event out as one ``data`` frame on the subscriber's
``aws-appsync-event-ws`` socket. Memory is the process's resident set, read
between rounds of the same flood: flat with a bound; without one
(``max_queued_events=None``) it grows by about the flood's size, which shows
the measurement would see a leak.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from appsync_iam import (
    AppSyncEventsClient,
    ConfigurationError,
    ConnectionState,
    SubscriptionError,
)
from appsync_iam.emulator import AppSyncEmulator
from tests.realtime.rt_helpers import eventually
from tests.realtime.test_backpressure import (
    BAD_QUEUE_OPTIONS,
    STATM,
    release_freed_memory,
    rss,
)
from tests.realtime.test_backpressure import SlowConsumer as GraphQLSlowConsumer

from .ev_emulator_helpers import SDL

pytestmark = pytest.mark.skipif(not STATM.exists(), reason="needs /proc (Linux)")

CHANNEL = "/default/flood"
MARKER = "/default/marker"
PAYLOAD = "x" * 4096  # per event: ~4 KB as JSON text
ROUND = 3_000  # events per flood round: ~12 MB of payload
LIMIT = 100
FAST = {"backoff_base": 0.01, "backoff_cap": 0.05, "linger": 0.2}


@pytest.fixture
async def emulator() -> AsyncIterator[AppSyncEmulator]:
    async with AppSyncEmulator(SDL, event_namespaces=("default",), seed=7) as emu:
        yield emu


class Publisher:
    """Publishes events ``{"id": i, "text": PAYLOAD}`` with its own client."""

    def __init__(self, emulator: AppSyncEmulator, client: AppSyncEventsClient) -> None:
        self.emulator = emulator
        self.client = client

    async def flood(self, start: int, count: int, channel: str = CHANNEL) -> None:
        """Publish ids ``start``... over HTTP, 5 a request, one request at a
        time (so they arrive in order)."""
        events = [{"id": i, "text": PAYLOAD} for i in range(start, start + count)]
        result = await self.client.publish(channel, events, concurrency=1)
        assert result.ok and len(result.successful) == count
        # The emulator records what it accepted: forget it, or RSS counts it.
        assert len(self.emulator.published) == count
        self.emulator.published.clear()


@pytest.fixture
async def publisher(emulator: AppSyncEmulator) -> AsyncIterator[Publisher]:
    async with AppSyncEventsClient(
        emulator.events_url, credentials=emulator.credentials
    ) as client:
        yield Publisher(emulator, client)


class SlowConsumer(GraphQLSlowConsumer):
    """The GraphQL test's consumer on an Events ``channel``: it sleeps
    ``delay`` after each event or, with a ``gate``, holds its first event
    until the gate opens."""

    def __init__(
        self,
        client: AppSyncEventsClient,
        channel: str = CHANNEL,
        delay: float = 0.005,
        gate: asyncio.Event | None = None,
    ) -> None:
        self.channel = channel
        self.gate = gate
        super().__init__(client, delay)

    def _subscribe(self, client: AppSyncEventsClient) -> AsyncIterator[Any]:  # type: ignore[override]
        return client.subscribe_channel(self.channel, on_state=self.on_state)

    def _event_id(self, data: Any) -> int:
        return int(data["id"])

    async def _pause(self) -> None:
        if self.gate is not None:
            await self.gate.wait()
        else:
            await asyncio.sleep(self.delay)

    def connected(self) -> bool:
        return ConnectionState.CONNECTED in [s.state for s in self.events]


@asynccontextmanager
async def subscriber(
    emulator: AppSyncEmulator, **options: Any
) -> AsyncIterator[AppSyncEventsClient]:
    async with AppSyncEventsClient(
        emulator.events_url,
        credentials=emulator.credentials,
        realtime_options={**FAST, **options},  # type: ignore[arg-type]
    ) as client:
        yield client


async def subscribed(emulator: AppSyncEmulator, *consumers: SlowConsumer) -> None:
    await eventually(lambda: emulator.events.active_subscriptions == len(consumers))
    await eventually(lambda: all(c.connected() for c in consumers))


async def held(publisher: Publisher, consumer: SlowConsumer) -> None:
    """Event 0 published and taken: ``consumer`` now holds it at its gate."""
    await publisher.flood(0, 1)
    await eventually(lambda: consumer.ids == [0])


async def queued(publisher: Publisher, marker: SlowConsumer, n: int) -> None:
    """Publish event ``n`` to ``marker``'s channel and wait for it. Frames on
    one socket arrive in order, and a publish returns once the emulator has
    sent its frames: every event published before is then queued (or dropped)
    for the other subscriptions on the socket."""
    await publisher.flood(n, 1, MARKER)
    await eventually(lambda: marker.ids == [n])


class TestBoundedEventsQueue:
    @pytest.mark.timeout(60)
    async def test_a_flood_keeps_rss_flat_and_reports_every_drop(
        self, emulator: AppSyncEmulator, publisher: Publisher
    ) -> None:
        """3 rounds of 3,000 4-KB events published to a consumer taking one
        per 5 ms: RSS flat after the first round; at most the bound still to
        come once all are in; received + reported dropped == sent, in order,
        each gap reported just before the event after it."""
        sent = 3 * ROUND
        async with subscriber(emulator, max_queued_events=LIMIT) as client:
            consumer = SlowConsumer(client)
            marker = SlowConsumer(client, MARKER, delay=0)
            await subscribed(emulator, consumer, marker)
            await publisher.flood(0, ROUND)
            warm = rss()
            for n in (1, 2):
                await publisher.flood(n * ROUND, ROUND)
            grown = rss() - warm
            await queued(publisher, marker, sent)
            taken = len(consumer.ids)
            await eventually(
                lambda: len(consumer.ids) + consumer.dropped == sent, timeout=20
            )
            await consumer.stop()
            await marker.stop()
        print(f"\n[events backpressure] bounded: RSS +{grown / 2**20:.1f} MB")
        # Unbounded, two rounds keep >= 24 MB of payload alone (see below).
        assert grown < 6 * 2**20, f"RSS grew {grown / 2**20:.1f} MB"
        assert consumer.dropped > sent // 2  # the consumer really fell behind
        assert len(consumer.ids) - taken <= LIMIT  # what was queued at the end
        assert consumer.ids == sorted(set(consumer.ids))  # in order, no repeat
        assert consumer.ids[-1] == sent - 1  # the newest events are kept
        for before, dropped in consumer.gaps:
            expected = (consumer.ids[before - 1] + 1 if before else 0) + dropped
            assert consumer.ids[before] == expected
        overflows = [s for s in consumer.events if s.state is ConnectionState.OVERFLOW]
        assert all(s.reason and "fell behind" in s.reason for s in overflows)
        assert consumer.error is None

    @pytest.mark.timeout(60)
    async def test_without_a_bound_rss_grows_by_the_flood(
        self, emulator: AppSyncEmulator, publisher: Publisher
    ) -> None:
        """max_queued_events=None: the same rounds grow RSS by >= half their
        payload (the bounded test's measurement would see a leak)."""
        gate = asyncio.Event()  # never opened: one event taken, then none
        release_freed_memory()
        async with subscriber(emulator, max_queued_events=None) as client:
            consumer = SlowConsumer(client, gate=gate)
            await subscribed(emulator, consumer)
            await publisher.flood(0, ROUND)
            warm = rss()
            for n in (1, 2):
                await publisher.flood(n * ROUND, ROUND)
            await asyncio.sleep(0.1)
            grown = rss() - warm
            await consumer.stop()
        print(f"\n[events backpressure] unbounded: RSS +{grown / 2**20:.1f} MB")
        assert grown > ROUND * len(PAYLOAD) / 2
        assert consumer.dropped == 0

    @pytest.mark.timeout(30)
    async def test_drop_oldest_keeps_exactly_the_newest_bound(
        self, emulator: AppSyncEmulator, publisher: Publisher
    ) -> None:
        """The default policy: a consumer holding its first event while 500
        more arrive then gets one OVERFLOW (dropped=399) and exactly the
        newest 100, in order; a second subscription on the socket loses none."""
        count, limit = 501, LIMIT
        gate = asyncio.Event()
        async with subscriber(emulator, max_queued_events=limit) as client:
            slow = SlowConsumer(client, gate=gate)
            marker = SlowConsumer(client, MARKER, delay=0)
            await subscribed(emulator, slow, marker)
            await held(publisher, slow)
            await publisher.flood(1, count - 1)
            await queued(publisher, marker, count)
            assert slow.ids == [0] and slow.gaps == []  # reported when taken
            gate.set()
            await eventually(lambda: len(slow.ids) == 1 + limit)
            await asyncio.sleep(0.05)  # nothing more comes
            await slow.stop()
            await marker.stop()
        assert slow.ids == [0, *range(count - limit, count)]
        overflows = [s for s in slow.events if s.state is ConnectionState.OVERFLOW]
        assert len(overflows) == 1
        assert overflows[0].dropped == count - 1 - limit
        assert overflows[0].reason == (
            f"the consumer fell behind: {count - 1 - limit} events dropped"
        )
        assert slow.gaps == [(1, count - 1 - limit)]  # just before id 401
        assert slow.error is None
        assert [s.state for s in slow.events] == [
            ConnectionState.CONNECTING,
            ConnectionState.CONNECTED,
            ConnectionState.OVERFLOW,
            ConnectionState.CLOSED,
        ]

    @pytest.mark.timeout(30)
    async def test_error_policy_ends_the_subscription(
        self, emulator: AppSyncEmulator, publisher: Publisher
    ) -> None:
        """overflow="error": the queued events, then SubscriptionError; the
        channel is unsubscribed; a second subscription on the socket is
        unaffected."""
        gate = asyncio.Event()
        async with subscriber(
            emulator, max_queued_events=10, overflow="error"
        ) as client:
            slow = SlowConsumer(client, gate=gate)
            fast = SlowConsumer(client, delay=0)
            await subscribed(emulator, slow, fast)
            await held(publisher, slow)
            await publisher.flood(1, 49)
            await eventually(lambda: fast.ids == list(range(50)))
            # Held at its first event: 10 queued, the 11th overflows.
            await eventually(lambda: emulator.events.active_subscriptions == 1)
            assert emulator.events.stats["unsubscribes"] == 1
            assert not slow.task.done()  # raised after the queued events
            gate.set()
            await eventually(lambda: slow.error is not None)
            await fast.stop()
        assert slow.ids == list(range(11))
        assert isinstance(slow.error, SubscriptionError)
        assert str(slow.error) == (
            "the subscription's consumer fell behind: 10 events were queued "
            "when another arrived (overflow='error')"
        )
        assert not slow.error.connection_lost
        assert slow.events[-1].state is ConnectionState.CLOSED
        assert ConnectionState.OVERFLOW not in [s.state for s in slow.events]
        # The subscription's end does not disturb the socket.
        assert emulator.events.open_connections <= 1

    async def test_defaults_are_graphqls(
        self, emulator: AppSyncEmulator, publisher: Publisher
    ) -> None:
        """No options: the bound is 1,000 events and the policy drop_oldest."""
        gate = asyncio.Event()
        async with subscriber(emulator) as client:
            slow = SlowConsumer(client, gate=gate)
            marker = SlowConsumer(client, MARKER, delay=0)
            await subscribed(emulator, slow, marker)
            await held(publisher, slow)
            await publisher.flood(1, 1_001)  # 1,000 queued, then 1 over
            await queued(publisher, marker, 1_002)
            gate.set()
            await eventually(lambda: len(slow.ids) == 1_001)
            await slow.stop()
            await marker.stop()
        assert slow.gaps == [(1, 1)]
        assert slow.ids == [0, *range(2, 1_002)]

    @pytest.mark.timeout(30)
    async def test_a_consumer_that_keeps_up_loses_nothing_to_a_burst(
        self, emulator: AppSyncEmulator
    ) -> None:
        """As tests/realtime/test_backpressure.py's test of this name, through
        the Events reader: 5,000 events fanned out at once, bound 20, all of
        them reach a consumer doing no work."""
        count = 5_000
        async with subscriber(emulator, max_queued_events=20) as client:
            consumer = SlowConsumer(client, delay=0)
            await subscribed(emulator, consumer)
            events = [json.dumps({"id": i}) for i in range(count)]
            await emulator.events.fan_out(("default", "flood"), events)
            await eventually(lambda: len(consumer.ids) == count, timeout=20)
            await consumer.stop()
        assert consumer.ids == list(range(count))
        assert consumer.gaps == []

    @pytest.mark.parametrize("options", BAD_QUEUE_OPTIONS)
    def test_bad_options_are_refused(self, options: dict[str, Any]) -> None:
        """A bound below 1 or an unknown policy raises ConfigurationError
        naming the key, as for GraphQL subscriptions."""
        with pytest.raises(ConfigurationError, match=next(iter(options))):
            AppSyncEventsClient(
                "https://example.appsync-api.us-east-1.amazonaws.com/event",
                realtime_options=options,  # type: ignore[arg-type]
            )

    def test_unbounded_and_error_are_accepted(self) -> None:
        for options in ({"max_queued_events": None}, {"overflow": "error"}):
            AppSyncEventsClient(
                "https://example.appsync-api.us-east-1.amazonaws.com/event",
                realtime_options=options,  # type: ignore[arg-type]
            )
