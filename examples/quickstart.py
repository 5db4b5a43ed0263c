"""Quickstart: one signed query and one mutation with AppSyncClient.

Run it against your API (credentials from the usual AWS chain: environment,
profile, SSO, role...)::

    APPSYNC_URL=https://<api-id>.appsync-api.<region>.amazonaws.com/graphql \
        python examples/quickstart.py

or against the local emulator (`appsync-iam emulator --schema chat` prints the
URL and the test credentials to export). Written for the chat sample schema
(schema_samples/chat.graphql); adapt the documents to your own.
"""

from __future__ import annotations

import asyncio
import os

from appsync_iam import AppSyncClient, GraphQLResponseError

POST = """
mutation Post($roomId: ID!, $content: String!) {
  postMessage(roomId: $roomId, content: $content) { id roomId content createdAt }
}
"""
LIST = """
query Messages($roomId: ID!) {
  messagesByRoom(roomId: $roomId) { items { id content } }
}
"""


async def main() -> None:
    # A standard AppSync URL names its region; a custom domain needs
    # region=... (here APPSYNC_REGION, unset for a standard URL).
    client = AppSyncClient(
        os.environ["APPSYNC_URL"], region=os.environ.get("APPSYNC_REGION")
    )
    async with client:
        posted = await client.execute_async(
            POST, {"roomId": "quickstart", "content": "héllo wörld"}
        )
        print("posted:", posted["postMessage"]["id"])
        data = await client.execute_async(LIST, {"roomId": "quickstart"})
        print("messages in room:", len(data["messagesByRoom"]["items"]))
        try:
            await client.execute_async("query { getRoom(id: 1) { nope } }")
        except GraphQLResponseError as exc:  # HTTP 200 with "errors"
            print("GraphQL error:", exc.errors[0]["message"])


if __name__ == "__main__":
    asyncio.run(main())
