"""Fixtures for the real-time tests: a chat emulator with short timers, a session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from appsync_iam.emulator import AppSyncEmulator

from .rt_helpers import POST_MESSAGE, Publish, signed_post


@pytest.fixture
async def emulator() -> AsyncIterator[AppSyncEmulator]:
    """The chat sample on 127.0.0.1 (free port), ``ka`` every 50 ms."""
    async with AppSyncEmulator(
        "chat", ka_interval=0.05, connection_timeout_ms=2000, seed=1
    ) as emu:
        yield emu


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session with a bounded total timeout."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as s:
        yield s


@pytest.fixture
def publish(emulator: AppSyncEmulator, session: aiohttp.ClientSession) -> Publish:
    """Post a chat message over signed HTTP; returns the JSON answer."""

    async def post(room: str, content: str) -> dict[str, Any]:
        return await signed_post(
            session,
            emulator.url,
            POST_MESSAGE,
            {"roomId": room, "content": content},
            emulator.credentials,
        )

    return post
