"""A subscriber that keeps going through drops, and says when it had a gap.

Subscribes to ``onMessagePosted(roomId)``, posts a few messages itself so
there is something to see, and prints each event. ``on_state`` reports the
connection's states; after a ``RECONNECTING``, events published during the
gap were missed, so re-query whatever matters::

    APPSYNC_URL=... python examples/subscribe.py            # 3 events, then exit
    APPSYNC_URL=... EVENTS=0 python examples/subscribe.py   # until Ctrl-C

The same from the shell: ``appsync-iam subscribe 'subscription { ... }'``.
"""

from __future__ import annotations

import asyncio
import os

from appsync_iam import AppSyncClient, ConnectionEvent, ConnectionState

SUBSCRIPTION = """
subscription OnPosted($roomId: ID) {
  onMessagePosted(roomId: $roomId) { id roomId content }
}
"""
POST = """
mutation Post($roomId: ID!, $content: String!) {
  postMessage(roomId: $roomId, content: $content) { id roomId content }
}
"""
ROOM = "subscribe-example"
EVENTS = int(os.environ.get("EVENTS", "3"))


async def main() -> None:
    client = AppSyncClient(
        os.environ["APPSYNC_URL"], region=os.environ.get("APPSYNC_REGION")
    )
    ready = asyncio.Event()

    def on_state(event: ConnectionEvent) -> None:
        if event.state is ConnectionState.CONNECTED:
            ready.set()  # acknowledged: events flow from here on
        elif event.state is ConnectionState.RECONNECTING:
            print(f"gap: attempt {event.attempt} ({event.reason}); events may be lost")
        print("state:", event.state.value)

    async def publish() -> None:
        await ready.wait()
        for n in range(EVENTS):
            await client.execute_async(POST, {"roomId": ROOM, "content": f"hi {n}"})

    async with client:
        publisher = asyncio.ensure_future(publish())
        received = 0
        async for data in client.subscribe(
            SUBSCRIPTION, {"roomId": ROOM}, on_state=on_state
        ):
            print("event:", data["onMessagePosted"]["content"])
            received += 1
            if received == EVENTS:
                break  # leaving the loop sends AppSync a "stop"
        await publisher


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
