"""``appsync-iam emulator`` prints the Events URLs, and they serve publishes."""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from appsync_iam import FrozenCredentials
from appsync_iam.emulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

from .ev_emulator_helpers import compact, sign_http


async def test_emulator_command_prints_and_serves_the_events_urls() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "appsync_iam", "emulator", "--schema", "chat",
        "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    printed: dict[str, str] = {}
    try:
        assert process.stdout is not None
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
            assert line, "the command exited before serving"
            name, _, value = line.strip().partition(": ")
            printed[name] = value.strip()
            if line.startswith("Press Ctrl-C"):
                break
        url, ws_url = printed["Events"], printed["Events WS"]
        assert url.endswith("/event") and url.startswith("http://127.0.0.1:")
        assert ws_url == url.replace("http://", "ws://") + "/realtime"
        body = compact({"channel": "/default/a", "events": ['"hi"']})
        creds = FrozenCredentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=10)
        ) as session:
            async with session.post(
                url, data=body, headers=sign_http(url, body, creds)
            ) as response:
                assert response.status == 200
                answer = await response.json()
        assert [s["index"] for s in answer["successful"]] == [0]
    finally:
        if process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.wait(), 10)
