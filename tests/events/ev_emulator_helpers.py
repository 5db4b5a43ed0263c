"""Helpers for the Events emulator tests: botocore signs, aiohttp speaks the wire.

Everything is signed by ``botocore.auth.SigV4Auth`` directly, never by this
project's client, so the emulator is checked against an independent signer.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from appsync_iam import FrozenCredentials
from appsync_iam.emulator import AppSyncEmulator

SDL = "type Query { hello: String }"
#: The three headers AWS's examples sign (events-api.md §1.6).
CONSTANTS = {
    "accept": "application/json, text/javascript",
    "content-encoding": "amz-1.0",
    "content-type": "application/json; charset=UTF-8",
}
SUBPROTOCOL = "aws-appsync-event-ws"
TIMEOUT = 5.0


def compact(value: Any) -> bytes:
    """The virtual body as AWS's clients serialise it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def sign_virtual(
    host: str,
    body: bytes,
    credentials: FrozenCredentials | Credentials,
    *,
    region: str = "us-east-1",
    at: datetime | None = None,
    constants: bool = True,
) -> dict[str, str]:
    """botocore's signed headers for the virtual ``POST https://<host>/event``."""
    headers = {**(CONSTANTS if constants else {}), "host": host}
    request = AWSRequest(
        method="POST", url=f"https://{host}/event", data=body, headers=headers
    )
    creds = Credentials(
        credentials.access_key, credentials.secret_key, credentials.token
    )
    signer = SigV4Auth(creds, "appsync", region)
    if at is None:
        signer.add_auth(request)
    else:
        request.context["timestamp"] = at.strftime("%Y%m%dT%H%M%SZ")
        signer._modify_request_before_signing(request)
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        signer._inject_signature_to_request(request, signature)
    return dict(request.headers.items())


def sign_http(url: str, body: bytes, credentials: FrozenCredentials) -> dict[str, str]:
    """botocore's headers for a real ``POST`` of ``body`` to ``url``."""
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"content-type": "application/json"},
    )
    creds = Credentials(
        credentials.access_key, credentials.secret_key, credentials.token
    )
    SigV4Auth(creds, "appsync", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def header_protocol(headers: Mapping[str, str]) -> str:
    """The ``header-<base64url>`` subprotocol carrying a header object."""
    raw = json.dumps(dict(headers)).encode()
    return "header-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def http_host(emulator: AppSyncEmulator) -> str:
    return urlsplit(emulator.events_url).netloc


def tamper(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy whose signature's last hex digit is changed."""
    changed = dict(headers)
    auth = changed["Authorization"]
    changed["Authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    return changed


async def publish_http(
    session: aiohttp.ClientSession,
    emulator: AppSyncEmulator,
    channel: Any,
    events: Any,
    *,
    credentials: FrozenCredentials | None = None,
    body: bytes | None = None,
    tampered: bool = False,
) -> tuple[int, Any]:
    """Sign with botocore and POST to /event: (status, parsed JSON body)."""
    if body is None:
        body = compact({"channel": channel, "events": events})
    headers = sign_http(emulator.events_url, body, credentials or emulator.credentials)
    if tampered:
        headers = tamper(headers)
    async with session.post(emulator.events_url, data=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


class EventsSocket:
    """An Events WebSocket driven frame by frame, every frame signed by botocore."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        emulator: AppSyncEmulator,
        credentials: FrozenCredentials,
    ) -> None:
        self.ws = ws
        self.emulator = emulator
        self.credentials = credentials

    def authorization(self, body: bytes) -> dict[str, str]:
        return sign_virtual(http_host(self.emulator), body, self.credentials)

    async def send(self, message: Mapping[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame other than ``ka``."""
        while True:
            message = await asyncio.wait_for(self.ws.receive(), timeout)
            assert message.type == aiohttp.WSMsgType.TEXT, message
            frame: dict[str, Any] = json.loads(message.data)
            if frame["type"] != "ka":
                return frame

    async def subscribe(
        self, ident: str, channel: Any, *, tampered: bool = False
    ) -> dict[str, Any]:
        auth = self.authorization(compact({"channel": channel}))
        await self.send(
            {
                "type": "subscribe",
                "id": ident,
                "channel": channel,
                "authorization": tamper(auth) if tampered else auth,
            }
        )
        return await self.recv()

    async def publish(
        self, ident: str, channel: Any, events: Any, *, tampered: bool = False
    ) -> dict[str, Any]:
        auth = self.authorization(compact({"channel": channel, "events": events}))
        await self.send(
            {
                "type": "publish",
                "id": ident,
                "channel": channel,
                "events": events,
                "authorization": tamper(auth) if tampered else auth,
            }
        )
        return await self.recv()


@asynccontextmanager
async def events_socket(
    session: aiohttp.ClientSession,
    emulator: AppSyncEmulator,
    *,
    credentials: FrozenCredentials | None = None,
    connect_headers: Mapping[str, str] | None = None,
    init: bool = True,
) -> AsyncIterator[EventsSocket]:
    """Open /event/realtime with the IAM ``header-`` subprotocol (connect signed
    over ``{}``), send ``connection_init`` and check ``connection_ack``."""
    creds = credentials or emulator.credentials
    if connect_headers is None:
        connect_headers = sign_virtual(http_host(emulator), b"{}", creds)
    async with session.ws_connect(
        emulator.events_realtime_url,
        protocols=(SUBPROTOCOL, header_protocol(connect_headers)),
    ) as ws:
        socket = EventsSocket(ws, emulator, creds)
        if init:
            await socket.send({"type": "connection_init"})
            ack = await socket.recv()
            assert ack == {
                "type": "connection_ack",
                "connectionTimeoutMs": emulator.connection_timeout_ms,
            }, ack
        yield socket


@pytest.fixture
async def emulator() -> AsyncIterator[AppSyncEmulator]:
    """An emulator with the namespaces ``default`` and ``chat``."""
    async with AppSyncEmulator(
        SDL, event_namespaces=("default", "chat"), seed=3
    ) as emu:
        yield emu


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s
