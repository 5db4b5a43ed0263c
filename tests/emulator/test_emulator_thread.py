"""run_in_thread(): the emulator on its own loop in a background thread."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from emulator_helpers import BUMP, HELLO, TINY_SDL, post_sync, sign, tiny_resolvers

from appsync_iam.emulator import AppSyncEmulator


class TestRunInThread:
    def test_serves_sync_code(self) -> None:
        """A botocore-signed request from sync code (http.client) gets 200."""
        emulator = AppSyncEmulator(TINY_SDL, resolvers=tiny_resolvers())
        with emulator.run_in_thread() as running:
            assert running is emulator
            answer = post_sync(
                emulator.url, BUMP, sign(emulator.url, BUMP, emulator.credentials)
            )
            assert answer.status == 200, answer
            assert answer.json == {"data": {"bump": 2}}
        assert [op.field for op in emulator.executed] == ["bump"]

    def test_starts_and_stops_quickly_and_frees_the_port(self) -> None:
        """Start and stop take well under a second; the port is closed afterwards
        and the server thread is gone."""
        emulator = AppSyncEmulator(TINY_SDL, resolvers=tiny_resolvers())
        started = time.monotonic()
        with emulator.run_in_thread():
            port = emulator.port
            # An idle keep-alive connection must not hold up shutdown.
            idle = socket.create_connection(("127.0.0.1", port), timeout=5)
        elapsed = time.monotonic() - started
        idle.close()
        assert elapsed < 3.0
        with pytest.raises(RuntimeError):
            _ = emulator.url
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        assert not any(t.name == "appsync-emulator" for t in threading.enumerate())

    def test_can_run_again(self) -> None:
        """The same emulator can be started again after a thread run ends."""
        emulator = AppSyncEmulator(TINY_SDL, resolvers=tiny_resolvers())
        for _ in range(2):
            with emulator.run_in_thread():
                headers = sign(emulator.url, HELLO, emulator.credentials)
                assert post_sync(emulator.url, HELLO, headers).status == 200

    def test_start_failure_is_raised(self) -> None:
        """A port already in use raises OSError from run_in_thread, no thread left."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            emulator = AppSyncEmulator(TINY_SDL, port=port)
            with pytest.raises(OSError), emulator.run_in_thread():
                pass  # pragma: no cover
        assert not any(t.name == "appsync-emulator" for t in threading.enumerate())

    def test_already_running_is_an_error(self) -> None:
        """Running one emulator twice at once raises RuntimeError."""
        emulator = AppSyncEmulator(TINY_SDL)
        with emulator.run_in_thread():
            with pytest.raises(RuntimeError, match="already running"):
                with emulator.run_in_thread():
                    pass  # pragma: no cover
            assert emulator.port > 0
