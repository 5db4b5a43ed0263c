"""Fixtures for the emulator's own tests: a running emulator and an HTTP session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from emulator_helpers import TINY_SDL, tiny_resolvers

from appsync_iam.emulator import AppSyncEmulator


@pytest.fixture
async def emulator() -> AsyncIterator[AppSyncEmulator]:
    """An emulator serving TINY_SDL on 127.0.0.1, a free port."""
    async with AppSyncEmulator(TINY_SDL, resolvers=tiny_resolvers(), seed=1) as emu:
        yield emu


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session with a bounded total timeout."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s
