"""``appsync-iam demo``: the library against a local, signature-checking AppSync.

Starts :class:`~appsync_iam.emulator.AppSyncEmulator` on 127.0.0.1 (a free
port) with the ``chat`` sample schema and shows, step by step:

1. a signed query;
2. a mutation;
3. a subscription (opened before step 2) receiving that mutation's event;
4. tampered requests rejected with AppSync's error: one body byte changed
   after signing, and a wrong secret key.

It signs with the emulator's public test key (``AKIDEXAMPLE``), passed
explicitly: no AWS account and no credentials from the environment are used.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any, Final, TextIO

from ._errors import AppSyncError, AuthorizationError, redact
from ._realtime import ConnectionEvent, ConnectionState

if TYPE_CHECKING:
    from ._client import AppSyncClient
    from .emulator import AppSyncEmulator

__all__ = ["run_demo"]

STEP_TIMEOUT: Final = 15.0
ROOM: Final = "lobby"
MESSAGE: Final = "hello from appsync-iam"

QUERY: Final = "query Rooms { listRooms { items { id name } } }"
MUTATION: Final = """\
mutation Post($roomId: ID!, $content: String!, $author: String) {
  postMessage(roomId: $roomId, content: $content, author: $author) {
    id roomId content author createdAt
  }
}"""
SUBSCRIPTION: Final = """\
subscription OnPosted($roomId: ID) {
  onMessagePosted(roomId: $roomId) { id roomId content author }
}"""


class DemoFailed(Exception):
    """A step did not show what it should (the demo exits 1)."""


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, text: str = "", indent: int = 0) -> None:
        pad = " " * indent
        for line in text.splitlines() or [""]:
            self.out.write(f"{pad}{line}\n" if line else "\n")
        self.out.flush()

    def step(self, number: int, title: str) -> None:
        self()
        self(f"[{number}/4] {title}")

    def json(self, label: str, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False)
        self(f"{label}: {text}", indent=6)


async def run_demo(out: TextIO | None = None) -> int:
    """Run the four steps, printing to ``out`` (stdout); 0 when all passed."""
    from .emulator import AppSyncEmulator, sample_schema_path

    say = _Printer(out if out is not None else sys.stdout)
    schema = sample_schema_path("chat")
    async with AppSyncEmulator(schema, host="127.0.0.1", port=0) as emulator:
        _introduce(say, emulator, schema.name)
        try:
            await _steps(say, emulator)
        except DemoFailed as exc:
            say()
            say(f"FAILED: {exc}")
            return 1
    say()
    say("All 4 steps done. Next: `appsync-iam emulator --schema chat` serves this")
    say("API for your own code; `appsync-iam --help` lists the other commands.")
    return 0


def _introduce(say: _Printer, emulator: AppSyncEmulator, schema_name: str) -> None:
    say("appsync-iam demo: the client against a local AppSync emulator that checks")
    say("every SigV4 signature (with botocore, independently of this library).")
    say()
    say(f"Emulator   serving schema_samples/{schema_name}")
    say(f"GraphQL    {emulator.url}")
    say(f"Real-time  {emulator.realtime_url}")
    say(f"Region     {emulator.region}")
    say(
        f"Signing as {emulator.credentials.access_key} (the emulator's public test "
        "key; no AWS credentials are used)"
    )


async def _steps(say: _Printer, emulator: AppSyncEmulator) -> None:
    from ._client import AppSyncClient

    async with AppSyncClient(
        emulator.url, region=emulator.region, credentials=emulator.credentials
    ) as client:
        await _step_query(say, client, emulator)
        subscription = _Subscription(client)
        await subscription.start()
        try:
            posted = await _step_mutation(say, client, emulator)
            await _step_event(say, subscription, posted)
        finally:
            await subscription.stop()
    await _step_tampered(say, emulator)


async def _bounded(awaitable: Any, what: str) -> Any:
    try:
        return await asyncio.wait_for(awaitable, STEP_TIMEOUT)
    except asyncio.TimeoutError:
        raise DemoFailed(f"{what} took longer than {STEP_TIMEOUT:.0f} s") from None
    except AppSyncError as exc:
        raise DemoFailed(f"{what}: {type(exc).__name__}: {_short(str(exc))}") from exc


async def _step_query(
    say: _Printer, client: AppSyncClient, emulator: AppSyncEmulator
) -> None:
    say.step(1, "A signed query")
    say(QUERY, indent=6)
    data = await _bounded(client.execute_async(QUERY), "the query")
    executed = emulator.executed[-1]
    say(
        f"-> accepted: the emulator verified the signature of "
        f"{executed.access_key} and ran Query.{executed.field}",
        indent=6,
    )
    say.json("data", data)


async def _step_mutation(
    say: _Printer, client: AppSyncClient, emulator: AppSyncEmulator
) -> dict[str, Any]:
    say.step(2, "A mutation")
    variables = {"roomId": ROOM, "content": MESSAGE, "author": "demo"}
    say(MUTATION, indent=6)
    say.json("variables", variables)
    data = await _bounded(client.execute_async(MUTATION, variables), "the mutation")
    executed = emulator.executed[-1]
    say(f"-> accepted and run: Mutation.{executed.field}", indent=6)
    say.json("data", data)
    posted: dict[str, Any] = data["postMessage"]
    return posted


class _Subscription:
    """Consumes ``onMessagePosted(roomId: lobby)`` in a task; ready once acked."""

    def __init__(self, client: AppSyncClient) -> None:
        self.client = client
        self.ready = asyncio.Event()
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.states: list[str] = []
        self.task: asyncio.Task[None] | None = None

    def on_state(self, event: ConnectionEvent) -> None:
        self.states.append(event.state.value)
        if event.state is ConnectionState.CONNECTED:
            self.ready.set()

    async def start(self) -> None:
        self.task = asyncio.ensure_future(self._consume())
        waiter = asyncio.ensure_future(self.ready.wait())
        done, _ = await asyncio.wait(
            {self.task, waiter}, timeout=STEP_TIMEOUT, return_when="FIRST_COMPLETED"
        )
        waiter.cancel()
        if self.task in done:
            self.task.result()  # raises what ended the subscription
            raise DemoFailed("the subscription ended before it was acknowledged")
        if not self.ready.is_set():
            raise DemoFailed("the subscription was not acknowledged in time")

    async def _consume(self) -> None:
        events = self.client.subscribe(
            SUBSCRIPTION, {"roomId": ROOM}, on_state=self.on_state
        )
        try:
            async for data in events:
                await self.events.put(data)
        except AppSyncError as exc:
            raise DemoFailed(f"the subscription failed: {_short(str(exc))}") from exc

    async def next_event(self) -> dict[str, Any]:
        getter = asyncio.ensure_future(self.events.get())
        assert self.task is not None
        done, _ = await asyncio.wait(
            {getter, self.task}, timeout=STEP_TIMEOUT, return_when="FIRST_COMPLETED"
        )
        if getter in done:
            return getter.result()
        getter.cancel()
        if self.task in done:
            self.task.result()
            raise DemoFailed("the subscription ended without the event")
        raise DemoFailed(f"no event within {STEP_TIMEOUT:.0f} s")

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, DemoFailed, AppSyncError):
                pass


async def _step_event(
    say: _Printer, subscription: _Subscription, posted: dict[str, Any]
) -> None:
    say.step(3, "A subscription receiving that mutation's event")
    say(SUBSCRIPTION, indent=6)
    say.json("variables", {"roomId": ROOM})
    say(
        "-> subscribed before step 2 over the real-time WebSocket; its IAM",
        indent=6,
    )
    say(
        "   signature travels in the Sec-WebSocket-Protocol header, not the URL",
        indent=6,
    )
    data = await subscription.next_event()
    say.json("event", data)
    message = data.get("onMessagePosted") or {}
    if message.get("id") != posted.get("id"):
        raise DemoFailed(f"the event is not step 2's message: {data}")
    say(f"-> the same message id as step 2 ({posted['id']})", indent=6)


async def _step_tampered(say: _Printer, emulator: AppSyncEmulator) -> None:
    say.step(4, "Tampered requests are rejected with AppSync's error")
    await _tampered_body(say, emulator)
    await _wrong_secret(say, emulator)


async def _tampered_body(say: _Printer, emulator: AppSyncEmulator) -> None:
    import aiohttp

    from ._signer import SigV4Signer

    variables = {"roomId": ROOM, "content": "pay 10 EUR", "author": "demo"}
    body = json.dumps(
        {"query": MUTATION, "variables": variables}, separators=(",", ":")
    ).encode()
    headers = SigV4Signer(emulator.region).sign(
        "POST",
        emulator.url,
        {"content-type": "application/json"},
        body,
        emulator.credentials,
        include_content_sha256=False,
    )
    tampered = body.replace(b"pay 10 EUR", b"pay 90 EUR", 1)
    say("a. signed, then one body byte changed ('pay 10 EUR' -> 'pay 90 EUR'):", 6)
    say(f"Authorization: {_redacted_authorization(headers['Authorization'])}", 9)
    before = len(emulator.executed)
    timeout = aiohttp.ClientTimeout(total=STEP_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.post(emulator.url, data=tampered, headers=headers) as resp:
            status = resp.status
            answer = await resp.json(content_type=None)
    error = (answer.get("errors") or [{}])[0]
    say(f"-> HTTP {status} {error.get('errorType')}", 9)
    say(f'"{_short(str(error.get("message", "")))}"', 9)
    if status != 403 or len(emulator.executed) != before:
        raise DemoFailed(f"the tampered request was not rejected (HTTP {status})")
    say("the mutation did not run (the emulator ran nothing new)", 9)


async def _wrong_secret(say: _Printer, emulator: AppSyncEmulator) -> None:
    from ._client import AppSyncClient
    from ._credentials import FrozenCredentials
    from ._retry import RetryPolicy

    say("b. signed with a wrong secret key, through AppSyncClient:", 6)
    wrong = FrozenCredentials(emulator.credentials.access_key, "not-the-secret")
    async with AppSyncClient(
        emulator.url,
        region=emulator.region,
        credentials=wrong,
        retry=RetryPolicy.disabled(),
    ) as client:
        try:
            await asyncio.wait_for(client.execute_async(QUERY), STEP_TIMEOUT)
        except AuthorizationError as exc:
            say(
                f"-> raises appsync_iam.AuthorizationError: status={exc.status} "
                f"error_type={exc.error_type}",
                9,
            )
            say(f"request_id={exc.request_id}", 9)
            return
        except (AppSyncError, asyncio.TimeoutError) as exc:
            raise DemoFailed(f"expected AuthorizationError, got {exc!r}") from exc
    raise DemoFailed("a request signed with a wrong secret was accepted")


def _short(message: str, limit: int = 100) -> str:
    """The first sentence of a server message, redacted, on one line."""
    text = " ".join(redact(message).split())
    sentence, dot, _ = text.partition(". ")
    text = sentence + dot.strip() if dot else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _redacted_authorization(value: str) -> str:
    head, sep, _ = value.partition("Signature=")
    return f"{head}{sep}<redacted>" if sep else "<redacted>"
