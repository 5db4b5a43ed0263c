"""The Lambda handler pattern: one module-level client, a new loop per invocation."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from appsync_iam import AppSyncClient
from appsync_iam.emulator import AppSyncEmulator

from .conftest import FAST_RETRY, GET_ROOM, POST, mutations

ROOT = Path(__file__).resolve().parents[2]

HANDLER = textwrap.dedent(
    """
    import asyncio, gc, sys
    from appsync_iam import AppSyncClient

    # Module level, as in a Lambda function: built once per cold start, with
    # credentials from the environment (AWS_ACCESS_KEY_ID, ...).
    CLIENT = AppSyncClient(sys.argv[1])
    POST = (
        "mutation Post($room: ID!, $content: String!) {"
        " postMessage(roomId: $room, content: $content) { id } }"
    )

    async def handler(n):
        results = await asyncio.gather(*(
            CLIENT.execute_async(POST, {"room": "lambda", "content": f"{n}-{i}"})
            for i in range(5)
        ))
        return len(results)

    def sync_handler(n):
        return CLIENT.execute(POST, {"room": "lambda", "content": f"sync-{n}"})

    mode = sys.argv[2]
    for invocation in range(3):
        if mode == "async":
            assert asyncio.run(handler(invocation)) == 5
        else:
            assert sync_handler(invocation)["postMessage"]["id"]
    gc.collect()
    assert "botocore" not in sys.modules, "botocore imported"
    print("ok")
    """
)


def run_handler(
    emulator: AppSyncEmulator, mode: str
) -> subprocess.CompletedProcess[str]:
    creds = emulator.add_principal(
        "AKIDLAMBDAEXAMPLE", "lambda-secret", token="lambda-session-token"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "AWS_ACCESS_KEY_ID": creds.access_key,
        "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        "AWS_SESSION_TOKEN": creds.token or "",
        "AWS_REGION": emulator.region,
    }
    return subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", "-c", HANDLER, emulator.url, mode],
        capture_output=True,
        text=True,
        timeout=50,
        env=env,
        cwd=ROOT,
    )


class TestLambdaPattern:
    def test_asyncio_run_per_invocation_in_process(self) -> None:
        """Two asyncio.run calls on one client work and leak no session."""
        with AppSyncEmulator("chat").run_in_thread() as emulator:
            client = AppSyncClient(
                emulator.url, credentials=emulator.credentials, retry=FAST_RETRY
            )

            async def handler(n: int) -> str:
                data = await client.execute_async(
                    POST, {"room": "l", "content": str(n)}
                )
                return str(data["postMessage"]["content"])

            assert asyncio.run(handler(1)) == "1"
            assert asyncio.run(handler(2)) == "2"
            gc.collect()
            assert mutations(emulator) == 2
            # The client stays usable: a third loop, then a clean close.

            async def last() -> None:
                await client.execute_async(GET_ROOM, {"id": "x"})
                await client.close()

            asyncio.run(last())

    def test_async_handler_subprocess(self) -> None:
        """Under -W error -X dev, env credentials, three loops: no warning, no
        botocore import, every mutation run once."""
        with AppSyncEmulator("chat").run_in_thread() as emulator:
            result = run_handler(emulator, "async")
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == "ok"
            assert result.stderr == ""
            assert mutations(emulator) == 15
            keys = {op.access_key for op in emulator.executed}
            assert keys == {"AKIDLAMBDAEXAMPLE"}

    def test_sync_handler_subprocess(self) -> None:
        """A sync handler's client.execute reuses its loop; exit closes it cleanly."""
        with AppSyncEmulator("chat").run_in_thread() as emulator:
            result = run_handler(emulator, "sync")
            assert result.returncode == 0, result.stderr
            assert result.stderr == ""
            assert mutations(emulator) == 3
