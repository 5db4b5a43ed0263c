"""Testing your own AppSync code against the emulator, with pytest.

The emulator is a real HTTP/WebSocket server on 127.0.0.1 that verifies every
SigV4 signature (with botocore) and answers like AppSync, so a signing or
credentials bug fails here, not in production. Enable its fixtures with::

    pytest_plugins = ["appsync_iam.emulator.pytest_plugin"]

(in a test module, as here, or in your top-level ``conftest.py``), then use
``appsync_emulator``: a fresh emulator per test, serving the ``chat`` sample
unless you override the ``appsync_emulator_schema`` fixture with your SDL.
Async tests need pytest-asyncio (``asyncio_mode = "auto"`` here)::

    pytest examples/test_with_emulator.py
"""

from __future__ import annotations

import pytest

from appsync_iam import (
    AppSyncClient,
    AuthorizationError,
    FrozenCredentials,
    GraphQLResponseError,
    RetryPolicy,
)
from appsync_iam.emulator import AppSyncEmulator

pytest_plugins = ["appsync_iam.emulator.pytest_plugin"]


# --- the code under test: yours ---------------------------------------------------

POST = """
mutation Post($roomId: ID!, $content: String!) {
  postMessage(roomId: $roomId, content: $content) { id roomId content }
}
"""


async def post_all(client: AppSyncClient, room: str, texts: list[str]) -> list[str]:
    """Post each text to ``room``; return the ids of the messages."""
    ids = []
    async for result in client.execute_many(
        POST, ({"roomId": room, "content": t} for t in texts)
    ):
        if result.error is not None:
            raise result.error
        assert result.data is not None
        ids.append(result.data["postMessage"]["id"])
    return ids


# --- the tests -----------------------------------------------------------------------


def client_for(emulator: AppSyncEmulator, **options: object) -> AppSyncClient:
    """A client signing with the emulator's test credentials (never your own)."""
    return AppSyncClient(
        emulator.url,
        region=emulator.region,
        credentials=emulator.credentials,
        **options,  # type: ignore[arg-type]
    )


async def test_posts_every_message(appsync_emulator: AppSyncEmulator) -> None:
    """Every text becomes one signed postMessage mutation, in order."""
    async with client_for(appsync_emulator) as client:
        ids = await post_all(client, "r1", ["one", "two", "three"])
    assert len(set(ids)) == 3
    posted = [op for op in appsync_emulator.executed if op.field == "postMessage"]
    assert [op.arguments["content"] for op in posted] == ["one", "two", "three"]


async def test_throttling_is_retried_without_duplicates(
    appsync_emulator: AppSyncEmulator,
) -> None:
    """Under 30 % throttling every message is posted exactly once."""
    appsync_emulator.faults.seed(7)
    appsync_emulator.faults.throttle_rate = 0.3
    retry = RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.01)
    async with client_for(appsync_emulator, retry=retry) as client:
        await post_all(client, "r1", [f"m{n}" for n in range(20)])
    assert appsync_emulator.faults.injected["throttle"] > 0
    assert len(appsync_emulator.executed) == 20


async def test_wrong_secret_is_rejected(appsync_emulator: AppSyncEmulator) -> None:
    """A request signed with the wrong secret gets AppSync's 403."""
    wrong = FrozenCredentials(appsync_emulator.credentials.access_key, "wrong")
    client = AppSyncClient(appsync_emulator.url, region="us-east-1", credentials=wrong)
    async with client:
        with pytest.raises(AuthorizationError) as caught:
            await post_all(client, "r1", ["never posted"])
    assert caught.value.status == 403
    assert appsync_emulator.executed == []


async def test_graphql_errors_are_typed(appsync_emulator: AppSyncEmulator) -> None:
    """A field the schema lacks is a GraphQLResponseError with AppSync's errors."""
    async with client_for(appsync_emulator) as client:
        with pytest.raises(GraphQLResponseError) as caught:
            await client.execute_async("query { listRooms { nope } }")
    assert caught.value.errors[0]["message"].startswith("Validation error")
