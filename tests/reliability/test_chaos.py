"""Subscription chaos: 60 s of dropped sockets and withheld keep-alives.

Five subscriptions with different argument filters share one client while a
producer posts a mutation every 25 ms and a seeded chaos loop, round after
round, drops every socket at once (``drop_all``, singly or in bursts that hit
handshakes), drops each socket at a fixed age (``faults.drop_ws_every_s``),
or withholds ``ka`` (``faults.withhold_ka``; the server falls silent, so the
client's keep-alive watchdog must fire within ``connectionTimeoutMs``).

After every round each subscription must be CONNECTED again and receive a
new event; at the end, every reconnection the emulator saw must have been
reported to every subscription's ``on_state`` as RECONNECTING, every event
must match its subscription's filter, and none may arrive twice or out of
order. ``APPSYNC_CHAOS_SECONDS`` shortens or lengthens the run.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from appsync_iam import (
    AppSyncClient,
    ConnectionState,
    RealtimeOptions,
    RetryPolicy,
    SubscriptionError,
)
from appsync_iam.emulator import AppSyncEmulator

from .chaos_helpers import StateLog

CHAOS_SECONDS = float(os.environ.get("APPSYNC_CHAOS_SECONDS", "60"))
SEED = int(os.environ.get("APPSYNC_CHAOS_SEED", "20240607"))
#: The keep-alive budget the emulator announces; ka every 100 ms within it.
KEEP_ALIVE_MS = 800
PRODUCE_EVERY = 0.025
#: An event posted while connected must arrive within this, unless a gap began.
SETTLE = 0.5
#: How long a subscription may take to deliver again after a round.
RECOVERY_TIMEOUT = 15.0

ON_MESSAGE = (
    "subscription OnMessage($roomId: ID) { onMessagePosted(roomId: $roomId) "
    "{ id roomId content } }"
)
POST = (
    "mutation Post($room: ID!, $content: String!) {"
    " postMessage(roomId: $room, content: $content) { id roomId content } }"
)
#: Subscription name → its roomId filter (None: every message).
FILTERS: dict[str, str | None] = {
    "r0": "r0",
    "r1": "r1",
    "r2": "r2",
    "r3": "r3",
    "all": None,
}
#: Rooms the producer posts to in turn; "rx" only reaches the unfiltered one.
ROOMS = ["r0", "r1", "r2", "r3", "rx"]
REALTIME: RealtimeOptions = {
    "backoff_base": 0.02,
    "backoff_cap": 0.2,
    "linger": 0.0,
    "connect_timeout": 5.0,
    "ack_timeout": 5.0,
    "start_ack_timeout": 5.0,
}
CONNECTED = ConnectionState.CONNECTED
RECONNECTING = ConnectionState.RECONNECTING


@dataclass
class Received:
    """One event as the consumer saw it."""

    at: float
    message_id: str
    room: str
    seq: int


@dataclass
class Sub:
    """One subscription: its filter, the events it got, its on_state log."""

    name: str
    room: str | None
    log: StateLog = field(default_factory=StateLog)
    events: list[Received] = field(default_factory=list)
    error: BaseException | None = None

    def delivered_since(self, moment: float) -> bool:
        return bool(self.events) and self.events[-1].at > moment

    def recovered(self) -> bool:
        """CONNECTED now, with an event received since that CONNECTED."""
        if self.log.last is not CONNECTED:
            return False
        return self.delivered_since(self.log.times(CONNECTED)[-1])

    def connected_periods(self, end: float) -> list[tuple[float, float]]:
        """(start, end) of each stretch between CONNECTED and the next state."""
        periods: list[tuple[float, float]] = []
        start: float | None = None
        for at, state_event in self.log.events:
            if state_event.state is CONNECTED:
                start = at
            elif start is not None:
                periods.append((start, at))
                start = None
        if start is not None:
            periods.append((start, end))
        return periods


async def consume(client: AppSyncClient, sub: Sub) -> None:
    variables = {"roomId": sub.room} if sub.room is not None else {}
    loop = asyncio.get_running_loop()
    try:
        async for data in client.subscribe(ON_MESSAGE, variables, on_state=sub.log):
            message = data["onMessagePosted"]
            seq = int(message["content"].split(":", 1)[1])
            sub.events.append(
                Received(loop.time(), message["id"], message["roomId"], seq)
            )
    except SubscriptionError as exc:
        sub.error = exc


@dataclass
class Producer:
    """Posts to ROOMS in turn, every PRODUCE_EVERY seconds, unless paused."""

    client: AppSyncClient
    running: asyncio.Event = field(default_factory=asyncio.Event)
    posted: int = 0
    failures: list[BaseException] = field(default_factory=list)
    #: (sent at, answered at, room, seq) of every mutation that succeeded.
    log: list[tuple[float, float, str, int]] = field(default_factory=list)

    async def run(self) -> None:
        self.running.set()
        loop = asyncio.get_running_loop()
        seq = 0
        while True:
            await self.running.wait()
            room = ROOMS[seq % len(ROOMS)]
            sent = loop.time()
            try:
                await self.client.execute_async(
                    POST, {"room": room, "content": f"{room}:{seq}"}
                )
                self.posted += 1
                self.log.append((sent, loop.time(), room, seq))
            except Exception as exc:  # counted, and the test fails on any
                self.failures.append(exc)
            seq += 1
            await asyncio.sleep(PRODUCE_EVERY)


@dataclass
class Chaos:
    """The seeded fault schedule, applied to a running emulator."""

    emulator: AppSyncEmulator
    producer: Producer
    rng: random.Random
    rounds: Counter[str] = field(default_factory=Counter)
    manual_drops: int = 0
    withheld_seconds: float = 0.0

    async def round(self) -> str:
        kind = self.rng.choice(["drop_all", "burst", "drop_every", "withhold_ka"])
        self.rounds[kind] += 1
        realtime = self.emulator.realtime
        faults = self.emulator.faults
        if kind == "drop_all":
            self.manual_drops += realtime.drop_all()
        elif kind == "burst":
            # Several drops in quick succession: some land mid-handshake.
            for _ in range(self.rng.randint(2, 4)):
                self.manual_drops += realtime.drop_all()
                await asyncio.sleep(self.rng.uniform(0.02, 0.25))
        elif kind == "drop_every":
            age = self.rng.uniform(0.4, 1.5)
            faults.drop_ws_every_s = age
            await asyncio.sleep(age + self.rng.uniform(0.5, 2.0))  # >= one drop
            faults.drop_ws_every_s = None
        else:
            # The server falls silent: no ka and no events until it recovers.
            stretch = self.rng.uniform(1.2, 2.5)  # > KEEP_ALIVE_MS, with margin
            self.producer.running.clear()
            faults.withhold_ka = True
            await asyncio.sleep(stretch)
            faults.withhold_ka = False
            self.producer.running.set()
            self.withheld_seconds += stretch
        return kind


async def wait_recovered(subs: list[Sub], after: str) -> float:
    """Seconds until every subscription is CONNECTED and delivered again."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not all(sub.recovered() for sub in subs):
        if loop.time() - started > RECOVERY_TIMEOUT:
            stuck = {
                sub.name: (sub.log.last, len(sub.events))
                for sub in subs
                if not sub.recovered()
            }
            pytest.fail(f"no delivery {RECOVERY_TIMEOUT} s after {after}: {stuck}")
        await asyncio.sleep(0.02)
    return loop.time() - started


