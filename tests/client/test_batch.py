"""execute_many: bounded, lazy, per-item errors, ordered or as completed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from appsync_iam import (
    AppSyncClient,
    BatchResult,
    ConfigurationError,
    GraphQLResponseError,
)
from appsync_iam.emulator import AppSyncEmulator

from .conftest import GET_ROOM, POST, InFlight, mutations


def rows(n: int, room: str = "b") -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {"room": room, "content": str(i)}


class TestResults:
    async def test_ordered(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """Results come in input order, one per item, each mutation run once."""
        emulator.faults.latency_ms = (0, 10)
        results = [r async for r in client.execute_many(POST, rows(120))]
        assert [r.index for r in results] == list(range(120))
        assert all(r.ok and r.error is None for r in results)
        assert [r.data["postMessage"]["content"] for r in results if r.data] == [
            str(i) for i in range(120)
        ]
        assert mutations(emulator) == 120

    async def test_unordered_yields_as_completed(
        self, client: AppSyncClient, in_flight: InFlight
    ) -> None:
        """ordered=False yields every item exactly once, with its variables."""
        in_flight.delay = 0.0
        items = [{"id": str(i)} for i in range(20)]
        client_results = []
        async for result in client.execute_many(
            GET_ROOM, items, concurrency=8, ordered=False
        ):
            client_results.append(result)
        assert sorted(r.index for r in client_results) == list(range(20))
        assert all(r.variables == items[r.index] for r in client_results)

    async def test_unordered_order_differs_under_latency(
        self, emulator: AppSyncEmulator, in_flight: InFlight
    ) -> None:
        """With a slow first item, ordered=False does not wait for it."""
        in_flight.delay = 0.0
        emulator.faults.latency_ms = (1, 60)
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials
        ) as client:
            order = [
                r.index
                async for r in client.execute_many(
                    GET_ROOM,
                    ({"id": str(i)} for i in range(40)),
                    concurrency=16,
                    ordered=False,
                )
            ]
        assert sorted(order) == list(range(40))
        assert order != list(range(40))

    async def test_per_item_errors(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """A failing item is an error result; the others still run."""
        items: list[Any] = [
            {"room": "e", "content": "ok-0"},
            {"room": "e"},  # missing $content: a GraphQL error
            {"room": "e", "content": "ok-2"},
            ["not", "a", "mapping"],
            {"room": "e", "content": "ok-4"},
        ]
        results = [r async for r in client.execute_many(POST, items, concurrency=2)]
        assert [r.ok for r in results] == [True, False, True, False, True]
        assert isinstance(results[1].error, GraphQLResponseError)
        assert isinstance(results[3].error, TypeError)
        assert results[1].data is None
        assert mutations(emulator) == 3

    async def test_async_iterable_input(self, client: AppSyncClient) -> None:
        """An async generator of variables is accepted."""

        async def source() -> AsyncIterator[dict[str, Any]]:
            for i in range(10):
                await asyncio.sleep(0)
                yield {"id": f"a{i}"}

        results = [r async for r in client.execute_many(GET_ROOM, source())]
        assert [r.data for r in results] == [
            {"getRoom": {"id": f"a{i}", "name": f"room a{i}"}} for i in range(10)
        ]

    async def test_empty_input(self, client: AppSyncClient) -> None:
        """No items, no results."""
        assert [r async for r in client.execute_many(GET_ROOM, [])] == []

    def test_batch_result_value(self) -> None:
        """BatchResult is a frozen value with .ok."""
        result = BatchResult(0, {"a": 1}, {"x": 1})
        assert result.ok
        with pytest.raises(AttributeError):
            result.index = 2  # type: ignore[misc]
        assert not BatchResult(1, None, error=ValueError("x")).ok


class TestBounds:
    @pytest.mark.parametrize("ordered", [True, False])
    async def test_concurrency_is_a_hard_bound(
        self,
        client: AppSyncClient,
        in_flight: InFlight,
        emulator: AppSyncEmulator,
        ordered: bool,
    ) -> None:
        """The server never sees more than ``concurrency`` requests at once."""
        emulator.faults.latency_ms = (5, 25)
        results = [
            r
            async for r in client.execute_many(
                GET_ROOM,
                ({"id": str(i)} for i in range(80)),
                concurrency=7,
                ordered=ordered,
            )
        ]
        assert len(results) == 80
        assert in_flight.peak == 7

    @pytest.mark.parametrize("ordered", [True, False])
    async def test_input_is_read_lazily(
        self, client: AppSyncClient, ordered: bool
    ) -> None:
        """A million-item generator is read only a window ahead of the results."""
        pulled = 0

        def million() -> Iterator[dict[str, Any]]:
            nonlocal pulled
            for i in range(1_000_000):
                pulled += 1
                yield {"id": str(i)}

        taken = 0
        async with client.execute_many(
            GET_ROOM, million(), concurrency=10, ordered=ordered
        ) as results:
            async for _ in results:
                taken += 1
                assert pulled <= taken + 10
                if taken == 50:
                    break
        assert pulled <= 60

    async def test_break_cancels_in_flight(
        self, client: AppSyncClient, emulator: AppSyncEmulator, in_flight: InFlight
    ) -> None:
        """Leaving the loop early cancels the requests still in flight."""
        in_flight.delay = 0.5
        async for _ in client.execute_many(
            GET_ROOM, ({"id": str(i)} for i in range(100)), concurrency=20
        ):
            break
        await asyncio.sleep(0.05)
        leftovers = [
            t
            for t in asyncio.all_tasks()
            if "_run_one" in repr(t.get_coro()) and not t.done()
        ]
        assert leftovers == []
        assert in_flight.calls <= 21

    async def test_aclose_waits_for_cancellation(
        self, client: AppSyncClient, in_flight: InFlight
    ) -> None:
        """aclose() returns once every in-flight request has stopped."""
        in_flight.delay = 0.5
        run = client.execute_many(
            GET_ROOM, ({"id": str(i)} for i in range(100)), concurrency=5
        )
        async with run:
            await run.__anext__()
            assert run.in_flight == 5
        assert run.in_flight == 0
        with pytest.raises(StopAsyncIteration):
            await run.__anext__()

    async def test_input_error_propagates(self, client: AppSyncClient) -> None:
        """An exception from the caller's generator stops the batch and is raised."""

        def broken() -> Iterator[dict[str, Any]]:
            yield {"id": "1"}
            raise LookupError("source broke")

        with pytest.raises(LookupError):
            async for _ in client.execute_many(GET_ROOM, broken()):
                pass

    @pytest.mark.parametrize(
        ("source", "concurrency"),
        [([], 0), ([], -1), ({"id": "x"}, 4), ("abc", 4), (42, 4), ([], 2.5)],
    )
    def test_bad_arguments(
        self, client: AppSyncClient, source: Any, concurrency: Any
    ) -> None:
        """A bad concurrency or a single mapping is a ConfigurationError at once."""
        with pytest.raises(ConfigurationError):
            client.execute_many(GET_ROOM, source, concurrency=concurrency)
