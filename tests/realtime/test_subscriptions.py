"""RealtimeClient against the emulator over loopback: subscribe, survive, stop."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from appsync_iam import CredentialsError, FrozenCredentials, SubscriptionError
from appsync_iam._credentials import CallableCredentials
from appsync_iam._realtime import (
    ConnectionEvent,
    ConnectionState,
    RealtimeClient,
)
from appsync_iam._transport import AppSyncIAMTransport
from appsync_iam.emulator import AppSyncEmulator

from .rt_helpers import ON_MESSAGE, POST_MESSAGE, Publish, eventually, receive_json

FAST = {"backoff_base": 0.02, "backoff_cap": 0.1, "linger": 0.05}


class Recorder:
    """Collects ConnectionEvents (an on_state callback)."""

    def __init__(self) -> None:
        self.events: list[ConnectionEvent] = []

    def __call__(self, event: ConnectionEvent) -> None:
        self.events.append(event)

    @property
    def states(self) -> list[ConnectionState]:
        return [e.state for e in self.events]

    def count(self, state: ConnectionState) -> int:
        return self.states.count(state)


class Consumer:
    """Runs ``async for`` over a subscription in a task, keeping what arrives."""

    def __init__(self, iterator: AsyncIterator[dict[str, Any]]) -> None:
        self.items: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.task = asyncio.ensure_future(self._run(iterator))

    async def _run(self, iterator: AsyncIterator[dict[str, Any]]) -> None:
        try:
            async for item in iterator:
                self.items.append(item)
        except SubscriptionError as exc:
            self.error = exc

    def contents(self) -> list[str]:
        return [item["onMessagePosted"]["content"] for item in self.items]

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


class MutableCredentials:
    """A credential source the test steers (a public seam); counts refreshes."""

    def __init__(self, current: FrozenCredentials) -> None:
        self.current = current
        self.after_refresh: FrozenCredentials | None = None
        self.refreshes = 0
        self.broken = False

    async def get_frozen(self) -> FrozenCredentials:
        if self.broken:
            raise CredentialsError("no credentials for this test")
        return self.current

    async def refresh(self) -> FrozenCredentials:
        self.refreshes += 1
        if self.after_refresh is not None:
            self.current = self.after_refresh
        return self.current


class Clock:
    """The transport's clock seam, movable by the test."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def make_transport(
    emulator: AppSyncEmulator, credentials: object = None, **kwargs: Any
) -> AppSyncIAMTransport:
    return AppSyncIAMTransport(
        emulator.url,
        credentials=credentials if credentials is not None else emulator.credentials,
        **kwargs,
    )


@asynccontextmanager
async def realtime(
    emulator: AppSyncEmulator,
    credentials: object = None,
    *,
    transport_args: dict[str, Any] | None = None,
    **kwargs: Any,
) -> AsyncIterator[RealtimeClient]:
    """A RealtimeClient on a fresh transport with fast backoff and linger."""
    client = RealtimeClient(
        make_transport(emulator, credentials, **(transport_args or {})),
        **{**FAST, **kwargs},
    )
    try:
        yield client
    finally:
        await client.close()


def live(emulator: AppSyncEmulator, n: int) -> Callable[[], bool]:
    return lambda: emulator.realtime.active_subscriptions == n


