"""AppSync Events API: subscribe to a wildcard channel, publish over HTTP and WebSocket.

Configuration from the environment:

- ``APPSYNC_EVENTS_URL``: the Events API's HTTP URL, e.g.
  ``https://<dns-prefix>.appsync-api.eu-west-1.amazonaws.com/event``
  (``aws appsync get-api`` → ``api.dns.HTTP``), or the emulator's
  ``http://127.0.0.1:<port>/event``;
- ``APPSYNC_REGION``: only for a custom domain;
- credentials: the usual AWS chain. The role needs ``appsync:EventConnect``
  on the API and ``appsync:EventPublish`` / ``appsync:EventSubscribe`` on the
  namespace (``default`` here).
"""

from __future__ import annotations

import asyncio
import os

from appsync_iam import AppSyncEventsClient, ConnectionEvent


async def main() -> None:
    url = os.environ["APPSYNC_EVENTS_URL"]
    async with AppSyncEventsClient(
        url,
        region=os.environ.get("APPSYNC_REGION"),
        # At most 100 events wait for a consumer that falls behind; then the
        # oldest are dropped, and on_state is told ("overflow", dropped=n)
        # before the next event. overflow="error" ends the subscription instead.
        realtime_options={"max_queued_events": 100, "overflow": "drop_oldest"},
    ) as client:
        subscribed = asyncio.Event()

        def on_state(event: ConnectionEvent) -> None:
            print(
                f"[{event.state.value}]" + (f" {event.reason}" if event.reason else "")
            )
            if event.state.value == "connected":
                subscribed.set()

        async def listen() -> None:
            received = 0
            async for event in client.subscribe_channel(
                "/default/*", on_state=on_state
            ):
                print("received:", event)
                received += 1
                if received == 8:
                    return

        listener = asyncio.create_task(listen())
        await subscribed.wait()

        # Seven events over HTTP: sent as two requests (AppSync takes 5 at most).
        result = await client.publish(
            "/default/room1", [{"n": n, "text": "héllo"} for n in range(7)]
        )
        print(f"HTTP: {len(result.successful)} published, {len(result.failed)} failed")
        for failed in result.failed:
            print(f"  event {failed.index} failed: {failed.code} {failed.message}")

        # One more over the same WebSocket the subscription uses.
        result = await client.publish(
            "/default/room1/sub", ["via websocket"], via="websocket"
        )
        print(f"WebSocket: {len(result.successful)} published")

        await asyncio.wait_for(listener, 10)


if __name__ == "__main__":
    asyncio.run(main())
