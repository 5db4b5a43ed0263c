"""realtime_options on the transport and the facade reach the real-time client."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from appsync_iam import AppSyncClient, AppSyncIAMTransport, ConfigurationError
from appsync_iam.emulator import AppSyncEmulator

from .rt_helpers import ON_MESSAGE, eventually


class TestRealtimeOptions:
    """Subscription settings are configurable from the public constructors."""

    async def test_transport_options_are_applied(
        self, emulator: AppSyncEmulator
    ) -> None:
        """max_subscriptions_per_connection=1 puts two subscriptions on two sockets."""
        transport = AppSyncIAMTransport(
            emulator.url,
            credentials=emulator.credentials,
            realtime_options={"max_subscriptions_per_connection": 1, "linger": 0},
        )
        await transport.connect()
        try:

            async def consume(room: str) -> None:
                async for _ in transport.realtime.subscribe(
                    ON_MESSAGE, {"roomId": room}
                ):
                    pass

            tasks = [asyncio.ensure_future(consume(r)) for r in ("a", "b")]
            await eventually(lambda: emulator.realtime.active_subscriptions == 2)
            assert transport.realtime.connection_count == 2
            assert emulator.realtime.open_connections == 2
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # linger=0: the sockets close as soon as their last subscription ends.
            await eventually(lambda: emulator.realtime.open_connections == 0)
        finally:
            await transport.close()

    async def test_facade_passes_options(self, emulator: AppSyncEmulator) -> None:
        """AppSyncClient(realtime_options=...) applies them to its subscriptions."""
        async with AppSyncClient(
            emulator.url,
            credentials=emulator.credentials,
            realtime_options={"max_subscriptions_per_connection": 1},
        ) as client:

            async def consume(room: str) -> None:
                async for _ in client.subscribe(ON_MESSAGE, {"roomId": room}):
                    pass

            tasks = [asyncio.ensure_future(consume(r)) for r in ("a", "b", "c")]
            await eventually(lambda: emulator.realtime.active_subscriptions == 3)
            assert emulator.realtime.open_connections == 3
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    @pytest.mark.parametrize(
        "options", [{"backof_base": 1.0}, {"linger": 0, "keepalive": 3}]
    )
    def test_unknown_option_is_a_configuration_error(
        self, options: dict[str, Any]
    ) -> None:
        """A misspelt option fails at construction, naming the accepted keys."""
        with pytest.raises(ConfigurationError, match="backoff_base"):
            AppSyncClient(
                "http://127.0.0.1:9/graphql",
                credentials=None,
                realtime_options=options,  # type: ignore[arg-type]
            )
