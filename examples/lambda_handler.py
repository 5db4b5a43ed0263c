"""AWS Lambda handlers that call AppSync, sync and async, with one client.

The client is created once per execution environment (module level) and
reused across warm invocations: its connections are kept, and Lambda's
environment credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN) are read without importing botocore. ``async_handler``
runs ``asyncio.run`` per invocation; the client notices the new event loop
and opens a session on it.

Configure the function with ``APPSYNC_URL`` (plus ``APPSYNC_REGION`` for a
custom domain: not ``AWS_REGION``, which is the function's region, not
necessarily the API's). Handler names: ``lambda_handler.handler``
(sync) or ``lambda_handler.async_handler``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from appsync_iam import AppSyncClient

POST = """
mutation Post($roomId: ID!, $content: String!) {
  postMessage(roomId: $roomId, content: $content) { id roomId }
}
"""

client = AppSyncClient(
    os.environ["APPSYNC_URL"], region=os.environ.get("APPSYNC_REGION")
)


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """A sync handler: the blocking ``execute`` reuses one background loop."""
    data = client.execute(POST, {"roomId": event["room"], "content": event["text"]})
    return {"id": data["postMessage"]["id"]}


async def _post_all(event: dict[str, Any]) -> list[str]:
    calls = [
        client.execute_async(POST, {"roomId": event["room"], "content": text})
        for text in event["texts"]
    ]
    results = await asyncio.gather(*calls)  # concurrent, one shared session
    return [data["postMessage"]["id"] for data in results]


def async_handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """An async handler: a new ``asyncio.run`` for every invocation."""
    return {"ids": asyncio.run(_post_all(event))}


if __name__ == "__main__":
    # Two "invocations" of each, as a warm Lambda would run them.
    for n in range(2):
        print("handler:", handler({"room": "lambda", "text": f"sync {n}"}))
        event = {"room": "lambda", "texts": [f"async {n}.{i}" for i in range(3)]}
        print("async_handler:", len(async_handler(event)["ids"]), "messages")
    client.close_sync()  # not needed in Lambda: the environment is frozen