class TestSubscribe:
    """Events arrive, filtered by arguments, over one shared socket."""

    async def test_event_arrives(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """Subscribe, then mutate: the event's data is yielded."""
        async with realtime(emulator) as client:
            consumer = Consumer(client.subscribe(ON_MESSAGE, {"roomId": "r1"}))
            await eventually(live(emulator, 1))
            await publish("r1", "hello")
            await eventually(lambda: consumer.contents() == ["hello"])
            assert set(consumer.items[0]["onMessagePosted"]) == {
                "id",
                "roomId",
                "content",
            }
            await consumer.stop()

    async def test_argument_filters(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """Each subscription gets only its room's messages; no filter gets all."""
        async with realtime(emulator) as client:
            r1 = Consumer(client.subscribe(ON_MESSAGE, {"roomId": "r1"}))
            r2 = Consumer(client.subscribe(ON_MESSAGE, {"roomId": "r2"}))
            every = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 3))
            await publish("r2", "to r2")
            await publish("r1", "to r1")
            await eventually(lambda: len(every.items) == 2)
            await eventually(lambda: r1.contents() == ["to r1"])
            assert r2.contents() == ["to r2"]
            for consumer in (r1, r2, every):
                await consumer.stop()

    async def test_two_subscriptions_one_socket(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """Subscriptions share one WebSocket."""
        async with realtime(emulator) as client:
            a = Consumer(client.subscribe(ON_MESSAGE, {"roomId": "r1"}))
            b = Consumer(client.subscribe(ON_MESSAGE, {"roomId": "r1"}))
            await eventually(live(emulator, 2))
            await publish("r1", "both")
            await eventually(lambda: a.contents() == b.contents() == ["both"])
            assert emulator.realtime.stats["connections"] == 1
            assert client.connection_count == 1
            await a.stop()
            await b.stop()

    async def test_second_connection_past_100(self, emulator: AppSyncEmulator) -> None:
        """The 101st subscription opens a second connection."""
        async with realtime(emulator) as client:
            consumers = [
                Consumer(client.subscribe(ON_MESSAGE, {"roomId": f"r{n}"}))
                for n in range(101)
            ]
            await eventually(live(emulator, 101), timeout=20)
            assert emulator.realtime.open_connections == 2
            assert client.connection_count == 2
            assert emulator.realtime.stats["start_errors"] == 0
            for consumer in consumers:
                await consumer.stop()
            await eventually(lambda: emulator.realtime.open_connections == 0)

    async def test_server_quota_lower_than_ours(
        self, emulator: AppSyncEmulator
    ) -> None:
        """MaxSubscriptionsReachedError moves the subscription to a new connection."""
        emulator.realtime.max_subscriptions = 2
        async with realtime(emulator) as client:
            consumers = [Consumer(client.subscribe(ON_MESSAGE)) for _ in range(3)]
            await eventually(live(emulator, 3))
            assert emulator.realtime.open_connections == 2
            assert emulator.realtime.stats["start_errors"] == 1
            assert all(c.error is None for c in consumers)
            for consumer in consumers:
                await consumer.stop()

    async def test_linger_reuses_then_closes(self, emulator: AppSyncEmulator) -> None:
        """A subscription within the linger reuses the socket; after it, it closes."""
        async with realtime(emulator, linger=0.3) as client:
            first = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            await first.stop()
            second = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            assert emulator.realtime.stats["connections"] == 1
            await second.stop()
            await eventually(lambda: emulator.realtime.open_connections == 0)
            assert client.connection_count == 0

    async def test_data_with_errors_raises(self, emulator: AppSyncEmulator) -> None:
        """A data event carrying errors ends the iterator with SubscriptionError."""
        async with realtime(emulator) as client:
            consumer = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            payload = {"onMessagePosted": None}
            sent = await emulator.realtime.broadcast(payload)
            assert sent == 1
            await eventually(lambda: len(consumer.items) == 1)
            # An event with errors, injected straight onto the wire:
            connection = next(iter(emulator.realtime._connections))
            (ident,) = connection.subscriptions
            await connection.send(
                json.dumps(
                    {
                        "type": "data",
                        "id": ident,
                        "payload": {"data": None, "errors": [{"message": "boom"}]},
                    }
                )
            )
            await eventually(lambda: consumer.error is not None)
            assert "boom" in str(consumer.error)


class TestAuthForms:
    """Default auth rides in Sec-WebSocket-Protocol; the query form is optional."""

    @staticmethod
    def tracing() -> tuple[list[tuple[str, dict[str, str]]], aiohttp.TraceConfig]:
        seen: list[tuple[str, dict[str, str]]] = []
        trace = aiohttp.TraceConfig()

        async def on_start(
            session: aiohttp.ClientSession,
            context: Any,
            params: aiohttp.TraceRequestStartParams,
        ) -> None:
            seen.append((str(params.url), dict(params.headers)))

        trace.on_request_start.append(on_start)
        return seen, trace

    async def test_default_url_has_no_secret(self, emulator: AppSyncEmulator) -> None:
        """The requested URL has no query; the header object is a subprotocol."""
        seen, trace = self.tracing()
        transport = make_transport(
            emulator, client_session_args={"trace_configs": [trace]}
        )
        transport.open_session()
        client = RealtimeClient(transport, **FAST)
        try:
            consumer = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            await consumer.stop()
        finally:
            await client.close()
            assert transport.session is not None
            await transport.session.close()
        ((url, headers),) = seen
        assert url == emulator.realtime_url
        protocols = [p.strip() for p in headers["Sec-WebSocket-Protocol"].split(",")]
        assert protocols[0] == "graphql-ws"
        assert protocols[1].startswith("header-")
        assert "=" not in protocols[1]

    async def test_query_form(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """realtime_auth="query" puts header=…&payload=e30= in the URL and works."""
        seen, trace = self.tracing()
        transport = make_transport(
            emulator,
            realtime_auth="query",
            client_session_args={"trace_configs": [trace]},
        )
        transport.open_session()
        client = RealtimeClient(transport, **FAST)
        try:
            consumer = Consumer(client.subscribe(ON_MESSAGE, {"roomId": "q"}))
            await eventually(live(emulator, 1))
            await publish("q", "via query auth")
            await eventually(lambda: consumer.contents() == ["via query auth"])
            await consumer.stop()
        finally:
            await client.close()
            assert transport.session is not None
            await transport.session.close()
        ((url, headers),) = seen
        assert "?header=" in url and url.endswith("&payload=e30=")
        assert headers["Sec-WebSocket-Protocol"] == "graphql-ws"

    async def test_custom_realtime_url_is_used(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """The endpoint's realtime URL (here given explicitly) is what is dialled."""
        async with realtime(
            emulator, transport_args={"realtime_url": emulator.realtime_url}
        ) as client:
            consumer = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            await consumer.stop()


class TestResilience:
    """Drops, clock jumps, lost keep-alives and expiring tokens are survived."""

    async def test_drop_resubscribes(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """After the emulator drops the socket, later events still arrive."""
        states, b_states = Recorder(), Recorder()
        async with realtime(emulator) as client:
            a = Consumer(
                client.subscribe(ON_MESSAGE, {"roomId": "r1"}, on_state=states)
            )
            b = Consumer(
                client.subscribe(ON_MESSAGE, {"roomId": "r2"}, on_state=b_states)
            )
            await eventually(live(emulator, 2))
            await publish("r1", "before")
            await eventually(lambda: a.contents() == ["before"])
            assert emulator.realtime.drop_all() == 1
            # Each is CONNECTED again once its new start is acknowledged.
            await eventually(lambda: states.count(ConnectionState.CONNECTED) == 2)
            await eventually(lambda: b_states.count(ConnectionState.CONNECTED) == 2)
            await publish("r1", "after")
            await publish("r2", "after r2")
            await eventually(lambda: a.contents() == ["before", "after"])
            await eventually(lambda: b.contents() == ["after r2"])
            assert emulator.realtime.stats["connections"] == 2
            await a.stop()
            await b.stop()
        gap = states.events[2]
        assert gap.state is ConnectionState.RECONNECTING
        assert gap.attempt == 1
        assert gap.reason is not None and "closed" in gap.reason

    async def test_periodic_drops(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """With drops every 150 ms, the subscription keeps coming back."""
        states = Recorder()
        async with realtime(emulator) as client:
            consumer = Consumer(client.subscribe(ON_MESSAGE, on_state=states))
            await eventually(live(emulator, 1))
            emulator.faults.drop_ws_every_s = 0.15
            await eventually(lambda: emulator.faults.injected["drop_ws"] >= 3)
            emulator.faults.drop_ws_every_s = None
            # Live again after the last gap (events in a gap are lost by design).
            await eventually(
                lambda: (
                    states.states[-1] is ConnectionState.CONNECTED
                    and states.count(ConnectionState.RECONNECTING)
                    >= emulator.faults.injected["drop_ws"]
                )
            )
            await publish("r", "still here")
            await eventually(lambda: consumer.contents() == ["still here"])
            assert states.count(ConnectionState.RECONNECTING) >= 3
            await consumer.stop()

    async def test_reconnect_after_clock_jump_re_signs(
        self, emulator: AppSyncEmulator
    ) -> None:
        """10 minutes later a kept signature fails; the client's fresh one works."""
        seen, trace = TestAuthForms.tracing()
        clock = Clock()
        transport = make_transport(
            emulator, clock=clock, client_session_args={"trace_configs": [trace]}
        )
        transport.open_session()
        client = RealtimeClient(transport, **FAST)
        states = Recorder()
        try:
            consumer = Consumer(client.subscribe(ON_MESSAGE, on_state=states))
            await eventually(live(emulator, 1))
            emulator.clock_offset = clock.offset = 600.0
            emulator.realtime.drop_all()
            await eventually(lambda: states.count(ConnectionState.CONNECTED) == 2)
            assert emulator.realtime.stats["connections"] == 2
            # Published through the same transport, on the moved clock too.
            await transport.request(
                POST_MESSAGE, {"roomId": "r", "content": "ten minutes later"}
            )
            await eventually(lambda: consumer.contents() == ["ten minutes later"])
            await consumer.stop()
            # The first handshake's header object, replayed now, is rejected.
            first_protocols = seen[0][1]["Sec-WebSocket-Protocol"].split(",")
            assert transport.session is not None
            ws = await transport.session.ws_connect(
                emulator.realtime_url, protocols=[p.strip() for p in first_protocols]
            )
            frame = await receive_json(ws)
            await ws.close()
            assert frame["type"] == "connection_error"
            assert "Signature expired" in frame["payload"]["errors"][0]["message"]
        finally:
            await client.close()
            assert transport.session is not None
            await transport.session.close()
        assert emulator.realtime.stats["connection_errors"] == 1

    async def test_clock_skew_is_learned_from_the_handshake(
        self, emulator: AppSyncEmulator
    ) -> None:
        """A "Signature expired" handshake teaches the offset; no refresh needed."""
        emulator.clock_offset = 600.0
        source = MutableCredentials(emulator.credentials)
        transport = make_transport(emulator, source)
        client = RealtimeClient(transport, **FAST)
        try:
            consumer = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            await consumer.stop()
        finally:
            await client.close()
        assert abs(transport.clock_offset - 600.0) < 5
        assert source.refreshes == 0
        assert emulator.realtime.stats["connection_errors"] == 1

    async def test_withheld_keep_alive_reconnects(self) -> None:
        """No ka within connectionTimeoutMs → reconnect, well inside the budget."""
        async with AppSyncEmulator(
            "chat", ka_interval=0.05, connection_timeout_ms=300
        ) as emulator:
            states = Recorder()
            async with realtime(emulator) as client:
                consumer = Consumer(client.subscribe(ON_MESSAGE, on_state=states))
                await eventually(live(emulator, 1))
                withheld_at = time.monotonic()
                emulator.faults.withhold_ka = True
                await eventually(lambda: ConnectionState.RECONNECTING in states.states)
                noticed = time.monotonic() - withheld_at
                emulator.faults.withhold_ka = False
                await eventually(lambda: states.count(ConnectionState.CONNECTED) == 2)
                await consumer.stop()
            assert 0.25 <= noticed < 1.0
            gap = states.events[states.states.index(ConnectionState.RECONNECTING)]
            assert gap.reason == "no keep-alive within 300 ms"
            assert emulator.realtime.stats["connections"] == 2

    async def test_expired_session_token_is_refreshed(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """A token that expires mid-stream is refreshed; the stream resumes."""
        vault = {"creds": emulator.add_principal("AKIDTEMP1", "s1", token="tok-1")}
        fetched: list[str] = []

        async def fetch() -> FrozenCredentials:
            creds = vault["creds"]
            fetched.append(creds.access_key)
            # The source believes they last an hour; the emulator knows better.
            return FrozenCredentials(
                creds.access_key,
                creds.secret_key,
                creds.token,
                datetime.now(timezone.utc) + timedelta(hours=1),
            )

        states = Recorder()
        async with realtime(emulator, CallableCredentials(fetch)) as client:
            consumer = Consumer(client.subscribe(ON_MESSAGE, on_state=states))
            await eventually(live(emulator, 1))
            await publish("r", "one")
            await eventually(lambda: consumer.contents() == ["one"])
            emulator.add_principal(
                "AKIDTEMP1",
                "s1",
                token="tok-1",
                expires_at=datetime.now(timezone.utc) - timedelta(seconds=1),
            )
            vault["creds"] = emulator.add_principal("AKIDTEMP2", "s2", token="tok-2")
            emulator.realtime.drop_all()
            await eventually(lambda: states.count(ConnectionState.CONNECTED) == 2)
            await publish("r", "two")
            await eventually(lambda: consumer.contents() == ["one", "two"])
            await consumer.stop()
        assert fetched == ["AKIDTEMP1", "AKIDTEMP2"]
        reasons = [e.reason or "" for e in states.events]
        assert any("expired" in r for r in reasons)
        assert emulator.realtime.stats["connection_errors"] == 1

    async def test_throttled_start_is_retried(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """A connection-level LimitExceededError backs off that start; no reconnect."""
        emulator.realtime.throttle_starts = 2
        async with realtime(emulator) as client:
            consumer = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            await publish("r", "made it")
            await eventually(lambda: consumer.contents() == ["made it"])
            await consumer.stop()
        assert emulator.faults.injected["throttle_start"] == 2
        assert emulator.realtime.stats["connections"] == 1

    async def test_transport_timeout_does_not_end_socket(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """The session's total request timeout does not cut a long-lived socket."""
        transport = make_transport(emulator, timeout=0.5)
        transport.open_session()
        client = RealtimeClient(transport, **FAST)
        try:
            consumer = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            await asyncio.sleep(1.0)
            await publish("r", "late")
            await eventually(lambda: consumer.contents() == ["late"])
            assert emulator.realtime.stats["connections"] == 1
            await consumer.stop()
        finally:
            await client.close()
            assert transport.session is not None
            await transport.session.close()


class TestErrors:
    """Per-subscription errors end that subscription only."""

    async def test_tampered_start_signature(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """A start signed with a wrong secret → SubscriptionError; others live on."""
        source = MutableCredentials(emulator.credentials)
        async with realtime(emulator, source) as client:
            good = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            source.current = FrozenCredentials(emulator.credentials.access_key, "bad")
            bad = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(lambda: bad.error is not None)
            assert isinstance(bad.error, SubscriptionError)
            assert bad.error.error_type == "BadRequestException"
            assert not bad.error.connection_lost
            assert source.refreshes == 1  # refreshed once before giving up
            await publish("r", "still fine")
            await eventually(lambda: good.contents() == ["still fine"])
            assert emulator.realtime.stats["connections"] == 1
            await good.stop()

    async def test_validation_error(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """An invalid subscription fails alone, without a credential refresh."""
        source = MutableCredentials(emulator.credentials)
        async with realtime(emulator, source) as client:
            good = Consumer(client.subscribe(ON_MESSAGE))
            bad = Consumer(client.subscribe("subscription { nope { id } }"))
            await eventually(lambda: bad.error is not None)
            assert isinstance(bad.error, SubscriptionError)
            assert "Validation error" in str(bad.error)
            assert source.refreshes == 0
            await eventually(live(emulator, 1))
            await publish("r", "ok")
            await eventually(lambda: good.contents() == ["ok"])
            await good.stop()

    async def test_unauthorized_field(self, emulator: AppSyncEmulator) -> None:
        """A denied subscription field → SubscriptionError, errorType Unauthorized."""
        denied = emulator.add_principal(
            "AKIDDENY", "secret", deny=["Subscription.onMessagePosted"]
        )
        async with realtime(emulator, denied) as client:
            states = Recorder()
            consumer = Consumer(client.subscribe(ON_MESSAGE, on_state=states))
            await eventually(lambda: consumer.error is not None)
            assert isinstance(consumer.error, SubscriptionError)
            assert consumer.error.error_type == "Unauthorized"
            assert states.states == [ConnectionState.CONNECTING, ConnectionState.CLOSED]

    async def test_bad_credentials_fail_after_refreshes(
        self, emulator: AppSyncEmulator
    ) -> None:
        """A handshake rejected three times, refreshing in between, fails for good."""
        source = MutableCredentials(FrozenCredentials("AKIDEXAMPLE", "wrong"))
        async with realtime(emulator, source) as client:
            consumer = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(lambda: consumer.error is not None)
        assert isinstance(consumer.error, SubscriptionError)
        assert consumer.error.connection_lost
        assert consumer.error.error_type == "BadRequestException"
        assert source.refreshes == 2
        assert emulator.realtime.stats["connection_errors"] == 3

    async def test_start_ack_timeout(self, emulator: AppSyncEmulator) -> None:
        """No start_ack in time: stop, retry, then SubscriptionError."""
        emulator.realtime.start_delay = 0.3
        async with realtime(
            emulator, start_ack_timeout=0.1, max_start_attempts=2
        ) as client:
            consumer = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(lambda: consumer.error is not None)
        assert isinstance(consumer.error, SubscriptionError)
        assert "did not acknowledge" in str(consumer.error)
        assert not consumer.error.connection_lost
        await eventually(lambda: emulator.realtime.stats["stops"] >= 1)

    async def test_unusable_credentials_at_start(
        self, emulator: AppSyncEmulator
    ) -> None:
        """Credentials that cannot be had for a start end just that subscription."""
        source = MutableCredentials(emulator.credentials)
        async with realtime(emulator, source) as client:
            good = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            source.broken = True
            bad = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(lambda: bad.error is not None)
            assert "cannot sign" in str(bad.error)
            assert good.error is None
            await good.stop()

    async def test_max_attempts(self, emulator: AppSyncEmulator) -> None:
        """With max_attempts, an unreachable server ends the subscription."""
        transport = AppSyncIAMTransport(
            "http://127.0.0.1:9/graphql", credentials=emulator.credentials
        )
        client = RealtimeClient(transport, max_attempts=2, **FAST)
        try:
            consumer = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(lambda: consumer.error is not None)
        finally:
            await client.close()
        assert isinstance(consumer.error, SubscriptionError)
        assert consumer.error.connection_lost
        assert "gave up after 2 attempts" in str(consumer.error)


class TestLeaving:
    """Leaving the loop sends stop; close() ends everything."""

    async def test_cancel_sends_stop(self, emulator: AppSyncEmulator) -> None:
        """Cancelling the consumer sends stop; the server sees it."""
        async with realtime(emulator) as client:
            consumer = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(live(emulator, 1))
            await consumer.stop()
            await eventually(lambda: emulator.realtime.stats["stops"] == 1)
            await eventually(live(emulator, 0))

    async def test_break_sends_stop(
        self, emulator: AppSyncEmulator, publish: Publish
    ) -> None:
        """break after the first event sends stop and reports CLOSED."""
        states = Recorder()
        async with realtime(emulator) as client:
            iterator = client.subscribe(ON_MESSAGE, on_state=states)

            async def first() -> dict[str, Any]:
                async for item in iterator:
                    return item
                raise AssertionError("ended without an event")

            task = asyncio.ensure_future(first())
            await eventually(live(emulator, 1))
            await publish("r", "only")
            item = await task
            assert item["onMessagePosted"]["content"] == "only"
            await iterator.aclose()  # what `async for … break` leads to
            await eventually(lambda: emulator.realtime.stats["stops"] == 1)
        assert states.states == [
            ConnectionState.CONNECTING,
            ConnectionState.CONNECTED,
            ConnectionState.CLOSED,
        ]

    async def test_close_ends_subscriptions(self, emulator: AppSyncEmulator) -> None:
        """RealtimeClient.close() ends iterators with SubscriptionError."""
        client = RealtimeClient(make_transport(emulator), **FAST)
        consumer = Consumer(client.subscribe(ON_MESSAGE))
        await eventually(live(emulator, 1))
        await client.close()
        await consumer.task
        assert isinstance(consumer.error, SubscriptionError)
        assert consumer.error.connection_lost
        await eventually(lambda: emulator.realtime.open_connections == 0)
        with pytest.raises(RuntimeError):
            await client.subscribe(ON_MESSAGE).__anext__()


class TestSecrets:
    """No secret reaches logs, reprs, state reasons or error messages."""

    async def test_nothing_secret_logged(
        self,
        emulator: AppSyncEmulator,
        publish: Publish,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """DEBUG logs, events and errors of a drop + refresh + rejection are clean."""
        temp = emulator.add_principal("AKIDLOG", "SECRETKEYVALUE", token="TOKENVALUE")
        source = MutableCredentials(temp)
        states = Recorder()
        caplog.set_level(logging.DEBUG)
        async with realtime(
            emulator, source, transport_args={"realtime_auth": "query"}
        ) as client:
            consumer = Consumer(client.subscribe(ON_MESSAGE, on_state=states))
            await eventually(live(emulator, 1))
            emulator.realtime.drop_all()
            await eventually(lambda: states.count(ConnectionState.CONNECTED) == 2)
            source.current = FrozenCredentials("AKIDLOG", "WRONGSECRET", "TOKENVALUE")
            bad = Consumer(client.subscribe(ON_MESSAGE))
            await eventually(lambda: bad.error is not None)
            texts = [repr(client), str(bad.error), repr(bad.error)]
            await consumer.stop()
        texts += [r.getMessage() for r in caplog.records]
        texts += [str(e) for e in states.events]
        blob = "\n".join(texts)
        for secret in ("SECRETKEYVALUE", "WRONGSECRET", "TOKENVALUE"):
            assert secret not in blob
        assert "Signature=" not in blob.replace("Signature=<redacted>", "")
        assert base64.b64encode(b'{"accept"').decode()[:8] not in blob
