"""AppSyncEventsClient against the emulator on loopback (which verifies every
signature with botocore): HTTP and WebSocket publish, wildcards, per-event
failures, limits, bad channels, retries, reconnect with re-sign and
resubscribe after drops and withheld keep-alives, gaps reported."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from appsync_iam import (
    AppSyncEventsClient,
    AppSyncEventsEndpoint,
    AuthorizationError,
    ConfigurationError,
    ConnectionEvent,
    ConnectionState,
    FrozenCredentials,
    HTTPStatusError,
    PublishError,
    RetryPolicy,
    SubscriptionError,
    TransportError,
)
from appsync_iam.emulator import AppSyncEmulator

from .ev_emulator_helpers import SDL

FAST = {"backoff_base": 0.01, "backoff_cap": 0.05, "linger": 0.2}
FAST_RETRY = RetryPolicy(max_attempts=6, base_delay=0.001, max_delay=0.01)


@pytest.fixture
async def emulator() -> AsyncIterator[AppSyncEmulator]:
    async with AppSyncEmulator(
        SDL, event_namespaces=("default", "chat"), seed=5
    ) as emu:
        yield emu


@pytest.fixture
async def client(emulator: AppSyncEmulator) -> AsyncIterator[AppSyncEventsClient]:
    async with AppSyncEventsClient(
        emulator.events_url,
        credentials=emulator.credentials,
        retry=FAST_RETRY,
        realtime_options=FAST,
    ) as c:
        yield c


class Collector:
    """Consume a subscription in a task; record events and states."""

    def __init__(self, client: AppSyncEventsClient, channel: str) -> None:
        self.events: list[Any] = []
        self.states: list[ConnectionEvent] = []
        self.error: BaseException | None = None
        self._arrived = asyncio.Event()
        self.task = asyncio.create_task(self._run(client, channel))

    async def _run(self, client: AppSyncEventsClient, channel: str) -> None:
        try:
            async for event in client.subscribe_channel(
                channel, on_state=self.states.append
            ):
                self.events.append(event)
                self._arrived.set()
        except Exception as exc:
            self.error = exc

    def connected(self) -> int:
        return sum(s.state is ConnectionState.CONNECTED for s in self.states)

    async def until(self, check: Any, timeout: float = 5.0) -> None:
        async def wait() -> None:
            while not check():
                await asyncio.sleep(0.01)

        await asyncio.wait_for(wait(), timeout)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_http_publish_batches_and_order(
    client: AppSyncEventsClient, emulator: AppSyncEmulator
) -> None:
    events = [{"n": i, "text": "héllo <x>"} for i in range(12)]
    result = await client.publish("/default/room1", events)
    assert result.ok and [e.index for e in result.successful] == list(range(12))
    assert all(e.identifier for e in result.successful)
    published = emulator.published
    assert len(published) == 12
    assert {p.via for p in published} == {"http"}
    assert sorted(p.value["n"] for p in published) == list(range(12))
    assert emulator.events.stats["publishes"] == 3  # 5 + 5 + 2


async def test_websocket_publish_and_wildcard_fan_out(
    client: AppSyncEventsClient, emulator: AppSyncEmulator
) -> None:
    everything = Collector(client, "/default/*")
    exact = Collector(client, "default/room1")
    await everything.until(lambda: everything.connected() and exact.connected())
    result = await client.publish("/default/room1", [1, "two"], via="websocket")
    assert result.ok and len(result) == 2
    await client.publish("/default/a/b/c", [{"deep": True}])
    await client.publish("/chat/room1", ["not for default"], via="websocket")
    await everything.until(lambda: len(everything.events) == 3)
    await exact.until(lambda: len(exact.events) == 2)
    assert everything.events == [1, "two", {"deep": True}]
    assert exact.events == [1, "two"]
    assert [p.via for p in emulator.published] == ["ws", "ws", "http", "ws"]
    assert emulator.events.open_connections == 1  # one socket for everything
    await everything.stop()
    await exact.stop()
    assert everything.states[-1].state is ConnectionState.CLOSED
    assert [s.state for s in exact.states][:2] == [
        ConnectionState.CONNECTING,
        ConnectionState.CONNECTED,
    ]


@pytest.mark.parametrize("via", ["http", "websocket"])
async def test_per_event_failures(
    client: AppSyncEventsClient, emulator: AppSyncEmulator, via: Any
) -> None:
    emulator.faults.fail_event_indices = {1}
    result = await client.publish("/default/a", list(range(7)), via=via)
    assert not result.ok
    assert [f.index for f in result.failed] == [1, 6]  # index 1 of each batch
    assert {f.code for f in result.failed} == {400}
    assert [e.index for e in result.successful] == [0, 2, 3, 4, 5]
    assert sorted(p.value for p in emulator.published) == [0, 2, 3, 4, 5]


async def test_bad_input_sends_nothing(
    client: AppSyncEventsClient, emulator: AppSyncEmulator
) -> None:
    before = len(emulator.requests)
    for channel in ("/default/*", "/default//a", "/a/b/c/d/e/f", "/default/x_y", ""):
        with pytest.raises(ConfigurationError):
            await client.publish(channel, [1])
    with pytest.raises(ConfigurationError, match="240 KB"):
        await client.publish("/default/a", ["x" * 250_000])
    with pytest.raises(ConfigurationError, match="empty"):
        await client.publish("/default/a", [])
    with pytest.raises(ConfigurationError):
        async for _ in client.subscribe_channel("/default/*/x"):
            pass
    assert len(emulator.requests) == before
    assert emulator.published == []
    assert emulator.events.stats["subscribes"] == 0


async def test_unknown_namespace(
    client: AppSyncEventsClient, emulator: AppSyncEmulator
) -> None:
    with pytest.raises(HTTPStatusError) as info:
        await client.publish("/nowhere/a", [1])
    assert info.value.status == 404
    with pytest.raises(PublishError) as ws_info:
        await client.publish("/nowhere/a", [1], via="websocket")
    assert ws_info.value.error_type
    sub = Collector(client, "/nowhere/*")
    await sub.until(lambda: sub.error is not None)
    assert isinstance(sub.error, SubscriptionError)


async def test_past_the_subscription_quota_one_subscription_ends(
    client: AppSyncEventsClient, emulator: AppSyncEmulator
) -> None:
    # One socket per client (README, Limits): the third subscription past a
    # quota of 2 ends with AppSync's error; the other two keep receiving.
    emulator.events.max_subscriptions = 2
    a, b = Collector(client, "/default/a"), Collector(client, "/default/b")
    await a.until(lambda: a.connected() and b.connected())
    c = Collector(client, "/default/c")
    await c.until(lambda: c.error is not None)
    assert isinstance(c.error, SubscriptionError)
    assert c.error.errors[0]["errorType"] == "MaxSubscriptionsReachedError"
    await client.publish("/default/a", ["still here"])
    await a.until(lambda: a.events == ["still here"])
    assert emulator.events.open_connections == 1
    await a.stop()
    await b.stop()


async def test_wrong_secret_is_refused_everywhere(emulator: AppSyncEmulator) -> None:
    bad = FrozenCredentials(emulator.credentials.access_key, "not-the-secret")
    async with AppSyncEventsClient(
        emulator.events_url,
        credentials=bad,
        retry=FAST_RETRY,
        realtime_options={**FAST, "max_attempts": 3},
    ) as client:
        with pytest.raises(AuthorizationError):
            await client.publish("/default/a", [1])
        sub = Collector(client, "/default/*")
        await sub.until(lambda: sub.error is not None)
        assert isinstance(sub.error, SubscriptionError)
        assert "not-the-secret" not in str(sub.error)
    assert emulator.published == []


async def test_throttled_publishes_are_retried(emulator: AppSyncEmulator) -> None:
    emulator.faults.throttle_rate = 0.5  # seeded emulator: deterministic
    async with AppSyncEventsClient(
        emulator.events_url,
        credentials=emulator.credentials,
        retry=RetryPolicy(max_attempts=20, base_delay=0.001, max_delay=0.005),
        realtime_options=FAST,
    ) as client:
        for via in ("http", "websocket"):
            for i in range(8):
                assert (await client.publish("/default/a", [i], via=via)).ok
    assert [p.value for p in emulator.published] == list(range(8)) * 2
    assert emulator.faults.injected["throttle"] > 2


async def test_ambiguous_publish_is_not_retried(
    client: AppSyncEventsClient, emulator: AppSyncEmulator
) -> None:
    emulator.faults.reset_after_rate = 1.0
    with pytest.raises(TransportError) as info:
        await client.publish("/default/a", ["maybe"])
    assert info.value.sent
    assert [p.value for p in emulator.published] == ["maybe"]  # ran once, no retry


async def test_reconnect_resubscribes_every_channel_after_a_drop(
    client: AppSyncEventsClient, emulator: AppSyncEmulator
) -> None:
    a = Collector(client, "/default/*")
    b = Collector(client, "/chat/room1")
    await a.until(lambda: a.connected() and b.connected())
    subscribes = emulator.events.stats["subscribes"]
    assert emulator.events.drop_all() == 1
    await a.until(lambda: a.connected() == 2 and b.connected() == 2)
    assert emulator.events.stats["subscribes"] == subscribes + 2  # signed again
    for collector in (a, b):
        states = [s.state for s in collector.states]
        assert states == [
            ConnectionState.CONNECTING,
            ConnectionState.CONNECTED,
            ConnectionState.RECONNECTING,
            ConnectionState.CONNECTED,
        ]
        gap = collector.states[2]
        assert gap.attempt == 1 and gap.reason
    await client.publish("/default/after", ["a"])
    await client.publish("/chat/room1", ["b"], via="websocket")
    await a.until(lambda: a.events == ["a"] and b.events == ["b"])
    await a.stop()
    await b.stop()


async def test_reconnect_signs_connect_and_every_subscribe_afresh(
    emulator: AppSyncEmulator,
) -> None:
    # Both clocks jump 10 minutes during the drop: a connect header or a
    # subscribe authorization kept from before it would be refused as
    # skewed (AppSync allows 5 minutes), so a clean reconnect with no
    # refusal at all proves every signature was made again, at the new time.
    now = [time.time()]
    async with AppSyncEventsClient(
        emulator.events_url,
        credentials=emulator.credentials,
        clock=lambda: now[0],
        realtime_options=FAST,
    ) as client:
        a = Collector(client, "/default/*")
        b = Collector(client, "/chat/room1")
        await a.until(lambda: a.connected() == 1 and b.connected() == 1)
        stats = emulator.events.stats
        assert stats["connections"] == 1 and stats["subscribes"] == 2
        now[0] += 600
        emulator.clock_offset = 600
        assert emulator.events.drop_all() == 1
        await a.until(lambda: a.connected() == 2 and b.connected() == 2)
        assert stats["connections"] == 2 and stats["subscribes"] == 4
        assert stats["connection_errors"] == 0 and stats["subscribe_errors"] == 0
        assert client.clock_offset == 0  # nothing had to be corrected
        await client.publish("/chat/room1", ["after"], via="websocket")
        await b.until(lambda: b.events == ["after"])
        await a.stop()
        await b.stop()


async def test_unreachable_realtime_host_backs_off_then_gives_up(
    emulator: AppSyncEmulator,
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = AppSyncEventsEndpoint.from_url(
        emulator.events_url, realtime_url=f"ws://127.0.0.1:{port}/event/realtime"
    )
    options = {**FAST, "backoff_base": 0.02, "backoff_cap": 0.04, "max_attempts": 4}
    async with AppSyncEventsClient(
        endpoint, credentials=emulator.credentials, realtime_options=options
    ) as client:
        sub = Collector(client, "/default/*")
        await sub.until(lambda: sub.error is not None)
    assert isinstance(sub.error, SubscriptionError)
    assert "gave up after 4 attempts" in str(sub.error)
    gaps = [s for s in sub.states if s.state is ConnectionState.RECONNECTING]
    assert [g.attempt for g in gaps] == [1, 2, 3]
    assert all("connect failed" in (g.reason or "") for g in gaps)
    assert emulator.events.stats["connections"] == 0


async def test_withheld_keep_alive_reconnects() -> None:
    async with AppSyncEmulator(
        SDL, ka_interval=0.05, connection_timeout_ms=300
    ) as emulator:
        async with AppSyncEventsClient(
            emulator.events_url,
            credentials=emulator.credentials,
            realtime_options=FAST,
        ) as client:
            sub = Collector(client, "/default/*")
            await sub.until(lambda: sub.connected() == 1)
            emulator.faults.withhold_ka = True
            await sub.until(
                lambda: any(s.state is ConnectionState.RECONNECTING for s in sub.states)
            )
            emulator.faults.withhold_ka = False
            await sub.until(lambda: sub.connected() >= 2)
            gap = next(s for s in sub.states if s.state is ConnectionState.RECONNECTING)
            assert "keep-alive within 300 ms" in (gap.reason or "")
            await client.publish("/default/x", [7])
            await sub.until(lambda: 7 in sub.events)
            await sub.stop()


async def test_repeated_drops_keep_subscriptions_alive(
    client: AppSyncEventsClient, emulator: AppSyncEmulator
) -> None:
    sub = Collector(client, "/default/*")
    await sub.until(lambda: sub.connected() == 1)
    emulator.faults.drop_ws_every_s = 0.15
    await sub.until(lambda: sub.connected() >= 3)
    emulator.faults.drop_ws_every_s = None
    await asyncio.sleep(0.3)
    await sub.until(lambda: sub.states[-1].state is ConnectionState.CONNECTED)
    await client.publish("/default/x", ["after drops"])
    await sub.until(lambda: "after drops" in sub.events)
    assert emulator.faults.injected["drop_ws"] >= 2
    await sub.stop()


@pytest.mark.parametrize("retry_mutations", [False, True])
async def test_websocket_publish_through_drops(
    emulator: AppSyncEmulator, retry_mutations: bool
) -> None:
    # A frame that never left is sent again on the next connection; one that
    # left before the drop is ambiguous (TransportError, sent=True) unless
    # retry_mutations. Never a raw aiohttp error.
    policy = RetryPolicy(
        max_attempts=8,
        base_delay=0.001,
        max_delay=0.01,
        retry_mutations=retry_mutations,
    )
    async with AppSyncEventsClient(
        emulator.events_url,
        credentials=emulator.credentials,
        retry=policy,
        realtime_options=FAST,
    ) as client:
        await client.publish("/default/a", ["warm-up"], via="websocket")
        emulator.faults.drop_ws_every_s = 0.01
        ok, ambiguous, sent = [], 0, 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while emulator.faults.injected["drop_ws"] < 6 and loop.time() < deadline:
            i, sent = sent, sent + 1
            try:
                result = await client.publish("/default/a", [i], via="websocket")
            except TransportError as exc:
                assert exc.sent and not retry_mutations
                ambiguous += 1
            else:
                assert result.ok
                ok.append(i)
        emulator.faults.drop_ws_every_s = None
    drops = emulator.faults.injected["drop_ws"]
    assert drops >= 6
    assert ambiguous <= drops
    published = {p.value for p in emulator.published}
    assert set(ok) <= published
    if retry_mutations:
        assert ok == list(range(sent))


async def test_client_belongs_to_one_loop_and_closes(emulator: AppSyncEmulator) -> None:
    client = AppSyncEventsClient(emulator.events_url, credentials=emulator.credentials)
    assert "secret" not in repr(client).lower()
    await client.publish("/default/a", [1])
    await client.close()
    with pytest.raises(ConfigurationError, match="closed"):
        await client.publish("/default/a", [1])
    with pytest.raises(ConfigurationError, match="unknown realtime_options"):
        AppSyncEventsClient(emulator.events_url, realtime_options={"nope": 1})  # type: ignore[typeddict-unknown-key]
