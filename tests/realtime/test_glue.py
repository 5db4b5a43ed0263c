"""Subscriptions through gql.Client + AppSyncIAMTransport and AppSyncClient."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql import Client, GraphQLRequest, gql

from appsync_iam import (
    AppSyncClient,
    AppSyncIAMTransport,
    ConfigurationError,
    ConnectionEvent,
    ConnectionState,
    SubscriptionError,
)
from appsync_iam.emulator import AppSyncEmulator

from .rt_helpers import ON_MESSAGE, POST_MESSAGE, eventually


def live(emulator: AppSyncEmulator, n: int) -> Any:
    return lambda: emulator.realtime.active_subscriptions == n


class TestGqlClient:
    """gql's own API works on top of the IAM transport."""

    async def test_gql_subscribe(self, emulator: AppSyncEmulator) -> None:
        """session.subscribe yields ExecutionResult-derived dicts per event."""
        transport = AppSyncIAMTransport(emulator.url, credentials=emulator.credentials)
        received: list[dict[str, Any]] = []
        states: list[ConnectionEvent] = []
        async with Client(transport=transport) as session:

            async def consume() -> None:
                request = GraphQLRequest(ON_MESSAGE, variable_values={"roomId": "g"})
                async for result in session.subscribe(request, on_state=states.append):
                    received.append(result)

            task = asyncio.ensure_future(consume())
            await eventually(live(emulator, 1))
            await session.execute(
                GraphQLRequest(
                    POST_MESSAGE, variable_values={"roomId": "g", "content": "via gql"}
                )
            )
            await eventually(lambda: len(received) == 1)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await eventually(lambda: emulator.realtime.stats["stops"] == 1)
        assert received[0]["onMessagePosted"]["content"] == "via gql"
        assert [e.state for e in states][:2] == [
            ConnectionState.CONNECTING,
            ConnectionState.CONNECTED,
        ]
        await eventually(lambda: emulator.realtime.open_connections == 0)

    async def test_gql_rejection(self, emulator: AppSyncEmulator) -> None:
        """A rejected subscription raises SubscriptionError through gql."""
        transport = AppSyncIAMTransport(emulator.url, credentials=emulator.credentials)
        async with Client(transport=transport) as session:
            with pytest.raises(SubscriptionError):
                async for _ in session.subscribe(gql("subscription { nope { id } }")):
                    pass

    async def test_closing_transport_closes_sockets(
        self, emulator: AppSyncEmulator
    ) -> None:
        """Leaving gql.Client closes the transport's real-time connections."""
        transport = AppSyncIAMTransport(emulator.url, credentials=emulator.credentials)
        errors: list[BaseException] = []
        async with Client(transport=transport) as session:

            async def consume() -> None:
                try:
                    async for _ in session.subscribe(gql(ON_MESSAGE)):
                        pass
                except SubscriptionError as exc:
                    errors.append(exc)

            task = asyncio.ensure_future(consume())
            await eventually(live(emulator, 1))
            await transport.realtime.close()
            await task
        assert errors and isinstance(errors[0], SubscriptionError)
        await eventually(lambda: emulator.realtime.open_connections == 0)


class TestAppSyncClient:
    """The facade's subscribe yields data and shares the loop's transport."""

    async def test_subscribe(self, emulator: AppSyncEmulator) -> None:
        """client.subscribe yields data; execute_async publishes on the same client."""
        received: list[dict[str, Any]] = []
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials
        ) as client:

            async def consume() -> None:
                async for data in client.subscribe(ON_MESSAGE, {"roomId": "f"}):
                    received.append(data)
                    return

            task = asyncio.ensure_future(consume())
            await eventually(live(emulator, 1))
            await client.execute_async(POST_MESSAGE, {"roomId": "f", "content": "hi"})
            await task
            await eventually(lambda: emulator.realtime.stats["stops"] == 1)
        assert received == [
            {"onMessagePosted": {"id": received[0]["onMessagePosted"]["id"],
                                 "roomId": "f", "content": "hi"}}
        ]  # fmt: skip

    async def test_gql_request_and_on_state(self, emulator: AppSyncEmulator) -> None:
        """A gql(...) request with its variables works; on_state reports states."""
        states: list[ConnectionEvent] = []
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials
        ) as client:
            request = GraphQLRequest(ON_MESSAGE, variable_values={"roomId": "x"})
            iterator = client.subscribe(request, on_state=states.append)
            task = asyncio.ensure_future(iterator.__anext__())
            await eventually(live(emulator, 1))
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await iterator.aclose()
        assert ConnectionState.CONNECTED in [e.state for e in states]

    async def test_not_a_subscription(self, emulator: AppSyncEmulator) -> None:
        """A mutation passed to subscribe is refused before anything is sent."""
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials
        ) as client:
            with pytest.raises(ConfigurationError):
                async for _ in client.subscribe(POST_MESSAGE):
                    pass
        assert emulator.realtime.stats["connections"] == 0

    async def test_close_ends_subscriptions(self, emulator: AppSyncEmulator) -> None:
        """Closing the client ends its subscriptions with SubscriptionError."""
        client = AppSyncClient(emulator.url, credentials=emulator.credentials)
        iterator = client.subscribe(ON_MESSAGE)
        task = asyncio.ensure_future(iterator.__anext__())
        await eventually(live(emulator, 1))
        await client.close()
        with pytest.raises(SubscriptionError):
            await task
        await eventually(lambda: emulator.realtime.open_connections == 0)
