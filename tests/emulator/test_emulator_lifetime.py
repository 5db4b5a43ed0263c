"""An emulator that was closed and dropped is freed, with everything it recorded.

aiohttp caches each route's middleware chain in a module-level
``lru_cache(maxsize=1024)`` keyed by (handler, apps): if the handlers and
middlewares were the emulator's bound methods, every emulator that served a
request would stay alive (its ``executed`` list, data, principals) until
1,024 newer ones pushed it out. Found by ``benchmarks/soak.py``, whose
resident set grew by each finished emulator's records.
"""

from __future__ import annotations

import gc
import logging
import weakref

import aiohttp

from appsync_iam import AppSyncClient
from appsync_iam.emulator import AppSyncEmulator

POST = (
    "mutation Post($room: ID!, $content: String!) {"
    " postMessage(roomId: $room, content: $content) { id } }"
)


async def serve_and_close() -> weakref.ref[AppSyncEmulator]:
    emulator = AppSyncEmulator("chat")
    async with emulator:
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials
        ) as client:
            await client.execute_async(POST, {"room": "r", "content": "c"})
        async with aiohttp.ClientSession() as session:
            async with session.get(emulator.url.replace("/graphql", "/nope")) as r:
                assert r.status == 404  # the error middleware answered
    assert len(emulator.executed) == 1  # still readable after close
    return weakref.ref(emulator)


class TestLifetime:
    async def test_closed_emulator_is_freed(self) -> None:
        """Dropping a closed emulator frees it (nothing keeps it alive)."""
        # Logging off: the secret audit keeps each emulator that logs until
        # the test's teardown, on purpose.
        previous = logging.root.manager.disable
        logging.disable(logging.CRITICAL)
        try:
            ref = await serve_and_close()
        finally:
            logging.disable(previous)
        gc.collect()
        assert ref() is None
