"""``execute_many``: one operation over a stream of variables, bounded and lazy.

The input is read only as fast as results are taken, never more than
``concurrency`` items ahead of the oldest unfinished one, so a generator of a
million items runs in flat memory. One item's failure is that item's result.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass
from types import TracebackType
from typing import Any, final

from ._errors import ConfigurationError

__all__ = ["BatchResult"]

Variables = Mapping[str, Any] | None
Call = Callable[[Variables], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of one item of :meth:`AppSyncClient.execute_many`.

    ``index`` is the item's position in the input, ``variables`` the item
    itself; exactly one of ``data`` (the answer's ``data``) and ``error``
    (the exception, e.g. :class:`GraphQLResponseError` with ``.errors``) is set.

    .. versionadded:: 0.1.0
    """

    index: int
    variables: Variables
    data: dict[str, Any] | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the item succeeded."""
        return self.error is None


async def _run_one(call: Call, index: int, variables: Variables) -> BatchResult:
    # Module-level on purpose: a task must not hold the batch alive, so that
    # dropping the iterator (``break``) can cancel the tasks from __del__.
    try:
        if variables is not None and not isinstance(variables, Mapping):
            raise TypeError(
                f"item {index}: variables must be a mapping or None, "
                f"not {type(variables).__name__}"
            )
        data = await call(variables)
    except Exception as exc:
        return BatchResult(index, variables, None, exc)
    return BatchResult(index, variables, data, None)


@final
class BatchRun:
    """The async iterator :meth:`AppSyncClient.execute_many` returns.

    Iterate it with ``async for``. Leaving the loop early (``break``, an
    exception) cancels the requests still in flight; ``async with`` or
    :meth:`aclose` does it deterministically::

        async with client.execute_many(MUTATION, rows) as results:
            async for result in results:
                if not result.ok:
                    log(result.index, result.error)
    """

    __slots__ = (
        "__weakref__",
        "_call",
        "_closed",
        "_concurrency",
        "_done",
        "_exhausted",
        "_index",
        "_input",
        "_ordered",
        "_pending",
        "_running",
        "_source",
        "_wakeup",
    )

    def __init__(
        self,
        call: Call,
        source: Iterable[Variables] | AsyncIterable[Variables],
        *,
        concurrency: int,
        ordered: bool,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise ConfigurationError("concurrency must be an int")
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        if isinstance(source, (Mapping, str, bytes)):
            raise ConfigurationError(
                "execute_many takes an iterable of variable mappings (one per "
                f"request), not a single {type(source).__name__}"
            )
        if not isinstance(source, (Iterable, AsyncIterable)):
            raise ConfigurationError(
                "variables_iterable must be an iterable or an async iterable, "
                f"not {type(source).__name__}"
            )
        self._call = call
        self._source = source
        self._input: Iterator[Variables] | AsyncIterator[Variables] | None = None
        self._exhausted = False
        self._concurrency = concurrency
        self._ordered = ordered
        self._index = 0
        self._closed = False
        # ordered: tasks in input order; unordered: results as they land.
        self._pending: deque[asyncio.Task[BatchResult]] = deque()
        self._running: set[asyncio.Task[BatchResult]] = set()
        self._done: deque[BatchResult] = deque()
        self._wakeup: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return (
            f"<BatchRun concurrency={self._concurrency} ordered={self._ordered} "
            f"started={self._index} in_flight={self.in_flight}>"
        )

    @property
    def in_flight(self) -> int:
        """Items started and not yet yielded."""
        return len(self._pending) + len(self._running) + len(self._done)

    def __aiter__(self) -> BatchRun:
        return self

    async def __anext__(self) -> BatchResult:
        if self._closed:
            raise StopAsyncIteration
        try:
            if self._ordered:
                result = await self._next_ordered()
            else:
                result = await self._next_unordered()
        except StopAsyncIteration:
            self._closed = True
            raise
        except BaseException:
            self._cancel_all()
            raise
        return result

    async def _next_ordered(self) -> BatchResult:
        if not self._pending:
            await self._fill()
            if not self._pending:
                raise StopAsyncIteration
        result = await self._pending[0]
        self._pending.popleft()
        await self._fill()  # the next request starts while the caller works
        return result

    async def _next_unordered(self) -> BatchResult:
        if not self._done and not self._running:
            await self._fill()
        while not self._done:
            if not self._running:
                raise StopAsyncIteration
            self._wakeup = asyncio.get_running_loop().create_future()
            try:
                await self._wakeup
            finally:
                self._wakeup = None
        result = self._done.popleft()
        await self._fill()
        return result

    async def _fill(self) -> None:
        """Start items until ``concurrency`` are in flight or the input ends."""
        while not self._exhausted and self.in_flight < self._concurrency:
            variables, present = await self._read()
            if not present:
                return
            index = self._index
            self._index += 1
            task = asyncio.get_running_loop().create_task(
                _run_one(self._call, index, variables)
            )
            if self._ordered:
                self._pending.append(task)
            else:
                self._running.add(task)
                task.add_done_callback(_landed(self))

    async def _read(self) -> tuple[Variables, bool]:
        source = self._input
        if source is None:
            if isinstance(self._source, AsyncIterable):
                source = self._source.__aiter__()
            else:
                source = iter(self._source)
            self._input = source
        try:
            if isinstance(source, AsyncIterator):
                return await source.__anext__(), True
            return next(source), True
        except (StopIteration, StopAsyncIteration):
            self._exhausted = True
            self._input = None
            return None, False

    def _cancel_all(self) -> None:
        self._closed = True
        for task in (*self._pending, *self._running):
            task.cancel()
        self._pending.clear()
        self._running.clear()
        self._done.clear()

    async def aclose(self) -> None:
        """Cancel what is in flight and wait until it has stopped."""
        tasks = [*self._pending, *self._running]
        self._cancel_all()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> BatchRun:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # ``break`` out of ``async for`` drops the last reference: stop the
        # requests still in flight (cancel() is sync; their loop finishes it).
        if getattr(self, "_closed", True):
            return  # closed, or __init__ rejected its arguments
        if self._pending or self._running:
            self._cancel_all()


def _landed(batch: BatchRun) -> Callable[[asyncio.Task[BatchResult]], None]:
    ref = weakref.ref(batch)

    def landed(task: asyncio.Task[BatchResult]) -> None:
        run = ref()
        if run is None or task.cancelled():
            return
        run._running.discard(task)
        if run._closed:
            return
        run._done.append(task.result())
        wakeup = run._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    return landed
