"""What the emulator's servers share: an aiohttp app on a loopback port, run in
the current event loop or in a background thread, holding the server weakly."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

log = logging.getLogger("appsync_iam.emulator")

_R = TypeVar("_R")
_S = TypeVar("_S", bound="LoopbackServer")

#: How long close() lets in-flight requests finish.
SHUTDOWN_TIMEOUT = 1.0
#: How long run_in_thread() waits for the server to start or stop.
THREAD_TIMEOUT = 30.0


class LoopbackServer:
    """Lifecycle of one aiohttp application: ``async with``, :meth:`start` /
    :meth:`close`, or :meth:`run_in_thread`. Subclasses build the app."""

    host: str
    #: Seconds added to the real clock: the server's notion of now.
    clock_offset: float

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.clock_offset = 0.0
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def _build_app(self) -> web.Application:
        raise NotImplementedError

    async def _on_started(self) -> None:
        """Called once listening (the port is known)."""

    async def _on_close(self) -> None:
        """Called first by :meth:`close`, while still serving."""

    def now(self) -> datetime:
        """The server's clock: aware UTC now plus :attr:`clock_offset`."""
        return datetime.now(timezone.utc) + timedelta(seconds=self.clock_offset)

    @property
    def port(self) -> int:
        """The TCP port the server listens on (only while running)."""
        if self._port is None:
            raise RuntimeError(
                f"{type(self).__name__} is not running: use `async with`, start() "
                "or run_in_thread()"
            )
        return self._port

    def _url_host(self) -> str:
        if self.host in ("", "0.0.0.0"):
            return "127.0.0.1"
        if self.host == "::":
            return "[::1]"
        return f"[{self.host}]" if ":" in self.host else self.host

    async def start(self) -> None:
        """Start serving in the running event loop."""
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        runner = web.AppRunner(
            self._build_app(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        await self._on_started()

    async def close(self) -> None:
        """Stop serving."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        try:
            await self._on_close()
        finally:
            await runner.cleanup()
            self._port = None
            log.info("%s stopped", type(self).__name__)

    async def __aenter__(self: _S) -> _S:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @contextlib.contextmanager
    def run_in_thread(self: _S) -> Iterator[_S]:
        """Serve from a background thread with its own event loop, for sync code.

        Example::

            with server.run_in_thread():
                requests.post(server.url, ...)
        """
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        thread = threading.Thread(
            target=self._serve_forever,
            args=(loop, started),
            name=f"appsync-iam-{type(self).__name__}",
            daemon=True,
        )
        thread.start()
        try:
            started.result(timeout=THREAD_TIMEOUT)
        except BaseException:
            _stop_soon(loop)
            thread.join(THREAD_TIMEOUT)
            raise
        try:
            yield self
        finally:
            _stop_soon(loop)
            thread.join(THREAD_TIMEOUT)

    def _serve_forever(
        self,
        loop: asyncio.AbstractEventLoop,
        started: concurrent.futures.Future[None],
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                started.set_exception(exc)
                return
            started.set_result(None)
            loop.run_forever()
            loop.run_until_complete(self.close())
        finally:
            _shutdown_loop(loop)


def weakly(method: Callable[..., Awaitable[_R]]) -> Callable[..., Awaitable[_R]]:
    """``method`` as a function that does not keep its object alive.

    aiohttp caches each middleware chain in a module-level lru_cache (1,024
    entries), which would otherwise keep every finished server alive.
    """
    ref = weakref.WeakMethod(method)

    async def call(*args: Any, **kwargs: Any) -> _R:
        bound = ref()
        if bound is None:
            raise web.HTTPServiceUnavailable()
        result: _R = await bound(*args, **kwargs)
        return result

    # Not functools.wraps: its __wrapped__ would hold the method strongly.
    call.__qualname__ = method.__qualname__
    if getattr(method, "__middleware_version__", None) == 1:
        call = web.middleware(call)
    return call


def _stop_soon(loop: asyncio.AbstractEventLoop) -> None:
    """Stop a loop running in another thread, unless it already closed."""
    with contextlib.suppress(RuntimeError):  # closed after a failed start
        loop.call_soon_threadsafe(loop.stop)


def _shutdown_loop(loop: asyncio.AbstractEventLoop) -> None:
    """What asyncio.run does at the end: cancel leftovers, close the loop."""
    try:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