class TestSubscriptionChaos:
    """Subscriptions survive a minute of drops and silences, and say so."""

    @pytest.mark.timeout(CHAOS_SECONDS + 90)
    async def test_subscriptions_survive_chaos(self) -> None:
        """Every subscription delivers after every round, reports every gap,
        and gets only its filter's events, each once and in order."""
        rng = random.Random(SEED)
        async with AppSyncEmulator(
            "chat", ka_interval=0.1, connection_timeout_ms=KEEP_ALIVE_MS, seed=SEED
        ) as emulator:
            client = AppSyncClient(
                emulator.url,
                credentials=emulator.credentials,
                timeout=10,
                retry=RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.1),
                realtime_options=REALTIME,
            )
            subs = [Sub(name, room) for name, room in FILTERS.items()]
            producer = Producer(client)
            chaos = Chaos(emulator, producer, rng)
            tasks = [asyncio.ensure_future(consume(client, sub)) for sub in subs]
            loop = asyncio.get_running_loop()
            recoveries: list[float] = []
            try:
                while emulator.realtime.active_subscriptions < len(subs):
                    await asyncio.sleep(0.01)
                producing = asyncio.ensure_future(producer.run())
                tasks.append(producing)
                await wait_recovered(subs, "start")
                deadline = loop.time() + CHAOS_SECONDS
                while loop.time() < deadline:
                    kind = await chaos.round()
                    recoveries.append(await wait_recovered(subs, kind))
                    await asyncio.sleep(rng.uniform(0.2, 1.5))
                # A keep-alive lapse on a loaded machine (the budget is short
                # here) may have started a reconnect during that pause: count
                # only once every subscription is live again.
                await wait_recovered(subs, "the last pause")
                end = loop.time()
                stats = dict(emulator.realtime.stats)
                injected = dict(emulator.faults.injected)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await client.close()

        # Nothing failed for good.
        assert producer.failures == []
        assert {sub.name: sub.error for sub in subs if sub.error} == {}

        # What was reported until every subscription was live for the last
        # time (`end`): teardown (cancelling, closing) can still see a
        # keep-alive lapse and report one more RECONNECTING before CLOSED.
        def states(sub: Sub) -> list[ConnectionState]:
            return [event.state for at, event in sub.log.events if at <= end]

        # Every gap the emulator saw was reported to every subscription.
        reconnects = stats["connections"] - 1
        gaps = {sub.name: states(sub).count(RECONNECTING) for sub in subs}
        assert len(set(gaps.values())) == 1, gaps
        reported = gaps["all"]
        assert reconnects >= sum(chaos.rounds.values())
        assert (
            reconnects <= reported <= reconnects + stats.get("connection_errors", 0) + 2
        )
        reasons = Counter(
            "keep-alive" if "keep-alive" in (event.reason or "") else "drop"
            for at, event in subs[0].log.events
            if event.state is RECONNECTING and at <= end
        )
        if chaos.rounds["withhold_ka"]:
            assert reasons["keep-alive"] >= chaos.rounds["withhold_ka"], reasons
        # Each gap is closed: as many CONNECTED as RECONNECTING, plus the first.
        for sub in subs:
            seen = states(sub)
            assert seen.count(CONNECTED) == seen.count(RECONNECTING) + 1, (
                sub.name,
                Counter(seen),
            )

        # Filters hold; nothing arrives twice or out of order.
        for sub in subs:
            assert sub.events, sub.name
            if sub.room is not None:
                assert {event.room for event in sub.events} == {sub.room}
            ids = [event.message_id for event in sub.events]
            assert len(ids) == len(set(ids)), f"{sub.name}: an event arrived twice"
            seqs = [event.seq for event in sub.events]
            assert seqs == sorted(seqs), f"{sub.name}: events out of order"
        rooms_seen = {event.room for event in subs[-1].events}
        assert rooms_seen == set(ROOMS)

        # Connected stretches long enough to span several posts delivered.
        periods = [p for sub in subs for p in sub.connected_periods(end)]
        long_periods = [(s, e) for s, e in periods if e - s >= 1.5]
        silent = [
            (sub.name, round(s, 2), round(e, 2))
            for sub in subs
            for s, e in sub.connected_periods(end)
            if e - s >= 1.5 and not any(s < ev.at <= e for ev in sub.events)
        ]
        assert silent == [], silent
        with_events = sum(
            1
            for sub in subs
            for s, e in sub.connected_periods(end)
            if any(s < ev.at <= e for ev in sub.events)
        )

        # No loss while connected: a post made while a subscription was
        # CONNECTED, which stayed so for a while after the answer, arrived.
        expected = lost = 0
        for sub in subs:
            stretches = sub.connected_periods(end)
            seqs = {event.seq for event in sub.events}
            for sent, answered, room, seq in producer.log:
                if sub.room is not None and room != sub.room:
                    continue
                if any(s < sent and answered + SETTLE < e for s, e in stretches):
                    expected += 1
                    lost += seq not in seqs
        assert expected > 0
        assert lost == 0, f"{lost} of {expected} events lost while connected"

        summary: dict[str, Any] = {
            "seconds": CHAOS_SECONDS,
            "rounds": dict(chaos.rounds),
            "emulator_connections": stats["connections"],
            "emulator_reconnects_seen": reconnects,
            "drops_injected": injected.get("drop_ws", 0),
            "withheld_ka_seconds": round(chaos.withheld_seconds, 1),
            "gaps_reported_per_subscription": reported,
            "gap_reasons": dict(reasons),
            "mutations_posted": producer.posted,
            "events_delivered": {sub.name: len(sub.events) for sub in subs},
            "events_total": sum(len(sub.events) for sub in subs),
            "connected_periods": len(periods),
            "connected_periods_with_events": with_events,
            "long_periods_all_delivered": len(long_periods),
            "events_due_while_connected": expected,
            "lost_while_connected": lost,
            "max_recovery_s": round(max(recoveries), 2),
        }
        print(f"\nsubscription chaos: {summary}")
